"""Fallback: one record set of a rejected chunk, applied with individual calls.

The record set is re-read from Cloudflare first: the batch was rolled back, but record ids can have
changed since the batcher read the zone (another window, an operator). The same planner then decides
the operations, so the fallback converges exactly like the batch would have. A permanent Cloudflare
error ends the change as *failed* with Cloudflare's code and message, on RejectedQueue; its siblings
have their own messages and are not affected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dnsbatch import queues
from dnsbatch.batcher import reject, resolve_zone
from dnsbatch.cloudflare.client import CloudflareClient
from dnsbatch.cloudflare.errors import RejectedError
from dnsbatch.config import Settings
from dnsbatch.ledger import Ledger, Status
from dnsbatch.model import Change, Operation, OpKind, Outcome
from dnsbatch.plan import PlanPolicy, ZonePlan, plan_zone
from dnsbatch.telemetry import Telemetry, change_fields

# Cloudflare answers a delete of a record that is already gone with 81044 "Record does not exist." (HTTP 404).
RECORD_GONE = 81044


@dataclass
class FallbackDeps:
    settings: Settings
    sqs: Any
    ledger: Ledger
    client: CloudflareClient
    telemetry: Telemetry


def process_request(request: queues.FallbackRequest, deps: FallbackDeps, deadline: float) -> Outcome | None:
    """Converge one record set. Returns its outcome (None for a duplicate delivery of a finished change).
    Transient Cloudflare errors propagate so SQS redelivers the message."""
    change, tel = request.change, deps.telemetry
    fields = {**change_fields(change), "changeset_id": request.changeset_id, "chunk": request.chunk}
    entry = deps.ledger.get(change.key)
    if entry is not None and not entry.holds(change):
        reason = f"version {entry.version} of the record set was accepted after this change"
        tel.outcome(Outcome.SUPERSEDED, change, reason=reason, chunk=request.chunk)
        return Outcome.SUPERSEDED
    if entry is not None and entry.status.final:
        tel.logger.info("already finished (duplicate delivery)", extra=fields)
        return None

    zone = resolve_zone(deps, change.key.zone, [change], deadline, stage="fallback")
    if zone is None:
        return Outcome.REJECTED
    policy = PlanPolicy(owner_id=deps.settings.owner_id, adopt=deps.settings.adopt_unowned, paid=zone.paid)
    plan, refused = _converge(change, zone.id, policy, deps, deadline)
    if plan.rejected:
        reject(deps, change, plan.rejected[0][1], stage="fallback")
        return Outcome.REJECTED
    if plan.unchanged:
        deps.ledger.mark(change, Status.UNCHANGED)
        tel.outcome(Outcome.UNCHANGED, change, chunk=request.chunk)
        return Outcome.UNCHANGED
    if refused is not None:
        op, exc = refused
        code = exc.errors[0].code if exc.errors else None
        message = exc.errors[0].message if exc.errors else str(exc)
        reason = f"Cloudflare refused {op.kind.value} of {change.key}: {code} {message}"
        reject(deps, change, reason, stage="fallback", outcome=Outcome.FAILED, cf_code=code)
        return Outcome.FAILED
    deps.ledger.mark(change, Status.APPLIED)
    tel.outcome(Outcome.APPLIED, change, chunk=request.chunk, via="fallback", operations=len(plan.operations))
    _catch_up(change, zone.id, policy, deps, deadline)
    return Outcome.APPLIED


def _converge(
    change: Change, zone_id: str, policy: PlanPolicy, deps: FallbackDeps, deadline: float
) -> tuple[ZonePlan, tuple[Operation, RejectedError] | None]:
    """Re-read the record set's name, plan ``change`` against it and apply the operations one by one.
    Returns the plan and, when Cloudflare refused an operation, that operation and its error."""
    current = deps.client.list_records(zone_id, name=change.key.name, deadline=deadline)
    plan = plan_zone([change], current, policy)
    for op in sorted(plan.operations, key=lambda o: list(OpKind).index(o.kind)):
        try:
            _apply(deps.client, zone_id, op, deadline)
        except RejectedError as exc:
            if op.kind is OpKind.DELETE and RECORD_GONE in exc.codes:
                deps.telemetry.logger.info(
                    "record already gone; delete counts as done",
                    extra={**change_fields(change), "record_id": op.record_id},
                )
                continue
            return plan, (op, exc)
    return plan, None


# The fallback runs beside the batcher, not in order with it: a newer version of this record set can be
# claimed and batched while the fallback writes an older one, and the older writes would land last.
# After writing, the fallback therefore converges to whatever newer desired state the Ledger holds
# (a few rounds at most: each round needs yet another version to have been accepted meanwhile).
CATCH_UP_ROUNDS = 3


def _catch_up(change: Change, zone_id: str, policy: PlanPolicy, deps: FallbackDeps, deadline: float) -> None:
    for _ in range(CATCH_UP_ROUNDS):
        entry = deps.ledger.get(change.key)
        if entry is None or entry.holds(change) or entry.change is None or entry.version < change.version:
            return
        newer = entry.change
        deps.telemetry.logger.info(
            "a newer version was accepted while the fallback wrote; converging to it",
            extra={**change_fields(change), "newer_version": newer.version},
        )
        _, refused = _converge(newer, zone_id, policy, deps, deadline)
        if refused is not None:
            # The newer change's own path (its batch, then its fallback) records that outcome.
            return
        change = newer


def _apply(client: CloudflareClient, zone_id: str, op: Operation, deadline: float) -> None:
    body = {k: v for k, v in op.body.items() if k != "id"}
    if op.kind is OpKind.DELETE:
        client.delete_record(zone_id, op.record_id or "", deadline=deadline)
    elif op.kind is OpKind.PATCH:
        client.patch_record(zone_id, op.record_id or "", body, deadline=deadline)
    elif op.kind is OpKind.PUT:
        client.put_record(zone_id, op.record_id or "", body, deadline=deadline)
    else:
        client.create_record(zone_id, body, deadline=deadline)
