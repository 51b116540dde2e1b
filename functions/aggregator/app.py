"""AggregatorFunction: IngestQueue → validated, coalesced, claimed change sets on ChangeSetQueue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

from dnsbatch.aggregator import aggregate
from dnsbatch.runtime import Runtime

if TYPE_CHECKING:  # annotations only; importing it costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()
runtime = Runtime("aggregator", logger, metrics)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The aggregator needs the whole window at once (coalescing spans messages), so it maps failures to
    # the partial batch response itself instead of a per-record processor.
    logger.set_correlation_id(context.aws_request_id)
    try:
        summary = aggregate(event.get("Records") or [], runtime.aggregator_deps())
    finally:
        runtime.telemetry.publish()
    return {"batchItemFailures": [{"itemIdentifier": m} for m in sorted(summary.failed_messages)]}
