"""Cloudflare API v4 client for zones and DNS records: ``CloudflareClient``, its errors and retry policy.

The names below are loaded on first use (PEP 562): ``dnsbatch.rdata`` needs ``cloudflare.types`` on
every path, and importing this package must not pull in the HTTP client (httpx) for the aggregator,
which never talks to Cloudflare (cold start, docs/benchmarks.md "imports").
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dnsbatch.cloudflare.client import DEFAULT_BASE_URL, CloudflareClient, RequestInfo
    from dnsbatch.cloudflare.errors import (
        ApiErrorDetail,
        AuthenticationError,
        CloudflareError,
        RateLimitedError,
        RejectedError,
        TransientError,
        ZoneNotFoundError,
    )
    from dnsbatch.cloudflare.retry import RetryDecision, RetryPolicy
    from dnsbatch.cloudflare.types import BatchResult, Record, Zone

_WHERE = {
    "DEFAULT_BASE_URL": "client",
    "CloudflareClient": "client",
    "RequestInfo": "client",
    "ApiErrorDetail": "errors",
    "AuthenticationError": "errors",
    "CloudflareError": "errors",
    "RateLimitedError": "errors",
    "RejectedError": "errors",
    "TransientError": "errors",
    "ZoneNotFoundError": "errors",
    "RetryDecision": "retry",
    "RetryPolicy": "retry",
    "BatchResult": "types",
    "Record": "types",
    "Zone": "types",
}

__all__ = [
    "DEFAULT_BASE_URL",
    "ApiErrorDetail",
    "AuthenticationError",
    "BatchResult",
    "CloudflareClient",
    "CloudflareError",
    "RateLimitedError",
    "Record",
    "RejectedError",
    "RequestInfo",
    "RetryDecision",
    "RetryPolicy",
    "TransientError",
    "Zone",
    "ZoneNotFoundError",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
