"""The chaos suite, short: a few hundred seeded events through the whole pipeline while the emulator
injects every fault it knows and functions are killed mid-invocation (devstack/stack/chaos.py; the long
run is `make chaos`). Then the minimised scenarios behind each failure the long run found, so each one
fails for a single reason and can be run alone.

A check that fails because of a known library bug is marked xfail(strict=True) naming the bug: once the
library is fixed the test passes, strict turns that into a failure, and the marker must go.
"""

from __future__ import annotations

import fcntl
import json
import pickle
from collections import Counter

import pytest
from integration_helpers import PipelineFactory, rrset

from devstack.emulator import FaultConfig
from devstack.stack.chaos import (
    FAULT_KINDS,
    ChaosConfig,
    ChaosResult,
    Event,
    KillAt,
    Message,
    OutOfBand,
    Window,
    format_summary,
    oracle,
    run_chaos,
)
from devstack.stack.pipeline import count_events

SEED = 20261125

# One short run per `make test`, shared by the tests below: pytest-xdist runs them on either worker (and
# tears module fixtures down whenever a worker's queue runs dry), so the first to get here runs it under
# a file lock in the workers' common temporary directory and the others read its result.
_SHORT_RUN: dict[int, ChaosResult] = {}


def _short_config(moto_endpoint: str) -> ChaosConfig:
    return ChaosConfig(
        seed=SEED,
        events=90,  # plus the dense events: about 300 in all
        windows=len(FAULT_KINDS),  # the schedule gives window n fault kind n: every kind at least once
        kill_rate=0.25,
        kill_after=30,
        dense=True,  # every zone's first chunk goes through the fallback, every switching name moves
        # Redeliveries after kills and failures dominate the wall time: shorter visibility timeouts and
        # a shorter client timeout (and slow answer) keep the run well under a minute.
        time_scale=0.0005,
        request_timeout=0.5,
        slow_seconds=0.8,
        moto_endpoint=moto_endpoint,
    )


@pytest.fixture
def short_run(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> ChaosResult:
    if SEED not in _SHORT_RUN:
        base = tmp_path_factory.getbasetemp()
        shared = base if worker_id == "master" else base.parent
        data = shared / f"chaos-short-{SEED}.pickle"
        with (shared / "chaos-short.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if data.exists():
                _SHORT_RUN[SEED] = pickle.loads(data.read_bytes())
            else:
                result = run_chaos(_short_config(moto_endpoint))
                data.write_bytes(pickle.dumps(result))
                _SHORT_RUN[SEED] = result
    result = _SHORT_RUN[SEED]
    print(format_summary(result))
    return result


@pytest.mark.slow
def test_short_chaos_run_drains_with_every_fault_injected_and_nothing_in_a_dlq(
    short_run: ChaosResult,
) -> None:
    s = short_run.summary
    assert short_run.check("windows drained").ok, short_run.check("windows drained").detail
    assert short_run.check("dead-letter queues empty").ok, s["dead_letter_queues"]
    injected = s["faults_injected"]
    for kind in ("error", "rate_limited", "drop", "delay", "commit_error", "commit_drop", "refused_name"):
        assert injected.get(kind, 0) > 0, f"no {kind} fault was injected: {injected}"
    assert any(k.startswith("killed") for k in injected), injected
    assert s["events"] >= 90 and s["windows"] == len(FAULT_KINDS)


@pytest.mark.slow
def test_short_chaos_run_never_exceeds_cloudflares_rate_limit(short_run: ChaosResult) -> None:
    check = short_run.check("Cloudflare rate limit never exceeded")
    assert check.ok, check.detail
    assert short_run.summary["rate_limit"]["busiest_window"] > 0


@pytest.mark.slow
def test_every_outcome_of_the_short_run_belongs_to_a_published_event(short_run: ChaosResult) -> None:
    # Whatever the count per event, no outcome may name an event that was never published.
    published = set(short_run.outcome_keys) | set(short_run.log_outcome_keys)
    for check in ("outcomes exactly once (listeners)", "outcomes exactly once (log lines)"):
        assert not [line for line in short_run.check(check).detail if "unknown event" in line]
    assert published
    # The listeners and the log lines see the same outcomes, one line per listener call.
    assert short_run.outcome_keys == short_run.log_outcome_keys


@pytest.mark.slow
def test_short_chaos_run_counts_every_event_exactly_once(short_run: ChaosResult) -> None:
    for name in ("outcomes exactly once (listeners)", "outcomes exactly once (log lines)"):
        check = short_run.check(name)
        assert check.ok, "\n".join(check.detail[:30])


@pytest.mark.slow
def test_short_chaos_run_ends_with_the_oracles_zones(short_run: ChaosResult) -> None:
    check = short_run.check("zones match the oracle")
    assert check.ok, "\n".join(check.detail[:30])


@pytest.mark.slow
def test_short_chaos_run_edits_records_out_of_band_and_plans_from_knowledge(short_run: ChaosResult) -> None:
    # Every kind of out-of-band edit was made where the oracle expected it ...
    assert set(short_run.summary["out_of_band"]) == {"edit", "delete", "cname"}
    check = short_run.check("out-of-band edits made")
    assert check.ok, "\n".join(check.detail)
    # ... and zones were planned from knowledge as well as from reads, and knowledge found stale (a deleted
    # record, a CNAME added) was read and re-planned
    plans = short_run.summary["zone_plans"]
    assert plans["from knowledge"] > 0 and plans["from a read"] > 0
    assert plans["stale knowledge refused"] > 0


# ------------------------------------------------------------------------------- minimised scenarios


def _outcomes_per_event(p: object) -> Counter[tuple[str, int]]:
    return Counter((o.ref.message_id, o.ref.index) for o in p.outcomes)  # type: ignore[attr-defined]


def test_a_killed_function_is_redelivered_and_its_change_applied(make_pipeline: PipelineFactory) -> None:
    # A kill before any effect: the batch comes back whole and the change is applied once.
    kill = KillAt("BatcherFunction", "before dynamodb.BatchGetItem")
    p = make_pipeline(hooks=kill, time_scale=0.0005, context_time_scale=0.01)
    p.publish(
        [
            json.dumps(
                {"zone": "example.com", "name": "k", "type": "A", "action": "upsert", "values": ["192.0.2.1"]}
            )
        ]
    )
    assert p.drain(60).idle
    assert kill.points == ["BatcherFunction at before dynamodb.BatchGetItem"]
    assert p.cold_starts["BatcherFunction"] == 1
    assert rrset(p, "k") == ["192.0.2.1"]
    assert list(_outcomes_per_event(p).values()) == [1]


def test_an_aggregator_killed_after_logging_a_rejection_logs_it_once(make_pipeline: PipelineFactory) -> None:
    # GIVEN one message: an invalid change (rejected at ingest) and a valid one; the aggregator dies at
    # its first Ledger claim, after the rejection was parked and its outcome logged
    kill = KillAt("AggregatorFunction", "before dynamodb.PutItem")
    p = make_pipeline(hooks=kill, time_scale=0.0005, context_time_scale=0.01)
    envelope = {
        "changes": [
            {
                "zone": "example.com",
                "name": "bad",
                "type": "A",
                "action": "upsert",
                "values": ["192.0.2.300"],
            },
            {"zone": "example.com", "name": "good", "type": "A", "action": "upsert", "values": ["192.0.2.2"]},
        ]
    }
    p.publish([json.dumps(envelope)])
    assert p.drain(60).idle
    assert kill.points and rrset(p, "good") == ["192.0.2.2"]
    # THEN each of the two events has one outcome
    assert sorted(_outcomes_per_event(p).values()) == [1, 1]


@pytest.mark.parametrize(
    ("function", "names"),
    [("BatcherFunction", ("m",)), ("FallbackFunction", ("m", "cf-reject-1"))],
)
def test_a_function_killed_right_after_its_final_ledger_mark_still_logs_the_outcome(
    make_pipeline: PipelineFactory, function: str, names: tuple[str, ...]
) -> None:
    # GIVEN the function dies just after DynamoDB accepted its first final mark (applied, or failed for
    # the refused record), before it logged the outcome; a refused record sends its chunk to the fallback
    kill = KillAt(function, "after dynamodb.UpdateItem")
    p = make_pipeline(hooks=kill, time_scale=0.0005, context_time_scale=0.01)
    assert p.emulator is not None
    p.emulator.set_faults(FaultConfig(reject_name_pattern="^cf-reject"))
    bodies = [
        json.dumps({"zone": "example.com", "name": n, "type": "A", "action": "upsert", "values": [v]})
        for n, v in (("m", "192.0.2.3"), ("cf-reject-1", "192.0.2.4"))
        if n in names
    ]
    p.publish(bodies)
    assert p.drain(60).idle
    assert kill.points == [f"{function} at after dynamodb.UpdateItem"]
    assert rrset(p, "m") == ["192.0.2.3"]
    # THEN the redelivery still ends each event in exactly one outcome
    assert sorted(_outcomes_per_event(p).values()) == [1] * len(names)


def test_an_mx_to_cname_switch_in_a_rolled_back_chunk_ends_as_the_cname(
    make_pipeline: PipelineFactory,
) -> None:
    # GIVEN a name holding an MX, then one message switching it to a CNAME, beside a record Cloudflare
    # refuses (so the chunk is rolled back and replayed by the fallback)
    p = make_pipeline()
    assert p.emulator is not None
    p.emulator.set_faults(FaultConfig(reject_name_pattern="^cf-reject"))
    mx = {"zone": "example.com", "name": "sw", "type": "MX", "version": 1}
    p.publish([json.dumps({**mx, "action": "upsert", "values": ["10 mx1.example.net"]})])
    assert p.drain(60).idle
    switch = [
        {**mx, "action": "delete", "version": 2},
        {
            "zone": "example.com",
            "name": "sw",
            "type": "CNAME",
            "action": "upsert",
            "values": ["t.example.net"],
            "version": 2,
        },
        {
            "zone": "example.com",
            "name": "cf-reject-1",
            "type": "A",
            "action": "upsert",
            "values": ["192.0.2.9"],
        },
    ]
    p.publish([json.dumps({"changes": switch})])
    assert p.drain(60).idle
    assert sum(_outcomes_per_event(p).values()) == count_events([json.dumps({"changes": switch})]) + 1
    # THEN the name holds the CNAME, not nothing
    assert rrset(p, "sw", "MX") == []
    assert rrset(p, "sw", "CNAME") == ["t.example.net"]


def test_a_refused_update_leaves_the_old_values_in_place(make_pipeline: PipelineFactory) -> None:
    # GIVEN a set of two addresses, then an update to one new address that Cloudflare refuses
    p = make_pipeline()
    assert p.emulator is not None
    base = {"zone": "example.com", "name": "flip-1", "type": "A", "action": "upsert"}
    p.publish([json.dumps({**base, "values": ["192.0.2.1", "192.0.2.2"], "version": 1})])
    assert p.drain(60).idle
    p.emulator.set_faults(FaultConfig(reject_name_pattern="^flip-"))
    p.publish([json.dumps({**base, "values": ["192.0.2.3"], "version": 2})])
    assert p.drain(60).idle
    assert [o.outcome.value for o in p.outcomes] == ["applied", "failed"]
    # THEN the set still holds what it held: the refusal changed nothing
    assert rrset(p, "flip-1") == ["192.0.2.1", "192.0.2.2"]


def test_a_batch_committed_then_answered_5xx_converges_with_one_outcome_per_event(
    make_pipeline: PipelineFactory,
) -> None:
    # GIVEN the first write of the window is committed by Cloudflare but answered 503 (the ambiguous
    # failure): the retry meets the records it created itself
    p = make_pipeline()
    assert p.emulator is not None
    p.emulator.set_faults(FaultConfig(commit_error_count=1, method="POST"))
    a = {"zone": "example.com", "type": "A", "action": "upsert"}
    bodies = [
        json.dumps({**a, "name": "pair", "values": ["192.0.2.1", "192.0.2.2"]}),
        json.dumps({**a, "name": "single", "values": ["192.0.2.3"]}),
    ]
    p.publish(bodies)
    assert p.drain(60).idle
    assert p.emulator.faults_injected().get("commit_error") == 1
    # THEN both sets hold their values once, and each event has one outcome (not failed)
    assert rrset(p, "pair") == ["192.0.2.1", "192.0.2.2"] and rrset(p, "single") == ["192.0.2.3"]
    assert sorted(_outcomes_per_event(p).values()) == [1, 1]
    assert "failed" not in {o.outcome.value for o in p.outcomes}


def test_the_oracle_follows_the_contract_not_the_code() -> None:
    # Pure: the oracle's rules on hand-made windows (no pipeline).
    def ev(name: str, version: int, values: tuple[str, ...] | None, **kw: object) -> Event:
        action = "upsert" if values else "delete"
        return Event("z.example", name, "A", action, values, 300, version, f"{name}{version}", **kw)  # type: ignore[arg-type]

    w0 = Window(
        0,
        [Message([ev("a", 2, ("192.0.2.2",)), ev("a", 1, ("192.0.2.1",))], "new")],
        FaultConfig(),
        (),
        False,
    )
    w1 = Window(
        1,
        [
            Message([ev("a", 1, ("192.0.2.1",))], "replay"),  # stale: changes nothing
            Message([ev("flip-1", 1, ("192.0.2.5",))], "new"),  # refused in this window: stays absent
            Message([ev("cf-reject-1", 3, ("192.0.2.6",))], "new"),  # always refused
            Message([ev("p0", 4, ("192.0.2.7",), valid=False)], "new"),  # rejected at ingest
        ],
        FaultConfig(),
        (),
        True,
    )
    w2 = Window(
        2, [Message([ev("flip-1", 2, ("192.0.2.8",)), ev("a", 3, None)], "new")], FaultConfig(), (), False
    )
    state = oracle([w0, w1, w2])
    assert state == {
        ("z.example", "a", "A"): None,
        ("z.example", "flip-1", "A"): (("192.0.2.8",), 300),
        ("z.example", "cf-reject-1", "A"): None,
    }
    assert oracle([w0, w1])[("z.example", "flip-1", "A")] is None


def test_the_oracle_follows_out_of_band_edits() -> None:
    def ev(name: str, version: int, values: tuple[str, ...] | None) -> Event:
        action = "upsert" if values else "delete"
        return Event("z.example", name, "A", action, values, 300, version, f"{name}{version}")

    def window(number: int, *events: Event) -> Window:
        return Window(number, [Message(list(events), "new")], FaultConfig(), (), False)

    windows = [
        window(0, ev("r1", 1, ("192.0.2.1",)), ev("r2", 1, ("192.0.2.2",))),
        window(1, ev("r1", 2, ("192.0.2.3",)), ev("r3", 1, ("192.0.2.4",))),
        window(2, ev("r3", 2, ("192.0.2.5",))),
    ]
    edits = [
        # r1's record edited before window 1, which rewrites it: window 1's state wins
        OutOfBand(1, "edit", ("z.example", "r1", "A"), (("198.51.100.1",), 300), "192.0.2.1", "198.51.100.1"),
        # r2's deleted before window 1, and nothing touches r2 again: it stays deleted
        OutOfBand(1, "delete", ("z.example", "r2", "A"), None, "192.0.2.2"),
        # a CNAME on r3 before window 1: r3's upserts are refused from then on, the CNAME stays
        OutOfBand(1, "cname", ("z.example", "r3", "CNAME"), (("t.example.net",), 1), new="t.example.net"),
    ]
    assert oracle(windows, edits) == {
        ("z.example", "r1", "A"): (("192.0.2.3",), 300),
        ("z.example", "r2", "A"): None,
        ("z.example", "r3", "A"): None,
        ("z.example", "r3", "CNAME"): (("t.example.net",), 1),
    }
    assert oracle(windows)[("z.example", "r3", "A")] == (("192.0.2.5",), 300)
