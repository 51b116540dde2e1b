"""The local poller behaves like Lambda's SQS event source mapping, against a real moto server."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsModel

from devstack.stack.aws import LocalStack
from devstack.stack.context import LambdaContext
from devstack.stack.poller import EventSourcePoller, EventSourceSpec, FunctionCrash, run_until_idle


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Recorder:
    """A handler that records each event and answers what the test scripts."""

    def __init__(self, answer: Any = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []
        self.answer = answer

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        self.contexts.append(context)
        return self.answer(event) if callable(self.answer) else self.answer

    def bodies(self, index: int = -1) -> list[str]:
        return [r["body"] for r in self.events[index]["Records"]]


def _spec(stack: LocalStack, function: str, **changes: Any) -> EventSourceSpec:
    (spec,) = stack.event_sources(function)
    return dataclasses.replace(spec, **changes)


def _send(stack: LocalStack, queue: str, bodies: list[str], group: str | None = None, **extra: Any) -> None:
    sqs = stack.client("sqs")
    for body in bodies:
        fifo = {"MessageGroupId": group, "MessageDeduplicationId": hashlib.sha1(body.encode()).hexdigest()}
        sqs.send_message(
            QueueUrl=stack.queue_urls[queue], MessageBody=body, **(fifo if group else {}), **extra
        )


def _depth(stack: LocalStack, queue: str) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_urls[queue],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def test_handler_gets_lambdas_sqs_event_shape_for_a_fifo_queue(stack: LocalStack) -> None:
    _send(
        stack,
        "ChangeSetQueue",
        ['{"zone": "example.com"}'],
        group="example.com",
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "changeset"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    handler = Recorder()
    poller = EventSourcePoller(stack.client("sqs"), _spec(stack, "BatcherFunction"), handler, time_scale=0)

    result = poller.poll_once()

    assert (result.records, result.deleted, result.failed, result.error) == (1, 1, 0, None)
    (record,) = handler.events[0]["Records"]
    assert set(record) >= {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == stack.queue_arns["ChangeSetQueue"]
    assert record["awsRegion"] == "us-east-1"
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
    assert set(record["attributes"]) >= {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
        "MessageGroupId",
        "MessageDeduplicationId",
        "SequenceNumber",
    }
    assert record["attributes"]["MessageGroupId"] == "example.com"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "changeset",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AAE="
    # Powertools' own model of Lambda's SQS event accepts it.
    SqsModel.model_validate(handler.events[0])
    assert _depth(stack, "ChangeSetQueue") == 0


def test_context_counts_down_from_the_scaled_function_timeout_and_suits_powertools(stack: LocalStack) -> None:
    clock = FakeClock()
    logger = Logger(service="test")
    seen: list[int] = []

    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: LambdaContext) -> None:
        seen.append(context.get_remaining_time_in_millis())
        clock.advance(10)
        seen.append(context.get_remaining_time_in_millis())

    _send(stack, "FallbackQueue", ["x"], group="g")
    spec = _spec(stack, "FallbackFunction")
    EventSourcePoller(stack.client("sqs"), spec, handler, time_scale=0.5, clock=clock).poll_once()

    assert seen == [60_000, 50_000]  # 120 s timeout x 0.5


def test_partial_batch_failures_are_redelivered_and_the_rest_deleted(stack: LocalStack) -> None:
    _send(stack, "IngestQueue", [f"m{i}" for i in range(6)])

    def fail_odd(event: dict[str, Any]) -> dict[str, Any]:
        failed = [r["messageId"] for r in event["Records"] if int(r["body"][1:]) % 2]
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}

    handler = Recorder(fail_odd)
    poller = EventSourcePoller(stack.client("sqs"), _spec(stack, "AggregatorFunction"), handler, time_scale=0)

    first = poller.poll_once()
    assert (first.records, first.deleted, first.failed) == (6, 3, 3)
    second = poller.poll_once()
    assert sorted(handler.bodies()) == ["m1", "m3", "m5"]
    assert all(r["attributes"]["ApproximateReceiveCount"] == "2" for r in handler.events[-1]["Records"])
    assert (second.deleted, second.failed) == (0, 3)


def test_powertools_batch_processor_failures_are_redelivered(stack: LocalStack) -> None:
    _send(stack, "IngestQueue", ["ok-1", "bad", "ok-2"])
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    handled: list[str] = []

    def record_handler(record: Any) -> None:
        if record.body == "bad":
            raise ValueError("refused")
        handled.append(record.body)

    def handler(event: dict[str, Any], context: Any) -> Any:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    poller = EventSourcePoller(stack.client("sqs"), _spec(stack, "AggregatorFunction"), handler, time_scale=0)
    result = poller.poll_once()

    assert sorted(handled) == ["ok-1", "ok-2"]
    assert (result.deleted, result.failed) == (2, 1)
    assert _depth(stack, "IngestQueue") == 1


def test_an_exception_redelivers_the_whole_batch(stack: LocalStack) -> None:
    _send(stack, "IngestQueue", ["a", "b", "c"])

    def explode(event: dict[str, Any]) -> None:
        raise RuntimeError("crash mid-batch")

    poller = EventSourcePoller(
        stack.client("sqs"), _spec(stack, "AggregatorFunction"), Recorder(explode), time_scale=0
    )
    result = poller.poll_once()

    assert (result.records, result.deleted, result.failed) == (3, 0, 3)
    assert result.error is not None and "crash mid-batch" in result.error
    assert _depth(stack, "IngestQueue") == 3


def test_a_crashed_function_deletes_nothing_and_its_batch_comes_back_after_the_visibility_timeout(
    stack: LocalStack,
) -> None:
    # GIVEN a function whose runtime dies mid-invocation (no response, not even an exception to report)
    _send(stack, "IngestQueue", ["a", "b"])
    crashes = [True]

    def die_once(event: dict[str, Any]) -> None:
        if crashes.pop() if crashes else False:
            raise FunctionCrash("killed after 3 calls")

    spec = _spec(stack, "AggregatorFunction", window_seconds=0, visibility_timeout=1)
    recorder = Recorder(die_once)
    poller = EventSourcePoller(stack.client("sqs"), spec, recorder, time_scale=1.0, max_wait_seconds=0)
    # WHEN the poller invokes it
    result = poller.poll_once()
    # THEN the invocation failed whole, nothing was deleted, and the batch is out of sight for now
    assert (result.records, result.deleted, result.failed) == (2, 0, 2)
    assert result.error == "Runtime.ExitError: killed after 3 calls"
    assert _depth(stack, "IngestQueue") == 2 and not poller.poll_once().invoked
    # AND once the visibility timeout has passed the same messages are delivered again
    deadline = time.monotonic() + 10
    redelivered: list[str] = []
    while time.monotonic() < deadline and len(redelivered) < 2:
        again = poller.poll_once()
        if again.invoked:
            assert again.error is None
            redelivered += recorder.bodies()
    assert sorted(redelivered) == ["a", "b"]
    receive_counts = {
        r["attributes"]["ApproximateReceiveCount"] for e in recorder.events[1:] for r in e["Records"]
    }
    assert receive_counts == {"2"}


def test_run_until_idle_counts_a_crash_and_keeps_going(stack: LocalStack) -> None:
    _send(stack, "IngestQueue", ["x"])
    crashes = [True]

    def die_once(event: dict[str, Any]) -> None:
        if crashes:
            crashes.pop()
            raise FunctionCrash("killed")

    spec = _spec(stack, "AggregatorFunction", window_seconds=0, visibility_timeout=0)
    poller = EventSourcePoller(
        stack.client("sqs"), spec, Recorder(die_once), time_scale=1.0, max_wait_seconds=0
    )
    stats = run_until_idle([poller], time.monotonic() + 30, idle_wait_seconds=0)
    source = stats.sources["IngestQueue"]
    assert stats.idle and (source.invocations, source.crashed_invocations, source.failed_invocations) == (
        2,
        1,
        1,
    )


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"id": "wrong-key"}]},
        {"batchItemFailures": "nope"},
        ["not", "an", "object"],
        {"unserialisable": object()},
    ],
)
def test_a_malformed_response_fails_the_whole_batch(stack: LocalStack, response: Any) -> None:
    _send(stack, "IngestQueue", ["a", "b"])
    poller = EventSourcePoller(
        stack.client("sqs"), _spec(stack, "AggregatorFunction"), Recorder(response), time_scale=0
    )
    result = poller.poll_once()
    assert (result.deleted, result.failed) == (0, 2) and result.error is not None


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}])
def test_an_empty_response_deletes_the_whole_batch(stack: LocalStack, response: Any) -> None:
    _send(stack, "IngestQueue", ["a", "b"])
    poller = EventSourcePoller(
        stack.client("sqs"), _spec(stack, "AggregatorFunction"), Recorder(response), time_scale=0
    )
    result = poller.poll_once()
    assert (result.deleted, result.failed, result.error) == (2, 0, None)
    assert _depth(stack, "IngestQueue") == 0


def test_fifo_order_holds_within_a_group_across_a_failure(stack: LocalStack) -> None:
    for i in range(4):
        _send(stack, "ChangeSetQueue", [f"a{i}"], group="a")
        _send(stack, "ChangeSetQueue", [f"b{i}"], group="b")

    def fail_from_a1(event: dict[str, Any]) -> dict[str, Any]:
        # what SqsFifoPartialProcessor reports: the failed message and every later one of its group
        failing = [r["messageId"] for r in event["Records"] if r["body"] in {"a1", "a2", "a3"}]
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failing]}

    handler = Recorder(fail_from_a1)
    poller = EventSourcePoller(stack.client("sqs"), _spec(stack, "BatcherFunction"), handler, time_scale=0)
    poller.poll_once()
    handler.answer = None
    while poller.poll_once().invoked:
        pass

    delivered = [body for event in handler.events for body in (r["body"] for r in event["Records"])]
    assert [b for b in delivered if b.startswith("b")] == ["b0", "b1", "b2", "b3"]
    # a1..a3 came back in their original order after the failure
    assert [b for b in delivered if b.startswith("a")] == ["a0", "a1", "a2", "a3", "a1", "a2", "a3"]
    assert _depth(stack, "ChangeSetQueue") == 0


def test_a_poison_message_lands_in_the_dlq_after_max_receive_count(stack: LocalStack) -> None:
    _send(stack, "IngestQueue", ["poison"])

    def explode(event: dict[str, Any]) -> None:
        raise ValueError("always fails")

    handler = Recorder(explode)
    spec = _spec(stack, "AggregatorFunction")
    poller = EventSourcePoller(stack.client("sqs"), spec, handler, time_scale=0)
    for _ in range(spec.max_receive_count or 0):
        assert poller.poll_once().records == 1
    assert not poller.poll_once().invoked  # moto redrives on the receive after the last allowed one

    assert len(handler.events) == spec.max_receive_count
    dlq = stack.client("sqs").receive_message(QueueUrl=stack.queue_urls["IngestDeadLetterQueue"])
    assert [m["Body"] for m in dlq["Messages"]] == ["poison"]
    assert _depth(stack, "IngestQueue") == 0


class SteppingSqs:
    """Wraps the SQS client: every receive moves the fake clock one second and runs the test's hook."""

    def __init__(self, sqs: Any, clock: FakeClock, hook: Any) -> None:
        self._sqs, self._clock, self._hook = sqs, clock, hook
        self.receives = 0

    def receive_message(self, **kwargs: Any) -> Any:
        self.receives += 1
        self._clock.advance(1)
        self._hook(self._clock.now)
        return self._sqs.receive_message(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)


def test_batching_window_gathers_late_messages_until_it_closes(stack: LocalStack) -> None:
    clock = FakeClock(start=0)
    _send(stack, "IngestQueue", ["early-1", "early-2"])

    def hook(now: float) -> None:
        if now == 3:  # inside the 5 s window opened by the first receive at t=1
            _send(stack, "IngestQueue", ["late"])

    sqs = SteppingSqs(stack.client("sqs"), clock, hook)
    handler = Recorder()
    spec = _spec(stack, "AggregatorFunction", batch_size=100, window_seconds=5)
    poller = EventSourcePoller(sqs, spec, handler, clock=clock, max_wait_seconds=0)

    poller.poll_once()
    _send(stack, "IngestQueue", ["after-window"])
    poller.poll_once()

    assert sorted(handler.bodies(0)) == ["early-1", "early-2", "late"]
    assert clock.now >= 6  # the first batch was held until the window (t=1..6) closed
    assert handler.bodies(1) == ["after-window"]


def test_a_full_batch_is_invoked_without_waiting_for_the_window(stack: LocalStack) -> None:
    clock = FakeClock(start=0)
    _send(stack, "IngestQueue", [f"m{i}" for i in range(20)])
    sqs = SteppingSqs(stack.client("sqs"), clock, lambda now: None)
    handler = Recorder()
    spec = _spec(stack, "AggregatorFunction", batch_size=15, window_seconds=300)

    EventSourcePoller(sqs, spec, handler, clock=clock, max_wait_seconds=0).poll_once()

    assert len(handler.bodies(0)) == 15
    assert sqs.receives == 2 and clock.now == 2


def test_run_until_idle_drains_chained_sources_and_counts_outcomes(stack: LocalStack) -> None:
    sqs = stack.client("sqs")
    _send(stack, "IngestQueue", [json.dumps({"n": i}) for i in range(25)])
    failed_once: set[str] = set()

    def aggregator(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            n = json.loads(record["body"])["n"]
            if n == 7 and record["messageId"] not in failed_once:
                failed_once.add(record["messageId"])
                failures.append({"itemIdentifier": record["messageId"]})
                continue
            sqs.send_message(
                QueueUrl=stack.queue_urls["ChangeSetQueue"],
                MessageBody=record["body"],
                MessageGroupId=f"zone-{n % 3}",
                MessageDeduplicationId=record["messageId"],
            )
        return {"batchItemFailures": failures}

    batcher = Recorder()
    pollers = [
        EventSourcePoller(sqs, _spec(stack, "AggregatorFunction"), aggregator, time_scale=0),
        EventSourcePoller(sqs, _spec(stack, "BatcherFunction"), batcher, time_scale=0),
    ]
    stats = run_until_idle(pollers, deadline=time.monotonic() + 60)

    assert stats.idle
    delivered = sorted(json.loads(b)["n"] for i in range(len(batcher.events)) for b in batcher.bodies(i))
    assert delivered == list(range(25))
    assert stats.sources["IngestQueue"].messages == 26  # message 7 twice
    assert stats.sources["IngestQueue"].failed_messages == 1
    assert stats.sources["ChangeSetQueue"].messages == 25
    assert all(len(e["Records"]) <= 10 for e in batcher.events)


def test_run_until_idle_stops_at_the_deadline_when_work_never_ends(stack: LocalStack) -> None:
    _send(stack, "FallbackQueue", ["stuck"], group="g")
    spec = _spec(stack, "FallbackFunction")

    # visibility 720 s x 0.01 = 7 s: the failed message stays in flight past the deadline
    def fail_all(event: dict[str, Any]) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    poller = EventSourcePoller(stack.client("sqs"), spec, Recorder(fail_all), time_scale=0.01)
    clock = FakeClock()

    def ticking() -> float:
        clock.advance(1)
        return clock()

    stats = run_until_idle([poller], deadline=clock.now + 2, clock=ticking, idle_wait_seconds=0)

    assert not stats.idle
    assert stats.sources["FallbackQueue"].invocations == 1
