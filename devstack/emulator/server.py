"""The emulator's HTTP face: a stdlib ``ThreadingHTTPServer`` on loopback (one thread per connection).

Request pipeline for ``/client/v4``: read → spec check (recorded, never blocking) → injected faults →
rate limit → authentication → route → endpoint. Every answer is Cloudflare's JSON envelope.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from devstack.emulator import api, spec
from devstack.emulator import errors as e
from devstack.emulator.errors import ApiError
from devstack.emulator.faults import FaultConfig, FaultInjector
from devstack.emulator.ratelimit import SlidingWindow
from devstack.emulator.state import Emulator
from devstack.emulator.zones import ZoneSpec

API_PREFIX = "/client/v4"
ADMIN_PREFIX = "/__emulator"
DEFAULT_TOKEN = "local-dev-token"
MAX_BODY = 32 * 1024 * 1024
RATE_LIMITED_SUFFIX = " [rate-limited]"


def envelope(
    result: Any = None, *, errors: Iterable[dict[str, Any]] = (), info: dict[str, int] | None = None
) -> dict[str, Any]:
    """Cloudflare's response envelope."""
    errs = list(errors)
    body: dict[str, Any] = {
        "success": not errs,
        "errors": errs,
        "messages": [],
        "result": None if errs else result,
    }
    if info is not None:
        body["result_info"] = info
    return body


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: EmulatorServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # an idle keep-alive connection is closed, never left hanging forever
    # Headers and body in one buffered write with TCP_NODELAY: separate small writes meet the client's
    # delayed ACK and cost ~40 ms per request, which would swamp every benchmark.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and benchmarks make thousands of requests."""

    def setup(self) -> None:
        super().setup()
        self.server.emulator._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.emulator._track(self.connection, add=False)

    def __getattr__(self, name: str) -> Callable[[], None]:
        # Every method (HEAD, OPTIONS, FOO, ...) goes through one dispatcher, so an unknown one gets a
        # 405 in the envelope rather than http.server's HTML 501.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (bad request line, oversized headers) also get the envelope."""
        self.close_connection = True
        err = {"code": e.INVALID_REQUEST, "message": message or "Bad request"}
        self._send(code, envelope(errors=[err]), {})

    # Plumbing ------------------------------------------------------------------------------------

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", "") != "HEAD":
            self.wfile.write(data)

    def _error(self, err: ApiError, headers: dict[str, str]) -> None:
        self._send(err.status, envelope(errors=[err.to_error()]), headers)

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering 400/413 (and closing the connection)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            size = 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    length = int(line.split(b";")[0].strip() or b"x", 16)
                except ValueError:
                    length = -1
                if length < 0 or size + length > MAX_BODY:
                    break
                if length == 0:
                    self.rfile.readline(1024)
                    return b"".join(chunks)
                chunks.append(self.rfile.read(length))
                self.rfile.readline(1024)
                size += length
        else:
            raw = self.headers.get("Content-Length") or "0"
            length = int(raw) if raw.strip().isdigit() else -1
            if 0 <= length <= MAX_BODY:
                return self.rfile.read(length) if length else b""
        self.close_connection = True
        self._error(
            ApiError(413 if length > MAX_BODY else 400, e.INVALID_REQUEST, "Invalid request body"), {}
        )
        return None

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # Dispatch ------------------------------------------------------------------------------------

    def _handle(self) -> None:
        emu = self.server.emulator
        url = urlsplit(self.path)
        body = self._read_body()
        if body is None:
            return
        if url.path == API_PREFIX or url.path.startswith(API_PREFIX + "/"):
            try:
                self._api(emu, url.path, url.query, body)
            except Exception:
                # A bug, not a Cloudflare behaviour: answer 500 so tests and the fuzzer see it.
                self.close_connection = True
                self._error(ApiError(500, e.INTERNAL_FAULT, "Internal Server Error (emulator bug)"), {})
        elif url.path.startswith(ADMIN_PREFIX + "/"):
            self._admin(emu, url.path[len(ADMIN_PREFIX) :], body)
        else:
            self._error(ApiError(404, e.NO_ROUTE, "No route for that URI"), {})

    def _auth_error(self, token: str) -> ApiError | None:
        auth = self.headers.get("Authorization")
        if auth is None:
            email, key = self.headers.get("X-Auth-Email"), self.headers.get("X-Auth-Key")
            if email is None and key is None:
                return ApiError(
                    400, e.MISSING_AUTH, "Missing X-Auth-Key, X-Auth-Email or Authorization headers"
                )
            if email is None or key is None:
                return ApiError(400, e.INVALID_HEADERS, "Invalid request headers")
            return ApiError(403, e.AUTH_ERROR, "Authentication error")  # only API tokens are emulated
        scheme, _, presented = auth.strip().partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return ApiError(400, e.INVALID_AUTH_FORMAT, "Invalid format for Authorization header")
        if not hmac.compare_digest(presented.strip().encode(), token.encode()):
            return ApiError(403, e.AUTH_ERROR, "Authentication error")
        return None

    def _api(self, emu: EmulatorServer, path: str, query: str, body: bytes) -> None:
        method = self.command.upper()
        sub = path[len(API_PREFIX) :]
        pairs = parse_qsl(query, keep_blank_values=True)
        rt = api.route(method, sub)
        key = f"{method} {rt.template or '<unrouted>'}"
        if emu.validate_requests:
            emu._check_spec(method, path, pairs, self.headers.items(), body)
        action = emu.faults.decide(method, rt.template or "")
        if action.delay > 0 and emu._stopping.wait(action.delay):
            self._drop()
            return
        if action.drop:
            emu._count(key)
            self._drop()
            return
        limit_headers = {"X-RateLimit-Limit": str(emu.limiter.limit)}
        decision = None if action.rate_limited else emu.limiter.acquire()
        if decision is None or not decision.allowed:
            emu._count(key + RATE_LIMITED_SUFFIX)
            retry = action.retry_after if decision is None else decision.retry_after
            limit_headers.update(
                {
                    "X-RateLimit-Remaining": str(emu.limiter.remaining()),
                    "Retry-After": str(retry),
                    "X-RateLimit-Reset": formatdate(time.time() + retry, usegmt=True),
                }
            )
            err = ApiError(429, e.RATE_LIMITED, "Please wait and consider throttling your request speed")
            self._error(err, limit_headers)
            return
        emu._count(key)
        limit_headers["X-RateLimit-Remaining"] = str(decision.remaining)
        if action.error_status is not None and action.after_commit is None:
            self._error(
                ApiError(action.error_status, e.INTERNAL_FAULT, "Internal Server Error"), limit_headers
            )
            return
        try:
            error = self._auth_error(emu._token) or rt.error
            if error is not None:
                raise error
            done = api.dispatch(emu.state, method, rt, dict(reversed(pairs)), body)
        except ApiError as err:
            # Nothing was carried out, so a commit fault has nothing to hide: the real answer goes out.
            self._error(err, limit_headers)
            return
        if action.after_commit == "drop" and emu.faults.take_commit("drop"):
            self._drop()
            return
        if action.after_commit == "error" and emu.faults.take_commit("error"):
            status = action.error_status or 500
            self._error(ApiError(status, e.INTERNAL_FAULT, "Internal Server Error"), limit_headers)
            return
        self._send(done.status, envelope(done.result, info=done.result_info), limit_headers)

    def _admin(self, emu: EmulatorServer, path: str, body: bytes) -> None:
        method = self.command.upper()
        routes: dict[tuple[str, str], Callable[[], Any]] = {
            ("GET", "/counters"): emu.counters,
            ("POST", "/counters/reset"): emu.reset_counters,
            ("GET", "/spec-violations"): lambda: emu.spec_violations,
            ("DELETE", "/spec-violations"): emu.clear_spec_violations,
            ("GET", "/faults"): lambda: asdict(emu.faults.config),
            ("GET", "/faults/injected"): emu.faults.injected,
            ("POST", "/faults/injected/reset"): emu.faults.reset_injected,
            ("DELETE", "/faults"): emu.clear_faults,
            ("POST", "/faults"): lambda: emu.set_faults(FaultConfig.from_json(api.parse_json(body))),
            ("GET", "/zones"): emu.zone_summaries,
        }
        handler = routes.get((method, path))
        if handler is None:
            self._error(ApiError(404, e.NO_ROUTE, "No route for that URI"), {})
            return
        try:
            result = handler()
        except ApiError as err:
            self._error(err, {})
            return
        except (TypeError, ValueError) as exc:
            self._error(ApiError(400, e.INVALID_REQUEST, str(exc)[:300]), {})
            return
        self._send(200, envelope(result), {})


class EmulatorServer:
    """Cloudflare API v4 (zones + DNS records) on loopback, with counters, faults and spec checks.

    ``with EmulatorServer(zones=[ZoneSpec("example.com")], token="t") as emu: emu.base_url``
    """

    def __init__(
        self,
        zones: Iterable[ZoneSpec] = (),
        *,
        token: str = DEFAULT_TOKEN,
        rate_limit: int = 1200,
        rate_window: float = 300.0,
        validate_requests: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
        cname_exclusive: bool = True,
    ) -> None:
        self.state = Emulator(zones, cname_exclusive=cname_exclusive)
        self._token = token
        self.limiter = SlidingWindow(rate_limit, rate_window, clock)
        self.validate_requests = validate_requests
        self.faults = FaultInjector()
        self.state.name_rejector = self.faults.reject_name
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._counters: Counter[str] = Counter()
        self._violations: list[str] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:  # never includes the token
        zones = [z.name for z in self.state.zones()]
        return f"EmulatorServer(host={self._host!r}, port={self._port}, zones={zones})"

    # Lifecycle -----------------------------------------------------------------------------------

    def start(self) -> EmulatorServer:
        """Bind and serve in a background thread; returns self."""
        if self._httpd is not None:
            raise RuntimeError("emulator already started")
        if self.validate_requests:
            spec.load()  # slow to build: do it before the first request, not during it
        self._stopping.clear()
        httpd = _HTTPServer((self._host, self._port), _Handler)
        httpd.emulator = self
        self._httpd = httpd
        self._port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="cf-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections (and any injected delay), release the port."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (after ``start()``)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/client/v4``."""
        return f"http://{self._host}:{self._port}{API_PREFIX}"

    @property
    def admin_url(self) -> str:
        """``http://127.0.0.1:PORT/__emulator``."""
        return f"http://{self._host}:{self._port}{ADMIN_PREFIX}"

    # Inspection and control ----------------------------------------------------------------------

    def zone_id(self, zone_name: str) -> str:
        """The 32-hex id of a served zone."""
        return self.state.zone_by_name(zone_name).id

    def zone_summaries(self) -> list[dict[str, Any]]:
        """id, name, plan and record count of every zone (``GET /__emulator/zones``)."""
        return [
            {"id": z.id, "name": z.name, "plan": z.plan, "record_count": self.state.record_count(z.id)}
            for z in self.state.zones()
        ]

    def counters(self) -> dict[str, int]:
        """Requests per ``"METHOD /path/template"``. Requests refused with 429 (by the rate limiter or an
        injected burst) are counted apart, under the same key plus ``" [rate-limited]"``; the two sets
        are disjoint, so the sum of all values is every ``/client/v4`` request received."""
        with self._lock:
            return dict(self._counters)

    def reset_counters(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._counters.clear()

    @property
    def spec_violations(self) -> list[str]:
        """``"METHOD /path: what failed"`` for each request that did not match openapi-dns.json."""
        with self._lock:
            return list(self._violations)

    def clear_spec_violations(self) -> None:
        """Forget recorded violations."""
        with self._lock:
            self._violations.clear()

    def set_faults(self, config: FaultConfig) -> None:
        """Replace the injected faults (takes effect for the next request)."""
        self.faults.set(config)

    def faults_injected(self) -> dict[str, int]:
        """Faults injected so far, by kind (see ``FaultInjector.injected``)."""
        return self.faults.injected()

    def clear_faults(self) -> None:
        """No more injected faults."""
        self.faults.clear()

    def records(self, zone_name: str) -> list[dict[str, Any]]:
        """The zone's current records in API shape."""
        return self.state.records(self.zone_id(zone_name))

    def seed(self, zone_name: str, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Create records through the normal rules, without counting or rate limiting them."""
        zone_id = self.zone_id(zone_name)
        return [self.state.create_record(zone_id, body) for body in records]

    # Called by the handler -----------------------------------------------------------------------

    def _count(self, key: str) -> None:
        with self._lock:
            self._counters[key] += 1

    def _check_spec(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: Iterable[tuple[str, str]],
        body: bytes,
    ) -> None:
        problem = spec.violation(method, path, query, headers, body)
        if problem is not None:
            # Redact the token should a header value ever be echoed (too short a token would only mangle).
            if len(self._token) >= 8:
                problem = problem.replace(self._token, "[token]")
            with self._lock:
                self._violations.append(problem)

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)
