"""The mass-change guard (guard.py): pure arithmetic over a plan and the zone's current records."""

from __future__ import annotations

from dnsbatch import ownership
from dnsbatch.cloudflare.types import Record
from dnsbatch.guard import GuardPolicy, MassChange, check
from dnsbatch.model import Action, Change, EventRef, RecordSetKey, RecordValue
from dnsbatch.plan import PlanPolicy, plan_zone

ZONE = "example.com"
OWNER = "dnsbatch"


def record(i: int, *, owner: str | None = OWNER) -> Record:
    return Record(
        id=f"{i:032x}",
        name=f"h{i}.{ZONE}",
        type="A",
        content=f"192.0.2.{i}",
        ttl=1,
        proxied=False,
        comment=ownership.with_marker(None, owner) if owner else None,
    )


def delete(i: int, *, force: bool = False) -> Change:
    key = RecordSetKey(ZONE, f"h{i}.{ZONE}", "A")
    return Change(key, Action.DELETE, (), 2, EventRef(f"m{i}", 0), allow_mass_change=force)


def readdress(i: int) -> Change:
    key = RecordSetKey(ZONE, f"h{i}.{ZONE}", "A")
    return Change(key, Action.UPSERT, (RecordValue(f"198.51.100.{i}"),), 2, EventRef(f"m{i}", 0))


DEFAULT = GuardPolicy(threshold=0.3, min_records=10)


def guarded(changes: list[Change], current: list[Record], policy: GuardPolicy = DEFAULT) -> MassChange | None:
    plan = plan_zone(changes, current, PlanPolicy(owner_id=OWNER))
    exempt = {c.key for c in plan.planned if c.allow_mass_change}
    return check(plan.operations, current, OWNER, policy, exempt)


def test_deleting_more_than_the_threshold_of_owned_records_is_held_with_the_figures() -> None:
    current = [record(i) for i in range(20)]
    found = guarded([delete(i) for i in range(7)], current)  # 35% > 30%
    assert found is not None
    assert (found.owned, found.deleted, found.replaced) == (20, 7, 0)
    assert "delete 7 and replace 0 of the 20 records" in str(found) and "allow_mass_change" in str(found)


def test_up_to_the_threshold_passes() -> None:
    current = [record(i) for i in range(20)]
    assert guarded([delete(i) for i in range(6)], current) is None  # exactly 30%


def test_address_changes_count_as_replacements_but_ttl_changes_do_not() -> None:
    current = [record(i) for i in range(20)]
    found = guarded([readdress(i) for i in range(7)], current)
    assert found is not None and (found.deleted, found.replaced) == (0, 7)
    ttl_only = [
        Change(
            RecordSetKey(ZONE, f"h{i}.{ZONE}", "A"),
            Action.UPSERT,
            (RecordValue(f"192.0.2.{i}"),),
            2,
            EventRef(f"m{i}", 0),
            ttl=600,
        )
        for i in range(20)
    ]
    assert guarded(ttl_only, current) is None


def test_small_zones_and_records_of_others_do_not_count() -> None:
    assert guarded([delete(i) for i in range(9)], [record(i) for i in range(9)]) is None  # below 10 owned
    mixed = [record(i) for i in range(10)] + [record(i, owner=None) for i in range(10, 40)]
    # deleting records dnsbatch does not own is refused by the planner anyway; only owned ones count
    assert guarded([delete(i) for i in range(3)], mixed) is None


def test_changes_flagged_allow_mass_change_are_not_counted() -> None:
    current = [record(i) for i in range(20)]
    assert guarded([delete(i, force=True) for i in range(20)], current) is None
    found = guarded([delete(i, force=True) for i in range(10)] + [delete(i) for i in range(10, 17)], current)
    assert found is not None and found.deleted == 7


def test_a_threshold_of_one_never_holds() -> None:
    current = [record(i) for i in range(20)]
    assert guarded([delete(i) for i in range(20)], current, GuardPolicy(threshold=1.0)) is None
