"""The producer kit's publish against moto's real SQS server (docs/producer-kit.md): fewest messages,
every change exactly once, failed entries retried (and what SQS keeps refusing reported), FIFO ids, the
CLI. Failures SQS would report are injected by a thin wrapper that forwards everything else to the real
client; the sender's-fault case is moto's own refusal."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devstack.stack.aws import FAKE_CREDENTIALS
from dnsbatch.__main__ import main
from dnsbatch.events import MAX_CHANGES_PER_MESSAGE
from dnsbatch.producer import MAX_MESSAGE_BYTES, VersionClock, encode_change, publish

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


@pytest.fixture
def sqs(moto_endpoint: str) -> Any:
    return boto3.client("sqs", endpoint_url=moto_endpoint, region_name=REGION, **FAKE_CREDENTIALS)


@pytest.fixture
def queue_url(sqs: Any) -> Iterator[str]:
    # The ingest queue's size limit, as template.yaml sets it.
    url: str = sqs.create_queue(
        QueueName=f"ingest-{uuid.uuid4().hex[:12]}", Attributes={"MaximumMessageSize": str(MAX_MESSAGE_BYTES)}
    )["QueueUrl"]
    yield url
    sqs.delete_queue(QueueUrl=url)


def receive_all(sqs: Any, url: str, expected_messages: int, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Every message on the queue (deleted as read), polled until ``expected_messages`` came and the
    queue then answered empty, or the deadline."""
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
        ).get("Messages", [])
        if not batch and len(messages) >= expected_messages:
            return messages
        messages += batch
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    raise AssertionError(f"received {len(messages)} messages of {expected_messages} before the deadline")


def changes_in(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for m in messages for c in json.loads(m["Body"])["changes"]]


def txt_change(i: int, filler: int = 300) -> dict[str, Any]:
    # Every change the same size, so the fewest possible envelopes is plain arithmetic.
    return {
        "zone": "example.com",
        "name": f"host-{i:05d}",
        "type": "TXT",
        "action": "upsert",
        "values": [f"id={i:05d} " + "x" * filler],
        "version": 1_000_000 + i,
    }


def test_publish_packs_10000_changes_into_the_fewest_messages_and_each_arrives_once(
    sqs: Any, queue_url: str
) -> None:
    changes = [txt_change(i) for i in range(10_000)]
    size = len(encode_change(changes[0]).encode())
    assert {len(encode_change(c).encode()) for c in changes} == {size}
    # An envelope is {"changes":[c,c,...]}: 14 bytes, the changes, a comma between two.
    per_message = min(MAX_CHANGES_PER_MESSAGE, (MAX_MESSAGE_BYTES - 14 + 1) // (size + 1))
    fewest = -(-len(changes) // per_message)
    assert fewest > 1  # the byte limit binds, not the count

    result = publish(sqs, queue_url, changes)

    assert result.ok, result.summary()
    assert result.messages == len(result.bodies) == fewest
    assert (result.sent, result.retried, result.versions_assigned) == (10_000, 0, 0)
    # Each envelope is near 1 MiB, and SendMessageBatch takes 1 MiB per call: one per call.
    assert result.calls == fewest
    assert all(len(b.encode()) <= MAX_MESSAGE_BYTES for b in result.bodies)
    received = changes_in(receive_all(sqs, queue_url, fewest))
    counts = Counter(c["name"] for c in received)
    assert len(received) == 10_000
    assert set(counts.values()) == {1}
    assert sorted(received, key=lambda c: c["name"]) == changes  # explicit versions kept, nothing altered


def test_small_messages_share_calls_ten_at_a_time(sqs: Any, queue_url: str) -> None:
    changes = [txt_change(i, filler=10) for i in range(95)]

    result = publish(sqs, queue_url, changes, max_message_bytes=len(encode_change(changes[0])) + 20)

    assert (result.messages, result.calls) == (95, 10)
    assert len(changes_in(receive_all(sqs, queue_url, 95))) == 95


class FailSomeEntries:
    """Forwards SendMessageBatch to the real client, except that the entries ``fail`` picks are reported in
    ``Failed`` as SQS does for a server-side problem (and not sent)."""

    def __init__(self, sqs: Any, fail: Any) -> None:
        self.sqs, self.fail, self.seen = sqs, fail, Counter[str]()

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        failed, forward = [], []
        for entry in Entries:
            self.seen[entry["MessageBody"]] += 1
            if self.fail(entry["MessageBody"], self.seen[entry["MessageBody"]]):
                failed.append(
                    {"Id": entry["Id"], "SenderFault": False, "Code": "InternalError", "Message": "try again"}
                )
            else:
                forward.append(entry)
        response: dict[str, Any] = {"Successful": [], "Failed": failed}
        if forward:
            real = self.sqs.send_message_batch(QueueUrl=QueueUrl, Entries=forward)
            response["Successful"] = real.get("Successful", [])
            response["Failed"] += real.get("Failed", [])
        return response


def third(body: str) -> bool:
    return all(int(c["name"][-5:]) % 3 == 0 for c in json.loads(body)["changes"])


def test_entries_sqs_reports_failed_are_retried_with_backoff_and_arrive_once(
    sqs: Any, queue_url: str
) -> None:
    changes = [txt_change(i, filler=50) for i in range(30)]
    one = len(encode_change(changes[0]))
    # The messages of every third change fail on their first two attempts.
    flaky = FailSomeEntries(sqs, lambda body, attempt: attempt <= 2 and third(body))
    waits: list[float] = []

    result = publish(flaky, queue_url, changes, max_message_bytes=one + 20, sleep=waits.append)

    failing = sum(1 for body in result.bodies if third(body))
    assert failing == 10
    assert result.ok, result.summary()
    assert result.retried == 2 * failing
    assert result.calls == 3 + sum(1 for w in waits)  # 3 groups of 10, plus one call per retry round
    assert waits and all(0 < w <= 1.0 for w in waits)
    received = changes_in(receive_all(sqs, queue_url, 30))
    assert sorted(c["name"] for c in received) == sorted(c["name"] for c in changes)


def test_what_keeps_failing_is_reported_unsent_with_its_changes_after_bounded_attempts(
    sqs: Any, queue_url: str
) -> None:
    changes = [txt_change(i, filler=50) for i in range(12)]
    one = len(encode_change(changes[0]))
    doomed = "host-00004"
    stubborn = FailSomeEntries(sqs, lambda body, attempt: doomed in body)
    waits: list[float] = []

    result = publish(stubborn, queue_url, changes, max_message_bytes=one + 20, attempts=4, sleep=waits.append)

    assert not result.ok
    assert (result.sent, result.messages) == (11, 11)
    (unsent,) = result.unsent
    assert [c["name"] for c in unsent.changes] == [doomed]
    assert "InternalError" in unsent.reason
    assert stubborn.seen[result.bodies[4]] == 4  # bounded: exactly `attempts` tries
    assert len(waits) == 3 and max(waits) <= 1.0
    assert "1 unsent in 1 messages" in result.summary()
    received = changes_in(receive_all(sqs, queue_url, 11))
    assert doomed not in {c["name"] for c in received}
    assert len(received) == 11


class DelayOne:
    """Asks SQS for a delay it refuses (over 900 s) on one entry: moto answers that entry in Failed as
    the sender's fault, as SQS does."""

    def __init__(self, sqs: Any, marker: str) -> None:
        self.sqs, self.marker, self.calls = sqs, marker, 0

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        entries = [{**e, "DelaySeconds": 901} if self.marker in e["MessageBody"] else e for e in Entries]
        response: dict[str, Any] = self.sqs.send_message_batch(QueueUrl=QueueUrl, Entries=entries)
        return response


def test_an_entry_sqs_refuses_as_the_senders_fault_is_not_retried_but_reported(
    sqs: Any, queue_url: str
) -> None:
    changes = [txt_change(i, filler=50) for i in range(5)]
    one = len(encode_change(changes[0]))
    refusing = DelayOne(sqs, "host-00002")
    waits: list[float] = []

    result = publish(refusing, queue_url, changes, max_message_bytes=one + 20, sleep=waits.append)

    assert refusing.calls == 1 and waits == []
    assert [c["name"] for m in result.unsent for c in m.changes] == ["host-00002"]
    assert "DelaySeconds" in result.unsent[0].reason
    assert len(changes_in(receive_all(sqs, queue_url, 4))) == 4


class RaiseOnce:
    def __init__(self, sqs: Any) -> None:
        self.sqs, self.raised = sqs, False

    def send_message_batch(self, **kwargs: Any) -> Any:
        if not self.raised:
            self.raised = True
            raise ClientError(
                {"Error": {"Code": "ServiceUnavailable", "Message": "slow down"}}, "SendMessageBatch"
            )
        return self.sqs.send_message_batch(**kwargs)


def test_a_call_that_raised_is_sent_again(sqs: Any, queue_url: str) -> None:
    changes = [txt_change(i, filler=10) for i in range(3)]

    result = publish(RaiseOnce(sqs), queue_url, changes, sleep=lambda _: None)

    assert result.ok and (result.calls, result.retried) == (2, 1)
    assert len(changes_in(receive_all(sqs, queue_url, 1))) == 3


def test_default_versions_increase_per_record_set_in_input_order_and_the_run_waits_out_its_lead(
    sqs: Any, queue_url: str
) -> None:
    now = 1_800_000_000_000
    clock = VersionClock(lambda: now)
    updates = [
        {"zone": "example.com", "name": "www", "type": "A", "action": "upsert", "values": [f"192.0.2.{i}"]}
        for i in range(1, 51)
    ]
    waits: list[float] = []

    result = publish(sqs, queue_url, updates, clock=clock, sleep=waits.append)

    assert result.ok and result.versions_assigned == 50
    received = changes_in(receive_all(sqs, queue_url, 1))
    versions = [c["version"] for c in sorted(received, key=lambda c: int(c["values"][0].rsplit(".", 1)[1]))]
    assert versions == list(range(now, now + 50))
    # The last version ran 49 ms ahead of the clock: the run returns only once the clock has passed it, so
    # a next run's versions start higher.
    assert waits == [0.049] and result.settled_ms == 49


def test_a_fifo_ingest_queue_gets_a_group_and_a_content_dedup_id(sqs: Any) -> None:
    url = sqs.create_queue(
        QueueName=f"ingest-{uuid.uuid4().hex[:12]}.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    changes = [txt_change(i, filler=10) for i in range(3)]

    result = publish(sqs, url, changes, group_id="controller-1")

    assert result.ok
    (message,) = receive_all(sqs, url, 1)
    assert message["Attributes"]["MessageGroupId"] == "controller-1"
    assert len(message["Attributes"]["MessageDeduplicationId"]) == 64
    assert changes_in([message]) == changes


def test_the_cli_publishes_a_file_and_prints_the_summary(
    moto_endpoint: str, sqs: Any, queue_url: str, tmp_path: Path
) -> None:
    events = tmp_path / "changes.jsonl"
    lines = [json.dumps(txt_change(i, filler=10)) for i in range(25)]
    lines.insert(
        3, '{"zone": "example.com", "name": "x", "type": "A", "action": "upsert", "values": ["1.2.3"]}'
    )
    events.write_text("\n".join(lines) + "\n")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
        "AWS_REGION": REGION,
    }

    proc = subprocess.run(
        [
            *(sys.executable, "-m", "dnsbatch", "publish", str(events)),
            *("--queue-url", queue_url, "--endpoint-url", moto_endpoint, "--source", "ci"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )

    assert proc.returncode == 1, proc.stderr  # the invalid change fails the run, the rest is sent
    assert "invalid line 4: values[0]" in proc.stderr
    assert (
        "26 changes read, 25 sent in 1 messages (1 SendMessageBatch calls, 0 entries retried)" in proc.stderr
    )
    received = changes_in(receive_all(sqs, queue_url, 1))
    assert len(received) == 25 and {c["source"] for c in received} == {"ci"}


def test_the_cli_reports_and_writes_what_sqs_would_not_take(
    moto_endpoint: str, sqs: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A queue whose MaximumMessageSize is below the envelope the kit builds by default: SQS refuses the
    # message (the call fails whole), and the kit must say so and keep the changes.
    small = sqs.create_queue(
        QueueName=f"small-{uuid.uuid4().hex[:12]}", Attributes={"MaximumMessageSize": "1024"}
    )["QueueUrl"]
    events = tmp_path / "changes.jsonl"
    events.write_text("".join(json.dumps(txt_change(i, filler=100)) + "\n" for i in range(20)))
    unsent = tmp_path / "unsent.jsonl"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_CREDENTIALS["aws_secret_access_key"])
    monkeypatch.setenv("AWS_REGION", REGION)
    out, err = io.StringIO(), io.StringIO()

    code = main(
        [
            *("publish", str(events), "--queue-url", small, "--endpoint-url", moto_endpoint),
            *("--attempts", "1", "--unsent", str(unsent)),
        ],
        out,
        err,
    )

    assert code == 1
    assert "unsent: a message of 20 changes: ClientError" in err.getvalue()
    assert "0 sent in 0 messages" in err.getvalue() and "20 unsent in 1 messages" in err.getvalue()
    kept = [json.loads(line) for line in unsent.read_text().splitlines()]
    assert kept == [txt_change(i, filler=100) for i in range(20)]
    # Publishing the kept changes to a queue that takes them delivers them all.
    big = sqs.create_queue(QueueName=f"big-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    again = main(["publish", str(unsent), "--queue-url", big, "--endpoint-url", moto_endpoint], out, err)
    assert again == 0
    assert len(changes_in(receive_all(sqs, big, 1))) == 20
