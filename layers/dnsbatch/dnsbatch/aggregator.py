"""Aggregator: one window of ingest messages → validated, coalesced, claimed change sets, one per zone.

Every event leaves here either as a change on ChangeSetQueue (its outcome comes later), or with an
outcome (rejected, superseded), or its message is reported failed so SQS brings it back. Nothing else.
"""

from __future__ import annotations

import json
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
from dnsbatch.telemetry import Telemetry, change_fields


@dataclass
class AggregatorDeps:
    settings: Settings
    sqs: Any
    ledger: Ledger
    telemetry: Telemetry
    new_id: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)


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
    except (ValueError, LookupError, TypeError):  # the field said otherwise; keep what arrived
        return body


def aggregate(records: Sequence[Mapping[str, Any]], deps: AggregatorDeps) -> AggregateSummary:
    """Process one ingest batch; the summary's ``failed_messages`` are the batch item failures."""
    settings, tel = deps.settings, deps.telemetry
    summary = AggregateSummary(messages=len(records))
    changes: list[Change] = []
    for record in records:
        ref = message_ref(record)
        body = str(record.get("body", ""))
        parsed = parse_message(body, ref, zones=settings.zones.keys())
        summary.events += len(parsed.changes) + len(parsed.rejections)
        try:
            for rejection in parsed.rejections:
                queues.send(
                    deps.sqs,
                    settings.rejected_queue_url or "",
                    queues.rejection_message(
                        parked_body(body, rejection),
                        reason=rejection.reason,
                        stage="aggregator",
                        field=rejection.field,
                        source_message_id=ref.message_id,
                        event_index=rejection.ref.index,
                        zone=None if rejection.key is None else rejection.key.zone,
                        record_set=None if rejection.key is None else str(rejection.key),
                    ),
                )
                tel.outcome(Outcome.REJECTED, ref=rejection.ref, key=rejection.key, reason=rejection.reason)
                summary.rejected += 1
        except Exception:
            # The rejection could not be parked: keep the whole message so SQS redelivers it (nothing lost;
            # a rejection already sent may be sent again, which RejectedQueue readers must tolerate).
            tel.logger.exception(
                "could not send a rejection; message will be retried", extra={"message_id": ref.message_id}
            )
            summary.failed_messages.add(ref.message_id)
            continue
        changes.extend(parsed.changes)

    merged = coalesce(changes)
    for loser, winner in merged.superseded:
        tel.outcome(
            Outcome.SUPERSEDED,
            loser,
            reason=f"superseded in the same window by version {winner.version}"
            f" (message {winner.ref.message_id})",
        )
        summary.superseded += 1

    claimed = _claim_all(merged.winners, deps, summary)
    _send_changesets(claimed, deps, summary)
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
        },
    )
    tel.count("EventsReceived", summary.events)
    tel.count("ChangeSetMessages", summary.changeset_messages)
    return summary


def _claim_all(
    winners: Sequence[Change], deps: AggregatorDeps, summary: AggregateSummary
) -> dict[str, list[Change]]:
    tel = deps.telemetry
    by_zone: dict[str, list[Change]] = defaultdict(list)
    for change, result in deps.ledger.claim_many(winners):
        if isinstance(result, Exception):
            tel.logger.error(
                "ledger claim failed; message will be retried",
                extra={**change_fields(change), "error": f"{type(result).__name__}: {result}"},
            )
            summary.failed_messages.add(change.ref.message_id)
            continue
        status, detail = result
        if status is Claim.CLAIMED:
            by_zone[change.key.zone].append(change)
            summary.claimed += 1
        elif status is Claim.DUPLICATE:
            # This event already reached its outcome (SQS delivered the message again): nothing to count.
            tel.logger.info("duplicate delivery of a finished event", extra=change_fields(change))
            summary.duplicates += 1
        else:
            held = "" if detail is None else f" (version {detail.version} already accepted)"
            tel.outcome(
                Outcome.SUPERSEDED, change, reason=f"a newer or equal version holds the record set{held}"
            )
            summary.superseded += 1
    return by_zone


def _send_changesets(
    by_zone: Mapping[str, list[Change]], deps: AggregatorDeps, summary: AggregateSummary
) -> None:
    tel = deps.telemetry
    for zone in sorted(by_zone):
        changeset_id = deps.new_id()
        zone_changes = sorted(by_zone[zone], key=lambda c: c.key)
        for message in queues.changeset_messages(zone, zone_changes, changeset_id):
            try:
                queues.send(deps.sqs, deps.settings.changeset_queue_url or "", message)
            except Exception:
                tel.logger.exception(
                    "could not send a change set; its messages will be retried",
                    extra={"zone": zone, "changeset_id": changeset_id, "changes": len(message.changes)},
                )
                summary.failed_messages.update(c.ref.message_id for c in message.changes)
                continue
            summary.changeset_messages += 1
            tel.logger.info(
                "change set sent",
                extra={"zone": zone, "changeset_id": changeset_id, "changes": len(message.changes)},
            )
