"""BatcherFunction: ChangeSetQueue (FIFO, group = zone) → chunked Cloudflare batch calls."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

from dnsbatch.batcher import process_zone
from dnsbatch.cloudflare.errors import AuthenticationError
from dnsbatch.queues import parse_changeset
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
    deps = runtime.batcher_deps()
    deadline = runtime.deadline(context)
    bodies: dict[str, list[str]] = defaultdict(list)
    for record in event.get("Records") or []:
        bodies[_zone_of(record)].append(record["body"])
    results: dict[str, BaseException | None] = {}

    def record_handler(record: dict[str, Any]) -> None:
        # All change sets of a zone in this batch are merged and applied on the zone's first message;
        # its other messages share that result.
        zone = _zone_of(record)
        if zone not in results:
            changesets = [parse_changeset(body) for body in bodies[zone]]
            logger.set_correlation_id(changesets[0].changeset_id)
            try:
                process_zone(zone, changesets, deps, deadline)
                results[zone] = None
            except AuthenticationError as exc:
                runtime.reset_client()  # a rotated token is re-read on the next delivery
                results[zone] = exc
            except Exception as exc:
                results[zone] = exc
            if results[zone] is not None:
                logger.warning(
                    "zone not finished; its messages will be redelivered",
                    extra={"zone": zone, "error": f"{type(results[zone]).__name__}: {results[zone]}"},
                )
        failure = results[zone]
        if failure is not None:
            raise failure

    try:
        # A zone that fails must not hold up the other zones in the batch, and its later messages are
        # reported failed too so SQS keeps the zone's order (what SqsFifoPartialProcessor(
        # skip_group_on_error=True) did; docs/benchmarks.md "imports" says why it is not used).
        return process_fifo_partial(event, record_handler)
    finally:
        runtime.telemetry.publish()


def _zone_of(record: dict[str, Any]) -> str:
    group = (record.get("attributes") or {}).get("MessageGroupId")
    return str(group) if group else parse_changeset(record["body"]).zone
