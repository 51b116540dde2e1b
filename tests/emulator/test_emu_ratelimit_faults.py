"""Rate limit (injected clock) and fault injection, over real sockets."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from devstack.emulator import EmulatorServer, FaultConfig, ZoneSpec

BATCH = "POST /zones/{zone_id}/dns_records/batch"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_rate_limit_answers_429_971_with_retry_after(token: str) -> None:
    clock = FakeClock()
    with (
        EmulatorServer(
            zones=[ZoneSpec("example.com")], token=token, rate_limit=3, rate_window=10, clock=clock
        ) as emu,
        httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {token}"}) as c,
    ):
        remaining = []
        for _ in range(3):
            resp = c.get("/zones")
            remaining.append(resp.headers["X-RateLimit-Remaining"])
            clock.now += 2
        assert remaining == ["2", "1", "0"]
        limited = c.get("/zones")
        assert limited.status_code == 429 and limited.json()["errors"][0]["code"] == 971
        assert limited.headers["Retry-After"] == "4"  # first slot (t=1000) frees at t=1010; now is 1006
        assert limited.headers["X-RateLimit-Limit"] == "3" and "X-RateLimit-Reset" in limited.headers
        clock.now += 4
        assert c.get("/zones").status_code == 200
        assert emu.counters() == {"GET /zones": 4, "GET /zones [rate-limited]": 1}


@pytest.fixture
def fault_client(emu: EmulatorServer, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=5) as c:
        yield c


def test_injected_5xx_for_the_next_n_matching_requests(
    emu: EmulatorServer, fault_client: httpx.Client
) -> None:
    z = emu.zone_id("example.com")
    emu.set_faults(
        FaultConfig(error_count=2, error_status=502, method="POST", path="/zones/{zone_id}/dns_records/batch")
    )
    assert fault_client.get("/zones").status_code == 200  # does not match the filter
    statuses = [fault_client.post(f"/zones/{z}/dns_records/batch", json={}).status_code for _ in range(3)]
    assert statuses == [502, 502, 200]
    assert emu.counters()[BATCH] == 3


def test_injected_5xx_fraction_is_seeded_and_repeatable(
    emu: EmulatorServer, fault_client: httpx.Client
) -> None:
    runs = []
    for _ in range(2):
        emu.set_faults(FaultConfig(error_rate=0.5, seed=7))
        runs.append([fault_client.get("/zones").status_code for _ in range(12)])
    assert runs[0] == runs[1] and set(runs[0]) == {200, 503}


def test_dropped_connection_and_429_burst(emu: EmulatorServer, fault_client: httpx.Client) -> None:
    emu.set_faults(FaultConfig(drop_count=1, rate_limit_count=1, retry_after=7))
    with pytest.raises(httpx.RemoteProtocolError):
        fault_client.get("/zones")
    burst = fault_client.get("/zones")
    assert burst.status_code == 429 and burst.headers["Retry-After"] == "7"
    assert fault_client.get("/zones").status_code == 200


def test_slow_answer_trips_a_client_timeout_without_blocking_stop(token: str) -> None:
    emu = EmulatorServer(token=token).start()
    emu.set_faults(FaultConfig(delay_seconds=30, delay_count=1))
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{emu.base_url}/zones", headers={"Authorization": f"Bearer {token}"}, timeout=0.3)
    emu.stop()  # returns promptly: the delayed handler waits on an Event that stop() sets


def test_reject_name_pattern_fails_the_whole_batch(emu: EmulatorServer, fault_client: httpx.Client) -> None:
    z = emu.zone_id("example.com")
    httpx.post(f"{emu.admin_url}/faults", json={"reject_name_pattern": "^bad\\."})
    body = {
        "posts": [
            {"type": "A", "name": "good", "content": "192.0.2.1"},
            {"type": "A", "name": "bad", "content": "192.0.2.2"},
        ]
    }
    resp = fault_client.post(f"/zones/{z}/dns_records/batch", json=body)
    assert resp.status_code == 400 and resp.json()["errors"][0]["code"] == 9000
    assert emu.records("example.com") == []
    httpx.delete(f"{emu.admin_url}/faults")
    assert fault_client.post(f"/zones/{z}/dns_records/batch", json=body).status_code == 200


def test_admin_rejects_bad_fault_configs(emu: EmulatorServer) -> None:
    assert httpx.post(f"{emu.admin_url}/faults", json={"nope": 1}).status_code == 400
    assert httpx.post(f"{emu.admin_url}/faults", json={"error_status": 404}).status_code == 400
    zones = httpx.get(f"{emu.admin_url}/zones").json()["result"]
    assert {z["name"] for z in zones} == {"example.com", "shop.example", "ent.example"}


def test_a_batch_committed_then_answered_5xx_is_applied_but_the_client_sees_a_failure(
    emu: EmulatorServer, fault_client: httpx.Client
) -> None:
    # GIVEN the next batch is committed and then answered 502 (the ambiguous failure)
    z = emu.zone_id("example.com")
    httpx.post(
        f"{emu.admin_url}/faults",
        json={"commit_error_count": 1, "error_status": 502, "path": "/zones/{zone_id}/dns_records/batch"},
    )
    body = {"posts": [{"type": "A", "name": "amb", "content": "192.0.2.1"}]}
    # WHEN a client sends it
    resp = fault_client.post(f"/zones/{z}/dns_records/batch", json=body)
    # THEN the client sees a 5xx in Cloudflare's envelope, yet the record exists
    assert resp.status_code == 502 and resp.json()["success"] is False
    assert [r["content"] for r in emu.records("example.com")] == ["192.0.2.1"]
    # AND a retry of the same batch meets its own committed result: an identical record already exists
    retry = fault_client.post(f"/zones/{z}/dns_records/batch", json=body)
    assert retry.status_code == 400 and retry.json()["errors"][0]["code"] == 81058
    assert len(emu.records("example.com")) == 1
    assert httpx.get(f"{emu.admin_url}/faults/injected").json()["result"] == {"commit_error": 1}


def test_a_batch_committed_then_dropped_is_applied_and_the_connection_closes(
    emu: EmulatorServer, fault_client: httpx.Client
) -> None:
    z = emu.zone_id("example.com")
    emu.set_faults(FaultConfig(commit_drop_count=1, method="POST"))
    with pytest.raises(httpx.RemoteProtocolError):
        fault_client.post(
            f"/zones/{z}/dns_records/batch",
            json={"posts": [{"type": "A", "name": "d", "content": "192.0.2.9"}]},
        )
    assert [r["name"] for r in emu.records("example.com")] == ["d.example.com"]
    assert emu.faults_injected() == {"commit_drop": 1}


def test_a_commit_fault_on_a_refused_request_sends_the_real_refusal(
    emu: EmulatorServer, fault_client: httpx.Client
) -> None:
    # A request that changes nothing has nothing to hide: its real 4xx goes out, and no fault is counted.
    z = emu.zone_id("example.com")
    emu.set_faults(FaultConfig(commit_error_count=1, reject_name_pattern="^bad"))
    resp = fault_client.post(
        f"/zones/{z}/dns_records", json={"type": "A", "name": "bad", "content": "192.0.2.1"}
    )
    assert resp.status_code == 400 and resp.json()["errors"][0]["code"] == 9000
    assert emu.records("example.com") == []
    assert emu.faults_injected() == {"refused_name": 1}
    # AND reads are never "committed": the fault waits for the next write that succeeds
    assert fault_client.get(f"/zones/{z}/dns_records").status_code == 200
    good = fault_client.post(
        f"/zones/{z}/dns_records", json={"type": "A", "name": "ok", "content": "192.0.2.2"}
    )
    assert good.status_code == 503 and [r["name"] for r in emu.records("example.com")] == ["ok.example.com"]
    assert emu.faults_injected() == {"refused_name": 1, "commit_error": 1}


def test_injected_faults_are_counted_by_kind_across_configurations(
    emu: EmulatorServer, fault_client: httpx.Client
) -> None:
    emu.set_faults(FaultConfig(error_count=2, rate_limit_count=1))
    for _ in range(4):
        fault_client.get("/zones")
    emu.set_faults(FaultConfig(drop_count=1))
    with pytest.raises(httpx.RemoteProtocolError):
        fault_client.get("/zones")
    assert emu.faults_injected() == {"error": 2, "rate_limited": 1, "drop": 1}
    assert httpx.post(f"{emu.admin_url}/faults/injected/reset").status_code == 200
    assert emu.faults_injected() == {}


def test_admin_rejects_a_negative_commit_fault_count(emu: EmulatorServer) -> None:
    resp = httpx.post(f"{emu.admin_url}/faults", json={"commit_error_count": -1})
    assert resp.status_code == 400 and "commit_error_count" in resp.json()["errors"][0]["message"]
