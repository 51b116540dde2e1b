"""Every one of Cloudflare's 21 record types round-trips: event → Cloudflare body (record_fields) → the
emulator over a real socket (batch call) → listed record → value_from_record → equal to the desired value,
so the next window plans no operation, whichever equivalent spelling the producer uses next
(tests/record_examples.py holds one example per type; docs/record-values.md the mapping)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from record_examples import EXAMPLES, RecordExample

from devstack.emulator import EmulatorServer, ZoneSpec
from dnsbatch.chunk import chunk_operations
from dnsbatch.cloudflare.client import CloudflareClient
from dnsbatch.events import parse_message
from dnsbatch.model import Change, EventRef
from dnsbatch.plan import PlanPolicy, plan_zone
from dnsbatch.rdata import SUPPORTED_TYPES, record_fields, value_from_record

TOKEN = "roundtrip-token-0123456789abcdef"
ZONE = "example.com"
POLICY = PlanPolicy(owner_id="roundtrip")
IDS = [example.type for example in EXAMPLES]


@pytest.fixture
def cloudflare() -> Iterator[tuple[EmulatorServer, CloudflareClient, str]]:
    with EmulatorServer([ZoneSpec(ZONE)], token=TOKEN) as emulator:
        client = CloudflareClient(emulator.base_url, TOKEN, timeout=5.0)
        yield emulator, client, client.zone_by_name(ZONE).id
        client.close()
        assert emulator.spec_violations == []


def accepted(example: RecordExample, value: str, version: int = 1) -> Change:
    body = {
        "zone": ZONE,
        "name": example.name,
        "type": example.type,
        "action": "upsert",
        "values": [value],
        "version": version,
    }
    result = parse_message(json.dumps(body), EventRef("m-1", 1), zones=[ZONE])
    assert result.rejections == (), result.rejections
    (change,) = result.changes
    return change


def apply(client: CloudflareClient, zone_id: str, changes: list[Change]) -> int:
    plan = plan_zone(changes, client.list_records(zone_id), POLICY)
    assert plan.rejected == ()
    for chunk in chunk_operations(plan.operations, 200):
        client.batch(zone_id, chunk.batch_body())
    return len(plan.operations)


def test_the_examples_cover_every_supported_type() -> None:
    assert {example.type for example in EXAMPLES} == SUPPORTED_TYPES
    assert len(SUPPORTED_TYPES) == 21


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_a_value_written_to_cloudflare_reads_back_equal_and_plans_nothing_next_window(
    cloudflare: tuple[EmulatorServer, CloudflareClient, str], example: RecordExample
) -> None:
    emulator, client, zone_id = cloudflare
    change = accepted(example, example.value)
    (desired,) = change.values
    assert record_fields(example.type, desired) == example.cloudflare

    assert apply(client, zone_id, [change]) == 1
    (record,) = client.list_records(zone_id, type=example.type)
    assert record.content == example.content  # what Cloudflare formats from the fields we sent
    assert value_from_record(record) == desired

    # The next window, in any spelling, finds the record already right: no operation, no call.
    for version, text in enumerate((example.value, *example.equivalents), start=2):
        again = accepted(example, text, version)
        plan = plan_zone([again], client.list_records(zone_id), POLICY)
        assert (plan.operations, plan.unchanged) == ((), (again,)), text
    assert emulator.records(ZONE) and len(emulator.records(ZONE)) == 1


def test_all_types_in_one_batch_then_a_second_window_is_unchanged(
    cloudflare: tuple[EmulatorServer, CloudflareClient, str],
) -> None:
    _, client, zone_id = cloudflare
    first = [accepted(example, example.value) for example in EXAMPLES]
    assert apply(client, zone_id, first) == 21
    listed = client.list_records(zone_id)
    assert sorted(r.type for r in listed) == sorted(SUPPORTED_TYPES)
    second = [accepted(example, example.equivalents[-1], 2) for example in EXAMPLES]
    plan = plan_zone(second, listed, POLICY)
    assert plan.operations == ()
    assert len(plan.unchanged) == 21


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_values_dnspython_refuses_are_rejected_at_ingest_naming_the_field(example: RecordExample) -> None:
    for text in example.invalid:
        body = {"changes": [{"zone": ZONE, "name": example.name, "type": example.type, "action": "upsert",
                             "values": [example.value, text]}]}  # fmt: skip
        result = parse_message(json.dumps(body), EventRef("m-1", 1), zones=[ZONE])
        assert result.changes == ()
        (rejection,) = result.rejections
        assert rejection.field == "changes[0].values[1]", (text, rejection.reason)
        assert rejection.reason.startswith("changes[0].values[1]: "), rejection.reason
