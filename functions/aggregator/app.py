"""AggregatorFunction: IngestQueue → validated, coalesced, claimed change sets on ChangeSetQueue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

from dnsbatch.aggregator import aggregate_isolated
from dnsbatch.runtime import Runtime
from dnsbatch.safe_text import json_log_line

if TYPE_CHECKING:  # annotations only; importing it costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext

# Log lines quote producers' input (reasons, source, id): they must encode on stdout whatever it held.
logger = Logger(json_serializer=json_log_line)
metrics = Metrics()
runtime = Runtime("aggregator", logger, metrics)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The aggregator needs the whole window at once (coalescing spans messages), so it maps failures to
    # the partial batch response itself instead of a per-record processor. Message content never makes it
    # raise; an unexpected error fails only the message that triggers it (aggregate_isolated), and what the
    # time budget does not reach is reported failed, so SQS delivers it again.
    logger.set_correlation_id(context.aws_request_id)
    deps = runtime.aggregator_deps()
    deps.clock = runtime.clock  # the clock runtime.deadline counts on
    records = event.get("Records") or []
    try:
        failed = aggregate_isolated(records, deps, runtime.deadline(context))
        response = {"batchItemFailures": [{"itemIdentifier": m} for m in sorted(failed)]}
        runtime.back_off(records, response)
    finally:
        runtime.telemetry.publish()
    return response
