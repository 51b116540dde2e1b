"""Zones the emulator serves, and the per-plan limits that drive its rules
(docs/architecture.md#per-type-and-zone-rules, docs/emulator.md)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

PLANS = ("free", "pro", "business", "enterprise")
FREE_LIMIT = 200
PAID_LIMIT = 3_500
# Zones created before 2024-09-01 kept the old Free quota.
LEGACY_FREE_RECORD_LIMIT = 1_000


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    """A zone to serve. ``zone_id`` defaults to a stable id derived from the name, so ids are the same
    on every run; ``record_limit`` defaults to the plan's quota."""

    name: str
    plan: str = "free"
    zone_id: str | None = None
    record_limit: int | None = None
    created_before_2024_09: bool = False

    def __post_init__(self) -> None:
        if self.plan not in PLANS:
            raise ValueError(f"unknown plan {self.plan!r}; expected one of {', '.join(PLANS)}")


@dataclass(frozen=True, slots=True)
class ZoneInfo:
    """A served zone with its limits resolved."""

    id: str
    name: str
    plan: str
    record_limit: int
    created_on: str

    @property
    def paid(self) -> bool:
        return self.plan != "free"

    @property
    def batch_limit(self) -> int:
        return PAID_LIMIT if self.paid else FREE_LIMIT

    @property
    def comment_limit(self) -> int:
        return 500 if self.paid else 100

    @property
    def tag_limit(self) -> int:
        return 20 if self.paid else 0

    @property
    def min_ttl(self) -> int:
        return 30 if self.plan == "enterprise" else 60

    def to_api(self) -> dict[str, Any]:
        """The zone object of ``GET /zones`` (the fields the spec marks required, plus plan/status)."""
        # md5 here makes ids, not security.
        account_id = hashlib.md5(b"emulator-account").hexdigest()
        return {
            "id": self.id,
            "name": self.name,
            "status": "active",
            "paused": False,
            "type": "full",
            "development_mode": 0,
            "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
            "original_name_servers": None,
            "original_registrar": None,
            "original_dnshost": None,
            "created_on": self.created_on,
            "modified_on": self.created_on,
            "activated_on": self.created_on,
            "meta": {"step": 2, "phishing_detected": False},
            "owner": {"id": None, "name": None, "type": "user"},
            "account": {"id": account_id, "name": "Emulator Account"},
            "permissions": ["#dns_records:edit", "#dns_records:read", "#zone:read"],
            "plan": {
                "id": hashlib.md5(self.plan.encode()).hexdigest(),
                "name": f"{self.plan.capitalize()} Website",
                "legacy_id": self.plan,
                "is_subscribed": True,
                "can_subscribe": False,
                "externally_managed": False,
            },
        }


def stable_zone_id(name: str) -> str:
    """A predictable 32-hex zone id for a zone name (md5 of the lowercase name)."""
    return hashlib.md5(name.lower().encode()).hexdigest()


def resolve(spec: ZoneSpec, created_on: str) -> ZoneInfo:
    """Resolve a spec's defaults (id, plan quota)."""
    if spec.record_limit is not None:
        limit = spec.record_limit
    elif spec.plan != "free":
        limit = PAID_LIMIT
    else:
        limit = LEGACY_FREE_RECORD_LIMIT if spec.created_before_2024_09 else FREE_LIMIT
    name = spec.name.lower().rstrip(".")
    return ZoneInfo(
        id=spec.zone_id or stable_zone_id(name),
        name=name,
        plan=spec.plan,
        record_limit=limit,
        created_on=created_on,
    )
