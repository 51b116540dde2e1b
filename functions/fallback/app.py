"""FallbackFunction: FallbackQueue (FIFO, group = zone + name) → record sets applied with individual calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from dnsbatch.cloudflare.errors import AuthenticationError
from dnsbatch.fallback import process_request
from dnsbatch.queues import parse_fallback
from dnsbatch.runtime import Runtime

if TYPE_CHECKING:  # annotations only; importing it costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()
runtime = Runtime("fallback", logger, metrics)
processor = SqsFifoPartialProcessor(skip_group_on_error=True)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    deps = runtime.fallback_deps()
    deadline = runtime.deadline(context)

    def record_handler(record: SQSRecord) -> None:
        request = parse_fallback(record.body)
        logger.set_correlation_id(request.changeset_id or record.message_id)
        try:
            process_request(request, deps, deadline)
        except AuthenticationError:
            runtime.reset_client()
            raise

    try:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    finally:
        runtime.telemetry.publish()
