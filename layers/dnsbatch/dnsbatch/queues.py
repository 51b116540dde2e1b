"""Messages between the functions: change sets (aggregator → batcher), fallback requests (batcher →
fallback) and rejections (any function → RejectedQueue). Building them is pure; sending takes an SQS
client."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dnsbatch.model import Change, RecordSetKey

# Lambda's synchronous invoke payload is 6 MB and a FIFO batch is up to 10 messages, so a change-set
# message stays under ~512 KiB (SQS itself takes 1 MiB since 2025-08).
MAX_CHANGESET_BYTES = 512 * 1024
# FIFO MessageGroupId is at most 128 characters.
MAX_GROUP_ID = 128
MAX_ATTRIBUTE_CHARS = 1000
# SQS takes 1 MiB per message, attributes included; leave room for ours.
MAX_PARKED_BODY = 1024 * 1024 - 32 * 1024


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    body: str
    changes: tuple[Change, ...]
    group_id: str | None = None
    dedup_id: str | None = None
    attributes: Mapping[str, str] | None = None


def changeset_messages(
    zone: str, changes: Sequence[Change], changeset_id: str, max_bytes: int = MAX_CHANGESET_BYTES
) -> list[OutgoingMessage]:
    """One zone's changes as ChangeSetQueue messages, split by size. The dedup id is the content hash,
    so an aggregator retry that resends the same part inside SQS's 5-minute window is dropped by SQS."""
    # What the envelope costs around the changes, measured with the widest part counters.
    budget = max_bytes - len(_changeset_body(zone, changeset_id, 999_999, 999_999, ""))
    parts: list[list[tuple[Change, str]]] = [[]]
    size = 0
    for change in changes:
        encoded = _dumps(change.to_dict())  # ASCII (json.dumps escapes the rest): characters == bytes
        if parts[-1] and size + len(encoded) > budget:
            parts.append([])
            size = 0
        parts[-1].append((change, encoded))
        size += len(encoded) + 1  # and its comma
    messages = []
    for number, part in enumerate(parts, start=1):
        body = _changeset_body(zone, changeset_id, number, len(parts), ",".join(e for _, e in part))
        # The dedup id must not depend on changeset_id (new per invocation), only on what is carried.
        dedup = _digest(zone + "\n" + "\n".join(e for _, e in part))[:128]
        messages.append(
            OutgoingMessage(body=body, changes=tuple(c for c, _ in part), group_id=zone, dedup_id=dedup)
        )
    return messages


def _changeset_body(zone: str, changeset_id: str, number: int, parts: int, changes: str) -> str:
    return (
        f'{{"changeset_id":{json.dumps(changeset_id)},"zone":{json.dumps(zone)},'
        f'"part":{number},"parts":{parts},"changes":[{changes}]}}'
    )


@dataclass(frozen=True, slots=True)
class ChangeSet:
    changeset_id: str
    zone: str
    changes: tuple[Change, ...]


def parse_changeset(body: str) -> ChangeSet:
    obj = json.loads(body)
    return ChangeSet(
        changeset_id=str(obj["changeset_id"]),
        zone=str(obj["zone"]),
        changes=tuple(Change.from_dict(c) for c in obj["changes"]),
    )


def fallback_group_id(key: RecordSetKey) -> str:
    """FIFO group per (zone, name): the fallback serialises work on one name, in parallel across names."""
    group = f"{key.zone}:{key.name}"
    return group if len(group) <= MAX_GROUP_ID else f"{key.zone[:40]}:{_digest(group)}"


@dataclass(frozen=True, slots=True)
class FallbackRequest:
    """All record sets of one name that a refused batch could not apply: the fallback plans and applies
    them together, because a name's sets depend on each other (a CNAME replacing an A set)."""

    changes: tuple[Change, ...]
    changeset_id: str
    chunk: int
    batch_error: str  # what Cloudflare said about the smallest batch that still held the name, for the log

    def __post_init__(self) -> None:
        names = {(c.key.zone, c.key.name) for c in self.changes}
        if len(names) != 1:
            raise ValueError(f"a fallback request holds the sets of exactly one name, got {sorted(names)}")

    @property
    def name(self) -> str:
        return self.changes[0].key.name

    @property
    def zone(self) -> str:
        return self.changes[0].key.zone


def fallback_message(request: FallbackRequest) -> OutgoingMessage:
    changes = sorted(request.changes, key=lambda c: c.key)
    encoded = [c.to_dict() for c in changes]
    body = _dumps(
        {
            "changes": encoded,
            "changeset_id": request.changeset_id,
            "chunk": request.chunk,
            "batch_error": request.batch_error,
        }
    )
    return OutgoingMessage(
        body=body,
        changes=tuple(changes),
        group_id=fallback_group_id(changes[0].key),
        dedup_id=_digest(_dumps(encoded))[:128],
    )


def parse_fallback(body: str) -> FallbackRequest:
    obj = json.loads(body)
    # {"change": ...}: one record set per message, as sent before the fallback worked per name; still read
    # so that messages queued across an upgrade are not lost.
    raw = obj["changes"] if "changes" in obj else [obj["change"]]
    return FallbackRequest(
        changes=tuple(Change.from_dict(c) for c in raw),
        changeset_id=str(obj.get("changeset_id", "")),
        chunk=int(obj.get("chunk", 0)),
        batch_error=str(obj.get("batch_error", "")),
    )


def rejection_message(
    body: str, *, reason: str, stage: str, **attributes: str | int | None
) -> OutgoingMessage:
    """A RejectedQueue message: the original body (or the change as JSON) with the reason and context as
    message attributes, so an operator can read why, fix and re-publish."""
    attrs = {"reason": reason[:MAX_ATTRIBUTE_CHARS], "stage": stage}
    attrs.update(
        {k: str(v)[:MAX_ATTRIBUTE_CHARS] for k, v in attributes.items() if v is not None and v != ""}
    )
    if len(body.encode()) > MAX_PARKED_BODY:
        # The original message may have used all of SQS's 1 MiB; with our attributes it would no longer fit,
        # the send would fail for ever and the message end in the DLQ without its reason.
        body = body.encode()[:MAX_PARKED_BODY].decode(errors="ignore")
        attrs["body_truncated"] = "true"
    return OutgoingMessage(body=body, changes=(), attributes=attrs)


def send(sqs: Any, queue_url: str, message: OutgoingMessage) -> None:
    kwargs: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": message.body}
    if message.group_id is not None:
        kwargs["MessageGroupId"] = message.group_id
    if message.dedup_id is not None:
        kwargs["MessageDeduplicationId"] = message.dedup_id
    if message.attributes:
        kwargs["MessageAttributes"] = {
            name: {"DataType": "String", "StringValue": value} for name, value in message.attributes.items()
        }
    sqs.send_message(**kwargs)
