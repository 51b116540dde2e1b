"""Messages between the functions: change sets (aggregator → batcher), fallback requests (batcher →
fallback) and rejections (any function → RejectedQueue). Building them is pure; sending takes an SQS
client."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
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
    fields = _fields(message)
    sqs.send_message(QueueUrl=queue_url, **fields)


# --- batched sends --------------------------------------------------------------------------------------

# SendMessageBatch takes at most 10 entries and 1 MiB in all (bodies plus attribute names, types and values).
MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 1024 * 1024
SEND_ATTEMPTS = 3
_RETRY_DELAY = 0.1  # seconds before the second attempt, doubled each time


def message_size(message: OutgoingMessage) -> int:
    """What ``message`` counts against SendMessageBatch's 1 MiB: UTF-8 body and attributes.
    Raises ``UnicodeEncodeError`` for text no UTF-8 encoder takes (a lone surrogate)."""
    size = len(message.body.encode())
    for name, value in (message.attributes or {}).items():
        size += len(name.encode()) + len("String") + len(value.encode())
    return size


def _entry(entry_id: str, message: OutgoingMessage) -> dict[str, Any]:
    return {"Id": entry_id, **_fields(message)}


def _fields(message: OutgoingMessage) -> dict[str, Any]:
    """The SendMessage parameters of ``message`` (also the entry of a SendMessageBatch, with an Id)."""
    entry: dict[str, Any] = {"MessageBody": message.body}
    if message.group_id is not None:
        entry["MessageGroupId"] = message.group_id
    if message.dedup_id is not None:
        entry["MessageDeduplicationId"] = message.dedup_id
    if message.attributes:
        entry["MessageAttributes"] = {
            name: {"DataType": "String", "StringValue": value} for name, value in message.attributes.items()
        }
    return entry


def _pack(sizes: Mapping[int, int]) -> list[list[int]]:
    """Indices in order, grouped at most 10 and 1 MiB per group (a message alone over 1 MiB goes alone:
    SQS refuses it, and that is reported as its failure)."""
    groups: list[list[int]] = []
    total = 0
    for index, size in sizes.items():
        if not groups or len(groups[-1]) >= MAX_BATCH_ENTRIES or total + size > MAX_BATCH_BYTES:
            groups.append([])
            total = 0
        groups[-1].append(index)
        total += size
    return groups


def send_batch(
    sqs: Any,
    queue_url: str,
    messages: Sequence[OutgoingMessage],
    *,
    attempts: int = SEND_ATTEMPTS,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[int, str]:
    """Send ``messages`` with SendMessageBatch (10 per call, within 1 MiB per call) and return
    ``{index: why}`` for each message that was not sent. Never raises for a failed send.

    Entries SQS reports in ``Failed`` are sent again, and so is a whole call that raised (botocore has
    already retried it), ``attempts`` times in all; an entry failed as the sender's fault
    (``SenderFault``) is not, as it would fail again. No call starts after ``deadline`` (on ``clock``):
    what is left is reported not sent. The caller decides what an unsent message means (the aggregator
    reports its source message failed, so SQS delivers it again and nothing is lost).
    """
    failed: dict[int, str] = {}
    sizes: dict[int, int] = {}
    for index, message in enumerate(messages):
        try:
            sizes[index] = message_size(message)
        except UnicodeEncodeError as exc:
            failed[index] = f"not encodable as UTF-8: {exc.reason}"
    for group in _pack(sizes):
        pending = group
        for attempt in range(attempts):
            if deadline is not None and clock() >= deadline:
                failed.update((i, "not sent: the time budget ran out") for i in pending)
                pending = []
                break
            if attempt:
                sleep(min(_RETRY_DELAY * 2 ** (attempt - 1), 1.0))
            try:
                response = sqs.send_message_batch(
                    QueueUrl=queue_url, Entries=[_entry(str(i), messages[i]) for i in pending]
                )
            except Exception as exc:
                why = f"{type(exc).__name__}: {exc}"
                failed.update((i, why) for i in pending)
                continue
            retry: list[int] = []
            for item in response.get("Failed") or []:
                index = int(item["Id"])
                failed[index] = f"{item.get('Code', '')}: {item.get('Message', '')}".strip(": ")
                if not item.get("SenderFault"):
                    retry.append(index)
            for item in response.get("Successful") or []:
                failed.pop(int(item["Id"]), None)
            pending = retry
            if not pending:
                break
    return failed
