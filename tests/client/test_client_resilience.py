"""Retries, deadlines, pacing and the per-attempt hook, driven through MockTransport with a fake clock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from client_fakes import ZONE_ID, FakeClock, envelope, failure, record

from dnsbatch.cloudflare import (
    AuthenticationError,
    CloudflareClient,
    RateLimitedError,
    RejectedError,
    RequestInfo,
    RetryPolicy,
    TransientError,
)

MakeClient = Callable[..., CloudflareClient]
BATCH_OK = envelope({"deletes": [], "patches": [], "puts": [], "posts": [record()]})


class Script:
    """Plays a list of steps: an (status, body[, headers]) answer, or an exception class to raise."""

    def __init__(self, clock: FakeClock, *steps: Any) -> None:
        self.clock = clock
        self.steps = list(steps)
        self.started: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.started.append(self.clock.now)
        step = self.steps.pop(0)
        if isinstance(step, type) and issubclass(step, Exception):
            raise step("simulated", request=request)  # type: ignore[call-arg]
        status, body, *rest = step
        headers = rest[0] if rest else {}
        if isinstance(body, (bytes, str)):
            return httpx.Response(status, content=body, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    @property
    def count(self) -> int:
        return len(self.started)


def test_a_5xx_is_retried_with_backoff_and_then_succeeds(make_client: MakeClient, clock: FakeClock) -> None:
    script = Script(
        clock, (503, failure(0, "unavailable")), (502, b"<html>bad gateway</html>"), (200, BATCH_OK)
    )
    result = make_client(script).batch(
        ZONE_ID, {"posts": [{"name": "a", "type": "A", "content": "192.0.2.1"}]}
    )
    assert len(result.posts) == 1
    assert script.count == 3
    assert len(clock.sleeps) == 2
    assert 0 <= clock.sleeps[0] <= 0.5
    assert 0 <= clock.sleeps[1] <= 1.0


@pytest.mark.parametrize(
    "exc",
    [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError],
)
def test_timeouts_and_dropped_connections_are_retried_even_for_a_batch_post(
    make_client: MakeClient, clock: FakeClock, exc: type[Exception]
) -> None:
    script = Script(clock, exc, (200, BATCH_OK))
    make_client(script).batch(ZONE_ID, {"posts": []})
    assert script.count == 2


def test_a_malformed_success_body_is_transient_and_retried(make_client: MakeClient, clock: FakeClock) -> None:
    script = Script(clock, (200, b"{not json"), (200, envelope({"no": "id"})), (200, envelope(record())))
    assert make_client(script).get_record(ZONE_ID, "a" * 32).name == "www.example.com"
    assert script.count == 3


def test_a_429_waits_at_least_retry_after(make_client: MakeClient, clock: FakeClock) -> None:
    script = Script(clock, (429, failure(971, "Please wait"), {"Retry-After": "12"}), (200, BATCH_OK))
    make_client(script).batch(ZONE_ID, {})
    assert clock.sleeps[0] >= 12.0
    assert script.started[1] - script.started[0] >= 12.0


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [(400, 81058, RejectedError), (404, 81044, RejectedError), (403, 10000, AuthenticationError)],
)
def test_rejections_and_auth_failures_are_sent_once(
    make_client: MakeClient, clock: FakeClock, status: int, code: int, error: type[Exception]
) -> None:
    script = Script(clock, (status, failure(code, "nope")), (200, BATCH_OK))
    with pytest.raises(error):
        make_client(script).batch(ZONE_ID, {})
    assert script.count == 1
    assert clock.sleeps == []


def test_without_a_deadline_max_attempts_bounds_the_work(make_client: MakeClient, clock: FakeClock) -> None:
    script = Script(clock, *[(500, failure(0, "boom"))] * 10)
    with pytest.raises(TransientError) as info:
        make_client(script, retry=RetryPolicy(max_attempts=4)).list_records(ZONE_ID)
    assert script.count == 4
    assert info.value.attempts == 4
    assert str(info.value).endswith("[gave up after 4 attempts]")


def test_no_retry_starts_past_the_deadline_and_the_last_error_is_raised(
    make_client: MakeClient, clock: FakeClock
) -> None:
    steps = [(429, failure(971, "Please wait"), {"Retry-After": "4"})] * 10
    script = Script(clock, *steps)
    deadline = clock.now + 10.0
    with pytest.raises(RateLimitedError) as info:
        make_client(script, retry=RetryPolicy(max_attempts=10)).batch(ZONE_ID, {}, deadline=deadline)
    assert all(t <= deadline for t in script.started)
    assert clock.now <= deadline  # no sleep ran past it either
    assert script.count == 3  # at 0, >=4, >=8; a fourth would start at >=12
    assert info.value.retry_after == 4.0


def test_the_first_attempt_is_made_even_when_the_deadline_has_passed(
    make_client: MakeClient, clock: FakeClock
) -> None:
    script = Script(clock, (503, failure(0, "x")), (200, BATCH_OK))
    with pytest.raises(TransientError):
        make_client(script).batch(ZONE_ID, {}, deadline=clock.now - 1)
    assert script.count == 1


def test_requests_start_at_least_min_interval_apart(make_client: MakeClient, clock: FakeClock) -> None:
    script = Script(clock, *[(200, envelope(record()))] * 4)
    client = make_client(script, min_interval=1.5)
    for _ in range(4):
        client.get_record(ZONE_ID, "a" * 32)
    gaps = [b - a for a, b in zip(script.started, script.started[1:], strict=False)]
    assert gaps == [1.5, 1.5, 1.5]


def test_pacing_does_not_wait_when_the_interval_has_already_passed(
    make_client: MakeClient, clock: FakeClock
) -> None:
    script = Script(clock, *[(200, envelope(record()))] * 2)
    client = make_client(script, min_interval=1.0)
    client.get_record(ZONE_ID, "a" * 32)
    clock.now += 5.0
    client.get_record(ZONE_ID, "a" * 32)
    assert clock.sleeps == []


def test_pacing_also_spaces_retries(make_client: MakeClient, clock: FakeClock) -> None:
    script = Script(clock, (500, failure(0, "x")), (200, envelope(record())))
    make_client(script, min_interval=5.0).get_record(ZONE_ID, "a" * 32)
    assert script.started[1] - script.started[0] >= 5.0


def test_on_request_sees_every_attempt_with_its_endpoint_template(
    make_client: MakeClient, clock: FakeClock
) -> None:
    seen: list[RequestInfo] = []
    script = Script(clock, httpx.ReadTimeout, (200, b"garbage"), (503, failure(0, "x")), (200, BATCH_OK))
    make_client(script, on_request=seen.append).batch(ZONE_ID, {})
    assert [(i.endpoint, i.status, i.error, i.attempt) for i in seen] == [
        ("POST /zones/{zone_id}/dns_records/batch", None, "ReadTimeout", 1),
        ("POST /zones/{zone_id}/dns_records/batch", 200, "malformed", 2),
        ("POST /zones/{zone_id}/dns_records/batch", 503, None, 3),
        ("POST /zones/{zone_id}/dns_records/batch", 200, None, 4),
    ]
    assert all(i.elapsed >= 0 for i in seen)


def test_on_request_templates_cover_every_endpoint(make_client: MakeClient, clock: FakeClock) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/zones"):
            return httpx.Response(200, json=envelope([{"id": ZONE_ID, "name": "example.com"}]))
        if request.method == "GET" and request.url.path.endswith("/dns_records"):
            return httpx.Response(200, json=envelope([]))
        if request.method == "DELETE":
            return httpx.Response(200, json=envelope({"id": "a" * 32}))
        if request.url.path.endswith("/batch"):
            return httpx.Response(200, json=BATCH_OK)
        return httpx.Response(200, json=envelope(record()))

    client = make_client(handler, on_request=lambda info: seen.append(info.endpoint))
    client.zone_by_name("example.com")
    client.list_records(ZONE_ID)
    client.batch(ZONE_ID, {})
    client.create_record(ZONE_ID, {})
    for call in (client.get_record, client.delete_record):
        call(ZONE_ID, "a" * 32)
    client.put_record(ZONE_ID, "a" * 32, {})
    client.patch_record(ZONE_ID, "a" * 32, {})
    one = "/zones/{zone_id}/dns_records/{dns_record_id}"
    assert seen == [
        "GET /zones",
        "GET /zones/{zone_id}/dns_records",
        "POST /zones/{zone_id}/dns_records/batch",
        "POST /zones/{zone_id}/dns_records",
        f"GET {one}",
        f"DELETE {one}",
        f"PUT {one}",
        f"PATCH {one}",
    ]


def test_a_failing_on_request_hook_does_not_fail_the_call(
    make_client: MakeClient, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(info: RequestInfo) -> None:
        raise RuntimeError("metrics backend down")

    script = Script(clock, (200, envelope(record())))
    assert make_client(script, on_request=broken).get_record(ZONE_ID, "a" * 32).id
    assert any("on_request hook raised" in r.getMessage() for r in caplog.records)


def test_each_retry_decision_and_the_final_failure_log_one_structured_line(
    make_client: MakeClient, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="dnsbatch.cloudflare")
    script = Script(clock, *[(502, failure(0, "bad gateway"))] * 3)
    with pytest.raises(TransientError):
        make_client(script, retry=RetryPolicy(max_attempts=3)).batch(ZONE_ID, {})
    lines = [r for r in caplog.records if r.name == "dnsbatch.cloudflare" and r.levelno >= logging.WARNING]
    assert len(lines) == 3
    retries, final = lines[:2], lines[2]
    path = f"/zones/{ZONE_ID}/dns_records/batch"
    for attempt, line in enumerate(retries, start=1):
        assert line.levelno == logging.WARNING
        assert (line.method, line.path, line.status, line.attempt) == ("POST", path, 502, attempt)  # type: ignore[attr-defined]
        assert line.retry_in == pytest.approx(clock.sleeps[attempt - 1], abs=1e-3)  # type: ignore[attr-defined]
    assert final.retry_in is None  # type: ignore[attr-defined]
    assert final.reason == "attempts_exhausted"  # type: ignore[attr-defined]
    assert final.attempt == 3  # type: ignore[attr-defined]


def test_raised_errors_carry_no_httpx_request(make_client: MakeClient, clock: FakeClock) -> None:
    for step in (httpx.ReadTimeout, httpx.RemoteProtocolError, (400, failure(9005, "bad"))):
        script = Script(clock, step)
        with pytest.raises(Exception) as info:
            make_client(script, retry=RetryPolicy(max_attempts=1)).batch(ZONE_ID, {})
        assert info.value.__cause__ is None
        assert info.value.__context__ is None
        assert not any(isinstance(v, (httpx.Request, httpx.Response)) for v in vars(info.value).values())


def test_a_request_that_cannot_be_sent_is_not_retried(make_client: MakeClient, clock: FakeClock) -> None:
    script = Script(clock, httpx.UnsupportedProtocol, (200, BATCH_OK))
    with pytest.raises(Exception) as info:
        make_client(script).batch(ZONE_ID, {})
    assert not isinstance(info.value, (TransientError, RejectedError))
    assert script.count == 1
