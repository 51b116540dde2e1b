"""Partial batch responses for the FIFO consumers (batcher, fallback), without Powertools' batch package.

What the handlers used before: ``process_partial_response(event, handler, SqsFifoPartialProcessor(
skip_group_on_error=True))``. Its package imports asyncio and every event data class Powertools has
(Kinesis, DynamoDB streams, Kafka, ...), about 17 ms of CPU on every cold start of a function that uses
none of them (docs/benchmarks.md "imports"). This module keeps the same contract, and
``tests/unit/test_sqs_partial.py`` checks it against Powertools' processor:

* records are handled one by one, in order;
* when a record fails, every later record of its message group is failed without being handled (SQS
  FIFO order within a group); other groups go on;
* the response lists the failed message ids as ``batchItemFailures``; when every record failed, the
  invocation raises :class:`BatchProcessingError` instead (the whole batch is retried, as Powertools does
  by default).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any


class BatchProcessingError(Exception):
    """Every record of the batch failed; ``errors`` holds each record's exception (None for skipped ones)."""

    def __init__(self, message: str, errors: Sequence[BaseException | None]) -> None:
        super().__init__(message)
        self.errors = list(errors)


def process_fifo_partial(
    event: Mapping[str, Any], handle: Callable[[dict[str, Any]], object]
) -> dict[str, list[dict[str, str]]]:
    """Handle each SQS record of ``event`` with ``handle`` and build Lambda's partial batch response."""
    records = event.get("Records") or []
    failed_groups: set[str] = set()
    failures: list[str] = []
    errors: list[BaseException | None] = []
    for record in records:
        group = (record.get("attributes") or {}).get("MessageGroupId")
        if group and group in failed_groups:
            failures.append(record["messageId"])
            errors.append(None)
            continue
        try:
            handle(record)
        except Exception as exc:
            failures.append(record["messageId"])
            errors.append(exc)
            if group:
                failed_groups.add(group)
    if records and len(failures) == len(records):
        raised = sum(e is not None for e in errors)
        raise BatchProcessingError(
            f"All records failed processing. {raised} raised; the others followed a failed record of their"
            " message group.",
            errors,
        )
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failures]}
