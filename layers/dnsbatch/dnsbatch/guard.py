"""The mass-change guard: hold a window that would delete or replace too much of a zone at once.

A producer bug (an empty inventory, a wrong zone, a truncated export) looks exactly like a legitimate
mass delete. octoDNS refuses such plans unless forced; external-dns has no such check. dnsbatch holds the
change set when, in one zone and one window, the plan would delete or replace more than ``threshold`` of
the records dnsbatch owns there, and only when it owns at least ``min_records`` (small zones change wholesale
legitimately). Held changes end with the outcome *held* and go to RejectedQueue with the figures; an
operator who means it re-publishes them with ``"allow_mass_change": true``, whose changes the guard does not
count. Pure arithmetic over the plan, like octoDNS's ``Plan.raise_if_unsafe``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from dnsbatch import ownership
from dnsbatch.cloudflare.types import Record
from dnsbatch.model import Operation, OpKind, RecordSetKey

# Keys of a patch body that change what a record serves (the rest: ttl, proxied, comment, tags).
_CONTENT_FIELDS = frozenset({"content", "data", "priority", "type", "name"})


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    threshold: float = 0.3
    min_records: int = 50


@dataclass(frozen=True, slots=True)
class MassChange:
    """Why a plan was held: ``deleted + replaced`` of the ``owned`` records, a share over ``threshold``."""

    owned: int
    deleted: int
    replaced: int
    threshold: float

    @property
    def share(self) -> float:
        return (self.deleted + self.replaced) / self.owned

    def __str__(self) -> str:
        return (
            f"mass-change guard: this window would delete {self.deleted} and replace {self.replaced} of the "
            f"{self.owned} records dnsbatch owns in the zone ({self.share:.0%}, more than the "
            f"{self.threshold:.0%} allowed); held. If this is intended, re-publish the changes with "
            '"allow_mass_change": true'
        )


def check(
    operations: Sequence[Operation],
    current: Sequence[Record],
    owner_id: str,
    policy: GuardPolicy,
    exempt: Collection[RecordSetKey] = (),
) -> MassChange | None:
    """The reason to hold ``operations`` (those of ``exempt`` record sets not counted), or None."""
    owned = {r.id for r in current if ownership.owner_of(r.comment) == owner_id}
    if len(owned) < max(policy.min_records, 1):
        return None
    deleted = replaced = 0
    for op in operations:
        if op.key in exempt or op.record_id not in owned:
            continue
        if op.kind is OpKind.DELETE:
            deleted += 1
        elif op.kind is OpKind.PUT or _CONTENT_FIELDS.intersection(op.body):
            replaced += 1
    found = MassChange(len(owned), deleted, replaced, policy.threshold)
    return found if found.share > policy.threshold else None
