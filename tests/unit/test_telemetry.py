"""Every outcome is one structured log line, one metric and one listener call."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics.exceptions import SchemaValidationError

from dnsbatch.model import Action, Change, EventRef, Outcome, RecordSetKey, RecordValue
from dnsbatch.telemetry import OutcomeEvent, Telemetry, change_fields

CHANGE = Change(
    key=RecordSetKey("example.com", "www.example.com", "A"),
    action=Action.UPSERT,
    values=(RecordValue("192.0.2.10"),),
    version=7,
    ref=EventRef("msg-1", 1_764_028_800_000, "controller", "evt-0001", 2),
)


class Sink:
    """A Telemetry wired to an in-memory log stream, with the metric set readable."""

    def __init__(self, telemetry: Telemetry, stream: io.StringIO, metrics: Metrics) -> None:
        self.telemetry = telemetry
        self.stream = stream
        self.metrics = metrics

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]

    def metric_values(self) -> dict[str, list[float]]:
        blob: dict[str, Any] = dict(self.metrics.serialize_metric_set())
        names = [m["Name"] for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
        return {n: blob[n] if isinstance(blob[n], list) else [blob[n]] for n in names}


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sink]:
    # Powertools refuses to serialise metrics without a namespace.
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "dnsbatch-test")
    stream = io.StringIO()
    # A fresh service name per test: Powertools reuses the stdlib logger (and its stream) by service name.
    logger = Logger(service=f"telemetry-{uuid.uuid4().hex[:8]}", stream=stream)
    metrics = Metrics()
    metrics.clear_metrics()
    yield Sink(Telemetry(logger, metrics, "batcher"), stream, metrics)
    # The metric set is shared by every Metrics instance in the process: leave it empty.
    metrics.clear_metrics()


def test_an_outcome_is_exactly_one_log_line_with_the_searchable_keys(sink: Sink) -> None:
    sink.telemetry.outcome(Outcome.FAILED, CHANGE, reason="9005 invalid content", cf_code=9005)

    (line,) = sink.lines()
    assert line["message"] == "outcome failed"
    assert line["level"] == "WARNING"
    expected = {
        "zone": "example.com",
        "record_set": "www.example.com A",
        "outcome": "failed",
        "message_id": "msg-1",
        "event_id": "evt-0001",
        "event_index": 2,
        "source": "controller",
        "version": 7,
        "reason": "9005 invalid content",
        "cf_code": 9005,
    }
    assert {k: line.get(k) for k in expected} == expected


def test_a_successful_outcome_logs_at_info_without_reason_or_code(sink: Sink) -> None:
    sink.telemetry.outcome(Outcome.APPLIED, CHANGE, chunk=3)

    (line,) = sink.lines()
    assert line["level"] == "INFO"
    assert line["outcome"] == "applied"
    assert line["chunk"] == 3
    assert "reason" not in line
    assert "cf_code" not in line


def test_an_outcome_is_one_metric_named_for_it(sink: Sink) -> None:
    sink.telemetry.outcome(Outcome.SUPERSEDED, CHANGE)
    sink.telemetry.outcome(Outcome.SUPERSEDED, CHANGE)
    sink.telemetry.outcome(Outcome.REJECTED, CHANGE, reason="bad")
    sink.telemetry.publish()

    values = sink.metric_values()
    assert sum(values["OutcomeSuperseded"]) == 2
    assert sum(values["OutcomeRejected"]) == 1
    assert sink.telemetry.counters == {"OutcomeSuperseded": 2, "OutcomeRejected": 1}


def test_an_invocation_publishes_one_value_per_metric_however_many_outcomes(sink: Sink) -> None:
    for _ in range(250):
        sink.telemetry.outcome(Outcome.APPLIED, CHANGE)
    with pytest.raises(SchemaValidationError):  # Powertools holds no metric before publish
        sink.metric_values()

    sink.telemetry.publish()
    sink.telemetry.publish()  # a second publish adds nothing new

    assert sink.metric_values()["OutcomeApplied"] == [250]


def test_listeners_receive_each_outcome(sink: Sink) -> None:
    received: list[OutcomeEvent] = []
    sink.telemetry.listeners.append(received.append)

    sink.telemetry.outcome(Outcome.FAILED, CHANGE, reason="r", cf_code=1004)

    assert received == [
        OutcomeEvent(
            outcome=Outcome.FAILED,
            ref=CHANGE.ref,
            key=CHANGE.key,
            version=7,
            reason="r",
            cf_code=1004,
            function="batcher",
        )
    ]


def test_an_event_that_never_became_a_change_is_logged_by_its_reference(sink: Sink) -> None:
    ref = EventRef("msg-bad", 1, None, None, 0)
    received: list[OutcomeEvent] = []
    sink.telemetry.listeners.append(received.append)

    sink.telemetry.outcome(Outcome.REJECTED, ref=ref, reason="body is not JSON")

    (line,) = sink.lines()
    assert line["message_id"] == "msg-bad"
    assert line["reason"] == "body is not JSON"
    assert "zone" not in line and "event_id" not in line and "version" not in line
    assert received[0].key is None and received[0].version is None


def test_an_outcome_without_change_or_reference_is_a_programming_error(sink: Sink) -> None:
    with pytest.raises(ValueError, match="event reference"):
        sink.telemetry.outcome(Outcome.APPLIED)

    assert sink.lines() == []


def test_count_ignores_zero_and_adds_to_the_container_totals(sink: Sink) -> None:
    sink.telemetry.count("CloudflareCalls", 0)
    sink.telemetry.count("CloudflareCalls", 2)
    sink.telemetry.count("CloudflareCalls")
    sink.telemetry.publish()

    assert sink.telemetry.counters["CloudflareCalls"] == 3
    assert sum(sink.metric_values()["CloudflareCalls"]) == 3


def test_change_fields_identify_a_change_in_every_line_about_it() -> None:
    assert change_fields(CHANGE) == {
        "zone": "example.com",
        "record_set": "www.example.com A",
        "version": 7,
        "message_id": "msg-1",
        "event_index": 2,
        "event_id": "evt-0001",
        "source": "controller",
    }
