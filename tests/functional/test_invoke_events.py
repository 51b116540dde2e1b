"""`make invoke` with every sample event in events/: each handler runs against a fresh local stack
(moto + the Cloudflare emulator) and answers with a partial batch response and the outcomes it reached."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devstack.stack.__main__ import FUNCTIONS, main
from devstack.stack.context import LambdaContext
from devstack.stack.pipeline import LOCAL_TOKEN, REPO, LocalPipeline, PipelineOptions

EVENTS = REPO / "events"
QUEUES = {
    "ChangeSetDeadLetterQueue",
    "ChangeSetQueue",
    "FallbackDeadLetterQueue",
    "FallbackQueue",
    "IngestDeadLetterQueue",
    "IngestQueue",
    "RejectedQueue",
}
# Which function each sample event is for (by the queue it would arrive from).
FUNCTION_FOR = {
    "ingest-single.json": "aggregator",
    "ingest-multi.json": "aggregator",
    "ingest-malformed.json": "aggregator",
    "changeset.json": "batcher",
    "fallback.json": "fallback",
}


def invoke(function: str, event: Path, capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], str]:
    """Run ``python -m devstack.stack invoke --logs`` in-process; (the JSON result, the log lines)."""
    capsys.readouterr()
    # A small time scale shrinks the fallback's pacing between Cloudflare calls (2 s deployed).
    code = main(["invoke", "--function", function, "--event", str(event), "--logs", "--time-scale", "0.01"])
    out = capsys.readouterr().out
    assert code == 0
    # --logs prints the handler's JSON log lines first, then the pretty-printed result object.
    start = out.index("\n{\n") + 1 if not out.startswith("{\n") else 0
    return json.loads(out[start:]), out[:start]


def test_every_sample_event_file_has_an_expectation_here() -> None:
    assert {p.name for p in EVENTS.glob("*.json")} == set(FUNCTION_FOR)


def test_every_sample_event_is_a_well_formed_sqs_event() -> None:
    for name in FUNCTION_FOR:
        event = json.loads((EVENTS / name).read_text())
        records = event["Records"]
        assert records, name
        message_ids = [r["messageId"] for r in records]
        assert len(set(message_ids)) == len(message_ids), name
        for record in records:
            assert record["eventSource"] == "aws:sqs"
            assert isinstance(record["body"], str)
            assert record["attributes"]["SentTimestamp"].isdigit()


def test_ingest_single_sends_one_change_set_on_and_reaches_no_outcome_yet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result, logs = invoke("aggregator", EVENTS / "ingest-single.json", capsys)

    assert result["function"] == "AggregatorFunction"
    assert result["response"] == {"batchItemFailures": []}
    # The aggregator only claims and forwards: the final outcome belongs to the batcher.
    assert result["outcomes"] == []
    assert set(result["queues"]) == QUEUES
    assert result["queues"]["ChangeSetQueue"] == 1
    assert result["queues"]["RejectedQueue"] == 0
    assert result["cloudflare_calls"] == {}
    assert LOCAL_TOKEN not in logs


def test_ingest_multi_coalesces_every_valid_change_into_one_change_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result, _ = invoke("aggregator", EVENTS / "ingest-multi.json", capsys)

    assert result["response"] == {"batchItemFailures": []}
    assert [o for o in result["outcomes"] if o["outcome"] != "superseded"] == []
    assert result["queues"]["ChangeSetQueue"] == 1
    assert result["queues"]["RejectedQueue"] == 0
    assert result["queues"]["IngestDeadLetterQueue"] == 0


def test_ingest_malformed_rejects_the_malformed_records_and_sends_the_valid_one_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result, logs = invoke("aggregator", EVENTS / "ingest-malformed.json", capsys)

    # Rejected messages are acknowledged (they can never succeed): nothing is retried.
    assert result["response"] == {"batchItemFailures": []}
    outcomes = sorted(result["outcomes"], key=lambda o: o["record_set"] or "")
    assert [(o["outcome"], o["record_set"]) for o in outcomes] == [
        ("rejected", None),
        ("rejected", "x.example.com A"),
    ]
    assert "not valid JSON" in outcomes[0]["reason"]
    assert "300.1.1.1" in outcomes[1]["reason"] and "IPv4" in outcomes[1]["reason"]
    assert result["queues"]["RejectedQueue"] == 2
    assert result["queues"]["ChangeSetQueue"] == 1
    assert LOCAL_TOKEN not in logs


def test_changeset_is_applied_on_the_emulator_with_one_batch_call(capsys: pytest.CaptureFixture[str]) -> None:
    result, logs = invoke("batcher", EVENTS / "changeset.json", capsys)

    assert result["function"] == "BatcherFunction"
    assert result["response"] == {"batchItemFailures": []}
    assert result["outcomes"] == [
        {"outcome": "applied", "record_set": "www.example.com A", "reason": None, "cf_code": None}
    ]
    calls = result["cloudflare_calls"]
    assert calls["POST /zones/{zone_id}/dns_records/batch"] == 1
    assert not any(k.startswith(("PUT ", "PATCH ", "DELETE ")) for k in calls)
    assert "POST /zones/{zone_id}/dns_records" not in calls
    assert result["queues"]["FallbackQueue"] == 0
    assert LOCAL_TOKEN not in logs


def test_fallback_is_applied_via_individual_calls_not_the_batch_endpoint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result, logs = invoke("fallback", EVENTS / "fallback.json", capsys)

    assert result["function"] == "FallbackFunction"
    assert result["response"] == {"batchItemFailures": []}
    assert result["outcomes"] == [
        {"outcome": "applied", "record_set": "www.example.com A", "reason": None, "cf_code": None}
    ]
    calls = result["cloudflare_calls"]
    assert calls.get("POST /zones/{zone_id}/dns_records") == 1
    assert "POST /zones/{zone_id}/dns_records/batch" not in calls
    assert result["queues"]["RejectedQueue"] == 0
    assert LOCAL_TOKEN not in logs


@pytest.mark.parametrize(
    ("function", "event"), [("batcher", "changeset.json"), ("fallback", "fallback.json")]
)
def test_the_sample_change_ends_up_on_the_emulator(function: str, event: str, moto_endpoint: str) -> None:
    logical = FUNCTIONS[function]
    with LocalPipeline(PipelineOptions(time_scale=0.01, moto_endpoint=moto_endpoint)) as pipeline:
        assert pipeline.emulator is not None
        spec = pipeline.stack.event_sources(logical)[0]
        context = LambdaContext.start(function_name=spec.function_name, timeout_seconds=spec.function_timeout)

        response = pipeline.invoke(logical, json.loads((EVENTS / event).read_text()), context)

        assert response == {"batchItemFailures": []}
        records = [
            (r["name"], r["type"], r["content"], r["ttl"]) for r in pipeline.emulator.records("example.com")
        ]
        assert records == [("www.example.com", "A", "192.0.2.10", 300)]
        assert pipeline.emulator.spec_violations == []
        assert LOCAL_TOKEN not in pipeline.logs()
