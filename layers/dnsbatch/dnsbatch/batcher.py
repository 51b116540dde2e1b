"""Batcher: one zone's change sets → its current records, a plan, chunks, one batch call per chunk.

The current records come from what the Ledger knows of the zone (the last read, updated from every batch
answer) while that is fresh, else from one paged zone read (docs/record-knowledge.md): per zone and window
the Cloudflare cost is one batch call per chunk, plus a read when knowledge is stale. A batch planned from
knowledge that Cloudflare refuses is first read and re-planned, once, then bisected as below. A chunk
Cloudflare refuses (4xx) is bisected: split into two halves by names and each half sent again as a batch,
recursively, until the refused names are isolated; only a part of one name that is still refused goes to
the fallback, one message per name (docs/bisection.md). A rate-limited or failing chunk is retried as a
batch until the time budget runs out and then the zone's messages are reported failed so SQS brings them
back, never fanned out into per-record calls.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from dnsbatch import guard, queues
from dnsbatch.chunk import chunk_operations, names_of, split_by_names
from dnsbatch.cloudflare.client import CloudflareClient
from dnsbatch.cloudflare.errors import AuthenticationError, RejectedError
from dnsbatch.cloudflare.types import BatchResult, Record, Zone
from dnsbatch.coalesce import coalesce
from dnsbatch.config import Settings
from dnsbatch.guard import GuardPolicy
from dnsbatch.ledger import KnowledgeStore, Ledger, Status
from dnsbatch.model import Change, Chunk, OpKind, Outcome, RecordSetKey
from dnsbatch.outcomes import finish, reject, still_held
from dnsbatch.plan import PlanPolicy, ZonePlan, plan_zone
from dnsbatch.telemetry import Telemetry
from dnsbatch.zones import resolve_zone

# How often one zone's run may re-read the zone after a batch whose answer was lost was then refused on
# its retry (the refusal may be about our own committed first attempt). Each re-read costs one paged list.
MAX_REREADS = 2


class TimeBudgetExceeded(Exception):
    """Not enough of the invocation's time is left to start the next step safely."""


class _StaleKnowledge(Exception):
    """A batch planned from the Ledger's knowledge of the zone was refused: the knowledge may be stale."""

    def __init__(self, error: RejectedError) -> None:
        super().__init__(str(error))
        self.error = error
        self.run: _ZoneRun | None = None  # the run it stopped, with what it had not applied yet


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
    batch_calls: int = 0
    chunks_rejected: int = 0
    bisections: int = 0
    rereads: int = 0
    applied: int = 0
    unchanged: int = 0
    rejected: int = 0
    superseded: int = 0
    held: int = 0
    fallbacks: int = 0
    fallback_names: int = 0
    requeued: int = 0
    planned_from_knowledge: bool = False  # no zone read: planned from what the Ledger knows of its records
    stale_rereads: int = 0  # a batch planned from that knowledge was refused: read, re-planned, sent again


@dataclass
class _Part:
    """A chunk, or a piece of one being bisected. ``known_to_fail``: its own batch call can be skipped,
    because its sibling half was applied alone and their parent was refused (see ``_ZoneRun.run``)."""

    chunk: Chunk
    depth: int = 0
    known_to_fail: bool = False
    sibling: _Part | None = None
    error: str = ""


@dataclass
class _ZoneRun:
    """Applying one zone's plan in one invocation: the work queue of parts and what is done."""

    deps: BatcherDeps
    zone: str
    zone_id: str
    changeset_id: str
    deadline: float
    summary: ZoneSummary
    policy: PlanPolicy
    size: int
    by_key: dict[RecordSetKey, Change]
    # Operations not yet applied per record set: a set is applied when its count reaches 0 (a name with
    # more operations than a chunk holds spans several chunks, docs/chunking.md).
    pending: Counter[RecordSetKey] = field(default_factory=Counter)
    diverted: set[str] = field(default_factory=set)  # names handed to the fallback
    work: deque[_Part] = field(default_factory=deque)
    progressed: bool = False
    # The zone's records as this run knows them (by id), kept up to date with every batch answer so the
    # Ledger's copy can be stored at the end (docs/record-knowledge.md); None when knowledge is off.
    records: dict[str, Record] | None = None
    # Planned from that knowledge rather than a read: a refusal first means "read and plan again".
    from_knowledge: bool = False

    def run(self, chunks: Sequence[Chunk]) -> None:
        self.work.extend(_Part(c) for c in chunks)
        while self.work:
            part = self.work.popleft()
            chunk = self._without_diverted(part.chunk)
            if not chunk.operations:
                continue
            part.chunk = chunk
            if not part.known_to_fail:
                if not self._time_for_a_call():
                    self.work.appendleft(part)
                    self._requeue_untried()
                    return
                try:
                    self._send(part)
                except RejectedError as exc:
                    if self.from_knowledge:
                        # Cloudflare's batch is one transaction: the refusal changed nothing. Before
                        # bisecting, make sure it is not about our own outdated picture of the zone.
                        self.work.appendleft(part)
                        raise _StaleKnowledge(exc) from exc
                    if exc.after_ambiguous and self.summary.rereads < MAX_REREADS:
                        self._reread(part, exc)
                        continue
                    part.error = str(exc)
                    self._refused(part, exc)
                else:
                    if part.sibling is not None and part.sibling.known_to_fail is False:
                        # Cloudflare refused the parent, and this half alone applied: the names of the two
                        # halves are disjoint and a batch is one transaction, so the other half is the
                        # refused one (barring a change made between the calls). Its own call would only
                        # confirm that; bisect it straight away.
                        part.sibling.known_to_fail = True
                        part.sibling.error = part.error
                    continue
            self._bisect(part)

    # -- one batch call ----------------------------------------------------------------------------------

    def _time_for_a_call(self) -> bool:
        # The deadline is when no new call may start (runtime.deadline keeps a margin of at least one
        # request's timeout before Lambda's own): the pause before the call must end before it.
        wait = self.deps.settings.batch_change_interval if self.summary.batch_calls else 0.0
        return self.deps.clock() + wait <= self.deadline

    def _send(self, part: _Part) -> None:
        deps, tel = self.deps, self.deps.telemetry
        chunk = part.chunk
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
            self._applied(chunk, reason="dry run: not sent")
            return
        if self.summary.batch_calls:
            deps.sleep(deps.settings.batch_change_interval)
        self.summary.batch_calls += 1
        result = deps.client.batch(self.zone_id, body, deadline=self.deadline)
        self.progressed = True
        self._learn(chunk, result)
        tel.count("ChunksApplied")
        tel.logger.info(
            "chunk applied",
            extra={
                "chunk": chunk.index,
                "depth": part.depth,
                **counts,
                "record_sets": len(chunk.record_sets),
            },
        )
        self._applied(chunk)

    def _learn(self, chunk: Chunk, result: BatchResult) -> None:
        """Fold a committed batch into what the run knows of the zone: Cloudflare's answer holds each
        patched, put and posted record as it stored it."""
        if self.records is None:
            return
        for op in chunk.operations:
            if op.kind is OpKind.DELETE and op.record_id:
                self.records.pop(op.record_id, None)
        for record in (*result.patches, *result.puts, *result.posts):
            self.records[record.id] = record
        expected = sum(1 for op in chunk.operations if op.kind is not OpKind.DELETE)
        if len(result.patches) + len(result.puts) + len(result.posts) != expected:
            # An answer that does not list every written record (an older API, a proxy): what we know is
            # incomplete, so the next run reads the zone.
            self.records = None

    def _applied(self, chunk: Chunk, reason: str | None = None) -> None:
        self.pending.subtract(op.key for op in chunk.operations)
        done = [self.by_key[k] for k in chunk.record_sets if self.pending[k] <= 0]
        self.summary.applied += finish(self.deps, done, Outcome.APPLIED, reason=reason, chunk=chunk.index)

    # -- refusals ----------------------------------------------------------------------------------------

    def _refused(self, part: _Part, exc: RejectedError) -> None:
        tel = self.deps.telemetry
        chunk = part.chunk
        if part.depth == 0:
            self.summary.chunks_rejected += 1
            tel.count("ChunksRejected")
        tel.logger.warning(
            "chunk rejected by Cloudflare; bisecting it"
            if len(names_of(chunk)) > 1
            else "chunk rejected by Cloudflare; its one name goes to the fallback",
            extra={
                "chunk": chunk.index,
                "depth": part.depth,
                "operations": len(chunk.operations),
                "names": len(names_of(chunk)),
                "record_sets": len(chunk.record_sets),
                "cf_code": exc.errors[0].code if exc.errors else None,
                "error": str(exc),
            },
        )

    def _bisect(self, part: _Part) -> None:
        if len(names_of(part.chunk)) == 1:
            self._divert(part)
            return
        self.summary.bisections += 1
        self.deps.telemetry.count("Bisections")
        left, right = split_by_names(part.chunk)
        left_part = _Part(left, depth=part.depth + 1, error=part.error)
        right_part = _Part(right, depth=part.depth + 1, error=part.error)
        left_part.sibling = right_part
        self.work.appendleft(right_part)
        self.work.appendleft(left_part)

    def _divert(self, part: _Part) -> None:
        """Hand a refused name to the fallback: every record set of it this run has not finished."""
        deps = self.deps
        name = names_of(part.chunk)[0]
        changes = tuple(c for k, c in sorted(self.by_key.items()) if k.name == name and self.pending[k] > 0)
        self.diverted.add(name)
        if not changes:
            return
        request = queues.FallbackRequest(changes, self.changeset_id, part.chunk.index, part.error)
        if not deps.settings.dry_run:
            # Sent before the Ledger moves to FALLBACK: a crash in between leaves the changes CLAIMED and the
            # redelivery does them again, whereas the other order could strand them as FALLBACK with no
            # message to carry them.
            queues.send(deps.sqs, deps.settings.fallback_queue_url or "", queues.fallback_message(request))
            deps.ledger.mark_many(list(changes), Status.FALLBACK)
        self.progressed = True
        self.summary.fallbacks += len(changes)
        self.summary.fallback_names += 1
        deps.telemetry.count("Fallbacks", len(changes))
        deps.telemetry.count("FallbackNames")
        deps.telemetry.logger.info(
            "name handed to the fallback",
            extra={
                "chunk": part.chunk.index,
                "record_name": name,
                "record_sets": [f"{c.key.name} {c.key.type}" for c in changes],
                "dry_run": deps.settings.dry_run,
            },
        )

    def _reread(self, part: _Part, exc: RejectedError) -> None:
        """A retried batch was refused after an attempt whose answer was lost: re-read the zone and plan the
        part's record sets again instead of bisecting a refusal that may be about our own committed write."""
        deps = self.deps
        self.summary.rereads += 1
        changes = [self.by_key[k] for k in part.chunk.record_sets if self.pending[k] > 0]
        deps.telemetry.logger.warning(
            "batch refused on a retry after a lost answer; re-reading the zone",
            extra={"chunk": part.chunk.index, "record_sets": len(changes), "error": str(exc)},
        )
        current = deps.client.list_records(self.zone_id, deadline=self.deadline)
        if self.records is not None:
            self.records = {r.id: r for r in current}
        plan = plan_zone(changes, current, self.policy)
        # Already in place: our lost attempt applied them.
        self.summary.applied += finish(
            deps, plan.unchanged, Outcome.APPLIED, reason="applied by an attempt whose answer was lost"
        )
        for change, reason in plan.rejected:
            if reject(deps, change, reason, stage="batcher"):
                self.summary.rejected += 1
        # The new plan covers everything left of these record sets, including operations of an oversized
        # name still waiting in later parts: take those out so nothing is sent twice.
        keys = {c.key for c in changes}
        for waiting in self.work:
            if keys.intersection(waiting.chunk.record_sets):
                waiting.chunk = _without_keys(waiting.chunk, keys)
        for key in keys:
            self.pending[key] = 0
        self.pending.update(op.key for op in plan.operations)
        fresh = [
            _Part(Chunk(part.chunk.index, c.operations, c.record_sets), depth=part.depth)
            for c in chunk_operations(plan.operations, self.size)
        ]
        self.work.extendleft(reversed(fresh))

    def _without_diverted(self, chunk: Chunk) -> Chunk:
        if not self.diverted.intersection(k.name for k in chunk.record_sets):
            return chunk
        return _without_keys(chunk, {k for k in chunk.record_sets if k.name in self.diverted})

    # -- out of time ------------------------------------------------------------------------------------

    def _requeue_untried(self) -> None:
        """Return the parts not yet tried to ChangeSetQueue as a new change set of this zone, so the next
        invocation carries on where this one stopped (their claims stay CLAIMED). Only after progress: a run
        that could not start anything fails instead, so SQS's receive count still bounds a zone that never
        gets anywhere."""
        deps = self.deps
        keys = sorted(
            {
                k
                for part in self.work
                for k in part.chunk.record_sets
                if k.name not in self.diverted and self.pending[k] > 0
            }
        )
        if not self.progressed:
            raise TimeBudgetExceeded(f"no time left for the zone's first batch ({len(keys)} record sets)")
        changes = [self.by_key[k] for k in keys]
        changeset_id = f"{self.changeset_id.split('+')[0]}+requeued-{uuid.uuid4().hex[:8]}"
        for message in queues.changeset_messages(self.zone, changes, changeset_id):
            queues.send(deps.sqs, deps.settings.changeset_queue_url or "", message)
        self.summary.requeued += len(changes)
        deps.telemetry.logger.warning(
            "time budget used; re-queued the record sets not yet tried as a new change set",
            extra={"requeued": len(changes), "parts": len(self.work), "new_changeset_id": changeset_id},
        )
        self.work.clear()


def _without_keys(chunk: Chunk, keys: set[RecordSetKey]) -> Chunk:
    ops = tuple(op for op in chunk.operations if op.key not in keys)
    return Chunk(chunk.index, ops, tuple(k for k in chunk.record_sets if k not in keys))


def process_zone(
    zone: str, changesets: Sequence[queues.ChangeSet], deps: BatcherDeps, deadline: float
) -> ZoneSummary:
    """Apply everything the change sets ask for one zone. Raises (so the caller reports the zone's messages
    failed) when Cloudflare is rate limiting or failing past the deadline; what was applied before that is
    recorded in the Ledger, so the retry only does the rest."""
    tel = deps.telemetry
    summary = ZoneSummary(zone=zone)
    changeset_id = ",".join(sorted({cs.changeset_id for cs in changesets}))
    tel.logger.append_keys(zone=zone, changeset_id=changeset_id)
    try:
        merged = coalesce(c for cs in changesets for c in cs.changes)
        for loser, winner in merged.superseded:
            reason = f"superseded by version {winner.version} in the same batch"
            tel.outcome(Outcome.SUPERSEDED, loser, reason=reason)
            summary.superseded += 1
        # Only what is still CLAIMED: a change already with the fallback belongs to it now.
        standing = still_held(deps, merged.winners, acts_on=frozenset({Status.CLAIMED}))
        summary.superseded += len(standing.superseded)
        summary.skipped += len(standing.skipped)
        changes = list(standing.work)
        summary.changes = len(changes)
        if not changes:
            tel.logger.info("nothing left to apply for the zone", extra={"skipped": summary.skipped})
            return summary

        zone_obj = resolve_zone(deps, zone, changes, deadline, stage="batcher")
        if zone_obj is None:
            summary.rejected += len(changes)
            return summary
        _Apply(deps, zone, zone_obj, changeset_id, deadline, summary).run(changes)
        tel.logger.info("zone finished", extra=asdict(summary))
        return summary
    finally:
        tel.logger.remove_keys(["zone", "changeset_id"])


@dataclass
class _Apply:
    """One zone's changes in one invocation: where its current records come from (the Ledger's knowledge
    while it is fresh, else a zone read), the plan, the batch calls, and the knowledge stored back at the
    end (docs/record-knowledge.md)."""

    deps: BatcherDeps
    zone: str
    zone_obj: Zone
    changeset_id: str
    deadline: float
    summary: ZoneSummary
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    store: KnowledgeStore | None = None
    basis: float = 0.0  # wall-clock time of the read or load this run's picture of the zone starts from
    read_at: float | None = None  # when this run listed the zone (None: it planned from knowledge)
    marked: bool = False  # the Ledger's knowledge is marked as being written by this run
    clean: frozenset[str] = frozenset()  # dirty names (the fallback wrote them) this run's read saw again

    def run(self, changes: Sequence[Change]) -> None:
        deps, settings = self.deps, self.deps.settings
        # Dry run writes nothing, and sends nothing that could show knowledge to be stale: it always reads.
        if settings.zone_read_interval > 0 and not settings.dry_run:
            self.store = KnowledgeStore(deps.ledger)
        self.basis = deps.ledger.clock()
        known = self.store.load(self.zone) if self.store is not None else None
        names = {c.key.name for c in changes}
        if known is not None and known.covers(names, self.basis, settings.zone_read_interval):
            self.summary.planned_from_knowledge = True
            current = list(known.records)
        else:
            # Names the fallback wrote since the last read: this read sees them as they are now.
            self.clean = known.dirty if known is not None else frozenset()
            current = self._read()
        try:
            run = self._plan_and_send(
                changes, current, from_knowledge=known is not None and self.read_at is None
            )
        except _StaleKnowledge as stale:
            run = self._again(stale)
        self._keep(run)

    def _read(self) -> list[Record]:
        self.basis = self.deps.ledger.clock()
        records = self.deps.client.list_records(self.zone_obj.id, deadline=self.deadline)
        self.read_at = self.basis
        return records

    def _again(self, stale: _StaleKnowledge) -> _ZoneRun:
        """A batch planned from knowledge was refused: read the zone, plan what is left, send again, once.
        Refusals after that are bisected as usual."""
        assert stale.run is not None
        old = stale.run
        deps, exc = self.deps, stale.error
        remaining = [old.by_key[k] for k in sorted(old.by_key) if old.pending[k] > 0]
        self.summary.stale_rereads += 1
        deps.telemetry.count("KnowledgeStale")
        deps.telemetry.logger.warning(
            "batch planned from the Ledger's knowledge refused; reading the zone and planning again",
            extra={
                "record_sets": len(remaining),
                "cf_code": exc.errors[0].code if exc.errors else None,
                "error": str(exc),
            },
        )
        current = self._read()
        return self._plan_and_send(
            remaining, current, from_knowledge=False, previous=old, after_lost_answer=exc.after_ambiguous
        )

    def _plan_and_send(
        self,
        changes: Sequence[Change],
        current: Sequence[Record],
        *,
        from_knowledge: bool,
        previous: _ZoneRun | None = None,
        after_lost_answer: bool = False,
    ) -> _ZoneRun:
        deps, settings, tel, summary = self.deps, self.deps.settings, self.deps.telemetry, self.summary
        zone_obj = self.zone_obj
        policy = PlanPolicy(owner_id=settings.owner_id, adopt=settings.adopt_unowned, paid=zone_obj.paid)
        plan = plan_zone(changes, current, policy)
        if after_lost_answer:
            # The refused retry followed an attempt whose answer was lost: what is in place now is ours.
            reason = "applied by an attempt whose answer was lost"
            summary.applied += finish(deps, plan.unchanged, Outcome.APPLIED, reason=reason)
        else:
            summary.unchanged += finish(deps, plan.unchanged, Outcome.UNCHANGED)
        for change, reason in plan.rejected:
            if reject(deps, change, reason, stage="batcher"):
                summary.rejected += 1
        plan = _guard(plan, current, deps, summary)
        size = min(settings.batch_change_size, zone_obj.batch_limit)
        if size < settings.batch_change_size and previous is None:
            tel.logger.warning(
                "BATCH_CHANGE_SIZE exceeds the zone plan's batch limit; using the plan's limit",
                extra={"configured": settings.batch_change_size, "used": size, "plan": zone_obj.plan},
            )
        chunks = chunk_operations(plan.operations, size)
        summary.operations += len(plan.operations)
        summary.chunks += len(chunks)
        tel.logger.info(
            "zone planned",
            extra={
                "records": len(current),
                "from_knowledge": from_knowledge,
                "changes": len(changes),
                "planned": len(plan.planned),
                "unchanged": len(plan.unchanged),
                "rejected": len(plan.rejected),
                "operations": len(plan.operations),
                "chunks": len(chunks),
                "dry_run": settings.dry_run,
            },
        )
        records = {r.id: r for r in current} if self.store is not None else None
        if records is not None and plan.operations and not self.marked:
            self._mark(current)
            self.marked = True
        run = _ZoneRun(
            deps=deps,
            zone=self.zone,
            zone_id=zone_obj.id,
            changeset_id=self.changeset_id,
            deadline=self.deadline,
            summary=summary,
            policy=policy,
            size=size,
            by_key={c.key: c for c in plan.planned},
            pending=Counter(op.key for op in plan.operations),
            progressed=previous is not None and previous.progressed,
            records=records,
            from_knowledge=from_knowledge,
        )
        try:
            run.run(chunks)
        except _StaleKnowledge as stale:
            stale.run = run
            raise
        return run

    # -- the Ledger's knowledge -------------------------------------------------------------------------

    def _mark(self, current: Sequence[Record]) -> None:
        """Before the first batch call: the stored knowledge is not to be trusted until ``_keep`` (a run that
        dies between a committed batch and its final write leaves the mark, and the next run reads).
        A run that has just read the zone stores the read in the same write."""
        assert self.store is not None
        if self.read_at is not None:
            self.store.store(
                self.zone,
                current,
                basis=self.basis,
                read_at=self.read_at,
                writing=self.run_id,
                clean=self.clean,
            )
        else:
            self.store.mark_writing(self.zone, self.run_id)

    def _keep(self, run: _ZoneRun) -> None:
        """Store what the run knows of the zone now: the read it planned from, with every committed batch
        answer folded in."""
        if self.store is None:
            return
        if run.records is not None:
            records = list(run.records.values())
            clean = self.clean if self.read_at is not None else ()
            if self.marked:
                self.store.store(
                    self.zone,
                    records,
                    basis=self.basis,
                    read_at=self.read_at,
                    release=self.run_id,
                    clean=clean,
                )
            elif self.read_at is not None:
                self.store.store(self.zone, records, basis=self.basis, read_at=self.read_at, clean=clean)
        # Names handed to the fallback: its individual writes will change them behind this snapshot.
        self.store.dirty(self.zone, run.diverted)


def _guard(plan: ZonePlan, current: Sequence[Record], deps: BatcherDeps, summary: ZoneSummary) -> ZonePlan:
    """Hold the plan's changes if it would delete or replace too much of what dnsbatch owns (guard.py);
    the changes flagged allow_mass_change are neither counted nor held."""
    settings = deps.settings
    exempt = {c.key for c in plan.planned if c.allow_mass_change}
    policy = GuardPolicy(settings.mass_change_threshold, settings.mass_change_min_records)
    found = guard.check(plan.operations, current, settings.owner_id, policy, exempt)
    if found is None:
        return plan
    held = [c for c in plan.planned if c.key not in exempt]
    deps.telemetry.count("ChangeSetsHeld")
    deps.telemetry.logger.warning(
        "mass-change guard: change set held",
        extra={
            "owned": found.owned,
            "deleted": found.deleted,
            "replaced": found.replaced,
            "share": round(found.share, 3),
            "threshold": found.threshold,
            "held": len(held),
        },
    )
    for change in held:
        if reject(deps, change, str(found), stage="batcher", outcome=Outcome.HELD):
            summary.held += 1
    return replace(
        plan,
        operations=tuple(op for op in plan.operations if op.key in exempt),
        planned=tuple(c for c in plan.planned if c.key in exempt),
    )


class ZoneBatches:
    """One BatcherFunction invocation: all change sets of a zone found in its FIFO batch are merged and
    applied on the zone's first message; the zone's other messages share that result. Zones are taken in
    the order they come, none started once the deadline has passed (they go back to SQS untried)."""

    def __init__(
        self,
        records: Sequence[Mapping[str, Any]],
        deps: BatcherDeps,
        deadline: float,
        *,
        on_auth_error: Callable[[], None] = lambda: None,
    ) -> None:
        self.deps = deps
        self.deadline = deadline
        self.on_auth_error = on_auth_error
        self.bodies: dict[str, list[str]] = defaultdict(list)
        for record in records:
            self.bodies[zone_of(record)].append(str(record["body"]))
        self.results: dict[str, BaseException | None] = {}

    def handle(self, record: Mapping[str, Any]) -> None:
        """Process the zone of ``record`` (once per zone); raise if the zone did not finish, so the
        partial batch response reports the message failed."""
        zone = zone_of(record)
        if zone not in self.results:
            self.results[zone] = self._zone(zone)
        failure = self.results[zone]
        if failure is not None:
            raise failure

    def _zone(self, zone: str) -> BaseException | None:
        tel = self.deps.telemetry
        try:
            if self.deps.clock() > self.deadline:
                raise TimeBudgetExceeded("the invocation's time budget ran out before this zone started")
            changesets = [queues.parse_changeset(body) for body in self.bodies[zone]]
            tel.logger.set_correlation_id(changesets[0].changeset_id)
            process_zone(zone, changesets, self.deps, self.deadline)
            return None
        except AuthenticationError as exc:
            self.on_auth_error()  # a rotated token is re-read on the next delivery
            failure: BaseException = exc
        except Exception as exc:
            failure = exc
        tel.logger.warning(
            "zone not finished; its messages will be redelivered",
            extra={"zone": zone, "error": f"{type(failure).__name__}: {failure}"},
        )
        return failure


def zone_of(record: Mapping[str, Any]) -> str:
    group = (record.get("attributes") or {}).get("MessageGroupId")
    return str(group) if group else queues.parse_changeset(str(record["body"])).zone
