"""BatcherFunction: ChangeSetQueue (FIFO, group = zone) → chunked Cloudflare batch calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

from dnsbatch.batcher import ZoneBatches
from dnsbatch.runtime import Runtime
from dnsbatch.sqs_partial import process_fifo_partial

if TYPE_CHECKING:  # annotations only; importing it costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()
runtime = Runtime("batcher", logger, metrics)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    records = event.get("Records") or []
    zones = ZoneBatches(
        records, runtime.batcher_deps(), runtime.deadline(context), on_auth_error=runtime.reset_client
    )

    def record_handler(record: dict[str, Any]) -> None:
        zones.handle(record)

    try:
        # A zone that fails must not hold up the other zones in the batch, and its later messages are
        # reported failed too so SQS keeps the zone's order (what SqsFifoPartialProcessor(
        # skip_group_on_error=True) did; docs/benchmarks.md "imports" says why it is not used).
        response = process_fifo_partial(event, record_handler)
        runtime.back_off(records, response)
        return response
    finally:
        runtime.telemetry.publish()
