"""Aggregator: one window of ingest messages → validated, coalesced, claimed change sets, one per zone.

Every event leaves here either as a change on ChangeSetQueue (its outcome comes later), or with an
outcome (rejected, superseded), or its message is reported failed so SQS brings it back. Nothing else.

A message is settled as a whole: its outcomes are logged only once every step it needed (parking its
rejections, claiming and sending its changes) has succeeded. A message that fails any step, or that the
time budget did not reach, gets no outcome line and none of its changes is sent on; it comes back and is
processed again from the start (every step is safe to repeat: a claim by the same event is granted again,
a rejection parked twice is a duplicate RejectedQueue readers tolerate). So each event gets exactly one
outcome line however often its message is delivered, as long as it is eventually processed.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dnsbatch import queues
from dnsbatch.coalesce import coalesce
from dnsbatch.config import Settings
from dnsbatch.events import parse_message
from dnsbatch.ledger import Claim, Ledger
from dnsbatch.model import Change, EventRef, Outcome, Rejection
from dnsbatch.safe_text import escape, sqs_safe
from dnsbatch.telemetry import Telemetry, change_fields


@dataclass
class AggregatorDeps:
    settings: Settings
    sqs: Any
    ledger: Ledger
    telemetry: Telemetry
    new_id: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)
    clock: Callable[[], float] = time.monotonic  # the clock of ``deadline`` (runtime.deadline uses this one)


@dataclass
class AggregateSummary:
    messages: int = 0
    events: int = 0
    rejected: int = 0
    superseded: int = 0
    duplicates: int = 0
    claimed: int = 0
    changeset_messages: int = 0
    failed_messages: set[str] = field(default_factory=set)
    unreached: int = 0  # messages the time budget did not reach (among failed_messages)


def message_ref(record: Mapping[str, Any]) -> EventRef:
    attributes = record.get("attributes") or {}
    return EventRef(
        message_id=str(record["messageId"]), sent_timestamp=int(attributes.get("SentTimestamp", 0))
    )


def parked_body(body: str, rejection: Rejection) -> str:
    """What RejectedQueue keeps: the one change of an envelope that was rejected, so an operator fixes and
    re-publishes just it; otherwise the message as it arrived."""
    index = rejection.ref.index
    if not (rejection.field or "").startswith(f"changes[{index}]"):
        return body
    try:
        return json.dumps(json.loads(body)["changes"][index], separators=(",", ":"))
    except (
        ValueError,
        LookupError,
        TypeError,
        RecursionError,
    ):  # the field said otherwise; keep what arrived
        return body


# Claims go to DynamoDB in slices, the time budget checked before each.
CLAIM_SLICE = 200


@dataclass
class _Message:
    ref: EventRef
    body: str
    changes: tuple[Change, ...]
    rejections: tuple[Rejection, ...]


class _Window:
    """One invocation's bookkeeping: the messages, which ones failed, and the outcomes held back until
    their message is known to be settled."""

    def __init__(self, deps: AggregatorDeps, deadline: float | None) -> None:
        self.deps = deps
        self.deadline = deadline
        self.summary = AggregateSummary()
        self.pending: list[tuple[str, Callable[[], None]]] = []

    def out_of_time(self) -> bool:
        return self.deadline is not None and self.deps.clock() >= self.deadline

    def fail(self, message_id: str) -> None:
        self.summary.failed_messages.add(message_id)

    def failed(self, message_id: str) -> bool:
        return message_id in self.summary.failed_messages

    def later(self, message_id: str, emit: Callable[[], None]) -> None:
        self.pending.append((message_id, emit))

    def settle(self) -> None:
        for message_id, emit in self.pending:
            if not self.failed(message_id):
                emit()
        self.pending.clear()


def aggregate(
    records: Sequence[Mapping[str, Any]], deps: AggregatorDeps, deadline: float | None = None
) -> AggregateSummary:
    """Process one ingest batch; the summary's ``failed_messages`` are the batch item failures.

    ``deadline`` (on ``deps.clock``): no message is parsed, no rejection sent and no claim started after
    it; the messages it leaves unsettled are reported failed, so SQS delivers them again. What was claimed
    is still sent on (see :func:`_send_changesets`). An unexpected error while parsing one message fails that
    message only; see :func:`aggregate_isolated` for errors elsewhere.
    """
    window = _Window(deps, deadline)
    summary, tel = window.summary, deps.telemetry
    messages = _parse_all(records, window)
    _park_rejections(messages, window)
    changes = [c for m in messages if not window.failed(m.ref.message_id) for c in m.changes]

    merged = coalesce(changes)
    for loser, winner in merged.superseded:
        reason = (
            f"superseded in the same window by version {winner.version} (message {winner.ref.message_id})"
        )
        window.later(loser.ref.message_id, _emit(tel, Outcome.SUPERSEDED, loser, reason, summary))

    claimed = _claim_all(merged.winners, window)
    _send_changesets(claimed, window)
    window.settle()
    tel.logger.info(
        "window aggregated",
        extra={
            "messages": summary.messages,
            "events": summary.events,
            "rejected": summary.rejected,
            "superseded": summary.superseded,
            "duplicates": summary.duplicates,
            "claimed": summary.claimed,
            "changeset_messages": summary.changeset_messages,
            "failed_messages": len(summary.failed_messages),
            "unreached_messages": summary.unreached,
        },
    )
    tel.count("EventsReceived", summary.events)
    tel.count("ChangeSetMessages", summary.changeset_messages)
    return summary


def aggregate_isolated(
    records: Sequence[Mapping[str, Any]], deps: AggregatorDeps, deadline: float | None = None
) -> set[str]:
    """:func:`aggregate`, and if it fails unexpectedly (a bug, not message content), each message again on
    its own, so that only the message that triggers the bug is reported failed, never its batch-mates.

    Safe because nothing of the failed attempt was settled: outcomes are logged at the very end, and every
    step before is safe to repeat. Returns the message ids to report in ``batchItemFailures``.
    """
    try:
        return aggregate(records, deps, deadline).failed_messages
    except Exception:
        deps.telemetry.logger.exception(
            "the aggregator failed on its batch; processing its messages one at a time"
        )
    failed: set[str] = set()
    for record in records:
        message_id = str(record.get("messageId", ""))
        try:
            failed |= aggregate([record], deps, deadline).failed_messages
        except Exception:
            deps.telemetry.logger.exception(
                "the aggregator failed on this message; it will be retried", extra={"message_id": message_id}
            )
            failed.add(message_id)
    return failed


def _emit(
    tel: Telemetry, outcome: Outcome, change: Change, reason: str, summary: AggregateSummary
) -> Callable[[], None]:
    def emit() -> None:
        tel.outcome(outcome, change, reason=reason)
        summary.superseded += 1

    return emit


def _parse_all(records: Sequence[Mapping[str, Any]], window: _Window) -> list[_Message]:
    deps, summary = window.deps, window.summary
    zones = deps.settings.zones.keys()
    messages: list[_Message] = []
    seen: set[str] = set()
    for record in records:
        message_id = str(record.get("messageId", ""))
        if message_id in seen:
            # SQS (at least once) can hand the same message twice in one batch: it is one message, one
            # batch item failure at most, and its events must not be counted twice.
            deps.telemetry.logger.info(
                "message delivered twice in one batch", extra={"message_id": message_id}
            )
            continue
        seen.add(message_id)
        summary.messages += 1
        if window.out_of_time():
            window.fail(message_id)
            summary.unreached += 1
            continue
        try:
            ref = message_ref(record)
            body = str(record.get("body", ""))
            parsed = parse_message(body, ref, zones=zones)
        except Exception:
            deps.telemetry.logger.exception(
                "could not parse this message; it will be retried", extra={"message_id": message_id}
            )
            window.fail(message_id)
            continue
        summary.events += len(parsed.changes) + len(parsed.rejections)
        messages.append(_Message(ref, body, parsed.changes, parsed.rejections))
    return messages


def _rejection(message: _Message, rejection: Rejection) -> queues.OutgoingMessage:
    return queues.rejection_message(
        _sqs_text(parked_body(message.body, rejection)),
        reason=rejection.reason,
        stage="aggregator",
        field=rejection.field,
        source_message_id=message.ref.message_id,
        event_index=rejection.ref.index,
        zone=None if rejection.key is None else rejection.key.zone,
        record_set=None if rejection.key is None else str(rejection.key),
    )


def _sqs_text(body: str) -> str:
    # A body that arrived through SQS is SQS-safe; one handed to the handler some other way (a test, a
    # replay tool) may hold what SQS refuses, and its rejection must still be parkable.
    return escape(body) if not sqs_safe(body) else body


def _park_rejections(messages: Sequence[_Message], window: _Window) -> None:
    """Send every rejection of the window to RejectedQueue, batched; a message with a rejection that could
    not be parked fails as a whole (its outcomes are held back, its changes not sent on). Dry run parks
    nothing: the rejections are only logged."""
    deps, summary, tel = window.deps, window.summary, window.deps.telemetry
    owners: list[tuple[_Message, Rejection]] = [(m, r) for m in messages for r in m.rejections]
    if not owners:
        return
    unsent = {} if deps.settings.dry_run else _send_rejections(owners, window)
    for index, why in sorted(unsent.items()):
        message, rejection = owners[index]
        if not window.failed(message.ref.message_id):
            tel.logger.error(
                "could not park a rejection; its message will be retried",
                extra={
                    "message_id": message.ref.message_id,
                    "event_index": rejection.ref.index,
                    "error": why,
                },
            )
        window.fail(message.ref.message_id)
    extra: dict[str, Any] = {"dry_run": True} if deps.settings.dry_run else {}
    for message, rejection in owners:

        def emit(rejection: Rejection = rejection) -> None:
            tel.outcome(
                Outcome.REJECTED, ref=rejection.ref, key=rejection.key, reason=rejection.reason, **extra
            )
            summary.rejected += 1

        window.later(message.ref.message_id, emit)


def _send_rejections(owners: Sequence[tuple[_Message, Rejection]], window: _Window) -> dict[int, str]:
    """Park the rejections; returns those that could not be parked (by index) and why."""
    deps, tel = window.deps, window.deps.telemetry
    try:
        outgoing = [_rejection(m, r) for m, r in owners]
        return queues.send_batch(
            deps.sqs,
            deps.settings.rejected_queue_url or "",
            outgoing,
            deadline=window.deadline,
            clock=deps.clock,
        )
    except Exception as exc:  # a bug in building or sending: nothing is known to be parked
        tel.logger.exception("could not park the window's rejections; their messages will be retried")
        return {i: f"{type(exc).__name__}: {exc}" for i in range(len(owners))}


def _claim_all(winners: Sequence[Change], window: _Window) -> dict[str, list[Change]]:
    deps, summary, tel = window.deps, window.summary, window.deps.telemetry
    by_zone: dict[str, list[Change]] = defaultdict(list)
    if deps.settings.dry_run:
        # Dry run writes no Ledger claim: a later real event of the same version must not find it taken.
        for change in winners:
            by_zone[change.key.zone].append(change)
        return by_zone
    for start in range(0, len(winners), CLAIM_SLICE):
        part = winners[start : start + CLAIM_SLICE]
        if window.out_of_time():
            for change in winners[start:]:
                window.fail(change.ref.message_id)
            tel.logger.warning(
                "time budget ran out before every change was claimed; their messages will be retried",
                extra={"unclaimed": len(winners) - start},
            )
            break
        try:
            results = deps.ledger.claim_many(part)
        except Exception:
            tel.logger.exception("ledger claims failed; their messages will be retried")
            for change in part:
                window.fail(change.ref.message_id)
            continue
        for change, result in results:
            if isinstance(result, Exception):
                tel.logger.error(
                    "ledger claim failed; message will be retried",
                    extra={**change_fields(change), "error": f"{type(result).__name__}: {result}"},
                )
                window.fail(change.ref.message_id)
                continue
            status, detail = result
            if status is Claim.CLAIMED:
                by_zone[change.key.zone].append(change)
            elif status is Claim.DUPLICATE:
                # This event already reached its outcome (SQS delivered the message again): nothing to count.
                tel.logger.info("duplicate delivery of a finished event", extra=change_fields(change))
                summary.duplicates += 1
            else:
                held = "" if detail is None else f" (version {detail.version} already accepted)"
                reason = f"a newer or equal version holds the record set{held}"
                window.later(change.ref.message_id, _emit(tel, Outcome.SUPERSEDED, change, reason, summary))
    return by_zone


def _send_changesets(by_zone: Mapping[str, list[Change]], window: _Window) -> None:
    deps, summary, tel = window.deps, window.summary, window.deps.telemetry
    for zone in sorted(by_zone):
        # A message that failed elsewhere is processed again from the start: sending its changes now
        # would only send them twice.
        zone_changes = sorted(
            (c for c in by_zone[zone] if not window.failed(c.ref.message_id)), key=lambda c: c.key
        )
        if not zone_changes:
            continue
        # Not gated by the deadline: these changes are claimed, and sending them is what makes the window's
        # work count. Skipping the send would throw the claims away, and a window that needs more than the
        # budget would come back and fail the same way for ever. It costs one SQS call per zone per
        # 512 KiB, which the deadline's margin before Lambda's own timeout is there for.
        changeset_id = deps.new_id()
        for message in queues.changeset_messages(zone, zone_changes, changeset_id):
            try:
                queues.send(deps.sqs, deps.settings.changeset_queue_url or "", message)
            except Exception:
                tel.logger.exception(
                    "could not send a change set; its messages will be retried",
                    extra={"zone": zone, "changeset_id": changeset_id, "changes": len(message.changes)},
                )
                for change in message.changes:
                    window.fail(change.ref.message_id)
                continue
            summary.changeset_messages += 1
            summary.claimed += len(message.changes)
            tel.logger.info(
                "change set sent",
                extra={"zone": zone, "changeset_id": changeset_id, "changes": len(message.changes)},
            )
