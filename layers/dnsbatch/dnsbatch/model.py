"""The plain values every part of dnsbatch passes around.

A *record set* is all records of one (zone, name, type), the unit producers describe and the unit of
every outcome. A :class:`Change` is the desired state of one record set, as accepted from an event.
Planning turns changes plus the zone's current records into :class:`Operation` s, chunking groups
those into :class:`Chunk` s, one Cloudflare batch call each.

Everything here is frozen and JSON-round-trippable (``to_dict``/``from_dict``) because changes travel
through SQS between the three functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    UPSERT = "upsert"
    DELETE = "delete"


class Outcome(StrEnum):
    """The one final outcome every accepted event gets (docs/architecture.md#nothing-lost-nothing-silent)."""

    APPLIED = "applied"
    UNCHANGED = "unchanged"
    SUPERSEDED = "superseded"
    REJECTED = "rejected"
    FAILED = "failed"
    HELD = "held"  # the mass-change guard held it (docs/pipeline.md); re-publish with allow_mass_change


class OpKind(StrEnum):
    """Batch operation kinds, in the order Cloudflare executes them inside one batch request."""

    DELETE = "delete"
    PATCH = "patch"
    PUT = "put"
    POST = "post"

    @property
    def batch_key(self) -> str:
        """The key of this kind's list in a ``/dns_records/batch`` request body."""
        return f"{self.value}s" if self is not OpKind.PATCH else "patches"


@dataclass(frozen=True, slots=True, order=True)
class RecordSetKey:
    """(zone, name, type): zone and name are lowercase, punycode, without a trailing dot."""

    zone: str
    name: str
    type: str

    def __str__(self) -> str:
        return f"{self.name} {self.type}"

    def to_dict(self) -> dict[str, str]:
        return {"zone": self.zone, "name": self.name, "type": self.type}

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> RecordSetKey:
        return cls(zone=str(obj["zone"]), name=str(obj["name"]), type=str(obj["type"]))


@dataclass(frozen=True, slots=True)
class RecordValue:
    """One record of a desired set, in the terms Cloudflare takes.

    ``content`` is always set: for structured types (SRV, CAA, ...) it is the text Cloudflare builds
    from ``data``, canonicalised, so that two values are the same record exactly when their contents
    are equal. ``data`` holds the structured fields as sorted (key, value) pairs so the value stays
    hashable; :meth:`data_dict` gives the dict Cloudflare expects. Its numbers are ``int`` except LOC's
    seconds and metres, which may be fractions (``float``).
    """

    content: str
    priority: int | None = None
    data: tuple[tuple[str, str | int | float], ...] | None = None

    def data_dict(self) -> dict[str, str | int | float] | None:
        return None if self.data is None else dict(self.data)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"content": self.content}
        if self.priority is not None:
            out["priority"] = self.priority
        if self.data is not None:
            out["data"] = dict(self.data)
        return out

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> RecordValue:
        data = obj.get("data")
        return cls(
            content=str(obj["content"]),
            priority=None if obj.get("priority") is None else int(obj["priority"]),
            data=None if data is None else tuple(sorted(data.items())),
        )


@dataclass(frozen=True, slots=True)
class EventRef:
    """Where a change came from: carried into every log line and outcome about it."""

    message_id: str
    sent_timestamp: int  # SQS SentTimestamp, epoch milliseconds
    source: str | None = None
    event_id: str | None = None
    index: int = 0  # position inside a {"changes": [...]} envelope

    def to_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "sent_timestamp": self.sent_timestamp,
            "source": self.source,
            "event_id": self.event_id,
            "index": self.index,
        }

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> EventRef:
        return cls(
            message_id=str(obj["message_id"]),
            sent_timestamp=int(obj["sent_timestamp"]),
            source=obj.get("source"),
            event_id=obj.get("event_id"),
            index=int(obj.get("index", 0)),
        )


@dataclass(frozen=True, slots=True)
class Change:
    """The accepted desired state of one record set.

    For ``Action.DELETE`` ``values`` is empty and ttl/proxied/comment/tags are ignored.
    """

    key: RecordSetKey
    action: Action
    values: tuple[RecordValue, ...]
    version: int
    ref: EventRef
    ttl: int = 1
    proxied: bool = False
    comment: str | None = None
    tags: tuple[str, ...] = ()
    allow_mass_change: bool = False  # the producer says a mass change is intended (guard.py)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "key": self.key.to_dict(),
            "action": self.action.value,
            "values": [v.to_dict() for v in self.values],
            "version": self.version,
            "ref": self.ref.to_dict(),
            "ttl": self.ttl,
            "proxied": self.proxied,
            "comment": self.comment,
            "tags": list(self.tags),
        }
        if self.allow_mass_change:  # only when set: every message that carried no flag stays byte-identical
            out["allow_mass_change"] = True
        return out

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Change:
        return cls(
            key=RecordSetKey.from_dict(obj["key"]),
            action=Action(obj["action"]),
            values=tuple(RecordValue.from_dict(v) for v in obj["values"]),
            version=int(obj["version"]),
            ref=EventRef.from_dict(obj["ref"]),
            ttl=int(obj.get("ttl", 1)),
            proxied=bool(obj.get("proxied", False)),
            comment=obj.get("comment"),
            tags=tuple(obj.get("tags", ())),
            allow_mass_change=bool(obj.get("allow_mass_change", False)),
        )


@dataclass(frozen=True, slots=True)
class Rejection:
    """An event (or one change of an envelope) that can never succeed as sent, and why.

    ``reason`` is written for a person: which field, what was wrong, what is allowed.
    """

    ref: EventRef
    reason: str
    field: str | None = None
    key: RecordSetKey | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref.to_dict(),
            "reason": self.reason,
            "field": self.field,
            "key": None if self.key is None else self.key.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class Operation:
    """One item of a batch request.

    ``body`` is exactly the JSON object that goes into the batch list named by ``kind.batch_key``:
    ``{"id"}`` for a delete, ``{"id", changed fields...}`` for a patch, a full record (with ``id``)
    for a put, a create body (no ``id``) for a post.
    """

    kind: OpKind
    key: RecordSetKey
    body: Mapping[str, Any]
    record_id: str | None = None


@dataclass(frozen=True, slots=True)
class Chunk:
    """Operations sent together in one ``POST /zones/{id}/dns_records/batch``."""

    index: int
    operations: tuple[Operation, ...]
    record_sets: tuple[RecordSetKey, ...] = field(default=())

    def batch_body(self) -> dict[str, list[dict[str, Any]]]:
        """The request body; every list is present (empty lists included), each in operation order."""
        body: dict[str, list[dict[str, Any]]] = {kind.batch_key: [] for kind in OpKind}
        for op in self.operations:
            body[op.kind.batch_key].append(dict(op.body))
        return body
