"""The five guarantees of docs/architecture.md#guarantees-and-where-they-are-proved, end to end over real
sockets: moto's server for SQS, DynamoDB
and Secrets Manager, the Cloudflare emulator, and the real handlers behind emulated event source
mappings configured from template.yaml."""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

import pytest
from integration_helpers import PipelineFactory, change, rrset

from devstack.emulator import FaultConfig, ZoneSpec
from devstack.stack.context import LambdaContext
from devstack.stack.pipeline import count_events
from dnsbatch import batcher, queues

BATCH = "POST /zones/{zone_id}/dns_records/batch"
LIST = "GET /zones/{zone_id}/dns_records"
CREATE = "POST /zones/{zone_id}/dns_records"
ZONES = "GET /zones"
INDIVIDUAL = (
    CREATE,
    "PUT /zones/{zone_id}/dns_records/{dns_record_id}",
    "PATCH /zones/{zone_id}/dns_records/{dns_record_id}",
    "DELETE /zones/{zone_id}/dns_records/{dns_record_id}",
)


def emf_totals(logs: str, prefix: str) -> dict[str, int]:
    """Sum the EMF metrics (one JSON line per invocation) whose names start with ``prefix``."""
    totals: dict[str, int] = {}
    for line in logs.splitlines():
        if '"CloudWatchMetrics"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                name = metric["Name"]
                if name.startswith(prefix):
                    values = blob[name] if isinstance(blob[name], list) else [blob[name]]
                    totals[name] = totals.get(name, 0) + int(sum(values))
    return totals


def individual_calls(calls: dict[str, int]) -> int:
    return sum(v for k, v in calls.items() if k.split(" [")[0] in INDIVIDUAL)


def test_every_event_ends_in_exactly_one_outcome_and_the_counts_add_up(
    make_pipeline: PipelineFactory,
) -> None:
    # GIVEN a window mixing valid, superseded, invalid and Cloudflare-refused events
    p = make_pipeline()
    assert p.emulator is not None
    p.emulator.set_faults(FaultConfig(reject_name_pattern="^refused"))
    envelope = {
        "changes": [json.loads(change("e1", ["192.0.2.50"])), json.loads(change("e2", ["not-an-ip"]))]
    }
    bodies = [change(f"h{i}", [f"192.0.2.{i}"]) for i in range(6)]
    bodies += [change("h0", ["198.51.100.1"], version=2), "{not json", change("bad", ["192.0.2.300"])]
    bodies += [json.dumps(envelope), change("refused", ["192.0.2.99"])]
    # WHEN the pipeline drains
    p.publish(bodies)
    assert p.drain(120).idle
    # THEN every event has one outcome, and they add up to the events in
    finals = p.final_outcomes()
    assert len(finals) == count_events(bodies) == 12
    assert p.outcome_counts() == {"applied": 7, "superseded": 1, "rejected": 3, "failed": 1}
    # AND every rejection and failure is parked with a reason (the failure with Cloudflare's code)
    parked = p.read_queue("RejectedQueue")
    reasons = sorted(m["MessageAttributes"]["stage"]["StringValue"] for m in parked)
    assert reasons == ["aggregator", "aggregator", "aggregator", "fallback"]
    failed = next(m for m in parked if m["MessageAttributes"]["stage"]["StringValue"] == "fallback")
    assert "cf_code" in failed["MessageAttributes"]
    assert "refused" in failed["MessageAttributes"]["reason"]["StringValue"]
    assert rrset(p, "h0") == ["198.51.100.1"]
    assert rrset(p, "refused") == []
    # AND the EMF metrics CloudWatch would receive count the same outcomes
    assert emf_totals(p.logs(), "Outcome") == {
        "OutcomeApplied": 7,
        "OutcomeSuperseded": 1,
        "OutcomeRejected": 3,
        "OutcomeFailed": 1,
    }


def test_a_record_cloudflare_rejects_is_isolated_by_bisection_and_blocks_nothing(
    make_pipeline: PipelineFactory,
) -> None:
    # GIVEN a window of valid records and one that passes validation but Cloudflare refuses
    p = make_pipeline()
    assert p.emulator is not None
    p.emulator.set_faults(FaultConfig(reject_name_pattern="^bad-"))
    p.publish([change(f"ok{i}", [f"192.0.2.{i}"]) for i in range(5)] + [change("bad-one", ["192.0.2.200"])])
    assert p.drain(120).idle
    # THEN the chunk was bisected as batches down to the bad name, which alone went to the fallback
    calls = p.emulator.counters()
    assert calls[BATCH] <= 2 * math.ceil(math.log2(6)) + 1
    assert calls[CREATE] == 1 and individual_calls(calls) == 1
    assert calls[LIST] == 2  # the batcher's zone read, the fallback's read of the one name
    assert [rrset(p, f"ok{i}") for i in range(5)] == [[f"192.0.2.{i}"] for i in range(5)]
    assert rrset(p, "bad-one") == []
    parked = p.read_queue("RejectedQueue")
    assert len(parked) == 1
    attrs = {k: v["StringValue"] for k, v in parked[0]["MessageAttributes"].items()}
    assert attrs["stage"] == "fallback" and "bad-one.example.com" in attrs["record_set"] and attrs["cf_code"]
    assert p.outcome_counts() == {"applied": 5, "failed": 1}
    # AND the next window's valid changes go through as one batch again, planned from what the Ledger
    # knows of the zone: only the name the fallback wrote needs a read before it is changed again
    p.emulator.reset_counters()
    p.publish([change(f"ok{i}", [f"198.51.100.{i}"], version=2) for i in range(5)])
    assert p.drain(120).idle
    calls = p.emulator.counters()
    assert calls[BATCH] == 1 and LIST not in calls and individual_calls(calls) == 0
    assert [rrset(p, f"ok{i}") for i in range(5)] == [[f"198.51.100.{i}"] for i in range(5)]


@pytest.mark.parametrize(
    "fault",
    [
        FaultConfig(
            rate_limit_count=2, retry_after=1, method="POST", path="/zones/{zone_id}/dns_records/batch"
        ),
        FaultConfig(
            error_count=2, error_status=503, method="POST", path="/zones/{zone_id}/dns_records/batch"
        ),
    ],
    ids=["429", "503"],
)
def test_a_rate_limited_or_failing_chunk_is_retried_as_a_batch_never_fanned_out(
    make_pipeline: PipelineFactory, fault: FaultConfig
) -> None:
    p = make_pipeline(time_scale=0.05)
    assert p.emulator is not None
    p.emulator.set_faults(fault)
    p.publish([change(f"r{i}", [f"192.0.2.{i}"]) for i in range(4)])
    assert p.drain(120).idle
    calls = p.emulator.counters()
    assert individual_calls(calls) == 0
    assert calls[BATCH] + calls.get(f"{BATCH} [rate-limited]", 0) == 3
    assert p.outcome_counts() == {"applied": 4}
    assert p.read_queue("FallbackQueue") == [] and p.counters()["Fallbacks"] == 0


def test_a_window_costs_one_zone_read_plus_one_batch_call_per_chunk_then_only_its_chunks(
    make_pipeline: PipelineFactory,
) -> None:
    # GIVEN two allowlisted zones, a batch size of 10, and 25 record sets changed in one zone
    p = make_pipeline(
        zones=(ZoneSpec("example.com"), ZoneSpec("quiet.example")), parameters={"BatchChangeSize": "10"}
    )
    assert p.emulator is not None
    bodies = [change(f"n{i:02d}", [f"192.0.2.{i}"]) for i in range(25)]
    # five events about one record set inside the window collapse into one operation set
    bodies += [change("n00", [f"198.51.100.{v}"], version=v) for v in range(2, 6)]
    p.publish(bodies)
    assert p.drain(120).idle
    # THEN: one zone lookup (cached for the container), one paged read, ceil(25 / 10) = 3 batch calls;
    # the zone without changes costs nothing
    assert p.emulator.counters() == {ZONES: 1, LIST: 1, BATCH: 3}
    assert p.outcome_counts() == {"applied": 25, "superseded": 4}
    assert rrset(p, "n00") == ["198.51.100.5"]
    # AND a second window costs its one chunk: the zone lookup is cached, and the zone is planned from what
    # the Ledger knows of its records, read in the first window and updated from the batch answers
    # (docs/record-knowledge.md)
    p.emulator.reset_counters()
    p.publish([change("n01", ["203.0.113.1"], version=2)])
    assert p.drain(120).idle
    assert p.emulator.counters() == {BATCH: 1}
    assert rrset(p, "n01") == ["203.0.113.1"]


def _sqs_event(body: str, message_id: str, sent: int = 1_764_028_800_000) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message_id,
                "receiptHandle": "handle",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(sent)},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingest",
                "awsRegion": "us-east-1",
            }
        ]
    }


def test_highest_version_wins_under_duplicate_and_out_of_order_delivery(
    make_pipeline: PipelineFactory,
) -> None:
    p = make_pipeline()
    assert p.emulator is not None
    # window 1: version 3 of "a" and version 1 of "b"
    p.publish([change("a", ["192.0.2.3"], version=3), change("b", ["192.0.2.10"], version=1)])
    assert p.drain(120).idle
    # window 2, out of order: an older "a", an equal "b" from another event, and a newer "b"
    p.publish(
        [
            change("a", ["192.0.2.2"], version=2),
            change("b", ["192.0.2.11"], version=1),
            change("b", ["192.0.2.15"], version=5),
        ]
    )
    assert p.drain(120).idle
    assert rrset(p, "a") == ["192.0.2.3"] and rrset(p, "b") == ["192.0.2.15"]
    assert p.outcome_counts() == {"applied": 3, "superseded": 2}
    # SQS delivers one message twice: the second delivery is recognised and costs nothing
    event = _sqs_event(change("c", ["192.0.2.30"], version=1), str(uuid.uuid4()))
    context = LambdaContext.start(function_name="agg", timeout_seconds=60)
    for _ in range(2):
        assert p.invoke("AggregatorFunction", event, context) == {"batchItemFailures": []}
        assert p.drain(120).idle
    outcomes_for_c = [o for o in p.outcomes if o.key is not None and o.key.name == "c.example.com"]
    assert [o.outcome.value for o in outcomes_for_c] == ["applied"]
    assert rrset(p, "c") == ["192.0.2.30"]


def test_a_batcher_crash_mid_zone_is_redelivered_and_converges(
    make_pipeline: PipelineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a zone change that needs three chunks, and a batcher that dies after the first one
    p = make_pipeline(parameters={"BatchChangeSize": "2"}, time_scale=0.0005, context_time_scale=0.01)
    assert p.emulator is not None
    real_send = batcher._ZoneRun._send
    calls = {"n": 0}

    def crashing_send(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated crash of the Lambda runtime between two chunks")
        real_send(*args, **kwargs)

    monkeypatch.setattr(batcher._ZoneRun, "_send", crashing_send)
    p.publish([change(f"k{i}", [f"192.0.2.{i}"]) for i in range(6)])
    assert p.drain(120).idle
    # THEN every record set is applied exactly once and has its value
    assert [rrset(p, f"k{i}") for i in range(6)] == [[f"192.0.2.{i}"] for i in range(6)]
    applied = [o for o in p.outcomes if o.outcome.value == "applied"]
    assert len(applied) == len({(o.ref.message_id, o.ref.index) for o in applied}) == 6
    assert p.depth("ChangeSetDeadLetterQueue") == 0


def test_only_allowlisted_zones_and_owned_records_are_touched(make_pipeline: PipelineFactory) -> None:
    p = make_pipeline()
    assert p.emulator is not None
    # a record created by hand in the dashboard (no dnsbatch owner marker)
    p.emulator.seed(
        "example.com", [{"type": "A", "name": "manual.example.com", "content": "192.0.2.77", "ttl": 1}]
    )
    p.publish(
        [
            change("manual", ["192.0.2.78"]),
            change("manual", None, type_="A", version=2, id="delete-attempt"),
            json.dumps(
                {
                    "zone": "not-ours.example",
                    "name": "www",
                    "type": "A",
                    "action": "upsert",
                    "values": ["192.0.2.1"],
                }
            ),
        ]
    )
    assert p.drain(120).idle
    assert rrset(p, "manual") == ["192.0.2.77"]
    assert p.outcome_counts() == {"superseded": 1, "rejected": 2}
    reasons = [m["MessageAttributes"]["reason"]["StringValue"] for m in p.read_queue("RejectedQueue")]
    assert any("not-ours.example" in r for r in reasons)
    assert any("manual.example.com" in r or "owner" in r.lower() for r in reasons)
    assert individual_calls(p.emulator.counters()) == 0 and p.emulator.counters().get(BATCH, 0) == 0


def test_adoption_lets_dnsbatch_take_over_unowned_records_when_enabled(
    make_pipeline: PipelineFactory,
) -> None:
    p = make_pipeline(parameters={"AdoptUnowned": "true"})
    assert p.emulator is not None
    p.emulator.seed(
        "example.com", [{"type": "A", "name": "legacy.example.com", "content": "192.0.2.1", "ttl": 1}]
    )
    p.publish([change("legacy", ["192.0.2.2"])])
    assert p.drain(120).idle
    assert rrset(p, "legacy") == ["192.0.2.2"]
    assert p.outcome_counts() == {"applied": 1}


def test_dry_run_writes_nothing_but_logs(make_pipeline: PipelineFactory) -> None:
    # GIVEN a dry-run stack and a window with a valid change, an invalid one and one the planner refuses
    p = make_pipeline(parameters={"DryRun": "true"})
    assert p.emulator is not None
    p.emulator.seed(
        "example.com", [{"type": "A", "name": "manual.example.com", "content": "192.0.2.77", "ttl": 1}]
    )
    p.publish(
        [
            change("dry", ["192.0.2.1"], version=7),
            change("bad", ["192.0.2.300"]),
            change("manual", ["192.0.2.78"]),
        ]
    )
    assert p.drain(120).idle
    # THEN nothing was written: not to Cloudflare, not to the Ledger, not to any queue
    assert rrset(p, "dry") == [] and rrset(p, "manual") == ["192.0.2.77"]
    calls = p.emulator.counters()
    assert calls.get(BATCH, 0) == 0 and individual_calls(calls) == 0
    dynamodb = p.stack.client("dynamodb")
    assert dynamodb.scan(TableName=p.stack.table_name)["Items"] == []
    dynamodb.close()
    for queue in ("RejectedQueue", "FallbackQueue", "ChangeSetQueue", "IngestQueue"):
        assert p.read_queue(queue) == [], queue
    # AND every event still has its outcome line, marked dry_run
    assert "dry run: would send" in p.logs()
    assert p.outcome_counts() == {"applied": 1, "rejected": 2}
    outcome_lines = [json.loads(line) for line in p.logs().splitlines() if '"outcome"' in line]
    assert len(outcome_lines) == 3 and all(line.get("dry_run") is True for line in outcome_lines)


def test_an_allowlisted_zone_the_token_cannot_see_rejects_its_changes_with_the_reason(
    make_pipeline: PipelineFactory,
) -> None:
    # GIVEN ZONES names a zone that is not in the Cloudflare account
    p = make_pipeline(parameters={"Zones": "example.com,ghost.example"})
    p.publish(
        [
            json.dumps(
                {
                    "zone": "ghost.example",
                    "name": "www",
                    "type": "A",
                    "action": "upsert",
                    "values": ["192.0.2.1"],
                }
            ),
            change("fine", ["192.0.2.2"]),
        ]
    )
    assert p.drain(120).idle
    # THEN its change is rejected with a reason an operator can act on, and the other zone is unaffected
    assert p.outcome_counts() == {"rejected": 1, "applied": 1}
    (parked,) = p.read_queue("RejectedQueue")
    assert "ghost.example" in parked["MessageAttributes"]["reason"]["StringValue"]
    assert "Zone Read" in parked["MessageAttributes"]["reason"]["StringValue"]
    assert p.depth("ChangeSetDeadLetterQueue") == 0
    assert rrset(p, "fine") == ["192.0.2.2"]


def test_an_aggregator_that_fails_after_claiming_loses_nothing_on_redelivery(
    make_pipeline: PipelineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the change-set queue refuses the aggregator's first send (after the claims were written)
    p = make_pipeline(time_scale=0.0005, context_time_scale=0.01)
    real_send = queues.send
    failures: list[str] = []

    def flaky_send(sqs: Any, queue_url: str, message: Any) -> None:
        if queue_url == p.queue_url("ChangeSetQueue") and not failures:
            failures.append(queue_url)
            raise RuntimeError("simulated SQS outage")
        real_send(sqs, queue_url, message)

    monkeypatch.setattr(queues, "send", flaky_send)
    p.publish([change(f"c{i}", [f"192.0.2.{i}"]) for i in range(3)])
    assert p.drain(120).idle
    # THEN the messages came back, the same events re-claimed their record sets, and all were applied once
    assert failures
    assert [rrset(p, f"c{i}") for i in range(3)] == [[f"192.0.2.{i}"] for i in range(3)]
    assert p.outcome_counts() == {"applied": 3}
    assert p.depth("IngestDeadLetterQueue") == 0
