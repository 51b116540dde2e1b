"""Batcher: one zone's change sets → one zone read, a plan, chunks, one batch call per chunk.

Per zone and window the Cloudflare cost is one paged read plus one batch call per chunk (architecture
§4.4); the zone lookup is cached for the life of the Lambda container. A chunk Cloudflare rejects (4xx)
is handed to the fallback one record set per message; a rate-limited or failing chunk is retried as a
batch until the time budget runs out and then the zone's messages are reported failed so SQS brings
them back — never fanned out into per-record calls (architecture §4.3).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from dnsbatch import queues
from dnsbatch.chunk import chunk_operations
from dnsbatch.cloudflare.client import CloudflareClient
from dnsbatch.cloudflare.errors import RejectedError, ZoneNotFoundError
from dnsbatch.cloudflare.types import Zone
from dnsbatch.coalesce import coalesce
from dnsbatch.config import Settings
from dnsbatch.ledger import Entry, Ledger, Status
from dnsbatch.model import Change, Chunk, Outcome, RecordSetKey
from dnsbatch.plan import PlanPolicy, ZonePlan, plan_zone
from dnsbatch.telemetry import Telemetry, change_fields


class TimeBudgetExceeded(Exception):
    """Not enough of the invocation's time is left to start the next step safely."""


@dataclass
class BatcherDeps:
    settings: Settings
    sqs: Any
    ledger: Ledger
    client: CloudflareClient
    telemetry: Telemetry
    clock: Callable[[], float]  # the client's clock: deadlines are compared on it
    sleep: Callable[[float], None]


@dataclass
class ZoneSummary:
    zone: str
    changes: int = 0
    skipped: int = 0
    operations: int = 0
    chunks: int = 0
    chunks_rejected: int = 0
    applied: int = 0
    unchanged: int = 0
    rejected: int = 0
    superseded: int = 0
    fallbacks: int = 0


def process_zone(
    zone: str, changesets: Sequence[queues.ChangeSet], deps: BatcherDeps, deadline: float
) -> ZoneSummary:
    """Apply everything the change sets ask for one zone. Raises (so the caller reports the zone's messages
    failed) when Cloudflare is rate limiting or failing past the deadline; what was applied before that is
    recorded in the Ledger, so the retry only does the rest."""
    tel, settings = deps.telemetry, deps.settings
    summary = ZoneSummary(zone=zone)
    changeset_id = ",".join(sorted({cs.changeset_id for cs in changesets}))
    tel.logger.append_keys(zone=zone, changeset_id=changeset_id)
    try:
        merged = coalesce(c for cs in changesets for c in cs.changes)
        for loser, winner in merged.superseded:
            reason = f"superseded by version {winner.version} in the same batch"
            tel.outcome(Outcome.SUPERSEDED, loser, reason=reason)
            summary.superseded += 1
        changes = _still_held(merged.winners, deps, summary)
        summary.changes = len(changes)
        if not changes:
            tel.logger.info("nothing left to apply for the zone", extra={"skipped": summary.skipped})
            return summary

        zone_obj = resolve_zone(deps, zone, changes, deadline, stage="batcher")
        if zone_obj is None:
            summary.rejected += len(changes)
            return summary
        current = deps.client.list_records(zone_obj.id, deadline=deadline)
        policy = PlanPolicy(owner_id=settings.owner_id, adopt=settings.adopt_unowned, paid=zone_obj.paid)
        plan = plan_zone(changes, current, policy)
        _record_plan_outcomes(plan, deps, summary)
        size = min(settings.batch_change_size, 3500 if zone_obj.paid else 200)
        if size < settings.batch_change_size:
            tel.logger.warning(
                "BATCH_CHANGE_SIZE exceeds the zone plan's batch limit; using the plan's limit",
                extra={"configured": settings.batch_change_size, "used": size, "plan": zone_obj.plan},
            )
        chunks = chunk_operations(plan.operations, size)
        summary.operations, summary.chunks = len(plan.operations), len(chunks)
        tel.logger.info(
            "zone planned",
            extra={
                "records": len(current),
                "changes": len(changes),
                "planned": len(plan.planned),
                "unchanged": len(plan.unchanged),
                "rejected": len(plan.rejected),
                "operations": len(plan.operations),
                "chunks": len(chunks),
                "dry_run": settings.dry_run,
            },
        )
        by_key = {c.key: c for c in plan.planned}
        # A record set is done when the last chunk holding any of its operations is applied: a name with
        # more operations than fit in one chunk spans several (docs/chunking.md).
        last_chunk = {key: chunk.index for chunk in chunks for key in chunk.record_sets}
        diverted: set[RecordSetKey] = set()
        sent = 0
        for chunk in chunks:
            # A record set whose earlier chunk went to the fallback belongs to the fallback now: the rest
            # of its operations must not race it.
            remaining = _without(chunk, diverted)
            if not remaining.operations:
                continue
            if sent:
                if deps.clock() + settings.batch_change_interval > deadline:
                    raise TimeBudgetExceeded(
                        f"{len(chunks) - chunk.index} chunk(s) left for the next delivery"
                    )
                deps.sleep(settings.batch_change_interval)
            sent += 1
            diverted |= _send_chunk(
                zone_obj.id,
                remaining,
                {k: by_key[k] for k in remaining.record_sets},
                done=[by_key[k] for k in remaining.record_sets if last_chunk[k] == chunk.index],
                changeset_id=changeset_id,
                deps=deps,
                deadline=deadline,
                summary=summary,
            )
        tel.logger.info("zone finished", extra=asdict(summary))
        return summary
    finally:
        tel.logger.remove_keys(["zone", "changeset_id"])


def _still_held(changes: Sequence[Change], deps: BatcherDeps, summary: ZoneSummary) -> list[Change]:
    """Drop changes a newer version overtook, and those this same event already finished (a duplicate
    delivery)."""
    entries = deps.ledger.get_many(c.key for c in changes)
    keep = []
    for change in changes:
        entry: Entry | None = entries.get(change.key)
        if entry is None or (entry.holds(change) and not entry.status.final):
            keep.append(change)
        elif entry.holds(change):
            deps.telemetry.logger.info("already finished (duplicate delivery)", extra=change_fields(change))
            summary.skipped += 1
        else:
            reason = f"version {entry.version} of the record set was accepted after this change"
            deps.telemetry.outcome(Outcome.SUPERSEDED, change, reason=reason)
            summary.superseded += 1
    return keep


def resolve_zone(
    deps: ZoneDeps, zone: str, changes: Sequence[Change], deadline: float, *, stage: str
) -> Zone | None:
    """The zone's Cloudflare object, or None after rejecting every change when the zone cannot be used:
    it is not visible to the token, or ZONES pins another id. Retrying would not help either, and a
    redelivery loop would only end in the DLQ without a reason per change."""
    try:
        found = deps.client.zone_by_name(zone, deadline=deadline)
    except ZoneNotFoundError as exc:
        problem = str(exc)
    else:
        configured = deps.settings.zones.get(zone)
        if not configured or configured == found.id:
            return found
        problem = (
            f"ZONES pins {zone} to zone id {configured}, but Cloudflare's zone of that name is {found.id}"
        )
    deps.telemetry.logger.error(
        "zone cannot be used; rejecting its changes", extra={"zone": zone, "error": problem}
    )
    for change in changes:
        reject(deps, change, problem, stage=stage)
    return None


def _record_plan_outcomes(plan: ZonePlan, deps: BatcherDeps, summary: ZoneSummary) -> None:
    if deps.settings.dry_run:
        # Dry run: outcomes are logged (marked dry_run) so the report still adds up; nothing is written.
        for change in plan.unchanged:
            deps.telemetry.outcome(Outcome.UNCHANGED, change, dry_run=True)
        for change, reason in plan.rejected:
            deps.telemetry.outcome(Outcome.REJECTED, change, reason=reason, dry_run=True)
        return
    deps.ledger.mark_many(plan.unchanged, Status.UNCHANGED)
    for change in plan.unchanged:
        deps.telemetry.outcome(Outcome.UNCHANGED, change)
        summary.unchanged += 1
    for change, reason in plan.rejected:
        reject(deps, change, reason, stage="batcher")
        summary.rejected += 1


def _without(chunk: Chunk, keys: set[RecordSetKey]) -> Chunk:
    if not keys.intersection(chunk.record_sets):
        return chunk
    return Chunk(
        index=chunk.index,
        operations=tuple(op for op in chunk.operations if op.key not in keys),
        record_sets=tuple(k for k in chunk.record_sets if k not in keys),
    )


def _send_chunk(
    zone_id: str,
    chunk: Chunk,
    carried: dict[RecordSetKey, Change],
    *,
    done: list[Change],
    changeset_id: str,
    deps: BatcherDeps,
    deadline: float,
    summary: ZoneSummary,
) -> set[RecordSetKey]:
    """Send one chunk. ``done`` are the changes this chunk completes. Returns the record sets handed to the
    fallback (all the chunk carries when Cloudflare rejected it)."""
    tel = deps.telemetry
    body = chunk.batch_body()
    counts = {k: len(v) for k, v in body.items()}
    if deps.settings.dry_run:
        for op in chunk.operations:
            tel.logger.info(
                "dry run: would send",
                extra={
                    "chunk": chunk.index,
                    "op": op.kind.value,
                    "record_set": f"{op.key.name} {op.key.type}",
                    "body": json.dumps(dict(op.body), sort_keys=True),
                },
            )
        for change in done:
            tel.outcome(Outcome.APPLIED, change, reason="dry run: not sent", dry_run=True, chunk=chunk.index)
        return set()
    try:
        deps.client.batch(zone_id, body, deadline=deadline)
    except RejectedError as exc:
        summary.chunks_rejected += 1
        tel.count("ChunksRejected")
        tel.logger.warning(
            "chunk rejected by Cloudflare; replaying its record sets one by one in the fallback",
            extra={
                "chunk": chunk.index,
                **counts,
                "record_sets": len(carried),
                "cf_code": _first_code(exc),
                "error": str(exc),
            },
        )
        for change in carried.values():
            request = queues.FallbackRequest(change, changeset_id, chunk.index, str(exc))
            queues.send(deps.sqs, deps.settings.fallback_queue_url or "", queues.fallback_message(request))
            deps.ledger.mark(change, Status.FALLBACK, str(exc))
            summary.fallbacks += 1
        tel.count("Fallbacks", len(carried))
        return set(carried)
    tel.count("ChunksApplied")
    tel.logger.info("chunk applied", extra={"chunk": chunk.index, **counts, "record_sets": len(carried)})
    deps.ledger.mark_many(done, Status.APPLIED)
    for change in done:
        tel.outcome(Outcome.APPLIED, change, chunk=chunk.index)
        summary.applied += 1
    return set()


def _first_code(exc: RejectedError) -> int | None:
    return exc.errors[0].code if exc.errors else None


class Sinks(Protocol):
    """Where a function parks what cannot succeed: the parts of BatcherDeps and FallbackDeps it needs."""

    settings: Settings
    sqs: Any
    ledger: Ledger
    telemetry: Telemetry


class ZoneDeps(Sinks, Protocol):
    client: CloudflareClient


def reject(
    deps: Sinks,
    change: Change,
    reason: str,
    *,
    stage: str,
    outcome: Outcome = Outcome.REJECTED,
    cf_code: int | None = None,
) -> None:
    """Park a change that can never succeed as sent on RejectedQueue, then record its outcome."""
    message = queues.rejection_message(
        json.dumps(change.to_dict(), sort_keys=True),
        reason=reason,
        stage=stage,
        source_message_id=change.ref.message_id,
        event_index=change.ref.index,
        zone=change.key.zone,
        record_set=f"{change.key.name} {change.key.type}",
        cf_code=cf_code,
    )
    queues.send(deps.sqs, deps.settings.rejected_queue_url or "", message)
    deps.ledger.mark(change, Status.FAILED if outcome is Outcome.FAILED else Status.REJECTED, reason)
    deps.telemetry.outcome(outcome, change, reason=reason, cf_code=cf_code)
