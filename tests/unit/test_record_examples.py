"""tests/record_examples.py is right: every value and equivalent parses with dnspython to the same rdata,
every invalid value is refused, and every Cloudflare mapping is accepted by the emulator (and its spec)
and gives the content the table says."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from record_examples import BY_TYPE, EXAMPLES, RecordExample

from devstack.emulator import spec
from devstack.emulator.rules import RECORD_TYPES
from devstack.emulator.state import Emulator
from devstack.emulator.zones import ZoneSpec

CLOUDFLARE_TYPES = [
    "A", "AAAA", "CAA", "CERT", "CNAME", "DNSKEY", "DS", "HTTPS", "LOC", "MX", "NAPTR",
    "NS", "OPENPGPKEY", "PTR", "SMIMEA", "SRV", "SSHFP", "SVCB", "TLSA", "TXT", "URI",
]  # fmt: skip
IDS = [example.type for example in EXAMPLES]


def parse(rtype: str, text: str) -> dns.rdata.Rdata:
    return dns.rdata.from_text(
        dns.rdataclass.IN, dns.rdatatype.from_text(rtype), text, origin=dns.name.root, relativize=False
    )


def test_the_table_has_one_example_for_each_of_cloudflares_21_types() -> None:
    assert [example.type for example in EXAMPLES] == sorted(CLOUDFLARE_TYPES)
    assert set(BY_TYPE) == set(RECORD_TYPES) == set(CLOUDFLARE_TYPES)
    for example in EXAMPLES:
        assert example.equivalents and example.invalid, example.type
        assert set(example.cloudflare) <= {"content", "data", "priority"}, example.type


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_value_and_equivalents_parse_to_the_same_rdata(example: RecordExample) -> None:
    expected = parse(example.type, example.value)
    for text in example.equivalents:
        assert text != example.value
        assert parse(example.type, text) == expected, (example.type, text)


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_invalid_values_are_refused_by_dnspython(example: RecordExample) -> None:
    for text in example.invalid:
        with pytest.raises(dns.exception.DNSException):
            parse(example.type, text)


def _same(sent: Any, returned: Any) -> bool:
    """LOC numbers come back through the wire form (centimetres in floating point)."""
    if isinstance(sent, dict):
        return sent.keys() == returned.keys() and all(_same(sent[k], returned[k]) for k in sent)
    if isinstance(sent, int | float) and not isinstance(sent, bool):
        return math.isclose(sent, returned, abs_tol=0.005)
    return bool(sent == returned)


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_the_cloudflare_mapping_is_accepted_and_formatted_as_the_table_says(example: RecordExample) -> None:
    body = {"type": example.type, "name": example.name, **example.cloudflare}
    path = f"/client/v4/zones/{'0' * 32}/dns_records"
    headers = [("Content-Type", "application/json"), ("Authorization", "Bearer x")]
    assert spec.violation("POST", path, [], headers, json.dumps(body).encode()) is None
    emu = Emulator([ZoneSpec("example.com")])
    record = emu.create_record(emu.zone_by_name("example.com").id, body)
    assert record["content"] == example.content
    if "data" in example.cloudflare:
        assert _same(example.cloudflare["data"], record["data"]), record["data"]
    if example.type in ("MX", "URI"):
        assert record["priority"] == example.cloudflare["priority"]


def test_the_readme_shows_each_types_example_value() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = re.search(r"```json\n(\{\"zone\": \"example.com\".*?)```", readme, flags=re.S)
    assert block is not None
    upserts = [json.loads(line) for line in block.group(1).splitlines() if '"upsert"' in line]
    assert sorted(change["type"] for change in upserts) == sorted(CLOUDFLARE_TYPES)
    for change in upserts:
        example = BY_TYPE[change["type"]]
        assert (change["name"], change["values"][0]) == (example.name, example.value), change["type"]
