"""BatcherFunction: ChangeSetQueue (FIFO, group = zone) → chunked Cloudflare batch calls."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from dnsbatch.batcher import ZoneBatches
from dnsbatch.runtime import Runtime

logger = Logger()
metrics = Metrics()
runtime = Runtime("batcher", logger, metrics)
# skip_group_on_error: a zone that fails must not hold up the other zones in the batch, and its later
# messages are reported failed too so SQS keeps the zone's order.
processor = SqsFifoPartialProcessor(skip_group_on_error=True)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    records = event.get("Records") or []
    zones = ZoneBatches(
        records, runtime.batcher_deps(), runtime.deadline(context), on_auth_error=runtime.reset_client
    )

    def record_handler(record: SQSRecord) -> None:
        zones.handle(record.raw_event)

    try:
        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
        runtime.back_off(records, response)
        return response
    finally:
        runtime.telemetry.publish()
