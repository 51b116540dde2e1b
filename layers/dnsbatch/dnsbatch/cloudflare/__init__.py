"""Cloudflare API v4 client for zones and DNS records: ``CloudflareClient``, its errors and retry policy."""

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
