"""import-zone: a BIND zone file or a Cloudflare export → upsert events (docs/producer-kit.md)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from dnsbatch.__main__ import main
from dnsbatch.events import parse_message
from dnsbatch.model import EventRef
from dnsbatch.rdata import SUPPORTED_TYPES
from dnsbatch.zonefile import CLOUDFLARE_TYPES, ZoneFileError, import_zone, parse_cf_comment

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "events" / "example.zone"

# One record set per type the library accepts today, with what its event must hold.
ACCEPTED = {
    ("www", "A"): ["192.0.2.10", "192.0.2.11"],
    ("www", "AAAA"): ["2001:db8::10"],
    ("shop", "CNAME"): ["shops.example.net."],
    ("@", "TXT"): ['"v=spf1 include:_spf.example.net -all"'],
    ("@", "MX"): ["10 mx1.example.com.", "20 mx2.example.com."],
    ("dev", "NS"): ["ns1.example.net.", "ns2.example.net."],
    ("dev", "DS"): ["2371 13 2 1f987cc6583e92df0890718c42c04b4a7e09a4d0ea53f3f76ee2ea8a7d9a6db4"],
    ("10", "PTR"): ["host10.example.com."],
    ("_sip._tcp", "SRV"): ["10 5 5060 sip.example.com."],
    ("@", "CAA"): ['0 iodef "mailto:security@example.com"', '0 issue "letsencrypt.org"'],
    ("_ftp._tcp", "URI"): ['10 1 "ftp://ftp.example.com/pub/"'],
    ("_443._tcp.www", "TLSA"): ["3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6"],
    ("c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec01c1afd6._smimecert", "SMIMEA"): [
        "3 0 1 8cc4d3c6f1c8e1b2a0e5b1a1f3e2d4c5b6a7980716253443526170819a0b0c0d"
    ],
    ("host", "SSHFP"): ["4 2 123456789abcdef67890123456789abcdef67890123456789abcdef123456789"],
    ("@", "HTTPS"): ['1 . alpn="h3,h2" ipv4hint="192.0.2.10"'],
    ("_dns", "SVCB"): ['1 dns.example.net. alpn="dot" port="853"'],
}

ACCEPTED.update(
    {
        ("alice", "CERT"): [
            "PKIX 12345 RSASHA256 MIIBCgKCAQEA1I0IdGb8zZ6N3d3YBPesoHK4BK3QXq/h41PF5vf2CXI/"
            "Q7GxudI7ffnouAOxt1+UfSZpICyobWI3Z9hWfE73Ng=="
        ],
        ("@", "DNSKEY"): [
            "257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+"
            "KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="
        ],
        # dnspython leaves out size and precisions equal to RFC 1876's defaults (1m 10000m 10m); the
        # library reads them back as those defaults and sends all four to Cloudflare.
        ("office", "LOC"): ["52 22 23.000 N 4 53 32.000 E -2.00m"],
        ("@", "NAPTR"): ['100 10 "S" "SIP+D2U" "" _sip._udp.example.com.'],
        ("2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db._openpgpkey", "OPENPGPKEY"): [
            "mDMEXRT+epxEk5ID60oimXze/J7tMXMEu1EB0oGbJUS0SOTgsYBdBiDa4wQRLFuF4l1Oymz3G0SCNSDv+iBF8A=="
        ],
    }
)


def by_set(events: list[dict[str, object]]) -> dict[tuple[object, object], object]:
    return {(e["name"], e["type"]): e["values"] for e in events}


def test_the_example_zone_holds_every_type_the_library_accepts() -> None:
    imported = import_zone(EXAMPLE.read_text())

    assert {t for _, t in ACCEPTED} == set(SUPPORTED_TYPES)
    assert imported.zone == "example.com"
    assert by_set(imported.events) == ACCEPTED
    assert imported.records == 25
    assert all(e["zone"] == "example.com" and e["action"] == "upsert" for e in imported.events)


def test_the_imported_events_pass_the_librarys_parser() -> None:
    imported = import_zone(EXAMPLE.read_text(), source="import-zone")

    result = parse_message(json.dumps({"changes": imported.events}), EventRef("m", 1), zones={"example.com"})

    assert result.rejections == ()
    assert len(result.changes) == 21


def test_the_zone_ttl_and_the_record_comment_are_kept() -> None:
    events = {(e["name"], e["type"]): e for e in import_zone(EXAMPLE.read_text()).events}

    assert events["www", "A"]["ttl"] == 300
    assert events["www", "AAAA"]["ttl"] == 3600  # $TTL
    assert events["shop", "CNAME"]["comment"] == "hosted by a partner (becomes the record comment)"
    assert "comment" not in events["www", "A"]


def test_soa_and_apex_ns_are_skipped_and_said_so() -> None:
    imported = import_zone(EXAMPLE.read_text())

    assert ("@", "SOA") not in by_set(imported.events)
    assert ("@", "NS") not in by_set(imported.events)
    assert ("dev", "NS") in by_set(imported.events)  # a delegation is a record set like any other
    assert imported.skipped == {
        "SOA record (Cloudflare manages the zone's SOA)": 1,
        "apex NS records (Cloudflare manages the zone's own name servers)": 2,
    }
    summary = imported.summary()
    assert "21 record sets (25 records)" in summary
    assert "skipped 2 apex NS records" in summary


def test_the_kit_imports_exactly_the_types_the_library_accepts() -> None:
    assert set(CLOUDFLARE_TYPES) == set(SUPPORTED_TYPES)
    assert len(CLOUDFLARE_TYPES) == 21


def test_a_value_split_over_lines_in_parentheses_becomes_one_value() -> None:
    text = (
        "$ORIGIN example.com.\n$TTL 300\n"
        "@ IN DNSKEY 257 3 13 (mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+Kkx\n"
        "                      LbxILfDLUT0rAK9iUzy1L53eKGQ==)\n"
    )

    assert by_set(import_zone(text).events) == {("@", "DNSKEY"): ACCEPTED["@", "DNSKEY"]}


def test_types_cloudflare_does_not_serve_are_skipped_and_counted() -> None:
    text = (
        '$ORIGIN example.com.\n$TTL 300\nold IN SPF "v=spf1 -all"\nalias IN DNAME example.net.\n'
        "a IN A 192.0.2.1\n"
    )

    imported = import_zone(text)

    assert by_set(imported.events) == {("a", "A"): ["192.0.2.1"]}
    assert imported.skipped == {
        "DNAME records (a type Cloudflare does not serve)": 1,
        "SPF records (a type Cloudflare does not serve)": 1,
    }


def test_ttls_cloudflare_cannot_take_are_bounded_with_a_note_and_automatic_is_kept() -> None:
    text = (
        "$ORIGIN example.com.\nshort 30 IN A 192.0.2.1\nlong 604800 IN A 192.0.2.2\nauto 1 IN A 192.0.2.3\n"
    )

    imported = import_zone(text)

    assert {e["name"]: e["ttl"] for e in imported.events} == {"short": 60, "long": 86400, "auto": 1}
    assert any("TTL 30 is outside" in note for note in imported.notes)


CLOUDFLARE_EXPORT = """\
;;
;; Domain:     example.com.
;; Exported:   2026-11-25 16:00:00
;;
;; This file is intended for use for informational and archival
;; purposes ONLY and MUST be edited before use on a production
;; DNS server.
;;

;; SOA Record
example.com.\t3600\tIN\tSOA\tada.ns.cloudflare.com. dns.cloudflare.com. 2049 10000 2400 604800 3600

;; NS Records
example.com.\t86400\tIN\tNS\tada.ns.cloudflare.com.
example.com.\t86400\tIN\tNS\tbob.ns.cloudflare.com.

;; A Records
api.example.com.\t1\tIN\tA\t1.1.1.1 ; cf_tags=cf-proxied:true
api.example.com.\t1\tIN\tA\t1.0.0.1 ; cf_tags=cf-proxied:true
db.example.com.\t300\tIN\tA\t192.0.2.20 ; primary [dnsbatch:dnsbatch] cf_tags=team:data,cf-proxied:false
mixed.example.com.\t1\tIN\tA\t1.1.1.2 ; cf_tags=cf-proxied:true
mixed.example.com.\t1\tIN\tA\t1.0.0.2 ; cf_tags=cf-proxied:false

;; CNAME Records
www.example.com.\t1\tIN\tCNAME\texample.com. ; cf_tags=cf-flatten-cname,cf-proxied:true

;; TXT Records
example.com.\t300\tIN\tTXT\t"a;b" ; this comment contains cf_tags= as text cf_tags=
"""


def test_a_cloudflare_export_keeps_proxy_status_comments_and_tags() -> None:
    imported = import_zone(CLOUDFLARE_EXPORT)
    events = {(e["name"], e["type"]): e for e in imported.events}

    assert imported.zone == "example.com"  # from the export's header: it has no $ORIGIN
    assert events["api", "A"] == {
        "zone": "example.com",
        "name": "api",
        "type": "A",
        "action": "upsert",
        "values": ["1.0.0.1", "1.1.1.1"],
        "ttl": 1,
        "proxied": True,
    }
    # A zone dnsbatch already manages exports its marker: only the user's part is imported.
    assert events["db", "A"]["comment"] == "primary"
    assert events["db", "A"]["tags"] == ["team:data"]
    assert "proxied" not in events["db", "A"]
    assert "proxied" not in events["mixed", "A"]
    assert events["www", "CNAME"]["proxied"] is True
    assert events["@", "TXT"]["values"] == ['"a;b"']  # the ; inside quotes is not a comment
    assert events["@", "TXT"]["comment"] == "this comment contains cf_tags= as text"
    assert any("only some of its records are proxied" in n for n in imported.notes)
    assert any("cf-flatten-cname" in n for n in imported.notes)
    result = parse_message(json.dumps({"changes": imported.events}), EventRef("m", 1), zones={"example.com"})
    assert result.rejections == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("   cf_tags=awesome", (None, [("awesome", None)])),
        (
            ' cf_tags=tag1,tag2:value2,tag3:"value,with,commas",'
            'tag4:"value with \\"escaped\\" quotation marks"',
            (
                None,
                [
                    ("tag1", None),
                    ("tag2", "value2"),
                    ("tag3", "value,with,commas"),
                    ("tag4", 'value with "escaped" quotation marks'),
                ],
            ),
        ),
        (" just a comment without tags", ("just a comment without tags", [])),
        (
            " simple example cf_tags=important,ticket:THIS-12345",
            ("simple example", [("important", None), ("ticket", "THIS-12345")]),
        ),
        ("", (None, [])),
    ],
)
def test_cloudflare_inline_attributes_are_read_as_documented(
    text: str, expected: tuple[str | None, list[tuple[str, str | None]]]
) -> None:
    assert parse_cf_comment(text) == expected


def test_a_set_whose_records_disagree_gets_no_comment_or_tags_and_a_note() -> None:
    text = (
        "$ORIGIN example.com.\n"
        "a 300 IN A 192.0.2.1 ; one cf_tags=x:1\n"
        "a 300 IN A 192.0.2.2 ; two cf_tags=x:2\n"
    )

    imported = import_zone(text)

    (event,) = imported.events
    assert "comment" not in event and "tags" not in event
    assert len(imported.notes) == 2


def test_the_zone_name_can_be_given_and_must_be_known() -> None:
    assert import_zone("a 300 IN A 192.0.2.1\n", zone="example.org").events[0]["zone"] == "example.org"
    with pytest.raises(ZoneFileError, match="the zone's name is unknown"):
        import_zone("a 300 IN A 192.0.2.1\n")


def test_a_file_dnspython_cannot_read_is_refused_with_its_line() -> None:
    with pytest.raises(ZoneFileError, match=r"bad\.zone:"):
        import_zone("$ORIGIN example.com.\n$TTL 300\na IN A not-an-address\n", filename="bad.zone")


def test_allow_mass_change_and_source_are_set_on_every_event() -> None:
    imported = import_zone(EXAMPLE.read_text(), source="migration", allow_mass_change=True)

    assert {e["source"] for e in imported.events} == {"migration"}
    assert all(e["allow_mass_change"] is True for e in imported.events)


def run_main(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out, err), out.getvalue(), err.getvalue()


def test_the_cli_writes_json_lines_that_publish_reads(tmp_path: Path) -> None:
    code, out, err = run_main("import-zone", str(EXAMPLE))

    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert by_set(events) == ACCEPTED
    assert {e["source"] for e in events} == {"import-zone"}
    assert "skipped 1 SOA record" in err and "AdoptUnowned" in err
    target = tmp_path / "events.jsonl"
    assert run_main("import-zone", str(EXAMPLE), "-o", str(target))[0] == 0
    assert target.read_text() == out
    code, _, err = run_main("publish", "--dry-run", str(target))
    assert code == 0, err
    assert "21 changes read, 21 would be sent in 1 messages; 0 invalid" in err


def test_the_cli_reports_a_zone_file_it_cannot_read(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zone"
    bad.write_text("$ORIGIN example.com.\na IN A 1.2.3\n")

    code, out, err = run_main("import-zone", str(bad))

    assert code == 1 and out == ""
    assert "import-zone:" in err and "bad.zone" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" cf_tags=,,", (None, [])),  # no tag name: nothing read, nothing invented
        (' cf_tags=t:"not closed', (None, [("t", "not closed")])),
        (" note cf_tags=a:1, b:2", ("note", [("a", "1"), ("b", "2")])),
    ],
)
def test_odd_cf_tags_are_read_leniently(text: str, expected: tuple[str | None, list[object]]) -> None:
    assert parse_cf_comment(text) == expected


def test_inline_attributes_follow_quoting_origins_and_only_one_line_records() -> None:
    text = (
        "$ORIGIN example.com.\n"
        "@ 300 IN SOA ns1.example.net. hostmaster.example.com. (\n"
        "1 ; serial, at column 0 inside the parentheses\n"
        "7200 3600 1209600 300 )\n"
        'quote 300 IN TXT "say \\"hi; there\\"" ; the real comment\n'
        "inherit 300 IN A 192.0.2.1\n"
        "        300 IN A 192.0.2.2 ; an inherited owner: no attributes\n"
        "$ORIGIN sub.example.com.\n"
        "deep 300 IN A 192.0.2.3 ; in the sub origin\n"
    )

    events = {(e["name"], e["type"]): e for e in import_zone(text).events}

    assert events["quote", "TXT"]["values"] == ['"say \\"hi; there\\""']
    assert events["quote", "TXT"]["comment"] == "the real comment"
    assert "comment" not in events["inherit", "A"]
    assert events["deep.sub", "A"]["comment"] == "in the sub origin"
