"""plan_zone(): one rule per test (issue text and docs/ownership.md)."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from dnsbatch import ownership
from dnsbatch.cloudflare.types import Record
from dnsbatch.model import Action, Change, EventRef, OpKind, RecordSetKey
from dnsbatch.plan import PlanPolicy, ZonePlan, plan_zone
from dnsbatch.rdata import parse_value

ZONE = "example.com"
OWNER = "team-a"
MINE = ownership.with_marker(None, OWNER)
FREE = PlanPolicy(owner_id=OWNER)
PAID = PlanPolicy(owner_id=OWNER, paid=True)


def fqdn(label: str) -> str:
    return ZONE if label == "@" else f"{label}.{ZONE}"


def upsert(label: str, type_: str, *values: str, **attrs: object) -> Change:
    name = fqdn(label)
    return Change(
        key=RecordSetKey(ZONE, name, type_),
        action=Action.UPSERT,
        values=tuple(parse_value(type_, v, name=name) for v in values),
        version=1,
        ref=EventRef("m", 0),
        **attrs,  # type: ignore[arg-type]
    )


def delete(label: str, type_: str) -> Change:
    return Change(
        key=RecordSetKey(ZONE, fqdn(label), type_),
        action=Action.DELETE,
        values=(),
        version=1,
        ref=EventRef("m", 0),
    )


def record(rid: str, label: str, type_: str, content: str, **attrs: object) -> Record:
    attrs.setdefault("comment", MINE)
    return Record(id=rid, name=fqdn(label), type=type_, content=content, **attrs)  # type: ignore[arg-type]


def kinds(plan: ZonePlan) -> list[tuple[OpKind, str | None]]:
    return [(op.kind, op.record_id) for op in plan.operations]


def outcome_of(plan: ZonePlan, change: Change) -> str:
    found = [
        label
        for label, group in (("planned", plan.planned), ("unchanged", plan.unchanged))
        if change in group
    ] + ["rejected" for c, _ in plan.rejected if c == change]
    assert len(found) == 1, found
    return found[0]


def reason(plan: ZonePlan, change: Change) -> str:
    return next(r for c, r in plan.rejected if c == change)


def plan(changes: Sequence[Change], current: Sequence[Record], policy: PlanPolicy = FREE) -> ZonePlan:
    return plan_zone(changes, current, policy)


# --- diffing a set -----------------------------------------------------------------------------------


def test_a_set_already_as_desired_is_unchanged_and_costs_no_operation() -> None:
    change = upsert("www", "A", "192.0.2.1", "192.0.2.2", ttl=300)
    current = [record("r1", "www", "A", "192.0.2.2", ttl=300), record("r2", "www", "A", "192.0.2.1", ttl=300)]
    result = plan([change], current)
    assert result.operations == ()
    assert result.unchanged == (change,)


def test_a_ttl_only_difference_is_a_patch_of_ttl_alone_on_the_same_id() -> None:
    result = plan(
        [upsert("www", "A", "192.0.2.1", ttl=600)], [record("r1", "www", "A", "192.0.2.1", ttl=300)]
    )
    assert [dict(op.body) for op in result.operations] == [{"id": "r1", "ttl": 600}]
    assert result.operations[0].kind is OpKind.PATCH


def test_proxied_records_read_back_with_ttl_1_do_not_flap_against_a_desired_ttl() -> None:
    change = upsert("www", "A", "192.0.2.1", ttl=300, proxied=True)
    result = plan([change], [record("r1", "www", "A", "192.0.2.1", ttl=1, proxied=True)])
    assert result.unchanged == (change,)


def test_turning_proxying_on_patches_proxied_and_forces_ttl_1() -> None:
    change = upsert("www", "A", "192.0.2.1", ttl=300, proxied=True)
    result = plan([change], [record("r1", "www", "A", "192.0.2.1", ttl=300)])
    assert [dict(op.body) for op in result.operations] == [{"id": "r1", "ttl": 1, "proxied": True}]


def test_a_content_change_reuses_the_outgoing_record_id_instead_of_delete_and_post() -> None:
    result = plan([upsert("www", "A", "192.0.2.9")], [record("r1", "www", "A", "192.0.2.1")])
    assert [(op.kind, dict(op.body)) for op in result.operations] == [
        (OpKind.PATCH, {"id": "r1", "content": "192.0.2.9"})
    ]


def test_surplus_records_are_deleted_and_missing_values_posted() -> None:
    shrink = upsert("a", "A", "192.0.2.1")
    grow = upsert("b", "A", "192.0.2.1", "192.0.2.2", "192.0.2.3")
    current = [
        record("r1", "a", "A", "192.0.2.1"),
        record("r2", "a", "A", "192.0.2.2"),
        record("r3", "b", "A", "192.0.2.3"),
    ]
    result = plan([grow, shrink], current)
    assert kinds(result) == [(OpKind.DELETE, "r2"), (OpKind.POST, None), (OpKind.POST, None)]
    assert [op.body["content"] for op in result.operations[1:]] == ["192.0.2.1", "192.0.2.2"]
    assert result.planned == (shrink, grow)


def test_a_post_body_carries_the_full_record_with_our_marker_and_no_tags_on_free() -> None:
    result = plan([upsert("www", "A", "192.0.2.1", ttl=300, comment="web")], [])
    assert dict(result.operations[0].body) == {
        "type": "A",
        "name": "www.example.com",
        "ttl": 300,
        "proxied": False,
        "comment": "web [dnsbatch:team-a]",
        "content": "192.0.2.1",
    }


def test_a_post_body_carries_sorted_tags_on_a_paid_zone() -> None:
    result = plan([upsert("www", "A", "192.0.2.1", tags=("b:2", "a:1"))], [], PAID)
    assert result.operations[0].body["tags"] == ["a:1", "b:2"]


def test_tags_are_compared_as_a_set_on_a_paid_zone() -> None:
    change = upsert("www", "A", "192.0.2.1", tags=("b:2", "a:1"))
    result = plan([change], [record("r1", "www", "A", "192.0.2.1", tags=("a:1", "b:2"))], PAID)
    assert result.unchanged == (change,)
    result = plan([change], [record("r1", "www", "A", "192.0.2.1", tags=("a:1",))], PAID)
    assert [dict(op.body) for op in result.operations] == [{"id": "r1", "tags": ["a:1", "b:2"]}]


def test_mx_priority_change_patches_only_priority() -> None:
    change = upsert("@", "MX", "20 mail.example.com")
    result = plan([change], [record("r1", "@", "MX", "mail.example.com", priority=10)])
    assert [dict(op.body) for op in result.operations] == [{"id": "r1", "priority": 20}]


def test_txt_values_match_whatever_quoting_cloudflare_echoes() -> None:
    change = upsert("_v", "TXT", "hello world")
    assert plan([change], [record("r1", "_v", "TXT", '"hello world"')]).unchanged == (change,)


def test_a_delete_removes_every_record_of_the_set_and_nothing_else() -> None:
    current = [
        record("r2", "www", "A", "192.0.2.2"),
        record("r1", "www", "A", "192.0.2.1"),
        record("r3", "www", "TXT", '"keep"'),
    ]
    result = plan([delete("www", "A")], current)
    assert kinds(result) == [(OpKind.DELETE, "r1"), (OpKind.DELETE, "r2")]
    assert [dict(op.body) for op in result.operations] == [{"id": "r1"}, {"id": "r2"}]


def test_deleting_a_set_that_does_not_exist_is_unchanged() -> None:
    change = delete("gone", "A")
    assert plan([change], []).unchanged == (change,)


# --- ownership ---------------------------------------------------------------------------------------


def test_a_set_with_records_lacking_our_marker_is_rejected_untouched() -> None:
    change = upsert("www", "A", "192.0.2.9")
    result = plan([change], [record("r1", "www", "A", "192.0.2.1", comment="hand made")])
    assert result.operations == ()
    assert "not owned by 'team-a'" in reason(result, change)
    assert "no dnsbatch owner marker" in reason(result, change)


def test_a_delete_of_another_owners_set_is_rejected() -> None:
    change = delete("www", "A")
    theirs = ownership.with_marker(None, "team-b")
    result = plan([change], [record("r1", "www", "A", "192.0.2.1", comment=theirs)])
    assert result.operations == ()
    assert "owner 'team-b'" in reason(result, change)


def test_a_partly_foreign_set_is_rejected_as_a_whole() -> None:
    change = upsert("www", "A", "192.0.2.1")
    current = [record("r1", "www", "A", "192.0.2.1"), record("r2", "www", "A", "192.0.2.2", comment=None)]
    assert outcome_of(plan([change], current), change) == "rejected"


def test_adoption_takes_over_foreign_records_and_marks_them_ours() -> None:
    change = upsert("www", "A", "192.0.2.1", comment="web")
    adopt = PlanPolicy(owner_id=OWNER, adopt=True)
    result = plan([change], [record("r1", "www", "A", "192.0.2.1", comment="web")], adopt)
    assert [dict(op.body) for op in result.operations] == [{"id": "r1", "comment": "web [dnsbatch:team-a]"}]


def test_a_set_with_no_current_records_is_free_to_create_even_beside_foreign_sets() -> None:
    change = upsert("www", "TXT", "v=1")
    result = plan([change], [record("r1", "www", "A", "192.0.2.1", comment=None)])
    assert result.planned == (change,)


def test_the_owner_marker_round_trips_with_and_without_a_user_comment() -> None:
    for user in (None, "web", "note [dnsbatch:team-b]", "a [b] c"):
        comment = ownership.with_marker(user, OWNER)
        assert ownership.owner_of(comment) == OWNER
        assert ownership.user_comment(comment) == user


def test_only_a_whole_trailing_marker_names_an_owner() -> None:
    assert ownership.owner_of("[dnsbatch:team-a] then text") is None
    assert ownership.owner_of("x[dnsbatch:team-a]") is None
    assert ownership.owner_of(None) is None
    assert ownership.owner_of("[dnsbatch:team-a]  ") == OWNER
    assert ownership.user_comment("plain") == "plain"


# --- plan limits -------------------------------------------------------------------------------------


def test_tags_on_a_free_zone_are_rejected_before_cloudflare_answers_9300() -> None:
    change = upsert("www", "A", "192.0.2.1", tags=("team:a",))
    result = plan([change], [])
    assert "9300" in reason(result, change)
    assert result.operations == ()


def test_a_comment_that_fits_only_without_the_marker_is_rejected_with_the_room_left() -> None:
    room = 100 - len(" [dnsbatch:team-a]")
    fits = upsert("a", "A", "192.0.2.1", comment="x" * room)
    too_long = upsert("b", "A", "192.0.2.1", comment="x" * (room + 1))
    result = plan([fits, too_long], [])
    assert result.planned == (fits,)
    assert len(result.operations[0].body["comment"]) == 100
    assert f"at most {room}" in reason(result, too_long)


def test_a_paid_zone_allows_500_character_comments() -> None:
    change = upsert("a", "A", "192.0.2.1", comment="x" * 400)
    assert plan([change], [], PAID).planned == (change,)


def test_proxying_a_type_cloudflare_cannot_proxy_is_rejected() -> None:
    change = upsert("a", "TXT", "v", proxied=True)
    assert "9004" in reason(plan([change], []), change)


def test_a_value_listed_twice_is_rejected_as_a_duplicate() -> None:
    change = upsert("a", "A", "192.0.2.1", "192.0.2.1")
    assert "listed twice" in reason(plan([change], []), change)


# --- same-name conflicts, judged after the window ----------------------------------------------------


def test_a_cname_and_an_a_created_on_one_name_in_one_window_are_both_rejected() -> None:
    cname, a = upsert("www", "CNAME", "lb.example.net"), upsert("www", "A", "192.0.2.1")
    result = plan([cname, a], [])
    assert {c for c, _ in result.rejected} == {cname, a}
    assert "81053" in reason(result, cname)


def test_a_cname_replacing_an_a_deleted_in_the_same_window_is_planned() -> None:
    cname, gone = upsert("www", "CNAME", "lb.example.net"), delete("www", "A")
    result = plan([cname, gone], [record("r1", "www", "A", "192.0.2.1")])
    assert result.planned == (gone, cname)
    assert kinds(result) == [(OpKind.DELETE, "r1"), (OpKind.POST, None)]


def test_a_cname_onto_a_name_that_keeps_its_a_records_is_rejected() -> None:
    cname = upsert("www", "CNAME", "lb.example.net")
    result = plan([cname], [record("r1", "www", "A", "192.0.2.1", comment=None)])
    assert "after this window www.example.com would hold A, CNAME" in reason(result, cname)


def test_an_a_onto_a_cname_name_is_rejected_and_unrelated_names_still_plan() -> None:
    a, other = upsert("www", "A", "192.0.2.1"), upsert("api", "A", "192.0.2.2")
    result = plan([a, other], [record("r1", "www", "CNAME", "lb.example.net")])
    assert outcome_of(result, a) == "rejected"
    assert result.planned == (other,)


def test_a_rejected_delete_keeps_its_records_in_the_conflict_check() -> None:
    # The A set is not ours, so its delete is refused; the CNAME would then sit beside it.
    cname, gone = upsert("www", "CNAME", "lb.example.net"), delete("www", "A")
    result = plan([cname, gone], [record("r1", "www", "A", "192.0.2.1", comment=None)])
    assert {c for c, _ in result.rejected} == {cname, gone}
    assert result.operations == ()


def test_ns_cannot_share_a_name_but_the_apex_is_exempt() -> None:
    sub_ns, apex_mx = upsert("sub", "NS", "ns1.example.net"), upsert("@", "MX", "10 mail.example.com")
    current = [record("r1", "sub", "TXT", '"x"'), record("r2", "@", "NS", "ns1.example.net")]
    result = plan([sub_ns, apex_mx], current)
    assert "NS set cannot share" in reason(result, sub_ns)
    assert result.planned == (apex_mx,)


def test_ds_records_may_sit_beside_the_ns_set_of_a_delegation() -> None:
    ns = upsert("sub", "NS", "ns1.example.net")
    ds = record("r1", "sub", "DS", "", data={"key_tag": 1, "algorithm": 13, "digest_type": 2, "digest": "ab"})
    assert plan([ns], [ds]).planned == (ns,)


# --- the contract ------------------------------------------------------------------------------------


def test_every_change_has_exactly_one_outcome_in_a_deterministic_order() -> None:
    changes = [
        upsert("a", "A", "192.0.2.1"),
        upsert("b", "A", "192.0.2.1"),
        delete("c", "A"),
        upsert("d", "A", "192.0.2.1", tags=("x:y",)),
        upsert("e", "CNAME", "x.example.net"),
        upsert("e", "TXT", "t"),
    ]
    current = [record("r1", "a", "A", "192.0.2.1"), record("r2", "b", "A", "192.0.2.9")]
    first = plan(changes, current)
    for change in changes:
        outcome_of(first, change)
    shuffled = list(changes)
    random.Random(7).shuffle(shuffled)
    assert plan(shuffled, list(reversed(current))) == first


def test_two_changes_for_one_record_set_are_a_caller_error() -> None:
    with pytest.raises(ValueError, match="coalesce"):
        plan([upsert("a", "A", "192.0.2.1"), delete("a", "A")], [])


def test_an_owner_id_that_cannot_live_in_a_marker_is_refused() -> None:
    with pytest.raises(ValueError, match="owner id"):
        PlanPolicy(owner_id="bad owner]")
