"""Bringing a failed message back soon, and a message that keeps failing to its DLQ in bounded time.

A message a function reports failed (Cloudflare rate limiting or failing past the time budget, an SQS or
DynamoDB error, no time left to start it) reappears when its visibility timeout ends. The queues' own
timeouts are sized for the longest invocation (6 × the function timeout, as AWS advises for event source
mappings: ChangeSetQueue's is 30 minutes), far too long to wait out a two-minute Cloudflare outage. So each
function shortens the visibility of the messages it fails with ``ChangeMessageVisibility``, to an
exponential backoff from the message's receive count:

    delay(n) = min(RETRY_BACKOFF_CAP, RETRY_BACKOFF_BASE × 2^(n-1))   (n = ApproximateReceiveCount)

With the defaults (15 s, capped at 300 s) and maxReceiveCount 10, a failing message is retried after 15,
30, 60, 120, 240, then every 300 s, and reaches its DLQ about 28 minutes (plus its invocations' own time)
after its first failure. If the call fails, the queue's own visibility timeout applies: later, never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

logger = logging.getLogger("dnsbatch.redelivery")

# SQS's largest visibility timeout is 12 hours.
MAX_VISIBILITY = 43_200


def backoff_seconds(receive_count: int, base: float, cap: float) -> int:
    """Whole seconds (SQS takes integers) to keep a message hidden after its ``receive_count``-th failure."""
    exponent = min(max(receive_count, 1) - 1, 30)
    return int(min(cap, base * 2**exponent, MAX_VISIBILITY))


def queue_url(arn: str, endpoint_url: str) -> str:
    """The queue URL for an SQS queue ARN (``arn:aws:sqs:region:account:name``) on the client's endpoint:
    ``https://sqs.<region>.amazonaws.com/<account>/<name>`` in AWS, the same path on a local endpoint."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise ValueError(f"not an SQS queue ARN: {arn!r}")
    return f"{endpoint_url.rstrip('/')}/{parts[4]}/{parts[5]}"


def back_off(
    sqs: Any, records: Iterable[Mapping[str, Any]], failed: Iterable[str], *, base: float, cap: float
) -> int:
    """Shorten the visibility of each failed message (by message id) of an SQS event's ``records``.
    Returns how many were changed."""
    wanted = set(failed)
    changed = 0
    for record in records:
        message_id = record.get("messageId")
        if message_id not in wanted:
            continue
        count = int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
        delay = backoff_seconds(count, base, cap)
        try:
            sqs.change_message_visibility(
                QueueUrl=queue_url(str(record["eventSourceARN"]), sqs.meta.endpoint_url),
                ReceiptHandle=record["receiptHandle"],
                VisibilityTimeout=delay,
            )
        except Exception as exc:  # the queue's own visibility timeout still brings it back
            logger.warning(
                "could not shorten a failed message's visibility; the queue's timeout applies",
                extra={"message_id": message_id, "error": f"{type(exc).__name__}: {exc}"},
            )
            continue
        changed += 1
        logger.info(
            "failed message comes back after a backoff",
            extra={"message_id": message_id, "receive_count": count, "retry_in": delay},
        )
    return changed
