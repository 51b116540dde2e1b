"""Cloudflare API v4 client for zones and DNS records
(docs/architecture.md#cloudflare-facts-the-code-relies-on).

Every call goes through one pooled ``httpx.Client`` and one retry loop (``_call``). The client is meant to
live at module scope in a Lambda and be reused across warm invocations: it keeps its connection pool, its
zone cache and its pacing state. Reading the response envelope lives in ``responses``, the endpoints in
``paths`` and the token's handling in ``token``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import httpx

from dnsbatch.cloudflare.errors import AuthenticationError, CloudflareError, TransientError, ZoneNotFoundError
from dnsbatch.cloudflare.paths import BATCH, RECORD, RECORDS, ZONES, batch_path, record_path, records_path
from dnsbatch.cloudflare.responses import (
    int_or,
    interpret,
    parse_batch,
    parse_deleted,
    parse_page,
    parse_record,
    parse_zones,
)
from dnsbatch.cloudflare.retry import RetryPolicy
from dnsbatch.cloudflare.token import Secret
from dnsbatch.cloudflare.types import BatchResult, Record, Zone

logger = logging.getLogger("dnsbatch.cloudflare")

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
USER_AGENT = "dnsbatch/0.1"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """One HTTP attempt, as passed to the ``on_request`` hook (for per-endpoint call counts and metrics)."""

    method: str
    path: str  # the template, e.g. "/zones/{zone_id}/dns_records/batch"
    status: int | None  # None when no response arrived
    error: str | None  # "ReadTimeout", "RemoteProtocolError", "malformed", ...; None for a usable response
    elapsed: float  # seconds on the client's clock
    attempt: int  # 1 for the first try of a call

    @property
    def endpoint(self) -> str:
        """``"POST /zones/{zone_id}/dns_records/batch"``: the key the emulator counts requests by."""
        return f"{self.method} {self.path}"


class CloudflareClient:
    """Typed access to Cloudflare's zone lookup, record listing, batch and per-record endpoints.

    **Parameters:**
    * ``base_url`` — e.g. ``https://api.cloudflare.com/client/v4`` or an emulator's ``base_url``.
    * ``token`` — API token; sent only as ``Authorization: Bearer``. Surrounding whitespace is stripped.
    * ``http`` — an ``httpx.Client`` to use (tests pass one with a ``MockTransport``); the caller closes it.
    * ``clock``/``sleep`` — the time source for deadlines, pacing and backoff, and how to wait.
    * ``min_interval`` — seconds between the starts of consecutive requests (every attempt counts).
    * ``timeout`` — per-attempt timeout in seconds (connect, read, write, pool).
    * ``per_page`` — page size for ``list_records``.
    * ``retry`` — the ``RetryPolicy``; ``rng`` its jitter source.
    * ``on_request`` — called once per HTTP attempt with a ``RequestInfo``; never sees the token.

    Every method takes ``deadline``, an absolute time on ``clock``: no backoff sleep that would end past it
    is taken, so no retry starts after it, and the last error is raised instead. The first attempt is always
    made, and each attempt may last up to ``timeout``: leave that much headroom.
    Pacing slots are reserved under a lock, so threads sharing a client still keep ``min_interval``.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        min_interval: float = 0.0,
        timeout: float = 10.0,
        per_page: int = 5000,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so a shared default is safe
        rng: random.Random | None = None,
        on_request: Callable[[RequestInfo], None] | None = None,
    ) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        secret = Secret.checked(token)
        if per_page < 1:
            raise ValueError(f"per_page must be >= 1, got {per_page}")
        if min_interval < 0 or timeout <= 0:
            raise ValueError("min_interval must be >= 0 and timeout > 0")
        self._base_url = base_url.rstrip("/")
        self._token = secret
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(headers={"User-Agent": USER_AGENT})
        self._clock = clock
        self._sleep = sleep
        self._min_interval = min_interval
        self._timeout = timeout
        self._per_page = per_page
        self._retry = retry
        self._rng = rng if rng is not None else random.Random()
        self._on_request = on_request
        self._zones: dict[str, Zone] = {}
        self._lock = threading.Lock()
        self._next_start = float("-inf")

    def __repr__(self) -> str:
        return (
            f"CloudflareClient(base_url={self._base_url!r}, min_interval={self._min_interval}, "
            f"timeout={self._timeout}, per_page={self._per_page}, retry={self._retry!r})"
        )

    def __enter__(self) -> CloudflareClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool, unless the ``httpx.Client`` was passed in (its owner closes it)."""
        if self._owns_http:
            self._http.close()

    # -- endpoints -------------------------------------------------------------------------------------

    def zone_by_name(self, name: str, *, deadline: float | None = None) -> Zone:
        """The zone called ``name`` (``GET /zones?name=``); cached for the life of the client."""
        key = name.strip().rstrip(".").lower()
        cached = self._zones.get(key)
        if cached is not None:
            return cached
        zones = self._call("GET", ZONES, ZONES, parse_zones, params={"name": key}, deadline=deadline)
        zone = next((z for z in zones if z.name == key), None)
        if zone is None:
            error = ZoneNotFoundError(
                f"GET /zones?name={key}: no zone named {key!r} is visible to this API token; "
                "check the zone name and that the token has Zone Read permission on it",
                method="GET",
                path=ZONES,
            )
            logger.warning(str(error), extra={"method": "GET", "path": ZONES, "zone": key})
            raise error
        self._zones[key] = zone
        return zone

    def list_records(
        self,
        zone_id: str,
        *,
        name: str | None = None,
        type: str | None = None,
        deadline: float | None = None,
    ) -> list[Record]:
        """Every record of the zone (all pages); optionally only one exact ``name`` and/or ``type``."""
        path = records_path(zone_id)
        params: dict[str, str | int] = {"per_page": self._per_page}
        if name is not None:
            params["name.exact"] = name  # what the official SDK sends; plain ?name= is its alias
        if type is not None:
            params["type"] = type
        records: dict[str, Record] = {}
        page = 1
        while True:
            batch, info = self._call(
                "GET", RECORDS, path, parse_page, params={**params, "page": page}, deadline=deadline
            )
            new = [r for r in batch if r.id not in records]
            # Pages are offsets into a live list: a concurrent delete can shift a record onto a page we
            # already read (seen twice). Keep the first copy; the planner tolerates a re-read.
            records.update((r.id, r) for r in new)
            per_page = int_or(info.get("per_page"), self._per_page)  # the server may cap per_page
            total_pages = int_or(info.get("total_pages"), 0)
            if not batch or len(batch) < per_page:
                break
            if total_pages:
                if page >= total_pages:
                    break
            elif not new:
                break  # no total_pages and a page of nothing new: a server ignoring `page` would loop forever
            page += 1
        return list(records.values())

    def batch(self, zone_id: str, body: Mapping[str, Any], *, deadline: float | None = None) -> BatchResult:
        """Apply ``{"deletes", "patches", "puts", "posts"}`` in one transaction (all or nothing).

        Retried after timeouts and dropped connections like any other transient failure, although the
        first attempt may have been committed: the retry then fails with 81058 (identical record) or an
        unknown-id error and raises ``RejectedError``. That is deliberate. The pipeline re-reads the zone
        and re-plans, which converges; not retrying would instead leave the change to SQS redelivery.
        """
        path = batch_path(zone_id)
        return self._call("POST", BATCH, path, parse_batch, body=dict(body), deadline=deadline)

    def get_record(self, zone_id: str, record_id: str, *, deadline: float | None = None) -> Record:
        """One record by id."""
        return self._call("GET", RECORD, record_path(zone_id, record_id), parse_record, deadline=deadline)

    def create_record(
        self, zone_id: str, body: Mapping[str, Any], *, deadline: float | None = None
    ) -> Record:
        """Create a record (``POST .../dns_records``). A retry after an ambiguous failure may hit 81058."""
        path = records_path(zone_id)
        return self._call("POST", RECORDS, path, parse_record, body=dict(body), deadline=deadline)

    def put_record(
        self, zone_id: str, record_id: str, body: Mapping[str, Any], *, deadline: float | None = None
    ) -> Record:
        """Overwrite a record; fields left out go back to their defaults."""
        path = record_path(zone_id, record_id)
        return self._call("PUT", RECORD, path, parse_record, body=dict(body), deadline=deadline)

    def patch_record(
        self, zone_id: str, record_id: str, body: Mapping[str, Any], *, deadline: float | None = None
    ) -> Record:
        """Change some fields of a record; the others keep their values."""
        path = record_path(zone_id, record_id)
        return self._call("PATCH", RECORD, path, parse_record, body=dict(body), deadline=deadline)

    def delete_record(self, zone_id: str, record_id: str, *, deadline: float | None = None) -> str:
        """Delete a record; returns its id. A retry after an ambiguous failure may find it already gone."""
        path = record_path(zone_id, record_id)
        return self._call("DELETE", RECORD, path, parse_deleted, deadline=deadline)

    # -- the one place HTTP happens ----------------------------------------------------------------------

    def _call(
        self,
        method: str,
        template: str,
        path: str,
        parse: Callable[[Mapping[str, Any]], T],
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        deadline: float | None = None,
    ) -> T:
        attempt = 0
        ambiguous = False
        while True:
            attempt += 1
            outcome = self._attempt(method, template, path, parse, params=params, body=body, attempt=attempt)
            if not isinstance(outcome, CloudflareError):
                return outcome
            outcome.after_ambiguous = ambiguous
            ambiguous = ambiguous or _may_have_taken_effect(outcome)
            decision = self._retry.decide(
                outcome, attempt=attempt, now=self._clock(), deadline=deadline, rng=self._rng
            )
            extra = {
                "method": method,
                "path": path,
                "status": outcome.status,
                "attempt": attempt,
                "error_kind": type(outcome).__name__,
                "cf_codes": list(outcome.codes),
            }
            if not decision.retry:
                outcome.attempts = attempt
                level = logging.ERROR if isinstance(outcome, AuthenticationError) else logging.WARNING
                logger.log(
                    level,
                    "cloudflare call failed (%s): %s",
                    decision.reason,
                    outcome,
                    extra={**extra, "retry_in": None, "reason": decision.reason},
                )
                # Raised here, outside any except block, so no httpx exception (which holds the request
                # and its Authorization header) hangs off __context__.
                raise outcome
            logger.warning(
                "cloudflare call failed, retrying in %.3f s: %s",
                decision.delay,
                outcome,
                extra={**extra, "retry_in": round(decision.delay, 3), "reason": decision.reason},
            )
            self._sleep(decision.delay)

    def _attempt(
        self,
        method: str,
        template: str,
        path: str,
        parse: Callable[[Mapping[str, Any]], T],
        *,
        params: Mapping[str, str | int] | None,
        body: Mapping[str, Any] | None,
        attempt: int,
    ) -> T | CloudflareError:
        self._pace()
        headers = {"Authorization": f"Bearer {self._token.reveal()}", "Accept": "application/json"}
        started = self._clock()
        failure: CloudflareError | None = None
        kind: str | None = None
        response: httpx.Response | None = None
        try:
            response = self._http.request(
                method,
                self._base_url + path,
                params=params,
                json=body,
                headers=headers,
                timeout=self._timeout,
            )
        except httpx.TimeoutException as exc:
            kind = type(exc).__name__
            failure = TransientError(
                f"{method} {path} timed out after {self._timeout:g} s ({kind})",
                kind=kind,
                method=method,
                path=path,
            )
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError) as exc:
            # Our side built a request that cannot be sent: repeating it cannot help.
            kind = type(exc).__name__
            failure = CloudflareError(
                f"{method} {path} could not be sent ({kind}: {self._redact(str(exc))})",
                method=method,
                path=path,
            )
        except (httpx.TransportError, httpx.DecodingError) as exc:
            # Connect/read/write errors and RemoteProtocolError, which is how a dropped connection surfaces.
            kind = type(exc).__name__
            failure = TransientError(
                f"{method} {path} connection failed ({kind}: {self._redact(str(exc))})",
                kind=kind,
                method=method,
                path=path,
            )
        elapsed = self._clock() - started
        outcome: T | CloudflareError
        if response is None:
            assert failure is not None
            outcome = failure
        else:
            outcome = interpret(method, path, response, parse, redact=self._redact)
            if isinstance(outcome, TransientError) and outcome.kind != "http":
                kind = outcome.kind
        status = None if response is None else response.status_code
        logger.debug(
            "cloudflare %s %s -> %s",
            method,
            path,
            status if status is not None else kind,
            extra={"method": method, "path": path, "status": status, "attempt": attempt, "elapsed": elapsed},
        )
        self._notify(RequestInfo(method, template, status, kind, elapsed, attempt))
        return outcome

    def _pace(self) -> None:
        if self._min_interval <= 0:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next_start)
            self._next_start = start + self._min_interval
        if start > now:
            self._sleep(start - now)

    def _notify(self, info: RequestInfo) -> None:
        if self._on_request is None:
            return
        try:
            self._on_request(info)
        except Exception:
            # Observability must not turn a successful call into a failure.
            logger.warning("on_request hook raised; ignored", exc_info=True, extra={"path": info.path})

    def _redact(self, text: str) -> str:
        return self._token.redact(text)


# Failures that happen before the request leaves this host: nothing can have reached Cloudflare.
_NOT_SENT = frozenset({"ConnectError", "ConnectTimeout", "PoolTimeout"})


def _may_have_taken_effect(error: CloudflareError) -> bool:
    """Could the failed attempt have been carried out by Cloudflare although we got no usable answer?"""
    return isinstance(error, TransientError) and error.kind not in _NOT_SENT
