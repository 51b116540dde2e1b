"""Per-type values: producers' text and Cloudflare's echo canonicalise to the same RecordValue."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies_events import HOST_NAME, SRV_NAME, ZONE, name_for, values_of

from dnsbatch import rdata_parsers
from dnsbatch.cloudflare.types import Record
from dnsbatch.events import parse_message
from dnsbatch.model import EventRef, RecordValue
from dnsbatch.rdata import (
    SUPPORTED_TYPES,
    RdataError,
    parse_value,
    parse_values,
    presentation,
    record_fields,
    value_from_record,
)
from dnsbatch.txt import TxtError, parse_character_strings, split_bare_text


def one(type_: str, text: str, name: str | None = None) -> RecordValue:
    return parse_values(type_, [text], name=name or name_for(type_), zone=ZONE)[0]


def record(type_: str, name: str | None = None, **fields: Any) -> Record:
    return Record(id="0" * 32, name=name or name_for(type_), type=type_, **fields)


VALID: list[
    tuple[str, str, str, int | None, dict[str, Any] | None]
] = [  # type, text, content, priority, data
    ("A", "192.0.2.1", "192.0.2.1", None, None),
    ("A", " 0.0.0.0 ", "0.0.0.0", None, None),
    ("AAAA", "2001:DB8:0:0:0:0:0:1", "2001:db8::1", None, None),
    ("AAAA", "fe80::0:0:1", "fe80::1", None, None),
    ("CNAME", "Target.Example.NET.", "target.example.net", None, None),
    ("NS", "ns1.example.net.", "ns1.example.net", None, None),
    ("PTR", "host.example.com", "host.example.com", None, None),
    ("TXT", "v=spf1 -all", '"v=spf1 -all"', None, None),
    ("TXT", '"v=spf1 -all"', '"v=spf1 -all"', None, None),
    ("TXT", '"a"  "b\\"c" "d\\\\e"', '"a" "b\\"c" "d\\\\e"', None, None),
    ("TXT", '"\\065\\066"', '"AB"', None, None),
    ("TXT", '""', '""', None, None),
    ("TXT", "café", '"café"', None, None),
    ("MX", "10 Mail.Example.com.", "mail.example.com", 10, None),
    (
        "SRV",
        "10 5 5060 SIP.example.com.",
        "10 5 5060 sip.example.com",
        None,
        {"priority": 10, "weight": 5, "port": 5060, "target": "sip.example.com"},
    ),
    ("SRV", "0 0 0 .", "0 0 0 .", None, {"priority": 0, "weight": 0, "port": 0, "target": "."}),
    (
        "CAA",
        '0 issue "letsencrypt.org"',
        '0 issue "letsencrypt.org"',
        None,
        {"flags": 0, "tag": "issue", "value": "letsencrypt.org"},
    ),
    (
        "CAA",
        "128 IODEF mailto:sec@example.com",
        '128 iodef "mailto:sec@example.com"',
        None,
        {"flags": 128, "tag": "iodef", "value": "mailto:sec@example.com"},
    ),
    (
        "URI",
        '10 1 "https://example.com/"',
        '10 1 "https://example.com/"',
        10,
        {"weight": 1, "target": "https://example.com/"},
    ),
    (
        "TLSA",
        "3 1 1 " + "ABCDEF01" * 4 + " " + "23456789" * 4,
        "3 1 1 " + "abcdef01" * 4 + "23456789" * 4,
        None,
        {"usage": 3, "selector": 1, "matching_type": 1, "certificate": "abcdef01" * 4 + "23456789" * 4},
    ),
    (
        "SMIMEA",
        "3 0 0 aa",
        "3 0 0 aa",
        None,
        {"usage": 3, "selector": 0, "matching_type": 0, "certificate": "aa"},
    ),
    (
        "SSHFP",
        "4 1 " + "AABB" * 10,
        "4 1 " + "aabb" * 10,
        None,
        {"algorithm": 4, "type": 1, "fingerprint": "aabb" * 10},
    ),
    (
        "DS",
        "12345 13 2 " + "ABCD" * 16,
        "12345 13 2 " + "abcd" * 16,
        None,
        {"key_tag": 12345, "algorithm": 13, "digest_type": 2, "digest": "abcd" * 16},
    ),
    (
        "HTTPS",
        "1 . ipv6hint=::1 alpn=h3,h2",
        '1 . alpn="h3,h2" ipv6hint="::1"',
        None,
        {"priority": 1, "target": ".", "value": 'alpn="h3,h2" ipv6hint="::1"'},
    ),
    (
        "SVCB",
        "1 DNS.example.net. port=0853 alpn=dot",
        '1 dns.example.net alpn="dot" port="853"',
        None,
        {"priority": 1, "target": "dns.example.net", "value": 'alpn="dot" port="853"'},
    ),
    (
        "CERT",
        "PGP 0 0 AQID BAUG",
        "3 0 0 AQIDBAUG",
        None,
        {"type": 3, "key_tag": 0, "algorithm": 0, "certificate": "AQIDBAUG"},
    ),
    (
        "DNSKEY",
        "257 3 13 AQID BAUG",
        "257 3 13 AQIDBAUG",
        None,
        {"flags": 257, "protocol": 3, "algorithm": 13, "public_key": "AQIDBAUG"},
    ),
    (
        "LOC",
        "37 46 46.5 N 122 23 35 W 10.50m 100m",
        "37 46 46.5 N 122 23 35 W 10.5m 100m 10000m 10m",
        None,
        {
            "lat_degrees": 37,
            "lat_minutes": 46,
            "lat_seconds": 46.5,
            "lat_direction": "N",
            "long_degrees": 122,
            "long_minutes": 23,
            "long_seconds": 35,
            "long_direction": "W",
            "altitude": 10.5,
            "size": 100,
            "precision_horz": 10000,
            "precision_vert": 10,
        },
    ),
    (
        "NAPTR",
        '100 10 S "SIP+D2U" "!^.*$!sip:info@example.com!" .',
        '100 10 "S" "SIP+D2U" "!^.*$!sip:info@example.com!" .',
        None,
        {
            "order": 100,
            "preference": 10,
            "flags": "S",
            "service": "SIP+D2U",
            "regex": "!^.*$!sip:info@example.com!",
            "replacement": ".",
        },
    ),
    ("OPENPGPKEY", "AQID BAUG", "AQIDBAUG", None, None),
    ("MX", "( 10 mx.example.com )", "mx.example.com", 10, None),  # zone-file parentheses
    ("A", "\\# 4 c0000201", "192.0.2.1", None, None),  # RFC 3597's generic form
    (
        "CAA",
        '0 issue "ca.example; account=1"',
        '0 issue "ca.example; account=1"',
        None,
        {"flags": 0, "tag": "issue", "value": "ca.example; account=1"},
    ),
    (
        "SVCB",
        "0 Svc.Example.net.",
        "0 svc.example.net",
        None,
        {"priority": 0, "target": "svc.example.net", "value": ""},
    ),
]


@pytest.mark.parametrize(("type_", "text", "content", "priority", "data"), VALID)
def test_valid_value_is_canonicalised(
    type_: str, text: str, content: str, priority: int | None, data: dict[str, Any] | None
) -> None:
    value = one(type_, text)
    assert value.content == content
    assert value.priority == priority
    assert value.data_dict() == data


INVALID: list[tuple[str, str, str]] = [
    ("A", "1.2.3", "is not an IPv4 address (A records take a dotted quad like 192.0.2.1)"),
    ("A", "01.2.3.4", "not an IPv4 address"),
    ("A", "256.1.1.1", "not an IPv4 address"),
    ("A", "2001:db8::1", "not an IPv4 address"),
    ("AAAA", "192.0.2.1", "not an IPv6 address"),
    ("AAAA", "fe80::1%eth0", "zone index"),
    ("CNAME", "192.0.2.1", "is an IP address"),
    ("CNAME", "host.example.com", "own name"),
    ("CNAME", "bad host", 'is not a valid CNAME value (expected EOL or EOF, got 3 "host")'),
    ("CNAME", "bad!host.example", "not a valid host name"),
    ("CNAME", "😀.example", "U+1F600"),
    ("NS", "", "is not a valid NS value"),
    ("TXT", '"abc', "unbalanced quote"),
    ("TXT", '"a"b', "separated by spaces"),
    ("TXT", '"a" b', "after a quoted string"),
    ("TXT", 'say "hi"', "contains a quote"),
    ("TXT", '"' + "x" * 256 + '"', "at most 255"),
    ("TXT", '"\\999"', "not a byte"),
    ("TXT", '"a\\', "lone backslash"),
    ("TXT", "", "empty"),
    ("MX", "mail.example.com", "<priority> <mail host>"),
    ("MX", "65536 mail.example.com", "65536 is not an unsigned 16-bit integer"),
    ("MX", "-1 mail.example.com", "expecting an integer"),
    ("MX", "١٠ mail.example.com", "digits other than 0-9"),
    ("MX", "9" * 5000 + " mail.example.com", "is not a valid MX value"),
    ("MX", "10 .", "not a valid host name"),
    ("SRV", "10 5 mail.example.com", "<priority> <weight> <port> <target>"),
    ("SRV", "10 5 70000 sip.example.com", "70000 is not an unsigned 16-bit integer"),
    (
        "CAA",
        '0 policy "x"',
        'CAA tag "policy" is not supported by Cloudflare (allowed: issue, issuewild, iodef)',
    ),
    ("CAA", '256 issue "x"', "256 is not an unsigned 8-bit integer"),
    ("CAA", "0 issue two words", 'expected EOL or EOF, got 3 "words"'),
    ("CAA", '0 issue "a" "b"', "expected EOL or EOF"),
    ("CAA", '0 issue "\\255"', "not UTF-8 text"),
    ("URI", '1 1 ""', "URI target cannot be empty"),
    ("TLSA", "3 1 1 xyz", "is not a valid TLSA value"),
    ("TLSA", "3 1 1 abc", "Odd-length string"),
    ("TLSA", "3 1 1 abcdef", "length inconsistent with matching type"),
    ("SSHFP", "4 2", "<algorithm> <type> <fingerprint hex>"),
    ("SSHFP", "4 2 aabb", "length inconsistent"),
    ("DS", "70000 13 2 ab", "not an unsigned 16-bit integer"),
    ("DS", "12345 13 2 abcd", "length inconsistent"),
    ("HTTPS", "1", "<priority> <target> [params]"),
    ("HTTPS", "1 . colour=red", "Unknown SVCB ParamKey"),
    ("HTTPS", "1 . alpn=h2 alpn=h3", "duplicate key"),
    ("HTTPS", "0 . alpn=h2", "parameters in AliasMode"),
    ("HTTPS", "1 . IPV6HINT=::1", 'invalid key "IPV6HINT"'),
    ("SVCB", "1 . port=notaport", "port is not an integer"),
    ("SVCB", "1 . port=70000", "is not a valid SVCB value"),
    ("SVCB", "1 bad!target.example", "not a valid host name"),
    ("CERT", "PGP 0 0 not-base64!", "is not a valid CERT value"),
    ("CERT", "NOSUCH 0 0 AQID", "is not a valid CERT value"),
    ("DNSKEY", "257 3 13", "is not a valid DNSKEY value"),
    ("LOC", "91 0 0 N 0 0 0 E 0m", "is not a valid LOC value"),
    ("LOC", "37 46 46 N 122 23 35 W", "is not a valid LOC value"),
    ("NAPTR", '100 10 "S" "SIP+D2U" ""', "is not a valid NAPTR value"),
    ("NAPTR", '100 10 "S" "\\255" "" .', "not UTF-8 text"),
    ("OPENPGPKEY", "!!!", "is not a valid OPENPGPKEY value"),
    ("CAA", "0 issue ca.example;account=1", "holds a ';' outside quotes"),
    ("MX", "10 mx.example.com ; a comment", "holds a ';' outside quotes"),
]


@pytest.mark.parametrize(("type_", "text", "fragment"), INVALID)
def test_invalid_value_is_rejected_with_field_and_reason(type_: str, text: str, fragment: str) -> None:
    with pytest.raises(RdataError) as info:
        parse_values(type_, [text], name=name_for(type_), zone=ZONE)
    message = str(info.value)
    assert message.startswith(f"{info.value.field}: ")
    assert info.value.field.startswith("values[")
    assert fragment in message


def test_reason_locates_the_offending_value_by_index() -> None:
    with pytest.raises(RdataError) as info:
        parse_values("A", ["192.0.2.1", "192.0.2.2", "1.2.3"], name=HOST_NAME, zone=ZONE)
    assert (
        str(info.value)
        == 'values[2]: "1.2.3" is not an IPv4 address (A records take a dotted quad like 192.0.2.1)'
    )


def test_srv_name_must_be_service_and_protocol() -> None:
    with pytest.raises(RdataError, match=r"_service\._proto\.name"):
        parse_values("SRV", ["1 1 1 a.example.com"], name="www.example.com", zone=ZONE)


def test_unsupported_type_is_rejected_naming_the_allowed_types() -> None:
    with pytest.raises(RdataError, match=r"SPF.*not a supported type.*AAAA"):
        parse_values("SPF", ["x"], name=HOST_NAME, zone=ZONE)


def test_all_of_cloudflares_21_types_are_supported() -> None:
    assert len(SUPPORTED_TYPES) == 21
    assert {"CERT", "DNSKEY", "LOC", "NAPTR", "OPENPGPKEY"} <= SUPPORTED_TYPES


def test_duplicate_values_after_canonicalisation_are_rejected() -> None:
    with pytest.raises(RdataError, match=r"values\[1\].*same record as values\[0\]"):
        parse_values("AAAA", ["2001:db8::1", "2001:DB8:0::1"], name=HOST_NAME, zone=ZONE)


def test_mx_set_with_one_host_at_two_priorities_is_rejected_because_cloudflare_sees_duplicates() -> None:
    # Cloudflare's 81058 compares type+name+content, and an MX's content is its host alone.
    with pytest.raises(RdataError) as info:
        parse_values("MX", ["10 mx1.example.com", "20 MX1.Example.com."], name=ZONE, zone=ZONE)
    assert str(info.value) == (
        "values[1]: mx1.example.com appears twice with different priorities; "
        "Cloudflare treats records with the same host as duplicates"
    )
    assert info.value.field == "values[1]"


@pytest.mark.parametrize(
    ("type_", "texts", "message"),
    [
        (
            "SRV",
            ["10 5 5060 sip.example.com", "20 5 5060 sip.example.com"],
            r"values\[1\]: SRV 5 5060 sip\.example\.com appears twice with different priorities; "
            r"Cloudflare treats records with the same weight, port and target as duplicates",
        ),
        (
            "URI",
            ['10 1 "https://example.com/"', '20 1 "https://example.com/"'],
            r'values\[1\]: URI 1 "https://example\.com/" appears twice with different priorities; '
            r"Cloudflare treats records with the same weight and target as duplicates",
        ),
        ("CAA", ['0 issue "ca.example"', '0 issue "CA.Example"'], r"values\[1\]: .* only in letter case"),
        ("URI", ['10 1 "https://x/a"', '10 1 "https://x/A"'], r"values\[1\]: .* only in letter case"),
        ("TXT", ["token=abc", "token=ABC"], r"values\[1\]: .*differs from values\[0\] only in letter case"),
    ],
)
def test_values_cloudflare_would_take_for_the_same_record_are_rejected(
    type_: str, texts: list[str], message: str
) -> None:
    with pytest.raises(RdataError, match=message):
        parse_values(type_, texts, name=name_for(type_), zone=ZONE)


@pytest.mark.parametrize(
    ("type_", "texts"),
    [
        ("MX", ["10 mx1.example.com", "10 mx2.example.com"]),
        ("SRV", ["10 5 5060 sip.example.com", "10 6 5060 sip.example.com"]),
        ("URI", ['10 1 "https://example.com/"', '10 2 "https://example.com/"']),
        ("CAA", ['0 issue "ca.example"', '0 issuewild "ca.example"']),
    ],
)
def test_values_differing_in_more_than_priority_or_case_form_a_valid_set(
    type_: str, texts: list[str]
) -> None:
    assert len(parse_values(type_, texts, name=name_for(type_), zone=ZONE)) == 2


def test_an_event_with_one_mx_host_at_two_priorities_is_rejected_by_parse_message() -> None:
    body = {
        "zone": ZONE,
        "name": "@",
        "type": "MX",
        "action": "upsert",
        "values": ["10 mx1.example.com", "20 mx1.example.com"],
    }
    result = parse_message(json.dumps(body), EventRef(message_id="m-1", sent_timestamp=1), zones=[ZONE])
    assert result.changes == ()
    [rejection] = result.rejections
    assert rejection.field == "values[1]"
    assert "mx1.example.com appears twice with different priorities" in rejection.reason


def test_cname_set_holds_exactly_one_value() -> None:
    with pytest.raises(RdataError, match="exactly one value, got 2"):
        parse_values("CNAME", ["a.example.net", "b.example.net"], name=HOST_NAME, zone=ZONE)


def test_cname_at_the_apex_is_allowed_because_cloudflare_flattens_it() -> None:
    assert parse_values("CNAME", ["lb.example.net"], name=ZONE, zone=ZONE)[0].content == "lb.example.net"


def test_set_content_over_8192_characters_is_rejected() -> None:
    texts = [f'"{i:03d}' + "x" * 250 + '"' for i in range(33)]  # 33 * 256 > 8192
    with pytest.raises(RdataError, match=r"totals .* characters"):
        parse_values("TXT", texts, name=HOST_NAME, zone=ZONE)


def test_long_bare_txt_is_split_into_255_byte_strings_without_breaking_characters() -> None:
    value = one("TXT", "é" * 200)  # 400 bytes
    assert value.content == '"' + "é" * 127 + '" "' + "é" * 73 + '"'


def test_parse_value_prefixes_the_given_field() -> None:
    with pytest.raises(RdataError, match=r"^changes\[1\]\.values\[0\]: "):
        parse_value("A", "x", name=HOST_NAME, field="changes[1].values[0]")


# --- Cloudflare's side -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "text", "fields"),
    [
        ("A", "192.0.2.1", {"content": "192.0.2.1"}),
        ("TXT", "hi", {"content": '"hi"'}),
        ("MX", "10 mx.example.com", {"content": "mx.example.com", "priority": 10}),
        (
            "SRV",
            "1 2 3 t.example.com",
            {"data": {"priority": 1, "weight": 2, "port": 3, "target": "t.example.com"}},
        ),
        ("CAA", '0 issue "ca.example"', {"data": {"flags": 0, "tag": "issue", "value": "ca.example"}}),
        ("URI", '5 1 "ftp://x/"', {"data": {"weight": 1, "target": "ftp://x/"}, "priority": 5}),
    ],
)
def test_record_fields_gives_content_or_data_as_cloudflare_expects(
    type_: str, text: str, fields: Any
) -> None:
    assert record_fields(type_, one(type_, text)) == fields


@pytest.mark.parametrize(
    ("type_", "text", "echo"),
    [
        ("AAAA", "2001:db8::1", {"content": "2001:0db8:0000:0000:0000:0000:0000:0001"}),
        ("CNAME", "t.example.net", {"content": "T.Example.Net."}),
        ("MX", "10 mx.example.com", {"content": "mx.example.com.", "priority": 10}),
        ("TXT", "v=spf1 -all", {"content": "v=spf1 -all"}),  # a record created before quoting
        ("TXT", '"a" "b"', {"content": '"a"   "b"'}),
        (
            "SRV",
            "1 2 3 t.example.com",
            {
                "content": "2 3 t.example.com",
                "priority": 1,
                "data": {
                    "priority": 1.0,
                    "weight": 2,
                    "port": 3,
                    "target": "T.example.com.",
                    "service": "_sip",
                    "proto": "_tcp",
                    "name": "example.com",
                },
            },
        ),
        (
            "CAA",
            '0 issue "ca.example"',
            {"content": "0 issue ca.example", "data": {"flags": 0, "tag": "ISSUE", "value": "ca.example"}},
        ),
        (
            "HTTPS",
            '1 . alpn="h3,h2"',
            {"content": "1 . alpn=h3,h2", "data": {"priority": 1, "target": ".", "value": "alpn=h3,h2"}},
        ),
    ],
)
def test_cloudflare_echo_in_any_form_equals_the_parsed_value(type_: str, text: str, echo: Any) -> None:
    assert value_from_record(record(type_, **echo)) == one(type_, text)


def test_structured_identity_ignores_cloudflares_content_text() -> None:
    a = value_from_record(record("CAA", content="whatever", data={"flags": 0, "tag": "issue", "value": "x"}))
    b = value_from_record(
        record("CAA", content='0 issue "x"', data={"flags": 0, "tag": "issue", "value": "x"})
    )
    assert a == b


@pytest.mark.parametrize(
    "rec",
    [
        Record(
            id="1",
            name="x.example.com",
            type="LOC",
            content="51 30 12.748 N 0 7 39.611 W 0.00m",
            data={"x": 1.5},
        ),
        Record(id="1", name="x.example.com", type="A", content="not-an-ip"),
        Record(id="1", name="x.example.com", type="SRV", content="", data=None),
    ],
)
def test_value_from_record_never_raises_on_unexpected_records(rec: Record) -> None:
    value = value_from_record(rec)
    assert isinstance(value, RecordValue)


def test_presentation_of_mx_carries_the_priority() -> None:
    assert presentation("MX", one("MX", "10 mx.example.com")) == "10 mx.example.com"


# --- properties ------------------------------------------------------------------------------------------

typed_values = st.sampled_from(sorted(SUPPORTED_TYPES)).flatmap(lambda t: st.tuples(st.just(t), values_of(t)))


@given(typed_values)
def test_canonical_presentation_round_trips(pair: tuple[str, str]) -> None:
    type_, text = pair
    value = one(type_, text)
    assert one(type_, presentation(type_, value)) == value


@given(typed_values)
def test_record_built_from_record_fields_reads_back_as_the_same_value(pair: tuple[str, str]) -> None:
    type_, text = pair
    value = one(type_, text)
    fields = record_fields(type_, value)
    echoed = record(
        type_,
        content=fields.get("content", "server-rendered"),
        priority=fields.get("priority"),
        data=fields.get("data"),
    )
    assert value_from_record(echoed) == value


def test_every_supported_type_has_a_strategy_and_a_valid_example() -> None:
    assert {t for t, *_ in VALID} == SUPPORTED_TYPES
    for type_ in SUPPORTED_TYPES:
        values_of(type_)


def test_srv_strategy_name_is_a_service_name() -> None:
    assert SRV_NAME.startswith("_sip._tcp.")


@pytest.mark.parametrize("type_", sorted(SUPPORTED_TYPES))
@pytest.mark.parametrize("bad", ["\ud800", "\udfff", "\x00", "\x1f", "\x7f", "\x9f"])
def test_no_parser_lets_a_lone_surrogate_or_a_raw_control_character_through(type_: str, bad: str) -> None:
    # A TXT value with "\ud800" crashed the TXT parser (UnicodeEncodeError) before this was checked.
    for text in (bad, f"10 {bad}", f'0 issue "{bad}"', f"1 . alpn={bad}"):
        with pytest.raises(RdataError) as caught:
            parse_value(type_, text, name="_sip._tcp.example.com", field="values[0]")
        message = str(caught.value)
        assert message.startswith("values[0]: ")
        message.encode("utf-8")
        assert bad not in message


@pytest.mark.parametrize("text", ["\ud800", '"a\udfff"', "ok \ud800 ok"])
def test_txt_character_strings_refuse_a_lone_surrogate(text: str) -> None:
    for parse in (parse_character_strings, split_bare_text):
        with pytest.raises(TxtError, match="lone UTF-16 surrogate"):
            parse(text)


# --- the tokenizer shortcut reads what dnspython's own tokenizer reads ---------------------------------


def _slow(type_: str, text: str) -> RecordValue | str:
    """``text`` parsed with dnspython's own tokenizer only (the shortcut for simple text switched off)."""
    simple = rdata_parsers._SIMPLE
    rdata_parsers._SIMPLE = re.compile(r"(?!)")
    try:
        return rdata_parsers._parse(type_, text)
    except rdata_parsers.Invalid:
        return "refused"
    finally:
        rdata_parsers._SIMPLE = simple


def _fast(type_: str, text: str) -> RecordValue | str:
    try:
        return rdata_parsers._parse(type_, text)
    except rdata_parsers.Invalid:
        return "refused"


@given(typed_values)
def test_the_split_tokenizer_gives_what_dnspythons_tokenizer_gives(pair: tuple[str, str]) -> None:
    type_, text = pair
    assert _fast(type_, text) == _slow(type_, text)


@pytest.mark.parametrize(
    ("type_", "text"),
    [
        ("A", "192.0.2.1 192.0.2.2"),
        ("A", "\t192.0.2.1\t"),
        ("A", "192.0.2.1\u00a0"),  # not a separator for dnspython
        ("AAAA", "2001:db8::1 x"),
        ("MX", "10"),
        ("MX", "10 mx.example.com extra"),
        ("MX", "+10 mx.example.com"),
        ("MX", "1_0 mx.example.com"),
        ("SRV", "1 2 3"),
        ("SRV", "1 2 3 t.example.com t2.example.com"),
        ("SVCB", "1 . port=853 port=853"),
        ("SVCB", "1 . alpn=h2 mandatory=alpn"),
        ("HTTPS", "1 . alpn=h2,h3 no-default-alpn"),
        ("DNSKEY", "257 3 13 AQID BAUG"),
        ("LOC", "52 22 23 N 4 53 32 E -2m"),
        ("CAA", "0 issue letsencrypt.org"),
    ],
)
def test_the_split_tokenizer_agrees_on_edge_cases_both_ways(type_: str, text: str) -> None:
    assert _fast(type_, text) == _slow(type_, text)


# --- Cloudflare's side of the five new types ------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "text", "echo"),
    [
        (
            "LOC",
            "52 22 23 N 4 53 32 E -2m 0m 0m 0m",
            # Cloudflare's schema defaults minutes, seconds, size and precisions to 0: they may be absent.
            {
                "content": "52 22 23.000 N 4 53 32.000 E -2.00 0.00 0.00 0.00",
                "data": {
                    "lat_degrees": 52.0,
                    "lat_minutes": 22,
                    "lat_seconds": 23.0,
                    "lat_direction": "N",
                    "long_degrees": 4,
                    "long_minutes": 53,
                    "long_seconds": 32,
                    "long_direction": "E",
                    "altitude": -2.0,
                },
            },
        ),
        (
            "LOC",
            "42 21 43.95 N 71 5 6.34 W -24.33m 1m 200m 10m",
            {
                "content": "",
                "data": {
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
                },
            },
        ),
        (
            "NAPTR",
            '100 10 "U" "E2U+sip" "!^.*$!sip:info@example.com!" .',
            {
                "content": "",
                "data": {
                    "order": 100.0,
                    "preference": 10,
                    "flags": "U",
                    "service": "E2U+sip",
                    "regex": "!^.*$!sip:info@example.com!",
                    "replacement": ".",
                },
            },
        ),
        (
            "CERT",
            "PKIX 1 RSASHA256 AQID BAUG",
            {"content": "", "data": {"type": 1, "key_tag": 1.0, "algorithm": 8, "certificate": "AQIDBAUG"}},
        ),
        (
            "DNSKEY",
            "256 3 13 AQIDBAUG",
            {
                "content": "",
                "data": {"flags": 256, "protocol": 3, "algorithm": 13, "public_key": "AQID BAUG"},
            },
        ),
        ("OPENPGPKEY", "AQIDBAUG", {"content": "AQID BAUG"}),
        ("MX", "10 mx.example.com", {"content": "mx.example.com", "priority": 10.0}),
        (
            "SRV",
            "1 2 3 t.example.com",
            {"content": "", "priority": 1, "data": {"weight": 2, "port": 3, "target": "t.example.com"}},
        ),
        (
            "URI",
            '10 1 "ftp://x/"',
            {"content": "", "data": {"weight": 1, "target": "ftp://x/"}, "priority": 10.0},
        ),
        (
            "SVCB",
            "1 dns.example.net alpn=dot port=853",
            {
                "content": "",
                "data": {"priority": 1, "target": "DNS.example.net.", "value": 'port="0853" alpn="dot"'},
            },
        ),
    ],
)
def test_cloudflare_records_of_every_shape_read_back_equal(type_: str, text: str, echo: Any) -> None:
    assert value_from_record(record(type_, **echo)) == one(type_, text)


@pytest.mark.parametrize(
    ("type_", "fields"),
    [
        ("MX", {"content": "mx.example.com", "priority": None}),
        ("MX", {"content": "mx.example.com", "priority": True}),
        ("CAA", {"content": "", "data": {"flags": "0", "tag": "issue", "value": "x"}}),
        ("LOC", {"content": "", "data": {"lat_degrees": 1, "lat_direction": "N", "long_degrees": 1}}),
        (
            "LOC",
            {
                "content": "",
                "data": {"lat_degrees": 1, "lat_seconds": "x", "lat_direction": "N", "long_degrees": 1}
                | {"long_direction": "E", "altitude": 0},
            },
        ),
        (
            "NAPTR",
            {
                "content": "",
                "data": {"order": 1, "preference": 1, "flags": "", "service": "", "regex": ""}
                | {"replacement": None},
            },
        ),
        ("DS", {"content": "", "data": {"key_tag": 1, "algorithm": 13, "digest_type": 2, "digest": "ab"}}),
    ],
)
def test_a_record_whose_fields_cannot_be_read_gets_its_raw_fields_as_value(type_: str, fields: Any) -> None:
    # A raw value never equals a parsed one (those are canonical), so the planner replaces such a record.
    value = value_from_record(record(type_, **fields))
    data = fields.get("data")
    raw = (
        None
        if data is None
        else tuple(sorted((k, v if isinstance(v, int) else str(v)) for k, v in data.items()))
    )
    assert value == RecordValue(content=fields["content"], priority=fields.get("priority"), data=raw)


def test_loc_values_keep_fractions_as_numbers_cloudflare_takes() -> None:
    fields = record_fields("LOC", one("LOC", "0 0 0.5 S 0 0 0.001 W 0.01m 0.5m 1m 2m"))
    assert fields["data"]["lat_seconds"] == 0.5
    assert fields["data"]["long_seconds"] == 0.001
    assert fields["data"]["altitude"] == 0.01
    assert (fields["data"]["lat_direction"], fields["data"]["long_direction"]) == ("S", "W")
    assert json.loads(json.dumps(fields)) == fields


def test_long_values_are_parsed_without_being_kept_in_the_cache() -> None:
    rdata_parsers.clear_cache()
    key = "AQID" * 200  # 800 characters: over the cached length
    value = one("OPENPGPKEY", key)
    assert value.content == key
    assert rdata_parsers._parse_cached.cache_info().currsize == 0
    assert one("OPENPGPKEY", "AQID").content == "AQID"
    assert rdata_parsers._parse_cached.cache_info().currsize == 1


def test_a_record_of_a_type_dnsbatch_does_not_know_keeps_its_fields_as_they_came() -> None:
    rec = Record(
        id="1", name="x.example.com", type="SPF", content="v=spf1", priority=None, data={"n": 2.0, "s": 1.5}
    )
    assert value_from_record(rec) == RecordValue(content="v=spf1", data=(("n", 2), ("s", "1.5")))
