"""parse_message: one SQS body → accepted Changes and Rejections a person can act on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dnsbatch import rdata
from dnsbatch.events import MAX_VALUES_PER_SET, ParseResult, parse_message
from dnsbatch.model import Action, Change, EventRef, RecordSetKey, RecordValue

REF = EventRef(message_id="msg-1", sent_timestamp=1_700_000_000_000)
ZONES = frozenset({"example.com", "example.org"})


def parse(body: Any) -> ParseResult:
    return parse_message(body if isinstance(body, str) else json.dumps(body), REF, zones=ZONES)


def change(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "zone": "example.com",
        "name": "www",
        "type": "A",
        "action": "upsert",
        "values": ["192.0.2.1"],
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


def rejected(body: Any) -> str:
    result = parse(body)
    assert not result.changes, result.changes
    assert len(result.rejections) == 1
    return result.rejections[0].reason


def test_single_change_is_accepted_with_defaults() -> None:
    result = parse(change())
    assert result.rejections == ()
    (c,) = result.changes
    assert c.key == RecordSetKey("example.com", "www.example.com", "A")
    assert c.action is Action.UPSERT
    assert c.values == (RecordValue("192.0.2.1"),)
    assert (c.ttl, c.proxied, c.comment, c.tags) == (1, False, None, ())
    assert c.version == REF.sent_timestamp
    assert c.ref == REF


def test_envelope_changes_get_their_index_source_and_id() -> None:
    body = {"changes": [change(source="ci", id="e-1", version=7), change(name="api", source="ops")]}
    result = parse(body)
    assert [c.ref.index for c in result.changes] == [0, 1]
    assert [(c.ref.source, c.ref.event_id) for c in result.changes] == [("ci", "e-1"), ("ops", None)]
    assert all(
        c.ref.message_id == "msg-1" and c.ref.sent_timestamp == REF.sent_timestamp for c in result.changes
    )
    assert [c.version for c in result.changes] == [7, REF.sent_timestamp]


def test_one_bad_change_does_not_reject_its_envelope_siblings() -> None:
    result = parse({"changes": [change(), change(values=["1.2.3"]), change(name="b")]})
    assert [c.key.name for c in result.changes] == ["www.example.com", "b.example.com"]
    (rej,) = result.rejections
    assert rej.ref.index == 1
    assert rej.field == "changes[1].values[0]"
    assert rej.reason == (
        'changes[1].values[0]: "1.2.3" is not an IPv4 address (A records take a dotted quad like 192.0.2.1)'
    )
    assert rej.key == RecordSetKey("example.com", "www.example.com", "A")


@pytest.mark.parametrize("body", ["{not json", "", "NaN", '{"a": Infinity}'])
def test_bad_json_rejects_the_whole_message(body: str) -> None:
    result = parse(body)
    assert result.changes == ()
    (rej,) = result.rejections
    assert rej.field == "body" and "not valid JSON" in rej.reason and rej.ref == REF


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"changes": "x"}, "changes: must be a list"),
        ({"changes": []}, "changes: is empty"),
        ({"changes": [change()], "zone": "example.com"}, "zone: is not allowed beside changes"),
        ([change()], "body: must be a change object"),
    ],
)
def test_wrong_envelope_rejects_the_whole_message(body: Any, fragment: str) -> None:
    assert fragment in rejected(body)


def test_unknown_field_is_rejected_and_named() -> None:
    assert "valeus: is not a known field (allowed: zone, name" in rejected(change(valeus=["x"]))


@pytest.mark.parametrize("missing", ["zone", "name", "type", "action"])
def test_missing_required_field_is_rejected(missing: str) -> None:
    assert f"{missing}: is required" in rejected(change(**{missing: ...}))


def test_zone_outside_allowlist_is_rejected_listing_the_allowed_zones() -> None:
    reason = rejected(change(zone="other.net"))
    assert reason == 'zone: "other.net" is not a zone dnsbatch manages (allowed: example.com, example.org)'


def test_zone_is_matched_case_insensitively_with_trailing_dot() -> None:
    assert parse(change(zone="Example.COM.")).changes[0].key.zone == "example.com"


def test_name_outside_the_zone_is_rejected() -> None:
    assert rejected(change(name="www.other.net.")).startswith("name: 'www.other.net.' is outside the zone")


def test_unsupported_type_is_rejected() -> None:
    assert 'type: "SPF" is not a supported type' in rejected(change(type="SPF"))


def test_delete_takes_no_values() -> None:
    assert (
        rejected(change(action="delete", values=["192.0.2.1"]))
        == "values: delete takes no values (leave values out)"
    )


def test_delete_without_values_gives_an_empty_change() -> None:
    (c,) = parse(change(action="delete", values=..., ttl=300, proxied=True)).changes
    assert c.action is Action.DELETE and c.values == () and c.ttl == 1 and not c.proxied


def test_upsert_needs_at_least_one_value() -> None:
    assert "values: is required for upsert" in rejected(change(values=...))
    assert "values: is empty; an upsert needs at least one value" in rejected(change(values=[]))


def test_too_many_values_are_rejected() -> None:
    values = [f"192.0.2.{i % 250}" for i in range(MAX_VALUES_PER_SET + 1)]
    assert f"(at most {MAX_VALUES_PER_SET} per record set)" in rejected(change(values=values))


def test_duplicate_values_are_rejected() -> None:
    assert "same record as values[0]" in rejected(change(values=["192.0.2.1", "192.0.2.1"]))


def test_cname_with_two_values_is_rejected() -> None:
    assert "exactly one value" in rejected(change(type="CNAME", values=["a.example.net", "b.example.net"]))


@pytest.mark.parametrize("ttl", [1, 60, 300, 86400])
def test_allowed_ttls_are_kept(ttl: int) -> None:
    assert parse(change(ttl=ttl)).changes[0].ttl == ttl


@pytest.mark.parametrize("ttl", [0, 30, 59, 86401, -1])
def test_ttl_outside_1_or_60_to_86400_is_rejected(ttl: int) -> None:
    assert "1 for automatic, or 60-86400 seconds; 30-59 is Enterprise-only" in rejected(change(ttl=ttl))


@pytest.mark.parametrize(
    ("field", "value"), [("ttl", True), ("version", False), ("ttl", "300"), ("version", 1.5)]
)
def test_booleans_and_strings_are_not_integers(field: str, value: Any) -> None:
    assert f"{field}: must be an integer" in rejected(change(**{field: value}))


def test_integral_float_is_an_integer_as_in_json_schema() -> None:
    assert parse(change(version=7.0, ttl=300.0)).changes[0].version == 7


def test_negative_version_is_rejected() -> None:
    assert "version: -1 is out of range" in rejected(change(version=-1))


def test_proxied_is_only_for_a_aaaa_cname() -> None:
    reason = rejected(change(type="TXT", values=["x"], proxied=True))
    assert reason == "proxied: TXT records cannot be proxied (only A, AAAA and CNAME)"


@pytest.mark.parametrize("address", ["10.0.0.1", "192.168.1.1", "127.0.0.1", "169.254.0.1"])
def test_proxied_private_address_is_rejected_as_cloudflare_would(address: str) -> None:
    reason = rejected(change(values=[address], proxied=True))
    assert "private or reserved address, which Cloudflare cannot proxy (error 9041)" in reason


def test_proxied_record_gets_automatic_ttl() -> None:
    c = parse(change(values=["1.1.1.1"], proxied=True, ttl=300)).changes[0]
    assert c.proxied and c.ttl == 1


def test_proxied_must_be_boolean() -> None:
    assert "proxied: must be true or false" in rejected(change(proxied="yes"))


def test_comment_over_500_characters_is_rejected() -> None:
    assert "comment: is 501 characters long (at most 500 allowed)" in rejected(change(comment="c" * 501))


@pytest.mark.parametrize("comment", ["a\nb", "a\r"])
def test_comment_with_line_break_is_rejected(comment: str) -> None:
    assert "comment: must not contain line breaks" in rejected(change(comment=comment))


def test_comment_and_tags_are_carried() -> None:
    c = parse(change(comment="owned by ci", tags=["team:dns", "env:prod"])).changes[0]
    assert c.comment == "owned by ci" and c.tags == ("team:dns", "env:prod")


@pytest.mark.parametrize("tag", ["nocolon", ":v", "a" * 33 + ":v", "a:" + "v" * 101, "sp ace:v", "a:b\n"])
def test_malformed_tag_is_rejected(tag: str) -> None:
    assert "tags[0]:" in rejected(change(tags=[tag]))


def test_more_than_20_tags_are_rejected() -> None:
    assert "has 21 tags (at most 20)" in rejected(change(tags=[f"t{i}:v" for i in range(21)]))


@pytest.mark.parametrize("field", ["source", "id"])
def test_source_and_id_are_at_most_256_characters(field: str) -> None:
    assert f"{field}: is 257 characters long" in rejected(change(**{field: "s" * 257}))


def test_rejection_carries_source_and_id_for_the_log_line() -> None:
    (rej,) = parse(change(values=["x"], source="ci", id="e-9")).rejections
    assert (rej.ref.source, rej.ref.event_id) == ("ci", "e-9")


def test_all_structural_problems_of_a_change_are_reported_together() -> None:
    reason = rejected(change(ttl=5, proxied="no"))
    assert "ttl:" in reason and "proxied:" in reason


def test_every_supported_type_is_accepted_end_to_end() -> None:
    examples = {
        "AAAA": ("www", "2001:db8::1"),
        "CNAME": ("www", "lb.example.net"),
        "TXT": ("@", "v=spf1 -all"),
        "MX": ("@", "10 mail.example.com"),
        "NS": ("sub", "ns1.example.net"),
        "PTR": ("1", "host.example.com"),
        "SRV": ("_sip._tcp", "10 5 5060 sip.example.com"),
        "CAA": ("@", '0 issue "letsencrypt.org"'),
        "URI": ("_ftp._tcp", '10 1 "ftp://ftp.example.com/"'),
        "TLSA": ("_443._tcp", "3 1 1 " + "ab" * 32),
        "SMIMEA": ("x._smimecert", "3 0 0 abcd"),
        "SSHFP": ("host", "4 2 " + "ab" * 32),
        "DS": ("sub", "12345 13 2 " + "ab" * 32),
        "HTTPS": ("@", "1 . alpn=h2"),
        "SVCB": ("_dns", "1 dns.example.net alpn=dot"),
        "CERT": ("@", "PGP 0 0 AQIDBAUG"),
        "DNSKEY": ("@", "257 3 13 AQIDBAUG"),
        "LOC": ("@", "37 46 46 N 122 23 35 W 0m"),
        "NAPTR": ("@", '100 10 "S" "SIP+D2U" "" _sip._udp.example.com'),
        "OPENPGPKEY": ("x._openpgpkey", "AQIDBAUG"),
    }
    body = {"changes": [change(type=t, name=n, values=[v]) for t, (n, v) in examples.items()]}
    result = parse(body)
    assert result.rejections == ()
    assert [c.key.type for c in result.changes] == list(examples)


# --- hostile input: every body json.loads accepts gives encodable changes or rejections naming the field --

SURROGATE = "\ud800"


def encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def body_text(obj: Any) -> str:
    return json.dumps(obj)  # escapes the surrogate as \ud800, as a producer's serializer would


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"zone": "example.com" + SURROGATE}, "zone"),
        ({"name": "www" + SURROGATE}, "name"),
        ({"type": "A" + SURROGATE}, "type"),
        ({"action": SURROGATE}, "action"),
        ({"values": ["192.0.2.1", SURROGATE]}, "values[1]"),
        ({"type": "TXT", "values": [SURROGATE]}, "values[0]"),  # crashed txt.py before
        ({"comment": "c" + SURROGATE}, "comment"),  # passed ingest and crashed httpx in the batcher
        ({"tags": ["team:" + SURROGATE]}, "tags[0]"),
        ({"source": SURROGATE}, "source"),
        ({"id": SURROGATE}, "id"),
        ({"extra": SURROGATE}, "extra"),
        ({SURROGATE: 1}, '["\\ud800"]'),
    ],
)
def test_a_lone_surrogate_in_any_field_rejects_the_change_naming_the_field(
    fields: dict[str, Any], field: str
) -> None:
    result = parse(body_text(change(**fields)))
    assert result.changes == ()
    (rejection,) = result.rejections
    assert rejection.field == field
    assert rejection.reason.startswith(f"{field}: ")
    assert "lone UTF-16 surrogate (\\ud800" in rejection.reason
    assert encodable(rejection.reason) and SURROGATE not in rejection.reason
    for text in (rejection.ref.source, rejection.ref.event_id):
        assert text is None or encodable(text)


def test_a_surrogate_in_one_change_leaves_its_envelope_siblings_accepted() -> None:
    result = parse(body_text({"changes": [change(name="a"), change(name="b", comment=SURROGATE)]}))
    assert [c.key.name for c in result.changes] == ["a.example.com"]
    (rejection,) = result.rejections
    assert rejection.field == "changes[1].comment" and rejection.ref.index == 1


def test_a_valid_surrogate_pair_is_just_a_character() -> None:
    (c,) = parse(body_text(change(type="TXT", values=["\ud83d\ude42 ok"], comment="\ud83d\ude42"))).changes
    assert c.comment == "🙂" and c.values[0].content == '"🙂 ok"'


@pytest.mark.parametrize(
    "body",
    [
        '{"zone":"example.com","name":"www","type":"A","action":"upsert","action":"delete"}',
        '{"zone":"example.com","zone":"example.com","name":"www","type":"A","action":"delete"}',
    ],
)
def test_a_key_given_twice_rejects_the_change(body: str) -> None:
    reason = rejected(body)
    assert "appears twice in the object (JSON parsers disagree on which one counts)" in reason


def test_changes_given_twice_rejects_the_envelope() -> None:
    one = json.dumps(change())
    reason = rejected(f'{{"changes":[{one}],"changes":[{one}]}}')
    assert reason.startswith("changes: appears twice in the envelope")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("comment", "a\tb"),
        ("comment", "nul\x00"),
        ("comment", "del\x7f"),
        ("comment", "c1\x85"),
        ("comment", "sep\u2028"),
        ("name", "www\n"),
        ("name", "www\t"),
        ("zone", "example.com\x00"),
    ],
)
def test_control_characters_are_refused_in_zone_name_and_comment(field: str, value: str) -> None:
    reason = rejected(change(**{field: value}))
    assert reason.startswith(f"{field}: ")
    assert "control character" in reason or "line breaks" in reason


@pytest.mark.parametrize("tag", ["team:a\tb", "team:\x00", "team:\x9f", "team:\u2029"])
def test_control_characters_are_refused_in_tags(tag: str) -> None:
    assert rejected(change(tags=[tag])).startswith("tags[0]: ")


@pytest.mark.parametrize(
    ("type_", "value"),
    [("A", "192.0.2.1\n"), ("TXT", "a\x00b"), ("TXT", "tab\there"), ("CAA", '0 issue "a\x01"')],
)
def test_raw_control_characters_in_values_are_refused(type_: str, value: str) -> None:
    name = "@" if type_ != "A" else "www"
    reason = rejected(change(type=type_, name=name, values=[value]))
    assert reason.startswith("values[0]: ") and "control character" in reason


def test_a_txt_byte_written_as_a_decimal_escape_is_still_accepted() -> None:
    (c,) = parse(change(type="TXT", values=['"a\\009b\\000"'])).changes
    assert c.values[0].content == '"a\\009b\\000"'


@pytest.mark.parametrize(
    ("literal", "fragment"),
    [
        ("1" + "0" * 5000, "version: an integer of 5001 digits is out of range"),
        ("-" + "9" * 4400, "version: an integer of 4400 digits is out of range"),
        ("1e400", "version: must be an integer, got Infinity"),
        ("-1e400", "version: must be an integer, got -Infinity"),
        ("9223372036854775808", "version: 9223372036854775808 is out of range"),
        ("1e30", "version: 1e+30 is out of range"),
    ],
)
def test_huge_numbers_reject_their_field_not_the_message(literal: str, fragment: str) -> None:
    text = json.dumps({"changes": [change(name="ok"), change(version=0)]}).replace(
        '"version": 0', f'"version": {literal}'
    )
    result = parse(text)
    assert [c.key.name for c in result.changes] == ["ok.example.com"]
    (rejection,) = result.rejections
    assert rejection.reason.startswith("changes[1]." + fragment), rejection.reason


@pytest.mark.parametrize(("literal", "version"), [("-0", 0), ("-0.0", 0), ("5.0", 5), ("1E2", 100)])
def test_integral_spellings_of_numbers_are_integers(literal: str, version: int) -> None:
    (c,) = parse(json.dumps(change(version=0)).replace('"version": 0', f'"version": {literal}')).changes
    assert c.version == version and type(c.version) is int


@pytest.mark.parametrize("depth", [50, 990, 100_000])
def test_deep_nesting_never_raises(depth: int) -> None:
    deep = "[" * depth + "]" * depth
    result = parse(json.dumps({"changes": [change(name="ok"), change()]}).replace('"upsert"', deep, 1))
    assert len(result.changes) + len(result.rejections) in (1, 2)
    for rejection in result.rejections:
        assert rejection.reason.startswith(rejection.field + ": ") and len(rejection.reason) < 2_000


def test_nesting_json_cannot_read_rejects_the_body() -> None:
    reason = rejected("[" * 100_000 + "]" * 100_000)
    assert reason.startswith("body: not valid JSON (nested too deeply to read")


@pytest.mark.parametrize("body", ["\ufeff" + json.dumps(change()), json.dumps(change())[:-5], '"\\ud800', ""])
def test_a_bom_or_truncated_text_rejects_the_body(body: str) -> None:
    reason = rejected(body)
    assert reason.startswith("body: not valid JSON (") and encodable(reason)


def test_a_rejection_lists_at_most_ten_problems() -> None:
    reason = rejected(change(**{f"x{i}": 1 for i in range(1_000)}))
    assert reason.count("is not a known field") == 10 and reason.endswith("; and 990 more problems")


def test_an_odd_unknown_key_is_shown_quoted_escaped_and_cut() -> None:
    reason = rejected(change(**{"": 1, "a b\x00" + "k" * 100: 2}))
    assert reason.startswith('[""]: is not a known field')
    assert '; ["a b\\u0000kkkkk' in reason and "k" * 100 not in reason


@pytest.mark.parametrize("value", [SURROGATE, "\x00", "\uffff", "\u2028", "a\x1b[31mred"])
def test_shown_values_are_escaped_so_the_reason_encodes_and_sqs_takes_it(value: str) -> None:
    reason = rejected(body_text(change(proxied=value)))
    assert reason.startswith("proxied: ") and "proxied: must be true or false, got " in reason
    assert all(c == "\t" or ord(c) >= 0x20 for c in reason)
    assert encodable(reason) and not any(c in reason for c in "\uffff\u2028\x85")


def test_source_and_id_are_escaped_where_they_are_carried() -> None:
    (c,) = parse(change(source="ci\x00", id="e\u2028")).changes
    assert (c.ref.source, c.ref.event_id) == ("ci\\u0000", "e\\u2028")


def test_a_parser_gap_that_lets_a_surrogate_through_is_still_rejected_at_ingest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The defensive property: whatever a parser returns, an accepted change encodes as httpx sends it.
    canonical = rdata.canonical

    def leaky(type_: str, text: str) -> RecordValue:
        return RecordValue(content="192.0.2.1\ud800") if type_ == "A" else canonical(type_, text)

    monkeypatch.setattr(rdata, "canonical", leaky)
    result = parse({"changes": [change(), change(type="AAAA", values=["2001:db8::1"])]})
    assert [c.key.type for c in result.changes] == ["AAAA"]
    (rejection,) = result.rejections
    assert rejection.field == "changes[0].values"
    assert rejection.reason.startswith("changes[0].values: the change cannot be encoded as UTF-8 JSON")


def test_allow_mass_change_is_carried_on_upserts_and_deletes_and_must_be_a_boolean() -> None:
    upsert = parse(change(allow_mass_change=True))
    delete = parse(change(action="delete", values=..., allow_mass_change=True))
    plain = parse(change())
    assert [c.allow_mass_change for c in (*upsert.changes, *delete.changes, *plain.changes)] == [
        True,
        True,
        False,
    ]
    assert "allow_mass_change: must be true or false" in rejected(change(allow_mass_change="yes"))


def test_a_loc_value_with_fractions_is_accepted_and_travels_as_json_numbers() -> None:
    # LOC's seconds and metres may be fractions: the only floats a change carries, and they must encode.
    result = parse(
        change(type="LOC", name="office", values=["42 21 43.95 N 71 5 6.34 W -24.33m 1m 200m 10m"])
    )
    (accepted,) = result.changes
    data = accepted.values[0].data_dict() or {}
    assert (data["lat_seconds"], data["long_seconds"], data["altitude"]) == (43.95, 6.34, -24.33)
    assert Change.from_dict(json.loads(json.dumps(accepted.to_dict()))) == accepted


@pytest.mark.parametrize(
    ("name", "field", "fragment"),
    [
        ("straße", None, None),
        ("😀", "name", "IDNA 2008"),
    ],
)
def test_names_go_through_idna_2008(name: str, field: str | None, fragment: str | None) -> None:
    result = parse(change(name=name))
    if field is None:
        assert [c.key.name for c in result.changes] == ["xn--strae-oqa.example.com"]
    else:
        (rejection,) = result.rejections
        assert rejection.field == field
        assert fragment in rejection.reason


def test_a_value_target_idna_refuses_is_rejected_naming_the_value() -> None:
    (rejection,) = parse(change(type="CNAME", values=["😀.example.net"])).rejections
    assert rejection.field == "values[0]"
    assert "U+1F600" in rejection.reason
