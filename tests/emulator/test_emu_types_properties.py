"""Properties of the CERT, DNSKEY, LOC, NAPTR and OPENPGPKEY rules (pure state, generated inputs):

- any JSON a client might send as ``data`` or ``content`` gets a record or a 400, never a crash;
- the ``content`` formatted for any accepted value is zone-file presentation that dnspython reads back
  to the same fields, so a client may parse either ``content`` or ``data``.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.emulator import ApiError, Emulator, ZoneSpec
from devstack.emulator.rules import DATA_FIELDS

TYPES = ("CERT", "DNSKEY", "LOC", "NAPTR", "OPENPGPKEY")
SETTINGS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=300)
    | st.sampled_from(["\ud800", "N", "S", "E", "W", ".", "", "AQID", "a b", "x" * 256, "ünï", "-1"])
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
)


def fields_of(rtype: str) -> tuple[str, ...]:
    return DATA_FIELDS.get(rtype, ("content",))


@st.composite
def hostile_bodies(draw: st.DrawFn) -> dict[str, Any]:
    rtype = draw(st.sampled_from(TYPES))
    keys = fields_of(rtype)
    # Mostly the type's own keys with arbitrary values, so the checks past the first one run too.
    data = draw(st.dictionaries(st.sampled_from(keys), JSON, max_size=len(keys)) | JSON)
    body: dict[str, Any] = {"type": rtype, "name": "x"}
    body["content" if rtype == "OPENPGPKEY" else "data"] = data
    return body


@given(body=hostile_bodies())
@SETTINGS
def test_any_json_gets_a_record_or_a_400(body: dict[str, Any]) -> None:
    state = Emulator([ZoneSpec("example.com")])
    try:
        record = state.create_record(state.zone_by_name("example.com").id, body)
    except ApiError as error:
        assert error.status == 400 and error.code in (9008, 9010), error
    else:
        assert record["type"] == body["type"] and isinstance(record["content"], str)


BASE64 = st.binary(min_size=1, max_size=80).map(lambda raw: base64.b64encode(raw).decode())
U16 = st.integers(0, 65535)
U8 = st.integers(0, 255)
CHARSTRING = st.text(st.sampled_from('abcXYZ019+:._-!^$*\\"() @/'), max_size=40)


@st.composite
def loc_data(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for axis, limit, directions in (("lat", 90, "NS"), ("long", 180, "EW")):
        degrees = draw(st.integers(0, limit))
        at_limit = degrees == limit
        data[f"{axis}_degrees"] = degrees
        data[f"{axis}_minutes"] = 0 if at_limit else draw(st.integers(0, 59))
        data[f"{axis}_seconds"] = 0 if at_limit else draw(st.integers(0, 59_999)) / 1000
        data[f"{axis}_direction"] = draw(st.sampled_from(directions))
    data["altitude"] = draw(st.integers(-10_000_000, 4_284_967_295)) / 100
    for key in ("size", "precision_horz", "precision_vert"):
        data[key] = draw(st.integers(0, 9)) * 10 ** draw(st.integers(0, 9)) / 100
    return data


@st.composite
def valid_bodies(draw: st.DrawFn) -> dict[str, Any]:
    rtype = draw(st.sampled_from(TYPES))
    if rtype == "OPENPGPKEY":
        return {"type": rtype, "name": "x", "content": draw(BASE64)}
    if rtype == "CERT":
        data = {"type": draw(U16), "key_tag": draw(U16), "algorithm": draw(U8), "certificate": draw(BASE64)}
    elif rtype == "DNSKEY":
        data = {"flags": draw(U16), "protocol": 3, "algorithm": draw(U8), "public_key": draw(BASE64)}
    elif rtype == "LOC":
        data = draw(loc_data())
    else:
        regex = draw(CHARSTRING)
        data = {
            "order": draw(U16),
            "preference": draw(U16),
            "flags": draw(st.text(st.sampled_from("aSuP09"), max_size=3)),
            "service": draw(st.text(st.sampled_from("E2U+sip:._-"), max_size=20)),
            "regex": regex,
            "replacement": "." if regex else draw(st.sampled_from([".", "_sip._udp.example.com", "a.b."])),
        }
    return {"type": rtype, "name": "x", "data": data}


def _cm(metres: float) -> int:
    return round(metres * 100)


@given(body=valid_bodies())
@SETTINGS
def test_accepted_content_reads_back_with_dnspython_to_the_same_fields(body: dict[str, Any]) -> None:
    state = Emulator([ZoneSpec("example.com")])
    record = state.create_record(state.zone_by_name("example.com").id, body)
    rtype = record["type"]
    rdata: Any = dns.rdata.from_text(
        dns.rdataclass.IN,
        dns.rdatatype.from_text(rtype),
        record["content"],
        origin=dns.name.root,
        relativize=False,
    )
    data = record.get("data", {})
    if rtype == "OPENPGPKEY":
        assert rdata.key == base64.b64decode(body["content"])
    elif rtype == "CERT":
        assert (rdata.certificate_type, rdata.key_tag, rdata.algorithm) == (
            data["type"],
            data["key_tag"],
            data["algorithm"],
        )
        assert rdata.certificate == base64.b64decode(data["certificate"])
    elif rtype == "DNSKEY":
        assert (rdata.flags, rdata.protocol, rdata.algorithm) == (data["flags"], 3, data["algorithm"])
        assert rdata.key == base64.b64decode(data["public_key"])
    elif rtype == "LOC":
        sent = body["data"]
        assert data == {**data, **{k: v for k, v in sent.items() if isinstance(v, str)}}
        for axis, value in (("lat", rdata.latitude), ("long", rdata.longitude)):
            sign = -1 if sent[f"{axis}_direction"] in "SW" else 1
            ms = round(sent[f"{axis}_seconds"] * 1000)
            expected = (sent[f"{axis}_degrees"], sent[f"{axis}_minutes"], ms // 1000, ms % 1000)
            assert tuple(value[:4]) == expected and (value[4] == sign or expected == (0, 0, 0, 0))
        assert round(rdata.altitude) == _cm(sent["altitude"])
        assert math.isclose(data["altitude"], sent["altitude"], abs_tol=0.005)
        for key, got in (("size", rdata.size), ("precision_horz", rdata.horizontal_precision)):
            assert round(got) == _cm(sent[key]) and data[key] == sent[key]
        assert round(rdata.vertical_precision) == _cm(sent["precision_vert"])
    else:
        assert (rdata.order, rdata.preference) == (data["order"], data["preference"])
        assert (rdata.flags, rdata.service, rdata.regexp) == tuple(
            data[k].encode() for k in ("flags", "service", "regex")
        )
        assert rdata.replacement == dns.name.from_text(data["replacement"])
