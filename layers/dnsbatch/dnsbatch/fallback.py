"""Fallback: the record sets of one name that a refused batch could not apply, with individual calls.

The batcher bisects a refused chunk down to single names (docs/bisection.md) and sends each name that is
still refused here, with all its record sets of that change set. The name is re-read from Cloudflare first
(the batch was rolled back, but ids can have changed since the batcher read the zone), its sets are
planned together by the same planner, and the operations are applied in an order that never leaves a name
worse than it was:

1. the record sets being deleted go first, so a type switch (CNAME → A, MX → CNAME) has room;
2. then each upserted set: patches and creates before the deletes of values it no longer holds, so a
   refused write leaves the old values in place rather than an empty set.

A permanent Cloudflare error ends its record set as *failed* with Cloudflare's code and message, on
RejectedQueue; the other sets of the name go on.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from dnsbatch import queues
from dnsbatch.cloudflare.client import CloudflareClient
from dnsbatch.cloudflare.errors import CloudflareError, RejectedError
from dnsbatch.config import Settings
from dnsbatch.ledger import KnowledgeStore, Ledger, Status
from dnsbatch.model import Action, Change, Operation, OpKind, Outcome, RecordSetKey
from dnsbatch.outcomes import finish, reject, still_held
from dnsbatch.plan import PlanPolicy, plan_zone
from dnsbatch.telemetry import Telemetry, change_fields
from dnsbatch.zones import resolve_zone

# Cloudflare answers a delete of a record that is already gone with 81044 "Record does not exist." (HTTP 404).
RECORD_GONE = 81044
# Re-reads of the name after a write was refused on a retry whose first attempt's answer was lost (the
# refusal may be about our own committed write). Each costs one list call.
MAX_ROUNDS = 3
# The fallback runs beside the batcher, not in order with it: a newer version of a record set can be
# claimed and batched while the fallback writes an older one, and the older writes would land last.
# After writing, the fallback therefore converges to whatever newer desired state the Ledger holds
# (a few rounds at most: each round needs yet another version to have been accepted meanwhile).
CATCH_UP_ROUNDS = 3


class TimeBudgetExceeded(Exception):
    """Not enough of the invocation's time is left for the next individual call."""


class Unsettled(Exception):
    """Writes kept being refused on retries after lost answers, through every re-read: SQS redelivers."""


@dataclass
class FallbackDeps:
    settings: Settings
    sqs: Any
    ledger: Ledger
    client: CloudflareClient
    telemetry: Telemetry
    clock: Callable[[], float] = time.monotonic  # the client's clock: deadlines are compared on it


@dataclass
class NameResult:
    """The outcome recorded for each record set of the request (None: a duplicate delivery, no outcome)."""

    outcomes: dict[RecordSetKey, Outcome | None] = field(default_factory=dict)
    calls: int = 0


def process_request(request: queues.FallbackRequest, deps: FallbackDeps, deadline: float) -> NameResult:
    """Converge the record sets of one name. Transient Cloudflare errors and an exhausted time budget
    propagate, so SQS redelivers the message; sets finished before that are final in the Ledger and are
    skipped then."""
    result = NameResult()
    fields = {"changeset_id": request.changeset_id, "chunk": request.chunk}
    standing = still_held(
        deps, request.changes, acts_on=frozenset({Status.CLAIMED, Status.FALLBACK}), **fields
    )
    result.outcomes.update((c.key, Outcome.SUPERSEDED) for c in standing.superseded)
    result.outcomes.update((c.key, None) for c in standing.skipped)
    work = list(standing.work)
    if not work:
        return result
    zone = resolve_zone(deps, request.zone, work, deadline, stage="fallback")
    if zone is None:
        result.outcomes.update((c.key, Outcome.REJECTED) for c in work)
        return result
    policy = PlanPolicy(owner_id=deps.settings.owner_id, adopt=deps.settings.adopt_unowned, paid=zone.paid)
    converge = _Converge(deps, zone.id, request, policy, deadline, result)
    # The batcher plans from what the Ledger knows of the zone's records (docs/record-knowledge.md); the
    # individual writes below change this name behind its back, so the name is marked dirty before they
    # start (no batcher plans it from knowledge while they run) and again after (a zone read that started
    # in between cannot make it clean).
    knowledge = None if deps.settings.dry_run else KnowledgeStore(deps.ledger)
    if knowledge is not None:
        knowledge.dirty(request.zone, [request.name])
    try:
        converge.run(work)
        applied = [c for c in work if result.outcomes.get(c.key) is Outcome.APPLIED]
        if applied and knowledge is not None:
            converge.catch_up(applied)
    finally:
        if knowledge is not None:
            knowledge.dirty(request.zone, [request.name])
    return result


@dataclass
class _Converge:
    deps: FallbackDeps
    zone_id: str
    request: queues.FallbackRequest
    policy: PlanPolicy
    deadline: float
    result: NameResult
    record: bool = True  # record outcomes (False while catching up with a newer version)

    def run(self, changes: Sequence[Change]) -> None:
        remaining = list(changes)
        for round_ in range(MAX_ROUNDS):
            remaining = self._round(remaining, first=round_ == 0)
            if not remaining:
                return
        # Still ambiguous after every re-read: leave them to SQS's redelivery rather than guess.
        raise Unsettled(
            f"{len(remaining)} record set(s) of {self.request.name} still unsettled after {MAX_ROUNDS} reads"
        )

    def _round(self, changes: Sequence[Change], *, first: bool) -> list[Change]:
        """Read the name, plan, apply. Returns the changes to try again after a re-read."""
        deps = self.deps
        current = deps.client.list_records(self.zone_id, name=self.request.name, deadline=self.deadline)
        self.result.calls += 1
        plan = plan_zone(changes, current, self.policy)
        for change, reason in plan.rejected:
            self._end(change, Outcome.REJECTED, reason=reason)
        # After a first round, "nothing to do" means our own earlier write (whose answer was lost) landed.
        self._end_many(plan.unchanged, Outcome.UNCHANGED if first else Outcome.APPLIED)
        ops: dict[RecordSetKey, list[Operation]] = defaultdict(list)
        for op in plan.operations:
            ops[op.key].append(op)
        again: list[Change] = []
        for change in sorted(plan.planned, key=_set_order):
            outcome = self._apply_set(change, ops[change.key])
            if outcome == "again":
                again.append(change)
        return again

    def _apply_set(self, change: Change, ops: Sequence[Operation]) -> str:
        """Apply one set's operations; returns "done", "failed" or "again" (re-read, then retry)."""
        if self.deps.settings.dry_run:
            for op in ops:
                self.deps.telemetry.logger.info(
                    "dry run: would send",
                    extra={**change_fields(change), "op": op.kind.value, "body": dict(op.body)},
                )
            self._end_many([change], Outcome.APPLIED, reason="dry run: not sent")
            return "done"
        for op in sorted(ops, key=_op_order):
            self._check_time()
            try:
                _apply(self.deps.client, self.zone_id, op, self.deadline)
                self.result.calls += 1
            except RejectedError as exc:
                self.result.calls += 1
                if op.kind is OpKind.DELETE and RECORD_GONE in exc.codes:
                    self.deps.telemetry.logger.info(
                        "record already gone; delete counts as done",
                        extra={**change_fields(change), "record_id": op.record_id},
                    )
                    continue
                if exc.after_ambiguous:
                    return "again"
                code = exc.errors[0].code if exc.errors else None
                message = exc.errors[0].message if exc.errors else str(exc)
                reason = f"Cloudflare refused {op.kind.value} of {change.key}: {code} {message}"
                self._end(change, Outcome.FAILED, reason=reason, cf_code=code)
                return "failed"
        self._end_many([change], Outcome.APPLIED, via="fallback", operations=len(ops))
        return "done"

    def catch_up(self, applied: Sequence[Change]) -> None:
        """Converge to newer versions accepted while the fallback wrote (their own paths record outcomes)."""
        deps = self.deps
        held = {c.key: c for c in applied}
        quiet = replace(self, result=NameResult(), record=False)
        for _ in range(CATCH_UP_ROUNDS):
            entries = deps.ledger.get_many(held)
            newer = [e.change for k, e in entries.items() if e.change and e.version > held[k].version]
            if not newer:
                return
            for change in newer:
                deps.telemetry.logger.info(
                    "a newer version was accepted while the fallback wrote; converging to it",
                    extra={**change_fields(held[change.key]), "newer_version": change.version},
                )
            try:
                quiet.run(newer)
            except (CloudflareError, TimeBudgetExceeded, Unsettled) as exc:
                # Rare: a race with a newer batch *and* a failure while catching up. Failing the message would
                # not help (this request's sets are final; a redelivery skips them), so say it loudly instead.
                deps.telemetry.count("FallbackCatchUpFailed")
                deps.telemetry.logger.error(
                    "could not converge to a newer version accepted during the fallback; the next change of "
                    "these record sets repairs them",
                    extra={"record_name": self.request.name, "error": str(exc)},
                )
                return
            held.update((c.key, c) for c in newer)

    def _check_time(self) -> None:
        # The deadline is when no new call may start (see batcher._ZoneRun._time_for_a_call).
        if self.deps.clock() + self.deps.settings.fallback_request_interval > self.deadline:
            raise TimeBudgetExceeded(f"no time left for the next call on {self.request.name}")

    def _end(self, change: Change, outcome: Outcome, *, reason: str, cf_code: int | None = None) -> None:
        if not self.record:
            return
        fields = {"changeset_id": self.request.changeset_id, "chunk": self.request.chunk}
        reject(self.deps, change, reason, stage="fallback", outcome=outcome, cf_code=cf_code, **fields)
        self.result.outcomes[change.key] = outcome

    def _end_many(self, changes: Sequence[Change], outcome: Outcome, **extra: Any) -> None:
        if not self.record or not changes:
            return
        fields = {"changeset_id": self.request.changeset_id, "chunk": self.request.chunk, **extra}
        finish(self.deps, changes, outcome, **fields)
        self.result.outcomes.update((c.key, outcome) for c in changes)


def _set_order(change: Change) -> tuple[int, RecordSetKey]:
    # Sets being deleted first: they make room for a set of a conflicting type (CNAME vs anything).
    return (0 if change.action is Action.DELETE or not change.values else 1, change.key)


# Within one set: patches and creates before deletes (make before break), so a refused write leaves the
# set's old values in place. Creates cannot collide with the deletes they precede: the planner only
# deletes values the set no longer holds, and a value it keeps is patched, never re-created.
_OP_ORDER = {OpKind.PATCH: 0, OpKind.PUT: 1, OpKind.POST: 2, OpKind.DELETE: 3}


def _op_order(op: Operation) -> int:
    return _OP_ORDER[op.kind]


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
