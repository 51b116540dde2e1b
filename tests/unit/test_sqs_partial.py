"""dnsbatch.sqs_partial answers what Powertools' SqsFifoPartialProcessor(skip_group_on_error=True) with
process_partial_response answered for the same records and the same failures (the handlers used it before;
docs/benchmarks.md "imports" says why they no longer do)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError as PowertoolsAllFailed
from hypothesis import given
from hypothesis import strategies as st

from dnsbatch.sqs_partial import BatchProcessingError, process_fifo_partial


def _event(groups: list[str | None]) -> dict[str, Any]:
    records = []
    for i, group in enumerate(groups):
        attributes = {"ApproximateReceiveCount": "1", "SentTimestamp": "1", "SenderId": "x"}
        if group is not None:
            attributes["MessageGroupId"] = group
        records.append(
            {
                "messageId": f"m{i}",
                "receiptHandle": f"r{i}",
                "body": f"b{i}",
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q.fifo",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def _outcome(run: Any) -> tuple[str, Any]:
    try:
        return "response", run()
    except (BatchProcessingError, PowertoolsAllFailed):
        return "raised", None


@given(
    groups=st.lists(st.sampled_from(["a", "b", "c", None]), min_size=1, max_size=12),
    failing=st.sets(st.integers(min_value=0, max_value=11)),
)
def test_same_failures_and_same_raise_as_powertools(groups: list[str | None], failing: set[int]) -> None:
    event = _event(groups)
    ours_handled: list[str] = []
    theirs_handled: list[str] = []

    def ours(record: dict[str, Any]) -> None:
        ours_handled.append(record["messageId"])
        if int(record["messageId"][1:]) in failing:
            raise RuntimeError("boom")

    def theirs(record: Any) -> None:
        theirs_handled.append(record.message_id)
        if int(record.message_id[1:]) in failing:
            raise RuntimeError("boom")

    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    expected = _outcome(
        lambda: process_partial_response(event=event, record_handler=theirs, processor=processor)
    )
    assert _outcome(lambda: process_fifo_partial(event, ours)) == expected
    assert ours_handled == theirs_handled


def test_a_failed_group_holds_back_only_its_own_later_messages() -> None:
    event = _event(["z1", "z2", "z1", "z2"])

    def handle(record: dict[str, Any]) -> None:
        if record["messageId"] == "m0":
            raise RuntimeError("zone z1 not finished")

    assert process_fifo_partial(event, handle) == {
        "batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m2"}]
    }


def test_all_failed_raises_with_each_error() -> None:
    event = _event(["z1", "z1"])

    def handle(record: dict[str, Any]) -> None:
        raise ValueError(record["messageId"])

    with pytest.raises(BatchProcessingError) as info:
        process_fifo_partial(event, handle)
    assert [type(e).__name__ if e else None for e in info.value.errors] == ["ValueError", None]


def test_no_records_no_failures() -> None:
    assert process_fifo_partial({"Records": []}, lambda r: None) == {"batchItemFailures": []}
