"""Validate incoming requests against ``openapi-dns.json`` (Cloudflare's schema subset) with openapi-core.

Building the validator takes a while, so it is built once per process and shared by every server.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_PATH = Path(__file__).with_name("openapi-dns.json")
# The spec's server is https://api.cloudflare.com/client/v4; requests are checked as if sent there.
_HOST_URL = "https://api.cloudflare.com"
_MAX_DETAIL = 600
_build_lock = threading.Lock()


@functools.cache
def _openapi() -> Any:
    return OpenAPI.from_dict(json.loads(SPEC_PATH.read_text()))


def load() -> Any:
    """The shared ``openapi_core.OpenAPI`` for the spec (built on first use)."""
    with _build_lock:
        return _openapi()


class _Request:
    """The request protocol openapi-core expects."""

    def __init__(
        self,
        method: str,
        path: str,
        query: Iterable[tuple[str, str]],
        headers: Iterable[tuple[str, str]],
        body: bytes,
    ) -> None:
        header = Headers(list(headers))
        self.host_url = _HOST_URL
        self.path = path
        self.method = method.lower()
        self.body: bytes | None = body or None
        self.content_type = (header.get("Content-Type") or "application/octet-stream").lower()
        self.parameters = RequestParameters(query=ImmutableMultiDict(list(query)), header=header)


def _schema_detail(err: Any) -> str:
    """One jsonschema error. For a oneOf over record types, report the branch whose ``type`` matched
    (the other branches fail only because the type differs, which says nothing useful)."""
    context = list(getattr(err, "context", None) or ())
    if context:
        branches: dict[Any, list[Any]] = {}
        for sub in context:
            branches.setdefault(sub.relative_schema_path[0] if sub.relative_schema_path else None, []).append(
                sub
            )
        relevant = [
            sub
            for subs in branches.values()
            if not any(list(sub.relative_path) == ["type"] for sub in subs)
            for sub in subs
        ]
        if relevant:
            return "; ".join(_schema_detail(sub) for sub in relevant[:3])
    where = "/".join(str(p) for p in getattr(err, "absolute_path", ()))
    return f"at /{where}: {_safe_str(getattr(err, 'message', err))}"


def _safe_str(obj: object) -> str:
    # openapi-core's own __str__ can raise (it decodes non-UTF-8 bodies); a report must never crash.
    try:
        return str(obj)
    except Exception:
        return type(obj).__name__


def _describe(exc: BaseException) -> str:
    """The exception chain's types, plus each schema error openapi-core collected (or the message)."""
    names: list[str] = []
    details: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(names) < 4:
        names.append(type(seen).__name__)
        details.extend(_schema_detail(err) for err in getattr(seen, "schema_errors", None) or ())
        seen = seen.__cause__ or seen.__context__
    summary = _safe_str(exc).split(": Value ")[0]  # drop the echo of the whole body
    text = f"{' <- '.join(names)}: {summary}" + (f" ({'; '.join(details)})" if details else "")
    return text if len(text) <= _MAX_DETAIL else text[:_MAX_DETAIL] + "..."


def violation(
    method: str, path: str, query: Iterable[tuple[str, str]], headers: Iterable[tuple[str, str]], body: bytes
) -> str | None:
    """None if the request matches the spec, else ``"METHOD /path: what failed"``. ``path`` is the full
    path, e.g. ``/client/v4/zones``. Header values never appear in the message."""
    request = _Request(method, path, query, headers, body)
    try:
        load().validate_request(request)
    except Exception as exc:  # openapi-core raises a family of errors; every one is a violation
        return f"{method.upper()} {path}: {_describe(exc)}"
    return None
