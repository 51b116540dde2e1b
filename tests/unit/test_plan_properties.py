"""Properties of plan_zone + chunk_operations, checked by applying the chunks with Cloudflare's semantics.

GIVEN any small zone (CNAME or A/TXT/MX sets per name, ours or foreign) and any window of changes,
WHEN the plan's chunks are applied in order to the Cloudflare emulator's pure state engine
(devstack.emulator.state: validation, conflicts, deletes → patches → puts → posts, all or nothing),
THEN every batch is accepted, every planned or unchanged set is exactly as desired, every other record is
untouched, and planning the same changes again yields no operation.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from devstack.emulator.state import Emulator
from devstack.emulator.zones import ZoneSpec
from dnsbatch import ownership
from dnsbatch.chunk import chunk_operations
from dnsbatch.cloudflare.types import Record
from dnsbatch.model import Action, Change, EventRef, Operation, OpKind, RecordSetKey
from dnsbatch.plan import PlanPolicy, ZonePlan, plan_zone
from dnsbatch.rdata import parse_value, record_fields, value_from_record

ZONE = "example.com"
OWNER = "me"
NAMES = [f"{label}.{ZONE}" for label in ("a", "b", "c")]
VALUES = {
    # Global addresses: Cloudflare (and the emulator) refuse to proxy private or documentation ranges.
    "A": ["93.184.216.34", "93.184.216.35", "93.184.216.36"],
    "TXT": ['"one"', '"two"', '"three"'],
    # Hosts at several priorities: moving priorities between the hosts of a set must never make a patch
    # give one record a host another record of the set still holds (Cloudflare: 81058).
    "MX": [f"{p} mx{h}.example.net" for h in (1, 2, 3) for p in (10, 20, 30)],
    "CNAME": ["t1.example.net", "t2.example.net"],
}
COMMENTS = [ownership.with_marker(None, OWNER), ownership.with_marker("old", OWNER), None, "[dnsbatch:other]"]


def emulated_zone(bodies: Sequence[Mapping[str, Any]], paid: bool) -> tuple[Emulator, str]:
    """The emulator's pure state engine (no HTTP), seeded with ``bodies``; ids are deterministic."""
    ids = itertools.count(1)
    emulator = Emulator(
        [ZoneSpec(ZONE, plan="pro" if paid else "free")],
        now=lambda: "2026-01-01T00:00:00.000000Z",
        new_id=lambda: f"{next(ids):032x}",
    )
    zone_id = emulator.zone_by_name(ZONE).id
    for body in bodies:
        emulator.create_record(zone_id, body)
    return emulator, zone_id


def records_of(emulator: Emulator, zone_id: str) -> list[Record]:
    return [Record.from_api(r) for r in emulator.records(zone_id)]


def record_set_values(records: Sequence[Record]) -> Counter[Any]:
    return Counter(value_from_record(r) for r in records)


def host(text: str) -> str:
    # The emulator treats MX records with one host and different priorities as identical (81058),
    # so no generated set holds two of them; priority-only changes still happen between sets.
    return text.rsplit(maxsplit=1)[-1]


@st.composite
def zones(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Create bodies for a valid zone: per name nothing, one CNAME, or A/TXT/MX sets."""
    bodies: list[dict[str, Any]] = []
    for name in NAMES:
        shape = draw(st.sampled_from([(), ("CNAME",), ("A", "TXT", "MX")]))
        for type_ in shape:
            limit = 1 if type_ == "CNAME" else 3
            for text in draw(st.lists(st.sampled_from(VALUES[type_]), unique_by=host, max_size=limit)):
                proxied = type_ in ("A", "CNAME") and draw(st.booleans())
                body = {
                    "type": type_,
                    "name": name,
                    "ttl": draw(st.sampled_from([1, 300])),
                    "proxied": proxied,
                    "comment": draw(st.sampled_from(COMMENTS)),
                    **record_fields(type_, parse_value(type_, text, name=name)),
                }
                bodies.append(body)
    return bodies


@st.composite
def windows(draw: st.DrawFn) -> list[Change]:
    keys = draw(
        st.lists(
            st.tuples(st.sampled_from(NAMES), st.sampled_from(sorted(VALUES))),
            unique=True,
            min_size=1,
            max_size=8,
        )
    )
    changes = []
    for name, type_ in keys:
        key = RecordSetKey(ZONE, name, type_)
        ref = EventRef("m", 0)
        if draw(st.integers(0, 3)) == 0:
            changes.append(Change(key=key, action=Action.DELETE, values=(), version=1, ref=ref))
            continue
        texts = draw(
            st.lists(
                st.sampled_from(VALUES[type_]),
                unique_by=host,
                min_size=1,
                max_size=1 if type_ == "CNAME" else 3,
            )
        )
        changes.append(
            Change(
                key=key,
                action=Action.UPSERT,
                values=tuple(parse_value(type_, t, name=name) for t in texts),
                version=1,
                ref=ref,
                ttl=draw(st.sampled_from([1, 300, 600])),
                proxied=type_ in ("A", "CNAME") and draw(st.booleans()),
                comment=draw(st.sampled_from([None, "old", "new"])),
                tags=draw(st.sampled_from([(), ("team:a",), ("b:1", "a:2")])),
            )
        )
    return changes


def assert_as_desired(change: Change, records: Sequence[Record], policy: PlanPolicy) -> None:
    if change.action is Action.DELETE:
        assert records == []
        return
    assert record_set_values(records) == Counter(change.values)
    for r in records:
        assert r.ttl == (1 if change.proxied else change.ttl)
        assert r.proxied == change.proxied
        assert r.comment == ownership.with_marker(change.comment, OWNER)
        assert ownership.owner_of(r.comment) == OWNER
        if policy.paid:
            assert sorted(r.tags) == sorted(change.tags)


def of_set(records: Sequence[Record], key: RecordSetKey) -> list[Record]:
    return sorted((r for r in records if (r.name, r.type) == (key.name, key.type)), key=lambda r: r.id)


def check_outcomes(changes: Sequence[Change], plan: ZonePlan) -> None:
    outcomes = Counter(c.key for c in plan.planned + plan.unchanged) + Counter(
        c.key for c, _ in plan.rejected
    )
    assert outcomes == Counter(c.key for c in changes)
    assert all(reason for _, reason in plan.rejected)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bodies=zones(),
    changes=windows(),
    size=st.integers(1, 6),
    adopt=st.booleans(),
    paid=st.booleans(),
)
def test_applying_the_chunks_reaches_the_desired_state_and_replanning_is_a_no_op(
    bodies: list[dict[str, Any]], changes: list[Change], size: int, adopt: bool, paid: bool
) -> None:
    policy = PlanPolicy(owner_id=OWNER, adopt=adopt, paid=paid)
    emulator, zone_id = emulated_zone(bodies, paid)
    current = records_of(emulator, zone_id)
    plan = plan_zone(changes, current, policy)
    check_outcomes(changes, plan)
    chunks = chunk_operations(plan.operations, size)
    event(f"chunks: {min(len(chunks), 3)}+, rejected: {bool(plan.rejected)}, split: {len(chunks) > 1}")
    assert sum(len(c.operations) for c in chunks) == len(plan.operations)

    # No chunk too big; a name spans chunks only when it alone has more operations than fit in one.
    per_name = Counter(op.key.name for op in plan.operations)
    chunks_per_name = Counter(name for c in chunks for name in {op.key.name for op in c.operations})
    for chunk in chunks:
        assert 1 <= len(chunk.operations) <= size
        assert chunk.record_sets == tuple(sorted({op.key for op in chunk.operations}))
    for name, count in chunks_per_name.items():
        assert count == 1 or per_name[name] > size

    for chunk in chunks:
        emulator.batch(zone_id, chunk.batch_body())  # raises ApiError if Cloudflare would refuse it
    after = records_of(emulator, zone_id)

    changed = {c.key for c in plan.planned + plan.unchanged}
    for change in plan.planned + plan.unchanged:
        assert_as_desired(change, of_set(after, change.key), policy)
    for key in {RecordSetKey(ZONE, r.name, r.type) for r in current} - changed:
        assert of_set(after, key) == of_set(current, key), f"{key} was not ours to change"

    again = plan_zone(plan.planned + plan.unchanged, after, policy)
    assert again.operations == ()
    assert again.rejected == ()
    assert {c.key for c in again.unchanged} == changed


KINDS = list(OpKind)


@st.composite
def operation_lists(draw: st.DrawFn) -> list[Operation]:
    ops = []
    for i in range(draw(st.integers(0, 40))):
        kind = draw(st.sampled_from(KINDS))
        key = RecordSetKey(ZONE, draw(st.sampled_from(NAMES)), draw(st.sampled_from(["A", "TXT", "CNAME"])))
        rid = None if kind is OpKind.POST else f"{i:032x}"
        ops.append(Operation(kind=kind, key=key, body={"id": rid} if rid else {"n": i}, record_id=rid))
    return ops


@settings(max_examples=300, deadline=None)
@given(ops=operation_lists(), size=st.integers(1, 12))
def test_chunking_keeps_names_whole_within_size_and_deletes_before_posts(
    ops: list[Operation], size: int
) -> None:
    chunks = chunk_operations(ops, size)
    assert sorted(id(o) for c in chunks for o in c.operations) == sorted(id(o) for o in ops)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    per_name = Counter(op.key.name for op in ops)
    where: dict[str, dict[OpKind, list[int]]] = {}
    for chunk in chunks:
        assert 1 <= len(chunk.operations) <= size
        for op in chunk.operations:
            where.setdefault(op.key.name, {}).setdefault(op.kind, []).append(chunk.index)
    for name, kinds in where.items():
        spans = {i for indexes in kinds.values() for i in indexes}
        assert len(spans) == 1 or per_name[name] > size
        if kinds.get(OpKind.DELETE) and kinds.get(OpKind.POST):
            assert max(kinds[OpKind.DELETE]) <= min(kinds[OpKind.POST])
    # Input order does not matter (up to the order of posts within one set, which is kept as given).
    again = chunk_operations(list(reversed(ops)), size)
    assert [Counter(map(_shape, c.operations)) for c in again] == [
        Counter(map(_shape, c.operations)) for c in chunks
    ]


def _shape(op: Operation) -> tuple[OpKind, RecordSetKey, str | None]:
    return (op.kind, op.key, op.record_id)


def _mx_set(pairs: Sequence[tuple[int, str]]) -> tuple[Any, ...]:
    return tuple(parse_value("MX", f"{p} {h}", name=NAMES[0]) for p, h in pairs)


@pytest.mark.parametrize("priorities", list(itertools.permutations((10, 20, 30))))
@pytest.mark.parametrize("start", list(itertools.permutations((10, 20, 30))))
def test_moving_priorities_between_the_hosts_of_a_set_never_collides(
    start: tuple[int, ...], priorities: tuple[int, ...]
) -> None:
    # Cloudflare treats MX records with one host as duplicates whatever their priority, so the plan must
    # move each host's priority on its own record, never hand a host to another record first.
    hosts = ("a.example.net", "b.example.net", "c.example.net")
    marker = ownership.with_marker(None, OWNER)
    bodies = [
        {"type": "MX", "name": NAMES[0], "ttl": 1, "comment": marker, **record_fields("MX", v)}
        for v in _mx_set(list(zip(start, hosts, strict=True)))
    ]
    emulator, zone_id = emulated_zone(bodies, paid=False)
    key = RecordSetKey(ZONE, NAMES[0], "MX")
    change = Change(
        key=key,
        action=Action.UPSERT,
        values=_mx_set(sorted(zip(priorities, hosts, strict=True))),
        version=1,
        ref=EventRef("m", 0),
    )
    policy = PlanPolicy(owner_id=OWNER)
    plan = plan_zone([change], records_of(emulator, zone_id), policy)
    for chunk in chunk_operations(plan.operations, 200):
        emulator.batch(zone_id, chunk.batch_body())
    assert_as_desired(change, of_set(records_of(emulator, zone_id), key), policy)
    assert all(op.kind is OpKind.PATCH for op in plan.operations)
