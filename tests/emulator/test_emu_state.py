"""Cloudflare's record and batch rules on the pure state (no HTTP)."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.emulator import ApiError, Emulator, ZoneSpec


def zone(state: Emulator, name: str = "example.com") -> str:
    return state.zone_by_name(name).id


def code_of(fn: Any, *args: Any) -> tuple[int, int]:
    with pytest.raises(ApiError) as info:
        fn(*args)
    return info.value.status, info.value.code


def a(name: str, ip: str, **kw: Any) -> dict[str, Any]:
    return {"type": "A", "name": name, "content": ip, **kw}


def test_batch_runs_deletes_then_patches_then_puts_then_posts_whatever_the_key_order(state: Emulator) -> None:
    z = zone(state)
    old = state.create_record(z, {"type": "CNAME", "name": "www", "content": "a.example.net"})
    keep = state.create_record(z, a("api", "192.0.2.1"))
    body = {
        "posts": [a("www", "192.0.2.9")],  # only legal once the CNAME is gone
        "puts": [{"id": keep["id"], **a("api", "192.0.2.3")}],
        "patches": [{"id": keep["id"], "content": "192.0.2.2"}],
        "deletes": [{"id": old["id"]}],
    }
    result = state.batch(z, body)
    assert [r["content"] for r in result["patches"]] == ["192.0.2.2"]
    assert [r["content"] for r in result["puts"]] == ["192.0.2.3"]  # put ran after the patch
    assert result["deletes"][0]["id"] == old["id"]
    assert sorted((r["name"], r["type"]) for r in state.records(z)) == [
        ("api.example.com", "A"),
        ("www.example.com", "A"),
    ]


def test_batch_is_all_or_nothing_and_returns_the_first_error(state: Emulator) -> None:
    z = zone(state)
    rec = state.create_record(z, a("www", "192.0.2.1"))
    before = state.records(z)
    body = {
        "deletes": [{"id": rec["id"]}],
        "posts": [a("ok", "192.0.2.5"), a("bad", "1.1"), {"type": "AAAA", "name": "x", "content": "nope"}],
    }
    assert code_of(state.batch, z, body) == (400, 9005)  # the A error comes first, not the AAAA one
    assert state.records(z) == before


def test_batch_steps_see_the_state_left_by_earlier_steps(state: Emulator) -> None:
    z = zone(state)
    rec = state.create_record(z, a("www", "192.0.2.1"))
    # Deleting then patching the same record: the patch no longer finds it.
    assert code_of(
        state.batch, z, {"deletes": [{"id": rec["id"]}], "patches": [{"id": rec["id"], "ttl": 120}]}
    ) == (
        404,
        81044,
    )
    # Two posts of the same record in one batch: the second is a duplicate of the first.
    assert code_of(state.batch, z, {"posts": [a("dup", "192.0.2.7"), a("dup", "192.0.2.7")]}) == (400, 81058)


def test_batch_size_is_limited_by_plan(state: Emulator) -> None:
    free, pro = zone(state), zone(state, "shop.example")
    too_many = {"deletes": [{"id": "0" * 32}] * 201}
    assert code_of(state.batch, free, too_many)[1] == 9302
    assert code_of(state.batch, pro, {"deletes": [{"id": "0" * 32}] * 3501})[1] == 9302
    assert code_of(state.batch, pro, too_many) == (404, 81044)  # within the paid limit: the ids are checked


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (a("x", "1.1"), 9005),
        (a("x", "192.0.2.256"), 9005),
        (a("x", "2001:db8::1"), 9005),
        ({"type": "AAAA", "name": "x", "content": "192.0.2.1"}, 9006),
        ({"type": "CNAME", "name": "x", "content": "192.0.2.1"}, 9007),
        ({"type": "CNAME", "name": "x", "content": "x.example.com"}, 9007),
        ({"type": "TXT", "name": "x", "content": '"unbalanced'}, 9008),
        ({"type": "TXT", "name": "x", "content": '"' + "a" * 256 + '"'}, 9008),
        ({"type": "MX", "name": "x", "content": "mx.example.com"}, 9009),
        ({"type": "MX", "name": "x", "content": "mx.example.com", "priority": 70000}, 9009),
        (
            {
                "type": "SRV",
                "name": "sip",
                "data": {"priority": 1, "weight": 1, "port": 5060, "target": "t.example"},
            },
            9000,
        ),
        (
            {
                "type": "SRV",
                "name": "_sip._tcp",
                "data": {"priority": 1, "weight": 1, "port": 70000, "target": "t"},
            },
            9010,
        ),
        ({"type": "CAA", "name": "x", "data": {"flags": 0, "tag": "bogus", "value": "ca.example"}}, 9010),
        ({"type": "NS", "name": "x", "content": "not a host"}, 9008),
        ({"type": "PTR", "name": "x", "content": ""}, 9008),
        ({"type": "SPF", "name": "x", "content": "v=spf1"}, 9011),
        (a("x", "192.0.2.1", ttl=59), 9021),
        (a("x", "192.0.2.1", ttl=86401), 9021),
        (a("x", "192.0.2.1", ttl=True), 9021),
        ({"type": "TXT", "name": "x", "content": "t", "proxied": True}, 9004),
        (a("x", "192.0.2.1", proxied="yes"), 9003),
        (a("x", "10.0.0.1", proxied=True), 9041),
        (a("x", "192.0.2.1", comment="c" * 101), 9101),
        (a("x", "192.0.2.1", comment="two\nlines"), 9101),
        (a("x", "192.0.2.1", tags=["team:dns"]), 9300),
        (a("bad name", "192.0.2.1"), 9000),
    ],
)
def test_invalid_records_are_rejected_with_cloudflare_codes(
    state: Emulator, body: dict[str, Any], code: int
) -> None:
    assert code_of(state.create_record, zone(state), body) == (400, code)


def test_contents_are_normalised_like_cloudflare(state: Emulator) -> None:
    z = zone(state)
    aaaa = state.create_record(z, {"type": "AAAA", "name": "@", "content": "2001:DB8:0:0:0:0:0:1"})
    txt = state.create_record(z, {"type": "TXT", "name": "T.Example.COM.", "content": "x" * 300})
    srv = state.create_record(
        z,
        {
            "type": "SRV",
            "name": "_sip._tcp",
            "data": {"priority": 10, "weight": 5, "port": 5060, "target": "s.example"},
        },
    )
    caa = state.create_record(
        z, {"type": "CAA", "name": "@", "data": {"flags": 0, "tag": "issue", "value": "ca.org"}}
    )
    mx = state.create_record(z, {"type": "MX", "name": "@", "content": "MX.Example.com.", "priority": 10})
    idn = state.create_record(z, a("bücher", "192.0.2.1"))
    assert (aaaa["name"], aaaa["content"]) == ("example.com", "2001:db8::1")
    assert txt["name"] == "t.example.com"
    assert txt["content"] == '"' + "x" * 255 + '" "' + "x" * 45 + '"'
    assert (srv["content"], srv["priority"], srv["data"]["port"]) == ("5 5060 s.example", 10, 5060)
    assert caa["content"] == '0 issue "ca.org"'
    assert (mx["content"], mx["priority"]) == ("mx.example.com", 10)
    assert idn["name"] == "xn--bcher-kva.example.com"


def test_proxied_records_are_stored_with_automatic_ttl(state: Emulator) -> None:
    rec = state.create_record(zone(state), a("p", "192.0.2.1", proxied=True, ttl=300))
    assert (rec["proxied"], rec["proxiable"], rec["ttl"]) == (True, True, 1)


def test_enterprise_zones_accept_a_ttl_of_30(state: Emulator) -> None:
    assert state.create_record(zone(state, "ent.example"), a("x", "192.0.2.1", ttl=30))["ttl"] == 30
    assert code_of(state.create_record, zone(state, "shop.example"), a("x", "192.0.2.1", ttl=30))[1] == 9021


def test_cname_excludes_address_records_and_other_cnames(state: Emulator) -> None:
    z = zone(state)
    state.create_record(z, a("www", "192.0.2.1"))
    assert (
        code_of(state.create_record, z, {"type": "CNAME", "name": "www", "content": "t.example"})[1] == 81053
    )
    state.create_record(z, {"type": "CNAME", "name": "c", "content": "t.example"})
    assert code_of(state.create_record, z, {"type": "CNAME", "name": "c", "content": "u.example"})[1] == 81053
    assert code_of(state.create_record, z, a("c", "192.0.2.1"))[1] == 81054
    assert code_of(state.create_record, z, {"type": "TXT", "name": "c", "content": "v"})[1] == 81054


def test_txt_beside_a_cname_is_allowed_when_configured() -> None:
    state = Emulator([ZoneSpec("example.com")], cname_exclusive=False)
    z = zone(state)
    state.create_record(z, {"type": "CNAME", "name": "c", "content": "t.example"})
    assert state.create_record(z, {"type": "TXT", "name": "c", "content": "v"})["content"] == '"v"'


def test_ns_cannot_share_a_name_with_other_types(state: Emulator) -> None:
    z = zone(state)
    state.create_record(z, {"type": "NS", "name": "sub", "content": "ns1.example.net"})
    state.create_record(z, {"type": "NS", "name": "sub", "content": "ns2.example.net"})
    assert code_of(state.create_record, z, a("sub", "192.0.2.1"))[1] == 81056
    state.create_record(z, a("host", "192.0.2.1"))
    assert (
        code_of(state.create_record, z, {"type": "NS", "name": "host", "content": "ns1.example.net"})[1]
        == 81056
    )


def test_identical_record_is_rejected_but_round_robin_is_fine(state: Emulator) -> None:
    z = zone(state)
    state.create_record(z, a("rr", "192.0.2.1"))
    state.create_record(z, a("rr", "192.0.2.2"))
    assert code_of(state.create_record, z, a("RR.example.com", "192.0.2.1")) == (400, 81058)


def mx(host: str, priority: int) -> dict[str, Any]:
    return {"type": "MX", "name": "@", "content": host, "priority": priority}


def srv(priority: int, weight: int = 5) -> dict[str, Any]:
    data = {"priority": priority, "weight": weight, "port": 5060, "target": "sip.example.com"}
    return {"type": "SRV", "name": "_sip._tcp", "data": data}


def uri(priority: int, target: str = "https://example.com/") -> dict[str, Any]:
    return {"type": "URI", "name": "u", "priority": priority, "data": {"weight": 1, "target": target}}


def caa(value: str) -> dict[str, Any]:
    return {"type": "CAA", "name": "@", "data": {"flags": 0, "tag": "issue", "value": value}}


# Undocumented at Cloudflare; the emulator deliberately takes the strictest reading (see rules.py), and
# dnsbatch.rdata.parse_values refuses the same sets at ingest.
@pytest.mark.parametrize(
    ("first", "second"),
    [
        (mx("mx1.example.com", 10), mx("MX1.example.com.", 20)),
        (srv(10), srv(20)),
        (uri(10), uri(20)),
        (uri(10, "https://example.com/a"), uri(10, "https://example.com/A")),
        (caa("ca.example"), caa("CA.Example")),
    ],
)
def test_records_differing_only_in_priority_or_letter_case_are_identical_81058(
    state: Emulator, first: dict[str, Any], second: dict[str, Any]
) -> None:
    z = zone(state)
    state.create_record(z, first)
    assert code_of(state.create_record, z, second) == (400, 81058)


def test_one_mx_host_at_two_priorities_in_one_batch_fails_it_with_81058(state: Emulator) -> None:
    z = zone(state)
    posts = [mx("mx1.example.com", 10), mx("mx1.example.com", 20)]
    assert code_of(state.batch, z, {"posts": posts}) == (400, 81058)
    assert state.records(z) == []


def test_records_differing_in_more_than_priority_or_case_coexist(state: Emulator) -> None:
    z = zone(state)
    for body in (mx("mx1.example.com", 10), mx("mx2.example.com", 10), srv(10), srv(10, weight=6)):
        state.create_record(z, body)
    assert len(state.records(z)) == 4


def test_unknown_record_id_is_a_404_81044(state: Emulator) -> None:
    z = zone(state)
    assert code_of(state.get_record, z, "f" * 32) == (404, 81044)
    assert code_of(state.patch_record, z, "f" * 32, {"ttl": 120}) == (404, 81044)
    assert code_of(state.delete_record, z, "f" * 32) == (404, 81044)


def test_record_quota_per_zone_by_plan() -> None:
    state = Emulator([ZoneSpec("example.com"), ZoneSpec("old.example", created_before_2024_09=True)])
    z = zone(state)
    state.batch(z, {"posts": [a(f"h{i}", "192.0.2.1") for i in range(200)]})
    assert code_of(state.create_record, z, a("one-more", "192.0.2.1")) == (400, 81045)
    assert state.zone_by_name("old.example").record_limit == 1000
    assert Emulator([ZoneSpec("p.example", plan="pro")]).zone_by_name("p.example").record_limit == 3500


def test_a_tag_name_ending_in_a_newline_is_refused(state: Emulator) -> None:
    # `$` in a regular expression also matches before a final newline; the name must match whole.
    body = a("t", "192.0.2.1", tags=["team\n:dns"])
    assert code_of(state.create_record, zone(state, "shop.example"), body) == (400, 9301)


def test_paid_plans_allow_tags_and_long_comments(state: Emulator) -> None:
    z = zone(state, "shop.example")
    rec = state.create_record(z, a("x", "192.0.2.1", comment="c" * 500, tags=["owner:dnsbatch"]))
    assert rec["tags"] == ["owner:dnsbatch"] and "tags_modified_on" in rec and "comment_modified_on" in rec
    assert (
        code_of(state.create_record, z, a("y", "192.0.2.1", tags=[f"t{i}:v" for i in range(21)]))[1] == 9300
    )
    assert code_of(state.create_record, z, a("y", "192.0.2.1", tags=["no-colon"]))[1] == 9301
    assert code_of(state.create_record, z, a("y", "192.0.2.1", comment="c" * 501))[1] == 9101
    plain = state.create_record(z, a("z", "192.0.2.1"))
    assert "comment_modified_on" not in plain and "tags_modified_on" not in plain


def test_patch_keeps_omitted_fields_and_put_resets_them(state: Emulator) -> None:
    z = zone(state, "shop.example")
    rec = state.create_record(z, a("x", "192.0.2.1", ttl=300, comment="keep", tags=["a:b"]))
    patched = state.patch_record(z, rec["id"], {"content": "192.0.2.2"})
    assert (patched["ttl"], patched["comment"], patched["tags"]) == (300, "keep", ["a:b"])
    put = state.put_record(z, rec["id"], a("x", "192.0.2.3"))
    assert (put["ttl"], put["comment"], put["tags"], put["proxied"]) == (1, None, [], False)
    assert put["created_on"] == rec["created_on"]
