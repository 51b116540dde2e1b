"""A failed message comes back after a short, growing backoff, not the queue's 30-minute visibility timeout
(layers/dnsbatch/dnsbatch/redelivery.py); against moto's SQS over HTTP."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from devstack.stack.aws import create_stack
from devstack.stack.pipeline import REPO
from dnsbatch.redelivery import back_off, backoff_seconds, queue_url


@pytest.mark.parametrize(
    ("receives", "expected"),
    [(1, 15), (2, 30), (3, 60), (4, 120), (5, 240), (6, 300), (10, 300), (0, 15), (10_000, 300)],
)
def test_the_backoff_doubles_from_the_base_per_receive_up_to_the_cap(receives: int, expected: int) -> None:
    assert backoff_seconds(receives, 15, 300) == expected


def test_time_to_the_dlq_with_the_deployed_defaults_is_about_28_minutes() -> None:
    # what README and template.yaml promise: maxReceiveCount 10, base 15 s, cap 300 s
    waits = sum(backoff_seconds(n, 15, 300) for n in range(1, 10))
    assert 25 * 60 <= waits <= 30 * 60


def test_queue_url_from_an_arn_on_aws_and_on_a_local_endpoint() -> None:
    arn = "arn:aws:sqs:eu-west-1:123456789012:dnsbatch-changes.fifo"
    assert queue_url(arn, "https://sqs.eu-west-1.amazonaws.com") == (
        "https://sqs.eu-west-1.amazonaws.com/123456789012/dnsbatch-changes.fifo"
    )
    assert (
        queue_url(arn, "http://127.0.0.1:5000/") == "http://127.0.0.1:5000/123456789012/dnsbatch-changes.fifo"
    )
    with pytest.raises(ValueError, match="not an SQS queue ARN"):
        queue_url("arn:aws:sns:eu-west-1:123456789012:topic", "http://x")


def _record(message: dict[str, Any], arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message["Attributes"],
        "eventSourceARN": arn,
    }


def test_a_failed_message_reappears_after_its_backoff_not_the_queue_visibility_timeout(
    moto_endpoint: str,
) -> None:
    stack = create_stack(
        moto_endpoint, REPO / "template.yaml", f"r{uuid.uuid4().hex[:10]}", {"Zones": "example.com"}
    )
    sqs = stack.client("sqs")
    url, arn = stack.queue_urls["ChangeSetQueue"], stack.queue_arns["ChangeSetQueue"]
    sqs.send_message(
        QueueUrl=url, MessageBody="{}", MessageGroupId="example.com", MessageDeduplicationId="d1"
    )
    (ours,) = sqs.receive_message(QueueUrl=url, AttributeNames=["All"], MaxNumberOfMessages=10)["Messages"]
    # the queue's own timeout (1,800 s) would hide it for half an hour; the backoff of a first failure
    # (base 1 s here) brings it back at once
    assert (
        back_off(sqs, [_record(ours, arn), {"messageId": "other"}], [ours["MessageId"]], base=1, cap=1) == 1
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        again = sqs.receive_message(QueueUrl=url, AttributeNames=["All"], WaitTimeSeconds=1).get(
            "Messages", []
        )
        if again:
            assert again[0]["MessageId"] == ours["MessageId"]
            assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
            break
    else:
        pytest.fail("the failed message did not come back within its backoff")
    sqs.close()


def test_a_backoff_that_cannot_be_set_is_logged_and_the_queue_timeout_applies(
    moto_endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    stack = create_stack(
        moto_endpoint, REPO / "template.yaml", f"r{uuid.uuid4().hex[:10]}", {"Zones": "example.com"}
    )
    sqs = stack.client("sqs")
    record = {
        "messageId": "m1",
        "receiptHandle": "not-a-real-handle",
        "attributes": {"ApproximateReceiveCount": "3"},
        "eventSourceARN": stack.queue_arns["ChangeSetQueue"],
    }
    assert back_off(sqs, [record], ["m1"], base=15, cap=300) == 0
    assert "the queue's timeout applies" in caplog.text
    sqs.close()
