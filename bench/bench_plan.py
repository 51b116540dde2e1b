"""Planning + chunking time for a large zone, beside a reference measured in the same run.

The zone holds N A records (one per name, all ours); the window changes N/10 record sets: a quarter get a
new address (a content patch), a quarter a new TTL (an attribute patch), a quarter are new names (posts)
and a quarter are deleted. The reference is the least any planner must do: index the zone's records by
(name, type) in a dict. Best of 3; no assertions (speed is reported, not tested).
"""

from __future__ import annotations

from collections import defaultdict

from bench.timing import best_of
from dnsbatch import ownership
from dnsbatch.chunk import chunk_operations
from dnsbatch.cloudflare.types import Record
from dnsbatch.model import Action, Change, EventRef, RecordSetKey, RecordValue
from dnsbatch.plan import PlanPolicy, plan_zone

ZONE = "example.com"
POLICY = PlanPolicy(owner_id="bench")
CHUNK_SIZE = 200


def _address(i: int) -> str:
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def _zone(records: int) -> list[Record]:
    mine = ownership.with_marker(None, POLICY.owner_id)
    return [
        Record(id=f"{i:032x}", name=f"host{i}.{ZONE}", type="A", content=_address(i), ttl=300, comment=mine)
        for i in range(records)
    ]


def _changes(records: int, changed: int) -> list[Change]:
    ref = EventRef("bench", 0)
    out = []
    for j in range(changed):
        i = (j * 7919) % records  # spread over the zone
        kind = j % 4
        name = f"host{i}.{ZONE}" if kind != 2 else f"new{j}.{ZONE}"
        key = RecordSetKey(ZONE, name, "A")
        if kind == 3:
            out.append(Change(key=key, action=Action.DELETE, values=(), version=1, ref=ref))
            continue
        value = RecordValue(content=_address(i + 1 if kind == 0 else i))
        ttl = 600 if kind == 1 else 300
        out.append(Change(key=key, action=Action.UPSERT, values=(value,), version=1, ref=ref, ttl=ttl))
    return out


def run(quick: bool = False) -> list[str]:
    """Measure and return report lines (quick: 1,000 records / 100 changes; else 100,000 / 10,000)."""
    records, changed = (1_000, 100) if quick else (100_000, 10_000)
    current = _zone(records)
    changes = _changes(records, changed)

    def reference() -> object:
        index: dict[tuple[str, str], list[Record]] = defaultdict(list)
        for record in current:
            index[(record.name, record.type)].append(record)
        return index

    def plan_and_chunk() -> object:
        return chunk_operations(plan_zone(changes, current, POLICY).operations, CHUNK_SIZE)

    plan = plan_zone(changes, current, POLICY)
    chunks = chunk_operations(plan.operations, CHUNK_SIZE)
    ref_s = best_of(3, reference)
    plan_s = best_of(3, lambda: plan_zone(changes, current, POLICY))
    both_s = best_of(3, plan_and_chunk)
    return [
        f"plan: zone of {records:,} records, {changed:,} changed record sets -> "
        f"{len(plan.operations):,} operations, {len(chunks)} chunks of <= {CHUNK_SIZE} "
        f"({len(plan.planned):,} planned, {len(plan.unchanged):,} unchanged, "
        f"{len(plan.rejected):,} rejected)",
        f"plan: reference (dict index of {records:,} records by name,type): {ref_s * 1000:.1f} ms",
        f"plan: plan_zone: {plan_s * 1000:.1f} ms ({plan_s / ref_s:.1f}x reference)",
        f"plan: plan_zone + chunk_operations: {both_s * 1000:.1f} ms ({both_s / ref_s:.1f}x reference)",
    ]


if __name__ == "__main__":
    for line in run():
        print(line)
