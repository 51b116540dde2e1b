"""CERT, DNSKEY, LOC, NAPTR and OPENPGPKEY: the request shapes of openapi-dns.json, the content Cloudflare
formats, the codes for invalid data, and listing, over real sockets through the individual and batch
endpoints (docs/emulator.md says which parts are documented and which are guessed)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devstack.emulator import ApiError, Emulator, EmulatorServer

KEY = "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="
CERT_B64 = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo"
PGP = "mQINBFit2jsBEADrbl5vjVxYeAE0g0IDYCBpHirv1Sjlqxx5gjtPhb2YE8WlXYAqHeUHBSHY1kOx+6aO0d/pE3a7Qt1rhbs="
LOC_BOSTON = {
    "lat_degrees": 42,
    "lat_minutes": 21,
    "lat_seconds": 43.95,
    "lat_direction": "N",
    "long_degrees": 71,
    "long_minutes": 5,
    "long_seconds": 6.34,
    "long_direction": "W",
    "altitude": -24.33,
    "size": 1,
    "precision_horz": 200,
    "precision_vert": 10,
}
NAPTR_SIP = {
    "order": 100,
    "preference": 10,
    "flags": "U",
    "service": "E2U+sip",
    "regex": "!^.*$!sip:info@example.com!",
    "replacement": ".",
}

# type -> (name, fields of a first value, its content, fields of a second value, its content)
CASES: dict[str, tuple[str, dict[str, Any], str, dict[str, Any], str]] = {
    "CERT": (
        "cert",
        {"data": {"type": 1, "key_tag": 12345, "algorithm": 8, "certificate": CERT_B64}},
        f"1 12345 8 {CERT_B64}",
        {"data": {"type": 3, "key_tag": 0, "algorithm": 0, "certificate": "AQID"}},
        "3 0 0 AQID",
    ),
    "DNSKEY": (
        "@",
        {"data": {"flags": 257, "protocol": 3, "algorithm": 13, "public_key": KEY}},
        f"257 3 13 {KEY}",
        {"data": {"flags": 256, "protocol": 3, "algorithm": 13, "public_key": KEY}},
        f"256 3 13 {KEY}",
    ),
    "LOC": (
        "office",
        {"data": LOC_BOSTON},
        "42 21 43.950 N 71 5 6.340 W -24.33 1.00 200.00 10.00",  # as Cloudflare formats it (observed)
        {
            "data": {
                "lat_degrees": 52,
                "lat_direction": "N",
                "long_degrees": 4,
                "long_direction": "E",
                "altitude": 0,
            }
        },
        "52 0 0.000 N 4 0 0.000 E 0.00 0.00 0.00 0.00",  # the spec's defaults: 0
    ),
    "NAPTR": (
        "sip",
        {"data": NAPTR_SIP},
        '100 10 "U" "E2U+sip" "!^.*$!sip:info@example.com!" .',
        {
            "data": {
                **NAPTR_SIP,
                "flags": "s",
                "service": "SIP+D2U",
                "regex": "",
                "replacement": "_sip._udp.example.com.",
            }
        },
        '100 10 "s" "SIP+D2U" "" _sip._udp.example.com.',
    ),
    "OPENPGPKEY": (
        "c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec01c1afd6._openpgpkey",
        {"content": PGP},
        PGP,
        {"content": "AQIDBA=="},
        "AQIDBA==",
    ),
}
TYPES = sorted(CASES)


def result(resp: httpx.Response) -> Any:
    body = resp.json()
    assert resp.status_code == 200 and body["success"] is True, body
    return body["result"]


def refused(resp: httpx.Response) -> tuple[int, list[int]]:
    body = resp.json()
    assert body["success"] is False and body["result"] is None
    return resp.status_code, [e["code"] for e in body["errors"]]


@pytest.mark.parametrize("rtype", TYPES)
def test_create_get_list_patch_put_delete_through_the_individual_endpoints(
    client: httpx.Client, emu: EmulatorServer, rtype: str
) -> None:
    name, first, content1, second, content2 = CASES[rtype]
    url = f"/zones/{emu.zone_id('example.com')}/dns_records"
    created = result(client.post(url, json={"type": rtype, "name": name, "ttl": 300, **first}))
    assert (created["type"], created["content"], created["proxiable"], created["proxied"]) == (
        rtype,
        content1,
        False,
        False,
    )
    assert ("data" in created) is (rtype != "OPENPGPKEY")
    rid = created["id"]
    assert result(client.get(f"{url}/{rid}")) == created

    listed = result(client.get(url, params={"type": rtype}))
    assert [r["id"] for r in listed] == [rid]
    assert result(client.get(url, params={"content.contains": content1[:8].lower()}))[0]["id"] == rid

    patched = result(client.patch(f"{url}/{rid}", json=second))
    assert (patched["content"], patched["ttl"], patched["name"]) == (content2, 300, created["name"])
    put = result(client.put(f"{url}/{rid}", json={"type": rtype, "name": name, **first}))
    assert (put["content"], put["ttl"]) == (content1, 1)  # a put resets the omitted TTL
    assert result(client.delete(f"{url}/{rid}")) == {"id": rid}
    assert emu.records("example.com") == []
    assert emu.spec_violations == []


@pytest.mark.parametrize("rtype", TYPES)
def test_batch_posts_puts_and_patches_the_type(client: httpx.Client, emu: EmulatorServer, rtype: str) -> None:
    name, first, content1, second, content2 = CASES[rtype]
    url = f"/zones/{emu.zone_id('example.com')}/dns_records/batch"
    posted = result(client.post(url, json={"posts": [{"type": rtype, "name": name, **first}]}))["posts"]
    rid = posted[0]["id"]
    assert posted[0]["content"] == content1
    both = result(
        client.post(
            url,
            json={
                "patches": [{"id": rid, **second}],
                "puts": [{"id": rid, "type": rtype, "name": name, "ttl": 120, **first}],
            },
        )
    )
    assert both["patches"][0]["content"] == content2
    assert (both["puts"][0]["content"], both["puts"][0]["ttl"]) == (content1, 120)
    # A second identical value on the name is a duplicate (81058), which rolls the whole batch back.
    before = emu.records("example.com")
    dup = client.post(url, json={"deletes": [], "posts": [{"type": rtype, "name": name, **first}]})
    assert refused(dup) == (400, [81058])
    assert emu.records("example.com") == before
    assert emu.spec_violations == []


def test_loc_data_reads_back_from_the_wire_form_as_cloudflare_returns_it(state: Emulator) -> None:
    z = state.zone_by_name("example.com").id
    rec = state.create_record(z, {"type": "LOC", "name": "office", "data": LOC_BOSTON})
    # Observed at Cloudflare for this very value: centimetres through floating point.
    assert rec["data"]["altitude"] == -24.330000000001746
    assert rec["data"]["lat_seconds"] == 43.95 and rec["data"]["size"] == 1
    assert set(rec["data"]) == set(LOC_BOSTON)


def test_naptr_fields_are_echoed_as_sent(state: Emulator) -> None:
    z = state.zone_by_name("example.com").id
    data = {**NAPTR_SIP, "flags": "a", "regex": "", "replacement": "Sip.Example.COM."}
    rec = state.create_record(z, {"type": "NAPTR", "name": "n", "data": data})
    assert rec["data"] == data  # observed: case and trailing dot kept
    assert rec["content"] == '100 10 "a" "E2U+sip" "" Sip.Example.COM.'


def loc(**fields: Any) -> dict[str, Any]:
    return {"type": "LOC", "name": "l", "data": {**LOC_BOSTON, **fields}}


def naptr(**fields: Any) -> dict[str, Any]:
    return {"type": "NAPTR", "name": "n", "data": {**NAPTR_SIP, **fields}}


def cert(**fields: Any) -> dict[str, Any]:
    return {"type": "CERT", "name": "c", "data": {**CASES["CERT"][1]["data"], **fields}}


def dnskey(**fields: Any) -> dict[str, Any]:
    return {"type": "DNSKEY", "name": "k", "data": {**CASES["DNSKEY"][1]["data"], **fields}}


INVALID = [
    pytest.param(
        {"type": "CERT", "name": "c", "content": f"1 12345 8 {CERT_B64}"}, 9010, id="cert-content-not-data"
    ),
    pytest.param(cert(type=65536), 9010, id="cert-type-range"),
    pytest.param(cert(key_tag=-1), 9010, id="cert-key-tag-negative"),
    pytest.param(cert(algorithm=256), 9010, id="cert-algorithm-range"),
    pytest.param(cert(algorithm="8"), 9010, id="cert-algorithm-string"),
    pytest.param(cert(certificate="not base64!"), 9010, id="cert-not-base64"),
    pytest.param(cert(certificate="AQI"), 9010, id="cert-bad-padding"),
    pytest.param(cert(certificate="AQID AQID"), 9010, id="cert-spaces"),
    pytest.param(dnskey(flags=70000), 9010, id="dnskey-flags-range"),
    pytest.param(dnskey(protocol=4), 9010, id="dnskey-protocol-not-3"),
    pytest.param(dnskey(public_key=""), 9010, id="dnskey-empty-key"),
    pytest.param(dnskey(public_key=None), 9010, id="dnskey-no-key"),
    pytest.param(loc(lat_degrees=91), 9010, id="loc-latitude-range"),
    pytest.param(loc(lat_degrees=90, lat_minutes=1), 9010, id="loc-latitude-beyond-pole"),
    pytest.param(loc(long_degrees=181), 9010, id="loc-longitude-range"),
    pytest.param(loc(lat_minutes=60), 9010, id="loc-minutes-range"),
    pytest.param(loc(lat_seconds=60), 9010, id="loc-seconds-range"),
    pytest.param(loc(lat_seconds=1.2345), 9010, id="loc-seconds-decimals"),
    pytest.param(loc(lat_degrees=1.5), 9010, id="loc-degrees-fraction"),
    pytest.param(loc(lat_direction="E"), 9010, id="loc-lat-direction"),
    pytest.param(loc(long_direction=None), 9010, id="loc-long-direction-missing"),
    pytest.param(loc(altitude=-100000.01), 9010, id="loc-altitude-low"),
    pytest.param(loc(altitude=1.005), 9010, id="loc-altitude-decimals"),
    pytest.param(loc(altitude=None), 9010, id="loc-altitude-missing"),
    pytest.param(loc(size=15), 9010, id="loc-size-not-on-the-wire"),
    pytest.param(loc(precision_horz=90000001), 9010, id="loc-precision-range"),
    pytest.param(naptr(order=65536), 9010, id="naptr-order-range"),
    pytest.param(naptr(preference=None), 9010, id="naptr-preference-missing"),
    pytest.param(naptr(flags="U!"), 9010, id="naptr-flags-chars"),
    pytest.param(naptr(service="E2U sip"), 9010, id="naptr-service-space"),
    pytest.param(naptr(regex="x" * 256), 9010, id="naptr-regex-too-long"),
    pytest.param(naptr(regex="!a!\nb!"), 9010, id="naptr-regex-control"),
    pytest.param(naptr(replacement="not a host"), 9010, id="naptr-replacement-not-a-name"),
    pytest.param(naptr(replacement="sip.example.com"), 9010, id="naptr-regex-and-replacement"),
    pytest.param(naptr(replacement=None), 9010, id="naptr-replacement-missing"),
    pytest.param(
        {"type": "OPENPGPKEY", "name": "o", "content": "not base64!"}, 9008, id="openpgpkey-not-base64"
    ),
    pytest.param({"type": "OPENPGPKEY", "name": "o", "content": "AQID AQID"}, 9008, id="openpgpkey-spaces"),
    pytest.param({"type": "OPENPGPKEY", "name": "o", "content": ""}, 9008, id="openpgpkey-empty"),
    pytest.param(
        {"type": "OPENPGPKEY", "name": "o", "data": {"content": PGP}}, 9008, id="openpgpkey-data-not-content"
    ),
    pytest.param(loc(lat_degrees=10**400), 9010, id="loc-integer-of-400-digits"),
    pytest.param(naptr(flags="U\n"), 9010, id="naptr-flags-trailing-newline"),
    pytest.param(cert(certificate="AQID\n"), 9010, id="cert-trailing-newline"),
    pytest.param(
        {"type": "OPENPGPKEY", "name": "o", "content": PGP + "\n"}, 9008, id="openpgpkey-trailing-newline"
    ),
    pytest.param(naptr(regex="\ud800"), 9010, id="naptr-lone-surrogate"),
    pytest.param({"type": "TXT", "name": "t", "content": "a\ud800"}, 9008, id="txt-lone-surrogate"),
    pytest.param(
        {"type": "CAA", "name": "t", "data": {"flags": 0, "tag": "issue", "value": "\udfff"}},
        9010,
        id="caa-lone-surrogate",
    ),
    pytest.param({**loc(), "proxied": True}, 9004, id="loc-proxied"),
    pytest.param(
        {"type": "OPENPGPKEY", "name": "o", "content": PGP, "proxied": True}, 9004, id="openpgpkey-proxied"
    ),
]


@pytest.mark.parametrize(("body", "code"), INVALID)
def test_invalid_values_are_refused_with_the_code(state: Emulator, body: dict[str, Any], code: int) -> None:
    with pytest.raises(ApiError) as info:
        state.create_record(state.zone_by_name("example.com").id, body)
    assert (info.value.status, info.value.code) == (400, code)
    assert state.records(state.zone_by_name("example.com").id) == []


def test_invalid_data_is_refused_over_http_by_both_endpoints_and_patch(
    client: httpx.Client, emu: EmulatorServer
) -> None:
    z = emu.zone_id("example.com")
    url = f"/zones/{z}/dns_records"
    assert refused(client.post(url, json=loc(size=15))) == (400, [9010])
    assert refused(client.post(f"{url}/batch", json={"posts": [naptr(order=70000)]})) == (400, [9010])
    rid = result(client.post(url, json=dnskey()))["id"]
    assert refused(
        client.patch(f"{url}/{rid}", json={"data": {**CASES["DNSKEY"][1]["data"], "protocol": 4}})
    ) == (
        400,
        [9010],
    )
    assert refused(client.post(f"{url}/batch", json={"puts": [{"id": rid, **cert(certificate="AQI")}]})) == (
        400,
        [9010],
    )
    assert [r["content"] for r in emu.records("example.com")] == [f"257 3 13 {KEY}"]


def test_the_new_types_filter_and_order_like_the_others(client: httpx.Client, emu: EmulatorServer) -> None:
    emu.seed("example.com", [{"type": t, "name": CASES[t][0], **CASES[t][1]} for t in TYPES])
    emu.seed("example.com", [{"type": "TXT", "name": "office", "content": "hq"}])
    url = f"/zones/{emu.zone_id('example.com')}/dns_records"
    by_type = [r["type"] for r in result(client.get(url, params={"order": "type"}))]
    assert by_type == [*TYPES, "TXT"]
    office = result(client.get(url, params={"name": "office.example.com"}))
    assert sorted(r["type"] for r in office) == ["LOC", "TXT"]
    assert [r["type"] for r in result(client.get(url, params={"content.startswith": "42 21 43.950 n"}))] == [
        "LOC"
    ]
    assert [r["type"] for r in result(client.get(url, params={"search": "e2u+sip"}))] == ["NAPTR"]
    assert emu.spec_violations == []
