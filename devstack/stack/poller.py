"""Lambda's SQS event source mapping, emulated over a real (local) SQS.

:class:`EventSourcePoller` does what the mapping does for one queue → function pair: receive a batch
(up to ``BatchSize``; for standard queues keep gathering until the batch is full, the batching window
has passed, or the payload reaches Lambda's 6 MB invoke limit), invoke the handler with Lambda's SQS
event shape and a context whose remaining time counts down from the function timeout, then apply the
response the way Lambda does with ``ReportBatchItemFailures``: listed messages stay on the queue, the
rest are deleted; an exception or a malformed response fails the whole batch; an empty response
succeeds. Redrive to the DLQ is SQS's (moto's) own: a message received more than ``maxReceiveCount``
times is moved on its next receive.

Differences from Lambda, on purpose:

* ``ScalingConfig.MaximumConcurrency`` is honoured as *sequential*: one invocation at a time per
  source, sources polled round-robin. Rate pacing and FIFO group order (what concurrency 2 is for
  in the template) are unaffected; throughput is not what the local stack measures.
* ``time_scale`` shrinks time: the batching window, the visibility timeout after which failed
  messages reappear, and the context's remaining time are multiplied by it (0 = no waiting at all).
* The window starts at the first received message (Lambda does not invoke for an empty queue either).

A handler that raises :class:`FunctionCrash` (a ``BaseException``, so no ``except Exception`` in the
function can swallow it) stands for the runtime dying mid-invocation (killed, out of memory, a
segfault): Lambda gets no response, reports ``Runtime.ExitError``, deletes nothing, and every message of
the batch reappears when its visibility timeout expires, exactly as after an exception.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from devstack.stack.context import LambdaContext
from devstack.stack.template import ACCOUNT_ID

log = logging.getLogger(__name__)

#: Lambda's synchronous invoke payload limit; an SQS batch is cut there whatever its BatchSize.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
#: SQS's own limits: 10 messages per ReceiveMessage, 20 s of long polling.
_RECEIVE_MAX = 10
_LONG_POLL_MAX = 20

Handler = Callable[[dict[str, Any], Any], object]


class FunctionCrash(BaseException):
    """Raised (by a test or the chaos runner) to simulate the Lambda runtime dying mid-invocation."""


@dataclass(frozen=True)
class EventSourceSpec:
    """One SQS event source mapping as the template configures it (see ``LocalStack.event_sources``)."""

    queue_logical_id: str
    queue_url: str
    batch_size: int
    window_seconds: int
    fifo: bool
    function_timeout: int
    visibility_timeout: int
    max_concurrency: int | None
    queue_arn: str
    function_logical_id: str = ""
    function_name: str = ""
    memory_mb: int = 128
    log_group_name: str = ""
    report_batch_item_failures: bool = True
    max_receive_count: int | None = None
    dlq_url: str | None = None


@dataclass(frozen=True)
class PollResult:
    """What one poll did. ``records == 0`` means the queue had nothing visible and nothing was invoked."""

    source: str
    records: int = 0
    deleted: int = 0
    failed: int = 0
    """Messages left on the queue for redelivery."""
    error: str | None = None
    """Why the whole batch failed (the handler raised, or its response was malformed)."""
    response: object = None

    @property
    def invoked(self) -> bool:
        return self.records > 0


class EventSourcePoller:
    """Polls one queue and invokes one handler the way Lambda's SQS event source mapping does."""

    def __init__(
        self,
        sqs_client: Any,
        spec: EventSourceSpec,
        handler: Handler,
        *,
        time_scale: float = 1.0,
        region: str = "us-east-1",
        clock: Callable[[], float] = time.monotonic,
        max_wait_seconds: int = _LONG_POLL_MAX,
        context_time_scale: float | None = None,
    ) -> None:
        """``clock`` measures the batching window and the context's remaining time; ``max_wait_seconds``
        bounds each long poll (tests that inject a clock set it to 0 so no receive blocks for real);
        ``context_time_scale`` scales the handler's time budget apart from ``time_scale`` (default: same).
        """
        self.sqs = sqs_client
        self.spec = spec
        self.handler = handler
        self.time_scale = time_scale
        self.context_time_scale = time_scale if context_time_scale is None else context_time_scale
        self.region = region
        self.clock = clock
        self.max_wait_seconds = max(0, min(_LONG_POLL_MAX, max_wait_seconds))
        # moto omits FIFO SequenceNumbers; synthesised ones are stable per message across redeliveries.
        self._sequence_numbers: dict[str, str] = {}

    def poll_once(self, wait_seconds: int = 0) -> PollResult:
        """Receive one batch, invoke the handler with it, and apply the response.

        ``wait_seconds`` long-polls the *first* receive (bounded by ``max_wait_seconds``); later receives
        that fill the batch wait at most the rest of the batching window.
        """
        batch = self._gather(min(wait_seconds, self.max_wait_seconds))
        if not batch:
            return PollResult(source=self.spec.queue_logical_id)
        event = {"Records": [self._record(m) for m in batch]}
        context = LambdaContext.start(
            function_name=self.spec.function_name or self.spec.function_logical_id or "local",
            timeout_seconds=self.spec.function_timeout * self.context_time_scale,
            memory_limit_in_mb=self.spec.memory_mb,
            region=self.region,
            log_group_name=self.spec.log_group_name or None,
            clock=self.clock,
        )
        error: str | None = None
        response: object = None
        try:
            response = self.handler(event, context)
            json.dumps(response)  # Lambda serialises the response; failing that is Runtime.MarshalError
        except Exception as exc:
            log.warning(
                "handler %s raised %s; the whole batch of %d will be redelivered",
                self.spec.function_logical_id,
                type(exc).__name__,
                len(batch),
                exc_info=True,
            )
            error = f"{type(exc).__name__}: {exc}"
        except FunctionCrash as exc:
            # The process is gone: no response, no exception reaches Lambda's runtime API. The batch fails
            # whole and comes back after the visibility timeout, like Lambda's Runtime.ExitError.
            log.warning(
                "function %s crashed mid-invocation (%s); the whole batch of %d will be redelivered",
                self.spec.function_logical_id,
                exc,
                len(batch),
            )
            error = f"Runtime.ExitError: {exc}"
        if error is None:
            failed_ids, error = self._failed_ids(response, [m["MessageId"] for m in batch])
        else:
            failed_ids = None
        retry = batch if failed_ids is None else [m for m in batch if m["MessageId"] in failed_ids]
        done = [] if failed_ids is None else [m for m in batch if m["MessageId"] not in failed_ids]
        self._delete(done)
        self._release(retry)
        return PollResult(
            source=self.spec.queue_logical_id,
            records=len(batch),
            deleted=len(done),
            failed=len(retry),
            error=error,
            response=response,
        )

    def depth(self) -> int:
        """Messages on the queue: visible + in flight + delayed (SQS's approximate counts)."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.spec.queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return sum(int(v) for v in attributes.values())

    # ------------------------------------------------------------------ receiving

    def _gather(self, first_wait: int) -> list[dict[str, Any]]:
        spec = self.spec
        batch = self._receive(min(_RECEIVE_MAX, spec.batch_size), first_wait)
        window = spec.window_seconds * self.time_scale
        if not batch or (window <= 0 and spec.batch_size <= _RECEIVE_MAX):
            return self._cut_payload(batch)
        window_end = self.clock() + window
        while len(batch) < spec.batch_size and self._payload(batch) < MAX_PAYLOAD_BYTES:
            remaining = window_end - self.clock()
            if remaining <= 0 and window > 0:
                break
            # Long-poll no longer than the window has left, so an idle queue never holds a batch back.
            wait = min(self.max_wait_seconds, math.ceil(remaining)) if remaining > 0 else 0
            more = self._receive(min(_RECEIVE_MAX, spec.batch_size - len(batch)), wait)
            if not more and window <= 0:
                break  # without a window Lambda invokes with what one round of polling found
            batch.extend(more)
        return self._cut_payload(batch)

    def _receive(self, count: int, wait: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.spec.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    @staticmethod
    def _payload(batch: Sequence[dict[str, Any]]) -> int:
        return sum(len(m.get("Body", "").encode()) + 1024 for m in batch)

    def _cut_payload(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Keep what fits in one invoke payload; release the rest to the queue right away."""
        kept: list[dict[str, Any]] = []
        size = 0
        for message in batch:
            size += self._payload([message])
            if kept and size > MAX_PAYLOAD_BYTES:
                break
            kept.append(message)
        overflow = batch[len(kept) :]
        self._change_visibility(overflow, 0)
        return kept

    # ------------------------------------------------------------------ event shape

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        system = message.get("Attributes", {})
        attributes = {
            "ApproximateReceiveCount": system.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": system.get("SentTimestamp", str(int(time.time() * 1000))),
            "SenderId": system.get("SenderId", ACCOUNT_ID),
            "ApproximateFirstReceiveTimestamp": system.get(
                "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
            ),
        }
        if self.spec.fifo:
            attributes["SequenceNumber"] = system.get("SequenceNumber") or self._sequence_number(
                message["MessageId"]
            )
            attributes["MessageGroupId"] = system.get("MessageGroupId", "")
            attributes["MessageDeduplicationId"] = system.get("MessageDeduplicationId", "")
        if "AWSTraceHeader" in system:
            attributes["AWSTraceHeader"] = system["AWSTraceHeader"]
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message.get("Body", ""),
            "attributes": attributes,
            "messageAttributes": {
                name: _lambda_message_attribute(value)
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.spec.queue_arn,
            "awsRegion": self.region,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record

    def _sequence_number(self, message_id: str) -> str:
        if message_id not in self._sequence_numbers:
            self._sequence_numbers[message_id] = f"{18_000_000_000_000_000_000 + len(self._sequence_numbers)}"
        return self._sequence_numbers[message_id]

    # ------------------------------------------------------------------ responses

    def _failed_ids(self, response: object, message_ids: Sequence[str]) -> tuple[set[str] | None, str | None]:
        """The message ids to retry, or (None, reason) when Lambda would fail the whole batch."""
        if not self.spec.report_batch_item_failures or response is None or response in ({}, ""):
            return set(), None
        if not isinstance(response, dict):
            return None, f"malformed response: {type(response).__name__}, not an object"
        failures = response.get("batchItemFailures")
        if not failures:
            return set(), None
        if not isinstance(failures, list):
            return None, "malformed response: batchItemFailures is not a list"
        ids: set[str] = set()
        for item in failures:
            identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
            if not isinstance(identifier, str) or identifier not in message_ids:
                return None, f"malformed response: bad itemIdentifier {identifier!r}"
            ids.add(identifier)
        return ids, None

    def _delete(self, messages: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(messages), _RECEIVE_MAX):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages[start : start + _RECEIVE_MAX])
            ]
            self.sqs.delete_message_batch(QueueUrl=self.spec.queue_url, Entries=entries)

    def _release(self, messages: Sequence[dict[str, Any]]) -> None:
        """Failed messages reappear after the queue's visibility timeout; scaled, they come back sooner."""
        timeout = max(0, min(43_200, round(self.spec.visibility_timeout * self.time_scale)))
        self._change_visibility(messages, timeout)

    def _change_visibility(self, messages: Sequence[dict[str, Any]], timeout: int) -> None:
        for start in range(0, len(messages), _RECEIVE_MAX):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": timeout}
                for i, m in enumerate(messages[start : start + _RECEIVE_MAX])
            ]
            self.sqs.change_message_visibility_batch(QueueUrl=self.spec.queue_url, Entries=entries)


def _lambda_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """SQS API shape (StringValue/BinaryValue bytes) -> Lambda event shape (camelCase, base64)."""
    out: dict[str, Any] = {}
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    out["stringListValues"] = list(value.get("StringListValues", []))
    out["binaryListValues"] = [base64.b64encode(b).decode("ascii") for b in value.get("BinaryListValues", [])]
    out["dataType"] = value["DataType"]
    return out


@dataclass
class SourceStats:
    """Per event source totals over a run."""

    invocations: int = 0
    messages: int = 0
    """Records handed to the handler (a redelivered message counts again)."""
    failed_messages: int = 0
    failed_invocations: int = 0
    """Invocations whose whole batch failed (exception, crash or malformed response)."""
    crashed_invocations: int = 0
    """Invocations that died without a response (:class:`FunctionCrash`)."""


@dataclass
class RunStats:
    """What :func:`run_until_idle` did; ``idle`` is False when the deadline came first."""

    idle: bool
    rounds: int
    sources: dict[str, SourceStats] = field(default_factory=dict)


def run_until_idle(
    pollers: Sequence[EventSourcePoller],
    deadline: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    idle_wait_seconds: int = 1,
) -> RunStats:
    """Poll every source round-robin until all their queues are empty, or ``deadline`` (on ``clock``).

    Empty means visible + in flight + delayed == 0 on every source queue; DLQs and the rejected
    queue are not sources and keep what they hold. While messages are only in flight (waiting out a
    visibility timeout) each receive long-polls ``idle_wait_seconds`` instead of spinning.
    """
    stats = RunStats(idle=False, rounds=0, sources={p.spec.queue_logical_id: SourceStats() for p in pollers})
    wait = 0
    while True:
        stats.rounds += 1
        busy = False
        for poller in pollers:
            result = poller.poll_once(wait)
            if not result.invoked:
                continue
            busy = True
            source = stats.sources[result.source]
            source.invocations += 1
            source.messages += result.records
            source.failed_messages += result.failed
            source.failed_invocations += result.error is not None
            source.crashed_invocations += (result.error or "").startswith("Runtime.ExitError")
        if not busy and all(p.depth() == 0 for p in pollers):
            stats.idle = True
            return stats
        if clock() >= deadline:
            return stats
        wait = 0 if busy else idle_wait_seconds
