"""Typed views of Cloudflare's zone and DNS record objects (docs/architecture.md#records-and-listing,
#zone-lookup)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dnsbatch.limits import PAID_PLANS, batch_limit


@dataclass(frozen=True, slots=True)
class Zone:
    id: str
    name: str
    plan: str  # plan.legacy_id: "free", "pro", "business" or "enterprise"
    status: str = "active"

    @property
    def paid(self) -> bool:
        return self.plan in PAID_PLANS

    @property
    def batch_limit(self) -> int:
        return batch_limit(self.plan)

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> Zone:
        plan = obj.get("plan") or {}
        return cls(
            id=str(obj["id"]),
            name=str(obj["name"]).lower(),
            plan=str(plan.get("legacy_id") or "free"),
            status=str(obj.get("status", "active")),
        )


@dataclass(frozen=True, slots=True)
class Record:
    """A DNS record as Cloudflare returns it. ``name`` is lowercased (Cloudflare compares names
    case-insensitively and returns punycode)."""

    id: str
    name: str
    type: str
    content: str
    ttl: int = 1
    proxied: bool = False
    proxiable: bool = False
    comment: str | None = None
    tags: tuple[str, ...] = ()
    priority: int | None = None
    data: Mapping[str, Any] | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)
    created_on: str = ""
    modified_on: str = ""

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> Record:
        priority = obj.get("priority")
        return cls(
            id=str(obj["id"]),
            name=str(obj["name"]).lower(),
            type=str(obj["type"]),
            content=str(obj.get("content", "")),
            ttl=int(obj.get("ttl", 1)),
            proxied=bool(obj.get("proxied", False)),
            proxiable=bool(obj.get("proxiable", False)),
            comment=obj.get("comment"),
            tags=tuple(obj.get("tags") or ()),
            priority=None if priority is None else int(priority),
            data=obj.get("data"),
            settings=obj.get("settings") or {},
            meta=obj.get("meta") or {},
            created_on=str(obj.get("created_on", "")),
            modified_on=str(obj.get("modified_on", "")),
        )


@dataclass(frozen=True, slots=True)
class BatchResult:
    deletes: tuple[Record, ...] = ()
    patches: tuple[Record, ...] = ()
    puts: tuple[Record, ...] = ()
    posts: tuple[Record, ...] = ()

    @classmethod
    def from_api(cls, obj: Mapping[str, Any] | None) -> BatchResult:
        obj = obj or {}
        return cls(
            **{
                k: tuple(Record.from_api(r) for r in obj.get(k) or ())
                for k in ("deletes", "patches", "puts", "posts")
            }
        )
