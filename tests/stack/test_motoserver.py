"""moto in a child process: the lazy ``Queue.attributes`` answers exactly what moto's own property does, the
child serves the stack over HTTP, and it never outlives the process that started it."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
import uuid

import boto3
import pytest
from moto.sqs.models import Queue, sqs_backends

from devstack.stack.aws import FAKE_CREDENTIALS, create_stack, start_moto
from devstack.stack.motoserver import (
    PATCHED_MOTO_VERSION,
    LazyQueueAttributes,
    _delayed_count,
    _not_visible_count,
    _visible_messages,
)
from devstack.stack.pipeline import REPO
from dnsbatch.ledger import Ledger, Status
from dnsbatch.model import Action, Change, EventRef, RecordSetKey
from dnsbatch.rdata import parse_values

ACCOUNT = "123456789012"
REGION = "us-east-1"


def _queues() -> list[Queue]:
    backend = sqs_backends[ACCOUNT][REGION]
    suffix = uuid.uuid4().hex[:8]
    dlq = backend.create_queue(f"lazy-dlq-{suffix}")
    redrive = json.dumps({"deadLetterTargetArn": dlq.queue_arn, "maxReceiveCount": 5})
    return [
        dlq,
        backend.create_queue(f"lazy-src-{suffix}", RedrivePolicy=redrive, VisibilityTimeout="90"),
        backend.create_queue(f"lazy-fifo-{suffix}.fifo", FifoQueue="true", ContentBasedDeduplication="true"),
        backend.create_queue(f"lazy-kms-{suffix}", KmsMasterKeyId="alias/x", DelaySeconds="5"),
    ]


@pytest.mark.parametrize("index", range(4))
def test_lazy_attributes_equal_motos_own(index: int) -> None:
    queue = _queues()[index]
    backend = sqs_backends[ACCOUNT][REGION]
    backend.send_message(queue.name, "m", group_id="g" if queue.fifo_queue else None)
    own = Queue.attributes.fget(queue)  # type: ignore[attr-defined]  # this process is not patched
    lazy = LazyQueueAttributes(queue)
    assert list(lazy) == list(own)
    assert dict(lazy) == own
    assert ("ApproximateNumberOfMessages" in lazy) and lazy.get("NoSuchAttribute") is None


def test_visible_messages_equal_motos_own() -> None:
    backend = sqs_backends[ACCOUNT][REGION]
    queue = backend.create_queue(f"visible-{uuid.uuid4().hex[:8]}")
    for i in range(6):
        backend.send_message(queue.name, f"m{i}", delay_seconds=60 if i == 5 else None)
    backend.receive_message(queue.name, 2, 0, visibility_timeout=30)  # two in flight
    backend.receive_message(queue.name, 1, 0, visibility_timeout=0)  # received, visible again
    own = Queue.messages.fget(queue)  # type: ignore[attr-defined]
    assert [m.body for m in _visible_messages(queue)] == [m.body for m in own]
    assert len(own) == 3
    # the counts GetQueueAttributes reports, read with one clock reading per scan
    assert _not_visible_count(queue) == queue.approximate_number_of_messages_not_visible == 2
    assert _delayed_count(queue) == queue.approximate_number_of_messages_delayed == 1


def test_the_patch_is_for_the_pinned_moto_only() -> None:
    import moto  # noqa: PLC0415  # only to compare versions

    # requirements-dev.lock pins moto; an upgrade must re-read moto's Queue.attributes before the pin moves.
    assert moto.__version__ == PATCHED_MOTO_VERSION


def test_the_child_serves_sqs_and_stops() -> None:
    server, endpoint = start_moto()
    try:
        sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION, **FAKE_CREDENTIALS)
        url = sqs.create_queue(QueueName="child-q")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        got = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
        assert [m["Body"] for m in got] == ["hello"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attrs["ApproximateNumberOfMessagesNotVisible"] == "1"
        sqs.close()
    finally:
        server.stop()
    assert server.process.poll() is not None


def _gone(pid: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # a child we did not start is reaped by init; /proc shows a zombie until then
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().split(")")[-1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_the_child_exits_when_its_parent_is_killed() -> None:
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from devstack.stack.aws import start_moto; import time; s, _ = start_moto();"
            " print(s.pid, flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    ) as parent:
        try:
            assert parent.stdout is not None
            child = int(parent.stdout.readline())
        finally:
            parent.kill()  # SIGKILL: no clean-up code runs in the parent
            parent.wait()
    assert _gone(child, time.monotonic() + 20), f"moto's child {child} outlived its parent"


def _ledger_story(endpoint: str) -> list[object]:
    """The Ledger's calls in the order the pipeline makes them, conflicts and refusals included; every
    answer (minus request ids) and the table at the end."""

    stack = create_stack(endpoint, REPO / "template.yaml", "same", {"Zones": "example.com"})
    client = stack.client("dynamodb")
    ledger = Ledger(stack.table_name, client, clock=lambda: 1_700_000_000.0)

    def change(name: str, version: int, message: str) -> Change:
        values = parse_values("A", ["192.0.2.1"], name=name, zone="example.com")
        key = RecordSetKey("example.com", f"{name}.example.com", "A")
        return Change(key, Action.UPSERT, values, version, EventRef(message, 0), ttl=300)

    a1, a2, b1, b1_again = (
        change("a", 1, "m1"),
        change("a", 2, "m2"),
        change("b", 1, "m3"),
        change("b", 1, "m4"),
    )
    out: list[object] = [ledger.claim(c) for c in (a1, b1, a2, a1, b1_again)]
    out += [
        ledger.mark(a1, Status.APPLIED),
        ledger.mark(a2, Status.FALLBACK),
        ledger.mark(a2, Status.FALLBACK),
    ]
    out += [
        ledger.mark(a2, Status.APPLIED, "done"),
        ledger.mark(b1, Status.UNCHANGED),
        ledger.mark(b1, Status.FAILED),
    ]
    ledger.mark_logged([a1, a2, b1])
    out += [ledger.get_many([a1.key, b1.key])]
    items = client.scan(TableName=stack.table_name)["Items"]
    out += [sorted(json.dumps(item, sort_keys=True) for item in items)]
    return out


def _sqs_story(endpoint: str) -> list[object]:
    """Sends, receives, redeliveries and deletes by current, old, repeated and unknown receipt handles."""
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION, **FAKE_CREDENTIALS)
    url = sqs.create_queue(QueueName="story", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    out: list[object] = [sorted(m["Body"] for m in first), sorted(m["Body"] for m in again)]
    handles = [first[0]["ReceiptHandle"], first[1]["ReceiptHandle"], again[-1]["ReceiptHandle"]]
    for handle in [*handles, handles[0], "not-a-receipt-handle"]:
        try:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
            out.append("deleted")
        except sqs.exceptions.ClientError as exc:
            out.append(exc.response["Error"]["Code"])
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    out.append(attrs["Attributes"])
    return out


def test_the_patched_server_answers_what_moto_does() -> None:
    """The expression caches, the one-pass delete and the cached lookups change costs, not answers: the
    same Ledger and SQS stories give the same answers and the same table on moto as released."""
    answers = []
    for patch in (True, False):
        server, endpoint = start_moto(patch=patch)
        try:
            answers.append((_ledger_story(endpoint), _sqs_story(endpoint)))
        finally:
            server.stop()
    patched, released = answers
    assert patched[0] == released[0]
    assert patched[1] == released[1]
    assert "ReceiptHandleIsInvalid" in released[1]  # the story reaches the error path


def test_the_child_keeps_connections_alive() -> None:
    server, endpoint = start_moto()
    try:
        host, port = endpoint.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        headers = {
            "X-Amz-Target": "AmazonSQS.ListQueues",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sqs/aws4_request, "
            "SignedHeaders=host, Signature=x",
        }
        sockets = set()
        for _ in range(3):
            conn.request("POST", "/", "{}", headers)
            response = conn.getresponse()
            assert response.status == 200 and response.getheader("Connection") is None
            response.read()
            sockets.add(id(conn.sock))
        assert len(sockets) == 1  # one TCP connection served all three
        conn.close()
    finally:
        server.stop()
