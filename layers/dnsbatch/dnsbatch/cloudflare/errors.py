"""Errors raised by the Cloudflare client, and the mapping from an HTTP outcome to one of them.

Hierarchy::

    CloudflareError              base: .status, .errors, .codes, .method, .path, .attempts
    ├── RateLimitedError         HTTP 429 (code 971); .retry_after from the Retry-After header
    ├── TransientError           5xx, 408, timeouts, connection errors and dropped connections,
    │                            malformed or non-JSON response bodies
    ├── RejectedError            any other 4xx: validation, conflict, not found; Cloudflare's codes
    │   └── ZoneNotFoundError    GET /zones?name=... found no zone of that name
    └── AuthenticationError      401/403, or codes 9106/10000/9109 whatever the status

The retry policy retries ``TransientError`` and ``RateLimitedError`` only. ``AuthenticationError`` is not a
``RejectedError`` on purpose: a bad token is an operator problem, and the pipeline must not blame (and
park) every record of a chunk for it.

Exceptions carry no httpx request or response objects (those hold the ``Authorization`` header), and
their ``path`` is the API path below the base URL, with ids but never the token.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Cloudflare answers some credential problems with 400 rather than 401/403 (9106: missing headers).
AUTH_ERROR_CODES = frozenset({9106, 9109, 10000})

_AUTH_HINT = "check that the API token is valid and has Zone Read and DNS Write permission for this zone"
_BODY_SNIPPET = 120


@dataclass(frozen=True, slots=True)
class ApiErrorDetail:
    """One entry of Cloudflare's ``errors`` array."""

    code: int
    message: str

    def __str__(self) -> str:
        return f"{self.code} {self.message}" if self.code else self.message


class CloudflareError(Exception):
    """Base class of every error the Cloudflare client raises."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status: int | None = None,
        errors: Sequence[ApiErrorDetail] = (),
        ray_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.status = status
        self.errors: tuple[ApiErrorDetail, ...] = tuple(errors)
        self.ray_id = ray_id  # Cloudflare's cf-ray, what Cloudflare support asks for
        self.attempts = 1
        # An earlier attempt of the same call failed after the request may have reached Cloudflare (a read
        # timeout, a dropped connection, a 5xx): a write may then have been committed although its answer
        # was lost, and this error (often 81058 or 81044 on the retry) may be about our own first attempt.
        self.after_ambiguous = False

    @property
    def codes(self) -> tuple[int, ...]:
        """Cloudflare's error codes, in the order it returned them."""
        return tuple(e.code for e in self.errors)

    def __str__(self) -> str:
        if self.attempts > 1:
            return f"{self.message} [gave up after {self.attempts} attempts]"
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class RateLimitedError(CloudflareError):
    """HTTP 429: over Cloudflare's 1,200 requests / 5 minutes (or 200/s per IP)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class TransientError(CloudflareError):
    """A failure that may succeed if repeated: 5xx, timeout, connection trouble, unreadable body."""

    def __init__(self, message: str, *, kind: str = "http", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.kind = kind  # "http", "malformed", or the transport exception's name ("ReadTimeout", ...)


class RejectedError(CloudflareError):
    """Cloudflare refused the request as sent (4xx); repeating it unchanged cannot succeed."""


class ZoneNotFoundError(RejectedError):
    """No zone of that name is visible to the token."""


class AuthenticationError(CloudflareError):
    """The token is missing, invalid, or lacks a permission this call needs."""


def error_details(body: object, redact: Callable[[str], str] = str) -> tuple[ApiErrorDetail, ...]:
    """Cloudflare's ``errors`` array as typed details; tolerant of missing or odd entries."""
    if not isinstance(body, Mapping):
        return ()
    raw = body.get("errors")
    if not isinstance(raw, list):
        return ()
    details: list[ApiErrorDetail] = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        try:
            code = int(item.get("code") or 0)
        except (TypeError, ValueError):
            code = 0
        details.append(ApiErrorDetail(code, redact(str(item.get("message") or "")).strip()))
        # Before 2024-10 validation errors came wrapped as 1004 with the cause in error_chain.
        chain = item.get("error_chain")
        if isinstance(chain, list):
            details.extend(error_details({"errors": chain}, redact))
    return tuple(details)


def _describe(details: Sequence[ApiErrorDetail], fallback: str) -> str:
    return "; ".join(str(d) for d in details) if details else fallback


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return repr(text[:_BODY_SNIPPET] + ("..." if len(text) > _BODY_SNIPPET else ""))


def error_from_response(
    method: str,
    path: str,
    status: int,
    body: object,
    *,
    text: str = "",
    retry_after: float | None = None,
    ray_id: str | None = None,
    redact: Callable[[str], str] = str,
) -> CloudflareError:
    """Map a response that is not a success to the error it stands for.

    ``body`` is the decoded JSON (or ``None`` when the body was not JSON), ``text`` the raw body used for
    a short snippet in messages about non-JSON answers, ``redact`` scrubs secrets from any server text.
    """
    details = error_details(body, redact)
    where = f"{method} {path}"
    common: dict[str, Any] = {"method": method, "path": path, "status": status, "errors": details}
    common["ray_id"] = ray_id
    if body is None:
        not_json = f"non-JSON body {_snippet(redact(text))}"
    elif not isinstance(body, Mapping):
        not_json = "a JSON body that is not Cloudflare's envelope"
    else:
        not_json = "no error details"
    if status == 429:
        wait = "" if retry_after is None else f", Retry-After {retry_after:g} s"
        return RateLimitedError(
            f"{where} rate limited (HTTP 429{wait}): {_describe(details, not_json)}",
            retry_after=retry_after,
            **common,
        )
    if status in (401, 403) or AUTH_ERROR_CODES.intersection(d.code for d in details):
        return AuthenticationError(
            f"{where} not authorised (HTTP {status}): {_describe(details, not_json)}; {_AUTH_HINT}",
            **common,
        )
    if status >= 500 or status == 408:
        return TransientError(
            f"{where} failed on Cloudflare's side (HTTP {status}): {_describe(details, not_json)}",
            **common,
        )
    if 400 <= status < 500:
        return RejectedError(f"{where} rejected (HTTP {status}): {_describe(details, not_json)}", **common)
    if details:
        # A 2xx with "success": false: Cloudflare said no in the envelope, so treat it as a refusal.
        return RejectedError(f"{where} rejected (HTTP {status}): {_describe(details, not_json)}", **common)
    return malformed(method, path, status, f"unexpected response ({not_json})", ray_id=ray_id)


def malformed(
    method: str, path: str, status: int, problem: str, *, ray_id: str | None = None
) -> TransientError:
    """A response the client cannot use (not JSON, not Cloudflare's envelope, a result of the wrong shape).

    Treated as transient: it is what a proxy error page or a truncated body looks like.
    """
    return TransientError(
        f"{method} {path} returned a malformed response (HTTP {status}): {problem}",
        kind="malformed",
        method=method,
        path=path,
        status=status,
        ray_id=ray_id,
    )
