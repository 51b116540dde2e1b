"""moto in a child process: the lazy ``Queue.attributes`` answers exactly what moto's own property does, the
child serves the stack over HTTP, and it never outlives the process that started it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import boto3
import pytest
from moto.sqs.models import Queue, sqs_backends

from devstack.stack.aws import FAKE_CREDENTIALS, start_moto
from devstack.stack.motoserver import PATCHED_MOTO_VERSION, LazyQueueAttributes, _visible_messages

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
