"""The retry policy is a pure object: these tests need no HTTP, clock or sleep."""

from __future__ import annotations

import random
from typing import Any

import pytest

from dnsbatch.cloudflare import (
    AuthenticationError,
    CloudflareError,
    RateLimitedError,
    RejectedError,
    RetryPolicy,
    TransientError,
)
from dnsbatch.cloudflare.retry import (
    ATTEMPTS_EXHAUSTED,
    DEADLINE,
    NOT_RETRYABLE,
    RETRY,
    RETRY_AFTER_TOO_LONG,
    parse_retry_after,
)

KW: dict[str, Any] = {"method": "POST", "path": "/zones/z/dns_records/batch"}


def transient() -> TransientError:
    return TransientError("boom", status=502, **KW)


def limited(retry_after: float | None) -> RateLimitedError:
    return RateLimitedError("slow down", retry_after=retry_after, status=429, **KW)


def test_backoff_ceiling_doubles_from_base_and_stops_at_cap() -> None:
    policy = RetryPolicy(base=0.5, factor=2.0, cap=30.0)
    assert [policy.backoff_ceiling(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_backoff_ceiling_does_not_overflow_for_huge_retry_numbers() -> None:
    assert RetryPolicy(cap=30.0).backoff_ceiling(5000) == 30.0


def test_full_jitter_delay_lies_between_zero_and_the_ceiling() -> None:
    policy = RetryPolicy(base=0.5, factor=2.0, cap=30.0, max_attempts=10)
    rng = random.Random(99)
    for attempt in range(1, 9):
        delays = [
            policy.decide(transient(), attempt=attempt, now=0.0, deadline=None, rng=rng).delay
            for _ in range(200)
        ]
        ceiling = policy.backoff_ceiling(attempt)
        assert all(0.0 <= d <= ceiling for d in delays)
        # Full jitter spreads over the whole range, not just near the ceiling.
        assert min(delays) < ceiling * 0.2 < ceiling * 0.8 < max(delays)


def test_transient_errors_and_rate_limits_are_retried() -> None:
    policy = RetryPolicy()
    for error in (transient(), limited(None), limited(1.0)):
        decision = policy.decide(error, attempt=1, now=0.0, deadline=None, rng=random.Random(1))
        assert decision.retry
        assert decision.reason == RETRY


@pytest.mark.parametrize(
    "error",
    [
        RejectedError("no", status=400, **KW),
        AuthenticationError("no", status=403, **KW),
        CloudflareError("cannot send", **KW),
    ],
    ids=["rejected", "authentication", "base"],
)
def test_rejections_and_authentication_errors_are_never_retried(error: CloudflareError) -> None:
    decision = RetryPolicy().decide(error, attempt=1, now=0.0, deadline=None, rng=random.Random(1))
    assert not decision.retry
    assert decision.reason == NOT_RETRYABLE


def test_max_attempts_counts_the_first_attempt() -> None:
    policy = RetryPolicy(max_attempts=3)
    rng = random.Random(1)
    assert policy.decide(transient(), attempt=2, now=0.0, deadline=None, rng=rng).retry
    last = policy.decide(transient(), attempt=3, now=0.0, deadline=None, rng=rng)
    assert (last.retry, last.reason) == (False, ATTEMPTS_EXHAUSTED)


def test_a_rate_limited_retry_sleeps_at_least_retry_after() -> None:
    policy = RetryPolicy(base=0.5, cap=1.0)
    for seed in range(50):
        decision = policy.decide(limited(7.0), attempt=1, now=0.0, deadline=None, rng=random.Random(seed))
        assert decision.retry
        assert decision.delay >= 7.0


def test_no_sleep_is_chosen_that_would_end_past_the_deadline() -> None:
    policy = RetryPolicy()
    decision = policy.decide(limited(10.0), attempt=1, now=100.0, deadline=105.0, rng=random.Random(1))
    assert (decision.retry, decision.reason) == (False, DEADLINE)
    ok = policy.decide(limited(10.0), attempt=1, now=100.0, deadline=110.0, rng=random.Random(1))
    assert ok.retry
    assert 100.0 + ok.delay <= 110.0


def test_deadline_already_passed_gives_up() -> None:
    decision = RetryPolicy().decide(transient(), attempt=1, now=10.0, deadline=9.0, rng=random.Random(1))
    assert (decision.retry, decision.reason) == (False, DEADLINE)


def test_retry_after_beyond_max_retry_after_gives_up_instead_of_sleeping() -> None:
    policy = RetryPolicy(max_retry_after=60.0)
    decision = policy.decide(limited(300.0), attempt=1, now=0.0, deadline=None, rng=random.Random(1))
    assert (decision.retry, decision.reason) == (False, RETRY_AFTER_TOO_LONG)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"base": -1.0}, {"cap": -1.0}, {"factor": 0.5}, {"max_retry_after": -1.0}],
)
def test_nonsensical_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
        ("nan", None),
        (None, None),
    ],
)
def test_retry_after_accepts_seconds_and_http_dates(header: str | None, expected: float | None) -> None:
    now_wall = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert parse_retry_after(header, now_wall=now_wall) == expected
