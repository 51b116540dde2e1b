"""The Ledger against DynamoDB as moto serves it over HTTP, on the table template.yaml defines: the claim
rules that make convergence hold under at-least-once, out-of-order delivery
(docs/architecture.md#convergence)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.stack.aws import LocalStack, create_stack
from devstack.stack.pipeline import REPO
from dnsbatch.ledger import TRANSITIONS, Claim, Ledger, Mark, Status, event_id, pk
from dnsbatch.model import Action, Change, EventRef, RecordSetKey, RecordValue

TEMPLATE = REPO / "template.yaml"
NOW = 1_764_028_800.0
KEY = RecordSetKey("example.com", "www.example.com", "A")


def change(version: int, message: str = "msg-1", *, index: int = 0, key: RecordSetKey = KEY) -> Change:
    return Change(
        key=key,
        action=Action.UPSERT,
        values=(RecordValue(f"192.0.2.{version % 250 + 1}"),),
        version=version,
        ref=EventRef(message, 1_764_028_800_000, "test", f"evt-{message}", index),
        ttl=300,
    )


@pytest.fixture(scope="module")
def template_stack(moto_endpoint: str) -> LocalStack:
    # One stack for the module (creating every queue costs ~0.5 s); each test gets its own table below.
    name = f"l{uuid.uuid4().hex[:10]}"
    return create_stack(moto_endpoint, TEMPLATE, stack_name=name, parameters={"Zones": "example.com"})


@pytest.fixture(scope="module")
def dynamodb(template_stack: LocalStack) -> Iterator[Any]:
    client = template_stack.client("dynamodb")
    yield client
    client.close()


@pytest.fixture
def ledger(template_stack: LocalStack, dynamodb: Any) -> Ledger:
    """A fresh, empty table with exactly the template table's keys and TTL."""
    template = dynamodb.describe_table(TableName=template_stack.table_name)["Table"]
    name = f"{template_stack.table_name}-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=template["KeySchema"],
        AttributeDefinitions=template["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
    )
    return Ledger(name, dynamodb, clock=lambda: NOW, ttl_days=30)


def test_the_template_table_is_keyed_by_pk_with_ttl_on_expires_at(
    template_stack: LocalStack, dynamodb: Any
) -> None:
    table = dynamodb.describe_table(TableName=template_stack.table_name)["Table"]
    ttl = dynamodb.describe_time_to_live(TableName=template_stack.table_name)["TimeToLiveDescription"]

    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_a_new_record_set_is_claimed_with_its_change_and_an_expiry(ledger: Ledger) -> None:
    first = change(5)

    assert ledger.claim(first) == (Claim.CLAIMED, None)

    entry = ledger.get(KEY)
    assert entry is not None
    assert (entry.key, entry.version, entry.event, entry.status) == (KEY, 5, "msg-1#0", Status.CLAIMED)
    assert entry.change == first
    assert entry.holds(first)
    raw = ledger.client.get_item(TableName=ledger.table_name, Key={"pk": {"S": pk(KEY)}})["Item"]
    assert int(raw["expires_at"]["N"]) == int(NOW) + 30 * 86400
    assert int(raw["updated_at"]["N"]) == int(NOW)


def test_a_higher_version_takes_the_record_set_over(ledger: Ledger) -> None:
    ledger.claim(change(5, "old"))
    ledger.mark(change(5, "old"), Status.APPLIED)

    result, previous = ledger.claim(change(6, "new"))

    assert (result, previous) == (Claim.CLAIMED, None)
    entry = ledger.get(KEY)
    assert entry is not None and (entry.version, entry.event) == (6, "new#0")


def test_a_lower_version_is_superseded_and_sees_the_holder(ledger: Ledger) -> None:
    ledger.claim(change(6, "new"))

    result, holder = ledger.claim(change(5, "old"))

    assert result is Claim.SUPERSEDED
    assert holder is not None and (holder.version, holder.event) == (6, "new#0")
    entry = ledger.get(KEY)
    assert entry is not None and entry.version == 6


def test_the_same_version_from_another_event_is_superseded(ledger: Ledger) -> None:
    ledger.claim(change(5, "first"))

    result, holder = ledger.claim(change(5, "second"))

    assert result is Claim.SUPERSEDED
    assert holder is not None and holder.event == "first#0"


def test_another_change_of_the_same_envelope_is_a_different_event(ledger: Ledger) -> None:
    ledger.claim(change(5, "envelope", index=0))

    result, _ = ledger.claim(change(5, "envelope", index=1))

    assert result is Claim.SUPERSEDED


@pytest.mark.parametrize("status", [Status.CLAIMED, Status.FALLBACK])
def test_the_same_event_again_while_not_final_claims_again_so_a_crash_does_not_lose_it(
    ledger: Ledger, status: Status
) -> None:
    original = change(5)
    ledger.claim(original)
    if status is not Status.CLAIMED:
        assert ledger.mark(original, status)

    result, entry = ledger.claim(original)

    assert result is Claim.CLAIMED
    # ... without moving the entry back: a change already with the fallback stays there
    stored = ledger.get(KEY)
    assert entry is not None and stored is not None and stored.status is status


def test_the_state_machine_never_moves_an_entry_backwards_or_out_of_a_final_status(ledger: Ledger) -> None:
    held = change(5)
    ledger.claim(held)
    assert ledger.mark(held, Status.APPLIED) is Mark.MARKED
    # the batcher marking FALLBACK after a fast fallback already applied it must not undo that
    assert ledger.mark(held, Status.FALLBACK) is Mark.ALREADY
    assert ledger.mark(held, Status.FAILED) is Mark.ALREADY
    entry = ledger.get(KEY)
    assert entry is not None and entry.status is Status.APPLIED


def test_every_transition_the_state_machine_allows_and_refuses(ledger: Ledger) -> None:
    for target, sources in TRANSITIONS.items():
        for source in Status:
            key = RecordSetKey("example.com", f"{source.value}-{target.value}.example.com", "A")
            held = change(5, f"{source.value}-{target.value}", key=key)
            ledger.claim(held)
            if source is not Status.CLAIMED:
                assert ledger.mark(held, source)  # every status is reachable from CLAIMED
            expected = Mark.MARKED if source in sources else Mark.ALREADY
            assert ledger.mark(held, target) is expected, (source, target)


@pytest.mark.parametrize("status", [Status.APPLIED, Status.UNCHANGED, Status.REJECTED, Status.FAILED])
def test_the_same_event_after_a_final_mark_is_a_duplicate(ledger: Ledger, status: Status) -> None:
    original = change(5)
    ledger.claim(original)
    assert ledger.mark(original, status, detail="done")

    result, entry = ledger.claim(original)

    assert result is Claim.DUPLICATE
    assert entry is not None and entry.status is status and entry.detail == "done"


def test_mark_records_status_and_detail_while_the_change_holds_the_claim(ledger: Ledger) -> None:
    held = change(5)
    ledger.claim(held)

    assert ledger.mark(held, Status.FALLBACK, detail="x" * 5000)
    entry = ledger.get(KEY)
    assert entry is not None and entry.status is Status.FALLBACK
    assert entry.detail == "x" * 1000

    assert ledger.mark(held, Status.APPLIED)
    entry = ledger.get(KEY)
    assert entry is not None and entry.status is Status.APPLIED and entry.detail is None


def test_mark_does_nothing_once_a_newer_version_took_the_record_set(ledger: Ledger) -> None:
    older, newer = change(5, "older"), change(6, "newer")
    ledger.claim(older)
    ledger.claim(newer)

    assert ledger.mark(older, Status.APPLIED) is Mark.SUPERSEDED

    entry = ledger.get(KEY)
    assert entry is not None and (entry.version, entry.event, entry.status) == (6, "newer#0", Status.CLAIMED)


def test_mark_does_nothing_for_a_record_set_never_claimed(ledger: Ledger) -> None:
    assert ledger.mark(change(5), Status.APPLIED) is Mark.SUPERSEDED
    assert ledger.get(KEY) is None


def test_get_many_reads_more_than_100_record_sets(ledger: Ledger) -> None:
    keys = [RecordSetKey("example.com", f"h{i:03d}.example.com", "TXT") for i in range(230)]
    for i, key in enumerate(keys):
        ledger.claim(change(i + 1, f"m{i}", key=key))
    absent = RecordSetKey("example.com", "absent.example.com", "A")

    entries = ledger.get_many([*keys, *keys[:10], absent])

    assert set(entries) == set(keys)
    assert all(entries[k].version == i + 1 for i, k in enumerate(keys))
    assert all(entries[k].event == event_id(change(i + 1, f"m{i}", key=k)) for i, k in enumerate(keys))


def test_get_many_of_nothing_makes_no_call(ledger: Ledger) -> None:
    assert ledger.get_many([]) == {}


def test_names_with_the_key_separator_stay_apart(ledger: Ledger) -> None:
    # pk is "zone|name|type": names never contain "|" after validation, but types and zones share it.
    a = RecordSetKey("example.com", "a.example.com", "TXT")
    b = RecordSetKey("example.com", "a.example.com", "A")
    ledger.claim(change(1, "a", key=a))
    ledger.claim(change(1, "b", key=b))

    entries = ledger.get_many([a, b])

    assert (entries[a].event, entries[b].event) == ("a#0", "b#0")


def test_a_final_mark_is_unlogged_until_its_outcome_line_is_noted(ledger: Ledger) -> None:
    held = change(5)
    ledger.claim(held)
    assert ledger.mark(held, Status.FALLBACK)
    entry = ledger.get(KEY)
    assert entry is not None and entry.logged  # no outcome is owed for a change on its way
    assert ledger.mark(held, Status.APPLIED)
    entry = ledger.get(KEY)
    assert entry is not None and not entry.logged  # a crash now would leave the outcome unwritten
    ledger.mark_logged([held])
    entry = ledger.get(KEY)
    assert entry is not None and entry.logged
    # a newer version's entry is never marked by an older change
    newer = change(6, "newer")
    ledger.claim(newer)
    ledger.mark(newer, Status.APPLIED)
    ledger.mark_logged([held])
    entry = ledger.get(KEY)
    assert entry is not None and entry.version == 6 and not entry.logged
