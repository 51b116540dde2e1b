"""The client against the real emulator over real loopback sockets: every endpoint, pagination, every
fault mode, and every request the client sent matching Cloudflare's OpenAPI schema.

Sleeps are injected (a fake clock), so backoff and Retry-After cost no wall time; the only real waits
are socket timeouts of a fraction of a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from client_fakes import FakeClock, log_text

from devstack.emulator import EmulatorServer, FaultConfig, ZoneSpec
from dnsbatch.cloudflare import (
    AuthenticationError,
    CloudflareClient,
    CloudflareError,
    RateLimitedError,
    RejectedError,
    RequestInfo,
    RetryPolicy,
    TransientError,
    ZoneNotFoundError,
)

TOKEN = "emuTOKEN_9f8e7d6c5b4a3210-zyxwvutsrq"
ZONE = "example.com"
BATCH = "/zones/{zone_id}/dns_records/batch"
RECORD = "/zones/{zone_id}/dns_records/{dns_record_id}"
LIST = "/zones/{zone_id}/dns_records"


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(
        zones=[ZoneSpec(ZONE, plan="free"), ZoneSpec("paid.example", plan="pro")],
        token=TOKEN,
        rate_limit=1200,
        rate_window=300.0,
        validate_requests=True,
    ) as server:
        yield server


class Harness:
    """A client on the emulator with a fake clock, recording every attempt the client reports."""

    def __init__(self, emu: EmulatorServer, **kwargs: Any) -> None:
        self.clock = FakeClock()
        self.attempts: list[RequestInfo] = []
        kwargs.setdefault("timeout", 2.0)
        self.client = CloudflareClient(
            emu.base_url,
            kwargs.pop("token", TOKEN),
            clock=self.clock,
            sleep=self.clock.sleep,
            on_request=self.attempts.append,
            **kwargs,
        )

    def endpoints(self) -> Counter[str]:
        return Counter(a.endpoint for a in self.attempts)


@pytest.fixture
def harness(emu: EmulatorServer) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def factory(**kwargs: Any) -> Harness:
        h = Harness(emu, **kwargs)
        made.append(h)
        return h

    yield factory
    for h in made:
        h.client.close()


def a_record(name: str, content: str = "192.0.2.1", **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": "A", "content": content, "ttl": 1, "proxied": False, **kw}


def assert_spec_clean(emu: EmulatorServer) -> None:
    assert emu.spec_violations == []


def test_every_endpoint_works_against_the_emulator_and_matches_the_spec(
    emu: EmulatorServer, harness: Callable[..., Harness]
) -> None:
    h = harness()
    c = h.client
    zone = c.zone_by_name(ZONE)
    assert (zone.id, zone.name, zone.plan) == (emu.zone_id(ZONE), ZONE, "free")
    assert c.zone_by_name("paid.example").paid

    created = c.create_record(zone.id, a_record("www"))
    assert (created.name, created.type, created.content) == ("www.example.com", "A", "192.0.2.1")
    assert c.get_record(zone.id, created.id) == created
    put = c.put_record(zone.id, created.id, a_record("www.example.com", "192.0.2.2", ttl=300))
    assert (put.content, put.ttl) == ("192.0.2.2", 300)
    patched = c.patch_record(zone.id, created.id, {"content": "192.0.2.3"})
    assert (patched.content, patched.ttl) == ("192.0.2.3", 300)

    mx = c.create_record(zone.id, {"name": "@", "type": "MX", "content": "mail.example.com", "priority": 10})
    txt = c.create_record(zone.id, {"name": "www", "type": "TXT", "content": '"hello"'})
    assert {r.id for r in c.list_records(zone.id)} == {created.id, mx.id, txt.id}
    assert [r.id for r in c.list_records(zone.id, name="www.example.com", type="TXT")] == [txt.id]
    assert {r.id for r in c.list_records(zone.id, name="www.example.com")} == {created.id, txt.id}

    result = c.batch(
        zone.id,
        {
            "deletes": [{"id": txt.id}],
            "patches": [{"id": created.id, "content": "192.0.2.4"}],
            "puts": [{"id": mx.id, "name": ZONE, "type": "MX", "content": "mx2.example.com", "priority": 20}],
            "posts": [a_record("api"), a_record("api", "192.0.2.5")],
        },
    )
    assert [r.id for r in result.deletes] == [txt.id]
    assert result.patches[0].content == "192.0.2.4"
    assert (result.puts[0].content, result.puts[0].priority) == ("mx2.example.com", 20)
    assert sorted(r.content for r in result.posts) == ["192.0.2.1", "192.0.2.5"]

    assert c.delete_record(zone.id, created.id) == created.id
    remaining = c.list_records(zone.id)
    assert sorted((r.name, r.type) for r in remaining) == [
        ("api.example.com", "A"),
        ("api.example.com", "A"),
        ("example.com", "MX"),
    ]
    # What the client reports per endpoint is exactly what the emulator counted.
    assert dict(h.endpoints()) == emu.counters()
    assert_spec_clean(emu)


def test_an_unknown_zone_is_reported_as_not_found(
    emu: EmulatorServer, harness: Callable[..., Harness]
) -> None:
    with pytest.raises(ZoneNotFoundError, match=r"no zone named 'nope\.example'"):
        harness().client.zone_by_name("nope.example")
    assert_spec_clean(emu)


def test_list_records_reads_all_pages_in_one_request_per_page(
    emu: EmulatorServer, harness: Callable[..., Harness]
) -> None:
    emu.seed(ZONE, [a_record(f"host{i}", f"192.0.2.{i + 1}") for i in range(11)])
    h = harness(per_page=5)
    records = h.client.list_records(emu.zone_id(ZONE))
    assert sorted(r.content for r in records) == sorted(f"192.0.2.{i + 1}" for i in range(11))
    assert len({r.id for r in records}) == 11
    assert emu.counters() == {f"GET {LIST}": 3}  # 5 + 5 + 1
    assert_spec_clean(emu)


def test_a_full_last_page_costs_one_extra_empty_page_at_most(
    emu: EmulatorServer, harness: Callable[..., Harness]
) -> None:
    emu.seed(ZONE, [a_record(f"host{i}", f"192.0.2.{i + 1}") for i in range(10)])
    h = harness(per_page=5)
    assert len(h.client.list_records(emu.zone_id(ZONE))) == 10
    assert emu.counters()[f"GET {LIST}"] == 2  # total_pages says 2, so no third request
    assert_spec_clean(emu)


def test_injected_5xx_are_retried_until_the_batch_applies(
    emu: EmulatorServer, harness: Callable[..., Harness]
) -> None:
    emu.set_faults(FaultConfig(error_count=2, error_status=502, path=BATCH))
    h = harness()
    result = h.client.batch(emu.zone_id(ZONE), {"posts": [a_record("www")]})
    assert len(result.posts) == 1
    assert [a.status for a in h.attempts] == [502, 502, 200]
    assert len(h.clock.sleeps) == 2
    assert len(emu.records(ZONE)) == 1
    assert_spec_clean(emu)


def test_persistent_5xx_give_up_after_max_attempts_with_a_transient_error(
    emu: EmulatorServer, harness: Callable[..., Harness]
) -> None:
    emu.set_faults(FaultConfig(error_rate=1.0, error_status=503))
    h = harness(retry=RetryPolicy(max_attempts=3))
    with pytest.raises(TransientError, match=r"HTTP 503.*gave up after 3 attempts"):
        h.client.list_records(emu.zone_id(ZONE))
    assert emu.counters() == {f"GET {LIST}": 3}
    assert_spec_clean(emu)


def test_a_slow_response_past_the_client_timeout_is_retried(
    emu: EmulatorServer, harness: Callable[..., Harness]
) -> None:
    rec = emu.seed(ZONE, [a_record("www")])[0]
    emu.set_faults(FaultConfig(delay_seconds=1.0, delay_count=1, path=RECORD))
    h = harness(timeout=0.2)
    assert h.client.get_record(emu.zone_id(ZONE), rec["id"]).id == rec["id"]
    assert [(a.status, a.error) for a in h.attempts] == [(None, "ReadTimeout"), (200, None)]
    assert_spec_clean(emu)


def test_a_dropped_connection_is_retried_and_the_batch_applies_once(
    emu: EmulatorServer, harness: Callable[..., Harness]
) -> None:
    emu.set_faults(FaultConfig(drop_count=1, path=BATCH))
    h = harness()
    h.client.batch(emu.zone_id(ZONE), {"posts": [a_record("www")]})
    assert [a.status for a in h.attempts] == [None, 200]
    assert h.attempts[0].error in {"RemoteProtocolError", "ReadError"}
    assert len(emu.records(ZONE)) == 1
    assert_spec_clean(emu)


def test_a_batch_whose_answer_was_lost_may_be_rejected_as_a_duplicate_on_retry(
    emu: EmulatorServer, harness: Callable[..., Harness]
) -> None:
    # The hazard documented on CloudflareClient.batch: the server committed, the client timed out.
    emu.set_faults(FaultConfig(delay_seconds=0.5, delay_count=1, path=BATCH))
    h = harness(timeout=0.1, retry=RetryPolicy(max_attempts=1))
    zone_id = emu.zone_id(ZONE)
    with pytest.raises(TransientError, match="timed out"):
        h.client.batch(zone_id, {"posts": [a_record("www")]})
    wait_until(lambda: len(emu.records(ZONE)) == 1)
    with pytest.raises(RejectedError) as info:
        h.client.batch(zone_id, {"posts": [a_record("www")]})
    assert info.value.codes == (81058,)
    assert_spec_clean(emu)


def test_a_429_burst_is_waited_out_honouring_retry_after(
    emu: EmulatorServer, harness: Callable[..., Harness]
) -> None:
    emu.set_faults(FaultConfig(rate_limit_count=3, retry_after=7, path=BATCH))
    h = harness()
    h.client.batch(emu.zone_id(ZONE), {"posts": [a_record("www")]})
    assert [a.status for a in h.attempts] == [429, 429, 429, 200]
    assert all(s >= 7 for s in h.clock.sleeps)
    assert emu.counters() == {f"POST {BATCH} [rate-limited]": 3, f"POST {BATCH}": 1}
    assert_spec_clean(emu)


def test_a_429_burst_longer_than_the_deadline_raises_rate_limited(
    emu: EmulatorServer, harness: Callable[..., Harness]
) -> None:
    emu.set_faults(FaultConfig(rate_limit_count=10, retry_after=30, path=BATCH))
    h = harness()
    with pytest.raises(RateLimitedError) as info:
        h.client.batch(emu.zone_id(ZONE), {"posts": [a_record("www")]}, deadline=h.clock.now + 45)
    assert info.value.retry_after == 30
    assert len(h.attempts) == 2  # at 0 and after 30 s; a third would start past the deadline
    assert emu.records(ZONE) == []
    assert_spec_clean(emu)


def test_a_rejected_name_fails_the_whole_batch_once_with_cloudflares_code(
    emu: EmulatorServer, harness: Callable[..., Harness]
) -> None:
    emu.set_faults(FaultConfig(reject_name_pattern=r"^bad\."))
    h = harness()
    with pytest.raises(RejectedError) as info:
        h.client.batch(emu.zone_id(ZONE), {"posts": [a_record("good"), a_record("bad")]})
    error = info.value
    assert error.status == 400
    assert error.codes and error.errors[0].message
    assert str(error).startswith(f"POST /zones/{emu.zone_id(ZONE)}/dns_records/batch rejected (HTTP 400): ")
    assert len(h.attempts) == 1
    assert emu.records(ZONE) == []  # all or nothing: "good" was not applied either
    assert_spec_clean(emu)


def test_a_real_validation_error_carries_cloudflares_code_and_is_not_retried(
    emu: EmulatorServer, harness: Callable[..., Harness]
) -> None:
    h = harness()
    zone_id = emu.zone_id(ZONE)
    h.client.create_record(zone_id, a_record("www"))
    with pytest.raises(RejectedError) as info:
        h.client.create_record(zone_id, a_record("www"))
    assert info.value.codes == (81058,)
    assert str(info.value) == (
        f"POST /zones/{zone_id}/dns_records rejected (HTTP 400): 81058 An identical record already exists."
    )
    assert len(h.attempts) == 2
    assert_spec_clean(emu)


def test_a_wrong_token_is_an_authentication_error_sent_once(
    emu: EmulatorServer, harness: Callable[..., Harness]
) -> None:
    h = harness(token="not-the-right-token")
    with pytest.raises(AuthenticationError, match=r"HTTP 403.*10000"):
        h.client.list_records(emu.zone_id(ZONE))
    assert len(h.attempts) == 1
    assert_spec_clean(emu)


def test_one_connection_is_reused_for_consecutive_calls(
    emu: EmulatorServer, harness: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="httpcore")
    c = harness().client
    zone = c.zone_by_name(ZONE)
    for i in range(3):
        c.create_record(zone.id, a_record(f"h{i}"))
    c.list_records(zone.id)
    connects = [r for r in caplog.records if r.getMessage().startswith("connect_tcp.complete")]
    assert len(connects) == 1
    assert_spec_clean(emu)


def test_the_token_leaks_nowhere_across_every_emulated_fault(
    emu: EmulatorServer, harness: Callable[..., Harness], all_logs: pytest.LogCaptureFixture
) -> None:
    zone_id = emu.zone_id(ZONE)
    h = harness(timeout=0.2, retry=RetryPolicy(max_attempts=2))
    faults = [
        FaultConfig(error_rate=1.0, error_status=500),
        FaultConfig(delay_seconds=1.0),
        FaultConfig(drop_count=5),
        FaultConfig(rate_limit_count=5, retry_after=1),
        FaultConfig(reject_name_pattern="."),
    ]
    texts: list[str] = []
    for fault in faults:
        emu.set_faults(fault)
        with pytest.raises(CloudflareError) as info:
            h.client.batch(zone_id, {"posts": [a_record("www")]})
        texts += [str(info.value), repr(info.value), repr(vars(info.value))]
    emu.clear_faults()
    bad = harness(token="wrong-token")
    with pytest.raises(AuthenticationError) as auth:
        bad.client.get_record(zone_id, "0" * 32)
    texts += [str(auth.value), repr(auth.value), log_text(all_logs), repr(h.attempts), repr(h.client)]
    blob = "\n".join(texts)
    assert "ReadTimeout" in blob  # every fault really happened
    assert TOKEN not in blob
    assert_spec_clean(emu)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        tick.wait(0.01)
