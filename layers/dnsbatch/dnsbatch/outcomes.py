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
from dataclasses import dataclass
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


_OUTCOME = {status: outcome for outcome, status in _STATUS.items()}


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
    logged = []
    for change, mark in zip(changes, marks, strict=True):
        if mark is Mark.ALREADY:
            _already(deps, change)
            continue
        tel.outcome(outcome, change, reason=reason, **fields)
        logged.append(change)
    deps.ledger.mark_logged([c for c, m in zip(changes, marks, strict=True) if m is Mark.MARKED])
    return len(logged)


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
    mark = deps.ledger.mark(change, _STATUS[outcome], reason)
    if mark is Mark.ALREADY:
        _already(deps, change)
        return False
    deps.telemetry.outcome(outcome, change, reason=reason, cf_code=cf_code, **fields)
    if mark is Mark.MARKED:
        deps.ledger.mark_logged([change])
    return True


@dataclass(frozen=True)
class Standing:
    """Changes sorted by what their Ledger entries say, for a path about to act on them."""

    work: tuple[Change, ...]  # the entry is still theirs and in a status this path acts on
    superseded: tuple[Change, ...]  # a newer version (or another event) holds the record set
    skipped: tuple[Change, ...]  # this event is already past this path (finished, or with the fallback)


def still_held(
    deps: Sinks, changes: Sequence[Change], *, acts_on: frozenset[Status], **fields: Any
) -> Standing:
    """The one "does this change still hold its claim?" check, before the batcher or the fallback acts:
    records *superseded* for changes a newer version overtook (nobody else will), logs the skipped ones.
    Dry run keeps no Ledger, so every change is worked."""
    if deps.settings.dry_run:
        return Standing(tuple(changes), (), ())
    entries = deps.ledger.get_many(c.key for c in changes)
    work, superseded, skipped = [], [], []
    for change in changes:
        entry = entries.get(change.key)
        if entry is None or (entry.holds(change) and entry.status in acts_on):
            work.append(change)
        elif entry.holds(change) and entry.status.final and not entry.logged:
            # The path that made this entry final died before its outcome line: write it now, once.
            deps.telemetry.outcome(
                _OUTCOME[entry.status], change, reason=entry.detail, recovered=True, **fields
            )
            deps.ledger.mark_logged([change])
            skipped.append(change)
        elif entry.holds(change):
            deps.telemetry.logger.info(
                "already finished or handed on (redelivery)",
                extra={**change_fields(change), **fields, "status": entry.status.value},
            )
            skipped.append(change)
        else:
            reason = f"version {entry.version} of the record set was accepted after this change"
            deps.telemetry.outcome(Outcome.SUPERSEDED, change, reason=reason, **fields)
            superseded.append(change)
    return Standing(tuple(work), tuple(superseded), tuple(skipped))


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
