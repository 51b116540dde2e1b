"""The aggregator's real handler (functions/aggregator/app.py, with the template's environment, against moto's
server) under a stream of hostile bodies from tests/fuzz_bodies.py: lone surrogates, NUL and other control
characters, deep nesting, huge numbers, wrong types, duplicate keys, truncated JSON, a BOM, in every field.

For every batch: the handler does not raise and reports no message failed; every event has exactly one
result, counted without de-duplicating (an outcome line, or its change on ChangeSetQueue); every rejected
event is parked once on RejectedQueue; every known-valid change reaches ChangeSetQueue whatever its
batch-mates and envelope siblings hold; every log line encodes as UTF-8.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fuzz_bodies import ZONE, Body, Generator, readable

from devstack.stack.context import LambdaContext
from devstack.stack.pipeline import LocalPipeline, PipelineOptions
from dnsbatch import aggregator
from dnsbatch.queues import parse_changeset
from dnsbatch.telemetry import OutcomeEvent

AGGREGATOR = "AggregatorFunction"
Event = tuple[str, int]  # (message id, envelope index)


@dataclass
class Tally:
    bodies: int = 0
    events: Counter[Event] = field(default_factory=Counter)  # every result, not de-duplicated
    claimed: dict[Event, tuple[str, str]] = field(default_factory=dict)
    parked: Counter[Event] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)


@pytest.fixture
def pipeline(moto_endpoint: str) -> Iterator[LocalPipeline]:
    with LocalPipeline(PipelineOptions(moto_endpoint=moto_endpoint)) as p:
        yield p


def _drain(pipeline: LocalPipeline, logical: str) -> list[dict[str, Any]]:
    """Receive and delete everything on a queue (kept small: moto scans the queue on every receive)."""
    sqs, url = pipeline.sqs, pipeline.queue_url(logical)
    got: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=60
        ).get("Messages", [])
        if not messages:
            return got
        got += messages
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def _recreate(pipeline: LocalPipeline, logical: str) -> None:
    """Empty a queue at once: delete it and create it again under the same name (and so the same URL)."""
    sqs, url = pipeline.sqs, pipeline.queue_url(logical)
    settable = ("DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "VisibilityTimeout")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(settable))["Attributes"]
    sqs.delete_queue(QueueUrl=url)
    assert sqs.create_queue(QueueName=url.rsplit("/", 1)[1], Attributes=attributes)["QueueUrl"] == url


def _invoke(pipeline: LocalPipeline, bodies: list[Body], first: int, tally: Tally, identities: bool) -> None:
    records = [
        {
            "messageId": f"fz-{first + i}",
            "receiptHandle": f"rh-{first + i}",
            "body": body.text,
            "attributes": {
                "SentTimestamp": str(1_700_000_000_000 + first + i),
                "ApproximateReceiveCount": "1",
            },
            "messageAttributes": {},
            "eventSource": "aws:sqs",
        }
        for i, body in enumerate(bodies)
    ]
    spec = pipeline.stack.event_sources(AGGREGATOR)[0]
    context = LambdaContext.start(function_name=spec.function_name, timeout_seconds=spec.function_timeout)
    seen = len(pipeline.outcomes)

    response = pipeline.invoke(AGGREGATOR, {"Records": records}, context)

    assert response == {"batchItemFailures": []}
    new: list[OutcomeEvent] = pipeline.outcomes[seen:]
    for outcome in new:
        assert outcome.outcome.value in ("rejected", "superseded"), outcome
        tally.events[(outcome.ref.message_id, outcome.ref.index)] += 1
        tally.outcomes[outcome.outcome.value] += 1
    for message in _drain(pipeline, "ChangeSetQueue"):
        changeset = parse_changeset(message["Body"])
        assert changeset.zone == ZONE
        for change in changeset.changes:
            event = (change.ref.message_id, change.ref.index)
            tally.events[event] += 1
            tally.claimed[event] = (change.key.name, change.key.type)
            tally.outcomes["claimed"] += 1
    rejected = Counter((o.ref.message_id, o.ref.index) for o in new if o.outcome.value == "rejected")
    if identities:
        parked: Counter[Event] = Counter()
        for message in _drain(pipeline, "RejectedQueue"):
            attributes = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
            parked[(attributes["source_message_id"], int(attributes["event_index"]))] += 1
        assert parked == rejected  # each rejected event parked exactly once
        tally.parked.update(parked)
    else:
        # moto's SendMessageBatch and ReceiveMessage take time in proportion to the queue's length: count
        # the parked messages (moto's count is exact), then start the next batch on an empty queue.
        assert pipeline.depth("RejectedQueue") == rejected.total()
        tally.parked.update(rejected)
        _recreate(pipeline, "RejectedQueue")
    # Known-valid changes reached ChangeSetQueue, whatever their batch-mates held.
    for i, body in enumerate(bodies):
        for index, name, type_ in body.valid if readable(body.text) else ():
            assert tally.claimed.get((f"fz-{first + i}", index)) == (f"{name}.{ZONE}", type_), (i, body)
    tally.bodies += len(bodies)


def run(pipeline: LocalPipeline, seed: int, count: int, *, identities: bool) -> Tally:
    generator, rng, tally = Generator(seed), random.Random(seed), Tally()
    bodies = list(generator.bodies(count))
    start = 0
    while start < count:
        size = rng.choice([1, 10, 100, 250, 400])
        _invoke(pipeline, bodies[start : start + size], start, tally, identities)
        start += size
    # Every event exactly once, and each message's events are its envelope indices 0..n-1.
    assert [e for e, n in tally.events.items() if n != 1] == []
    indices: dict[str, list[int]] = {}
    for message_id, index in tally.events:
        indices.setdefault(message_id, []).append(index)
    assert len(indices) == count
    assert all(sorted(i) == list(range(len(i))) for i in indices.values())
    rejected = {e for e in tally.events if e not in tally.claimed} - {
        (o.ref.message_id, o.ref.index) for o in pipeline.outcomes if o.outcome.value == "superseded"
    }
    assert tally.parked == Counter(rejected)
    for line in pipeline.logs().splitlines():
        line.encode("utf-8")  # what Lambda's stdout would have to take
        assert json.loads(line).get("level") != "ERROR", line
    assert tally.outcomes["claimed"] > count // 10 and tally.outcomes["rejected"] > count // 3
    return tally


def test_aggregator_handler_fuzz_quick(pipeline: LocalPipeline) -> None:
    run(pipeline, seed=11, count=600, identities=True)


@pytest.mark.slow
def test_aggregator_handler_fuzz_10000_bodies(pipeline: LocalPipeline) -> None:
    tally = run(pipeline, seed=20_261_125, count=10_000, identities=False)
    assert tally.bodies == 10_000


def test_a_bug_fails_only_its_message_and_its_log_lines_still_encode(
    pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bug whose message quotes the input (a raw lone surrogate, as a replay tool could hand it over).
    real = aggregator.parse_message

    def parse_message(body: str, ref: Any, **kwargs: Any) -> Any:
        if "boom" in body:
            raise RuntimeError(f"a bug on {body!s}")
        return real(body, ref, **kwargs)

    monkeypatch.setattr(aggregator, "parse_message", parse_message)
    # The lines go to the pipeline's log stream only: pytest's own capture would keep the raw surrogate of
    # the exception record, which pytest-xdist cannot send back to the controller.
    service = pipeline.modules[AGGREGATOR].logger.name
    monkeypatch.setattr(logging.getLogger(service), "propagate", False)
    good = json.dumps(
        {"zone": ZONE, "name": "fine", "type": "A", "action": "upsert", "values": ["192.0.2.1"]}
    )
    records = [
        {"messageId": "m1", "body": '{"boom": "\ud800"}', "attributes": {"SentTimestamp": "1"}},
        {"messageId": "m2", "body": good, "attributes": {"SentTimestamp": "2"}},
    ]
    spec = pipeline.stack.event_sources(AGGREGATOR)[0]
    context = LambdaContext.start(function_name=spec.function_name, timeout_seconds=spec.function_timeout)

    response = pipeline.invoke(AGGREGATOR, {"Records": records}, context)

    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert [
        c.key.name for m in _drain(pipeline, "ChangeSetQueue") for c in parse_changeset(m["Body"]).changes
    ] == [f"fine.{ZONE}"]
    lines = pipeline.logs().splitlines()
    assert any("a bug on" in line and "\\ud800" in line for line in lines)
    for line in lines:
        line.encode("utf-8")
