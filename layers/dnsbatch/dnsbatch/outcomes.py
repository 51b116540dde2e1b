"""Final outcomes of changes after the aggregator: the Ledger transition, then the log line and metric.

The batcher and the fallback end every change here, so the order is the same everywhere: first the
Ledger entry moves (``Ledger.mark``, guarded by the state machine in ``ledger.TRANSITIONS``), and only the
path whose transition succeeded records the outcome. A second path that reaches the same event (a
redelivery, the batcher and the fallback racing) finds the entry already final and records nothing, so an
event's outcome is logged once. A change that a newer version overtook meanwhile still gets its own
outcome: nobody else will record what happened to it.

Dry run writes nothing: no Ledger transition, no RejectedQueue message, only the outcome lines marked
``dry_run``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from dnsbatch import queues
from dnsbatch.config import Settings
from dnsbatch.ledger import Ledger, Mark, Status
from dnsbatch.model import Change, Outcome
from dnsbatch.telemetry import Telemetry, change_fields

_STATUS = {
    Outcome.APPLIED: Status.APPLIED,
    Outcome.UNCHANGED: Status.UNCHANGED,
    Outcome.REJECTED: Status.REJECTED,
    Outcome.FAILED: Status.FAILED,
    Outcome.HELD: Status.HELD,
}


class Sinks(Protocol):
    """Where a function records outcomes and parks what cannot succeed."""

    settings: Settings
    sqs: Any
    ledger: Ledger
    telemetry: Telemetry


def finish(
    deps: Sinks, changes: Sequence[Change], outcome: Outcome, *, reason: str | None = None, **fields: Any
) -> int:
    """Move each change's Ledger entry to ``outcome``'s status and record the outcome where that worked
    (or where a newer version overtook the change). Returns how many outcomes were recorded."""
    if not changes:
        return 0
    tel = deps.telemetry
    if deps.settings.dry_run:
        for change in changes:
            tel.outcome(outcome, change, reason=reason, dry_run=True, **fields)
        return len(changes)
    marks = deps.ledger.mark_many(changes, _STATUS[outcome])
    recorded = 0
    for change, mark in zip(changes, marks, strict=True):
        if mark is Mark.ALREADY:
            _already(deps, change)
            continue
        tel.outcome(outcome, change, reason=reason, **fields)
        recorded += 1
    return recorded


def reject(
    deps: Sinks,
    change: Change,
    reason: str,
    *,
    stage: str,
    outcome: Outcome = Outcome.REJECTED,
    cf_code: int | None = None,
    **fields: Any,
) -> bool:
    """Park a change that can never succeed as sent on RejectedQueue, then end it as ``outcome``.

    Parked first: if the function dies before the Ledger transition, the redelivery parks it again (readers
    of RejectedQueue tolerate a duplicate) rather than never. Returns whether the outcome was recorded."""
    if deps.settings.dry_run:
        deps.telemetry.outcome(outcome, change, reason=reason, cf_code=cf_code, dry_run=True, **fields)
        return True
    message = rejection_message(change, reason, stage, cf_code)
    queues.send(deps.sqs, deps.settings.rejected_queue_url or "", message)
    if deps.ledger.mark(change, _STATUS[outcome], reason) is Mark.ALREADY:
        _already(deps, change)
        return False
    deps.telemetry.outcome(outcome, change, reason=reason, cf_code=cf_code, **fields)
    return True


def _already(deps: Sinks, change: Change) -> None:
    deps.telemetry.logger.info("outcome already recorded (duplicate delivery)", extra=change_fields(change))


def rejection_message(change: Change, reason: str, stage: str, cf_code: int | None) -> queues.OutgoingMessage:
    """The RejectedQueue message for a change dnsbatch had accepted: the change as dnsbatch understood it,
    with the reason and where it came from as attributes."""
    return queues.rejection_message(
        json.dumps(change.to_dict(), sort_keys=True),
        reason=reason,
        stage=stage,
        source_message_id=change.ref.message_id,
        event_index=change.ref.index,
        zone=change.key.zone,
        record_set=f"{change.key.name} {change.key.type}",
        cf_code=cf_code,
    )
