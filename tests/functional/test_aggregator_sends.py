"""The aggregator's sends and time budget against moto's server: rejections batched with SendMessageBatch
(10 per call, 1 MiB per call, Failed entries retried a bounded number of times), messages the budget did not
reach reported failed and settled exactly once when they come back, and an unexpected error failing only
the message that triggers it."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from dnsbatch import aggregator
from dnsbatch.aggregator import AggregatorDeps, aggregate, aggregate_isolated
from dnsbatch.queues import OutgoingMessage, parse_changeset, send_batch

if TYPE_CHECKING:  # "conftest" is ambiguous at run time when several suites are collected together
    from conftest import Parts

GOOD = {"zone": "example.com", "type": "A", "action": "upsert", "values": ["192.0.2.1"]}


def good(name: str) -> str:
    return json.dumps({**GOOD, "name": name})


def bad(name: str) -> str:
    return json.dumps({**GOOD, "name": name, "values": ["192.0.2.300"]})


def record(message_id: str, body: str, sent: int = 1) -> dict[str, Any]:
    return {"messageId": message_id, "body": body, "attributes": {"SentTimestamp": str(sent)}}


class SqsProxy:
    """The real moto client, with SendMessageBatch entries failed on purpose (``fail`` decides per entry
    and attempt) and every SendMessageBatch call counted."""

    def __init__(self, sqs: Any, fail: Callable[[dict[str, Any], int], dict[str, Any] | None]) -> None:
        self.sqs = sqs
        self.fail = fail
        self.batch_calls: list[int] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        attempt = len(self.batch_calls)
        self.batch_calls.append(len(Entries))
        failed = [(e, self.fail(e, attempt)) for e in Entries]
        send = [e for e, f in failed if f is None]
        response = self.sqs.send_message_batch(QueueUrl=QueueUrl, Entries=send) if send else {}
        return {
            "Successful": response.get("Successful", []),
            "Failed": [{"Id": e["Id"], **f} for e, f in failed if f is not None],
        }

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sqs, name)


def drain(parts: Parts, logical: str) -> list[dict[str, Any]]:
    url = parts.stack.queue_urls[logical]
    got: list[dict[str, Any]] = []
    while messages := parts.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=60
    ).get("Messages", []):
        got += messages
        for message in messages:
            parts.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return got


def claimed(parts: Parts) -> list[tuple[str, str]]:
    """(message id, record name) of every change on ChangeSetQueue, drained."""
    return sorted(
        (c.ref.message_id, c.key.name)
        for m in drain(parts, "ChangeSetQueue")
        for c in parse_changeset(m["Body"]).changes
    )


def deps(parts: Parts, sqs: Any = None, clock: Callable[[], float] | None = None) -> AggregatorDeps:
    built = AggregatorDeps(
        settings=parts.settings(), sqs=sqs or parts.sqs, ledger=parts.ledger, telemetry=parts.telemetry
    )
    if clock is not None:
        built.clock = clock
    return built


def message(body: str, **attributes: str) -> OutgoingMessage:
    return OutgoingMessage(body=body, changes=(), attributes=attributes or None)


# --- send_batch ---------------------------------------------------------------------------------------


def test_send_batch_sends_ten_per_call_and_every_message_arrives(parts: Parts) -> None:
    proxy = SqsProxy(parts.sqs, lambda e, a: None)
    url = parts.stack.queue_urls["RejectedQueue"]

    unsent = send_batch(proxy, url, [message(f"m{i}", reason="r") for i in range(25)])

    assert unsent == {}
    assert proxy.batch_calls == [10, 10, 5]
    assert sorted(m["Body"] for m in drain(parts, "RejectedQueue")) == sorted(f"m{i}" for i in range(25))


def test_send_batch_keeps_each_call_within_one_mebibyte(parts: Parts) -> None:
    proxy = SqsProxy(parts.sqs, lambda e, a: None)
    big = [message(str(i) * 400 * 1024) for i in range(5)]  # 400 KiB each: three per call would not fit

    assert send_batch(proxy, parts.stack.queue_urls["RejectedQueue"], big) == {}
    assert proxy.batch_calls == [2, 2, 1]
    assert len(drain(parts, "RejectedQueue")) == 5


def test_send_batch_retries_the_entries_sqs_reports_failed(parts: Parts) -> None:
    # Entries 1 and 7 fail on the first attempt only (an SQS-side error, not the sender's fault).
    def fail(entry: dict[str, Any], attempt: int) -> dict[str, Any] | None:
        if attempt == 0 and entry["Id"] in ("1", "7"):
            return {"Code": "InternalError", "Message": "try again", "SenderFault": False}
        return None

    proxy = SqsProxy(parts.sqs, fail)
    sleeps: list[float] = []
    url = parts.stack.queue_urls["RejectedQueue"]

    unsent = send_batch(proxy, url, [message(f"m{i}") for i in range(10)], sleep=sleeps.append)

    assert unsent == {}
    assert proxy.batch_calls == [10, 2] and len(sleeps) == 1
    assert sorted(m["Body"] for m in drain(parts, "RejectedQueue")) == sorted(f"m{i}" for i in range(10))


def test_send_batch_gives_up_after_its_attempts_and_never_retries_a_sender_fault(parts: Parts) -> None:
    def fail(entry: dict[str, Any], attempt: int) -> dict[str, Any] | None:
        if entry["Id"] == "0":
            return {"Code": "InternalError", "Message": "down", "SenderFault": False}
        if entry["Id"] == "1":
            return {"Code": "InvalidMessageContents", "Message": "no", "SenderFault": True}
        return None

    proxy = SqsProxy(parts.sqs, fail)

    unsent = send_batch(
        proxy,
        parts.stack.queue_urls["RejectedQueue"],
        [message(f"m{i}") for i in range(3)],
        sleep=lambda s: None,
    )

    assert unsent == {0: "InternalError: down", 1: "InvalidMessageContents: no"}
    assert proxy.batch_calls == [3, 1, 1]  # three attempts in all for entry 0, one for entry 1
    assert [m["Body"] for m in drain(parts, "RejectedQueue")] == ["m2"]


def test_send_batch_reports_what_it_cannot_encode_or_had_no_time_for(parts: Parts) -> None:
    proxy = SqsProxy(parts.sqs, lambda e, a: None)
    url = parts.stack.queue_urls["RejectedQueue"]

    assert list(send_batch(proxy, url, [message("a\ud800"), message("fine")])) == [0]
    assert list(send_batch(proxy, url, [message("late")], deadline=5.0, clock=lambda: 6.0)) == [0]
    assert proxy.batch_calls == [1]
    assert [m["Body"] for m in drain(parts, "RejectedQueue")] == ["fine"]


# --- the aggregator -------------------------------------------------------------------------------------


def test_a_message_whose_rejection_cannot_be_parked_fails_alone_and_settles_when_it_comes_back(
    parts: Parts,
) -> None:
    # m2's rejection is refused every time on the first run.
    refused = {"on": True}

    def fail(entry: dict[str, Any], attempt: int) -> dict[str, Any] | None:
        if refused["on"] and "bad-m2" in entry["MessageBody"]:
            return {"Code": "InternalError", "Message": "down", "SenderFault": False}
        return None

    proxy = SqsProxy(parts.sqs, fail)
    envelope = json.dumps({"changes": [json.loads(good("ok-m2")), json.loads(bad("bad-m2"))]})
    records = [record("m1", bad("bad-m1")), record("m2", envelope), record("m3", good("ok-m3"))]

    summary = aggregate(records, deps(parts, proxy))

    assert summary.failed_messages == {"m2"}
    # m2 got no outcome and its valid change was not sent on; the others settled.
    assert [(o.ref.message_id, o.outcome.value) for o in parts.outcomes] == [("m1", "rejected")]
    assert claimed(parts) == [("m3", "ok-m3.example.com")]
    assert len(drain(parts, "RejectedQueue")) == 1

    refused["on"] = False
    assert aggregate([records[1]], deps(parts, proxy)).failed_messages == set()

    assert Counter((o.ref.message_id, o.ref.index) for o in parts.outcomes) == {("m1", 0): 1, ("m2", 1): 1}
    assert claimed(parts) == [("m2", "ok-m2.example.com")]


def test_messages_the_time_budget_does_not_reach_are_failed_and_settle_once_when_they_come_back(
    parts: Parts,
) -> None:
    now = {"t": 0.0}

    def clock() -> float:
        now["t"] += 1.0  # every look at the clock costs a second
        return now["t"]

    bodies = [good(f"n{i}") if i % 3 else bad(f"n{i}") for i in range(12)]
    records = [record(f"m{i}", body, sent=i) for i, body in enumerate(bodies)]

    first = aggregate(records, deps(parts, clock=clock), deadline=6.5)

    assert first.failed_messages and first.unreached  # the budget ran out while parsing
    settled = {f"m{i}" for i in range(12)} - first.failed_messages
    assert {o.ref.message_id for o in parts.outcomes} <= settled
    assert {mid for mid, _ in claimed(parts)} <= settled

    # What came back, processed with time to spare.
    again = [r for r in records if r["messageId"] in first.failed_messages]
    assert aggregate(again, deps(parts)).failed_messages == set()

    results = Counter(o.ref.message_id for o in parts.outcomes)
    on_queue = claimed(parts)
    results.update(mid for mid, _ in on_queue)
    assert results == Counter(f"m{i}" for i in range(12))  # every event exactly once, nothing lost
    assert {o.ref.message_id for o in parts.outcomes} == {f"m{i}" for i in range(0, 12, 3)}


def test_a_budget_already_spent_fails_every_message_and_writes_nothing(parts: Parts) -> None:
    records = [record("m1", good("a")), record("m2", bad("b"))]

    summary = aggregate(records, deps(parts, clock=lambda: 100.0), deadline=99.0)

    assert summary.failed_messages == {"m1", "m2"} and summary.unreached == 2
    assert parts.outcomes == []
    assert drain(parts, "RejectedQueue") == [] and claimed(parts) == []


def test_an_unexpected_error_fails_only_the_message_that_triggers_it(
    parts: Parts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bug (not message content) that surfaces only when m2's change is coalesced.
    real = aggregator.coalesce

    def coalesce(changes: Any) -> Any:
        if any(c.ref.message_id == "m2" for c in changes):
            raise RuntimeError("a bug")
        return real(changes)

    monkeypatch.setattr(aggregator, "coalesce", coalesce)
    records = [record("m1", good("a")), record("m2", good("b")), record("m3", bad("c"))]

    failed = aggregate_isolated(records, deps(parts))

    assert failed == {"m2"}
    assert claimed(parts) == [("m1", "a.example.com")]
    assert [(o.ref.message_id, o.outcome.value) for o in parts.outcomes] == [("m3", "rejected")]


def test_a_parse_bug_fails_its_message_only(parts: Parts, monkeypatch: pytest.MonkeyPatch) -> None:
    real = aggregator.parse_message

    def parse_message(body: str, ref: Any, **kwargs: Any) -> Any:
        if "boom" in body:
            raise RuntimeError("a bug")
        return real(body, ref, **kwargs)

    monkeypatch.setattr(aggregator, "parse_message", parse_message)

    summary = aggregate([record("m1", good("boom")), record("m2", good("fine"))], deps(parts))

    assert summary.failed_messages == {"m1"}
    assert claimed(parts) == [("m2", "fine.example.com")]


def test_the_same_message_twice_in_one_batch_is_processed_once(parts: Parts) -> None:
    records = [record("m1", bad("x")), record("m1", bad("x")), record("m2", good("y"))]

    summary = aggregate(records, deps(parts))

    assert summary.failed_messages == set() and summary.messages == 2 and summary.events == 2
    assert [(o.ref.message_id, o.outcome.value) for o in parts.outcomes] == [("m1", "rejected")]
    assert len(drain(parts, "RejectedQueue")) == 1


def test_a_body_sqs_could_not_have_carried_is_still_rejected_and_parked(parts: Parts) -> None:
    # Handed to the handler directly (a replay tool, a test): a raw lone surrogate and a raw U+FFFF.
    body = '{"zone": "example.com", "name": "a\ud800", "type": "A", "action": "upsert", "values": ["\uffff"]}'

    summary = aggregate([record("m1", body)], deps(parts))

    assert summary.failed_messages == set()
    (parked,) = drain(parts, "RejectedQueue")
    assert parked["Body"] == body.replace("\ud800", "\\ud800").replace("\uffff", "\\uffff")
    reason = parked["MessageAttributes"]["reason"]["StringValue"]
    assert reason.startswith("name: holds a lone UTF-16 surrogate (\\ud800 at character 1)")
