"""FallbackFunction: FallbackQueue (FIFO, group = zone + name) → record sets applied with individual calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

from dnsbatch.cloudflare.errors import AuthenticationError
from dnsbatch.fallback import process_request
from dnsbatch.queues import parse_fallback
from dnsbatch.runtime import Runtime
from dnsbatch.sqs_partial import process_fifo_partial

if TYPE_CHECKING:  # annotations only; importing it costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()
runtime = Runtime("fallback", logger, metrics)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    deps = runtime.fallback_deps()
    deadline = runtime.deadline(context)
    records = event.get("Records") or []

    def record_handler(record: dict[str, Any]) -> None:
        request = parse_fallback(record["body"])
        logger.set_correlation_id(request.changeset_id or record["messageId"])
        try:
            process_request(request, deps, deadline)
        except AuthenticationError:
            runtime.reset_client()
            raise

    try:
        # A record set that fails holds back the later messages of its group (zone + name), not the
        # others, as SqsFifoPartialProcessor(skip_group_on_error=True) did.
        response = process_fifo_partial(event, record_handler)
        runtime.back_off(records, response)
        return response
    finally:
        runtime.telemetry.publish()
