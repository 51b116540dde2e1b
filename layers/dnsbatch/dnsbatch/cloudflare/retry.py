"""The retry policy: whether and when to repeat a failed Cloudflare call. Pure: no clock, no sleep, no IO."""

from __future__ import annotations

import email.utils
import math
import random
from dataclasses import dataclass

from dnsbatch.cloudflare.errors import CloudflareError, RateLimitedError, TransientError

# Reasons a RetryDecision gives, as they appear in log lines.
RETRY = "retry"
NOT_RETRYABLE = "not_retryable"
ATTEMPTS_EXHAUSTED = "attempts_exhausted"
DEADLINE = "deadline"
RETRY_AFTER_TOO_LONG = "retry_after_too_long"


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """What to do after a failed attempt: sleep ``delay`` seconds and retry, or give up."""

    retry: bool
    delay: float
    reason: str


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter for transient errors and 429s.

    Retry ``n`` (1-based) sleeps a uniform random time in ``[0, min(cap, base * factor**(n-1))]``, and at
    least the server's ``Retry-After``. ``max_attempts`` counts the first attempt. A ``Retry-After`` above
    ``max_retry_after`` gives up at once: after a real 429 Cloudflare blocks for the rest of its 5-minute
    window, and sleeping that long inside a Lambda invocation is worse than handing the work back to SQS.
    """

    max_attempts: int = 5
    base: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    max_retry_after: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.base < 0 or self.cap < 0 or self.max_retry_after < 0:
            raise ValueError("base, cap and max_retry_after must be >= 0")
        if self.factor < 1:
            raise ValueError(f"factor must be >= 1, got {self.factor}")

    def backoff_ceiling(self, retry: int) -> float:
        """The upper bound of the jittered sleep before retry number ``retry`` (1-based)."""
        try:
            return min(self.cap, self.base * self.factor ** max(retry - 1, 0))
        except OverflowError:  # a huge max_attempts; the cap was reached long before
            return self.cap

    def decide(
        self,
        error: CloudflareError,
        *,
        attempt: int,
        now: float,
        deadline: float | None,
        rng: random.Random,
    ) -> RetryDecision:
        """Decide what follows failed attempt number ``attempt`` (1-based) that raised ``error``.

        ``now`` and ``deadline`` are on the same clock; no sleep is chosen that would end past the deadline.
        """
        if not isinstance(error, (TransientError, RateLimitedError)):
            return RetryDecision(False, 0.0, NOT_RETRYABLE)
        if attempt >= self.max_attempts:
            return RetryDecision(False, 0.0, ATTEMPTS_EXHAUSTED)
        retry_after = error.retry_after if isinstance(error, RateLimitedError) else None
        if retry_after is not None and retry_after > self.max_retry_after:
            return RetryDecision(False, 0.0, RETRY_AFTER_TOO_LONG)
        delay = rng.uniform(0.0, self.backoff_ceiling(attempt))
        if retry_after is not None:
            delay = max(delay, retry_after)
        if deadline is not None and now + delay > deadline:
            return RetryDecision(False, 0.0, DEADLINE)
        return RetryDecision(True, delay, RETRY)


def parse_retry_after(value: str | None, *, now_wall: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date (RFC 9110 §10.2.3).

    ``now_wall`` is the current Unix time, used only for the date form. Unparseable values give ``None``.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - now_wall
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(seconds, 0.0)
