"""Failure and edge paths of the batcher and the fallback over real sockets (moto's server, the emulator):
the mass-change guard holding a window, dry runs writing nothing, and redeliveries of finished work
recording no second outcome (docs/architecture.md#nothing-lost-nothing-silent)."""

from __future__ import annotations

import json
import time

import pytest
from functional_parts import Parts

from dnsbatch import queues
from dnsbatch.batcher import BatcherDeps, process_zone
from dnsbatch.fallback import FallbackDeps, process_request
from dnsbatch.ledger import Status
from dnsbatch.model import Action, Change, EventRef, Outcome, RecordSetKey, RecordValue

OWNED = 60  # above the guard's default minimum of 50 owned records


def key(name: str) -> RecordSetKey:
    return RecordSetKey("example.com", f"{name}.example.com", "A")


def upsert(name: str, address: str, version: int = 1) -> Change:
    return Change(
        key=key(name),
        action=Action.UPSERT,
        values=(RecordValue(address),),
        version=version,
        ref=EventRef(f"msg-{name}-{version}", 1_764_028_800_000 + version),
    )


def delete(name: str, version: int, *, allow: bool = False) -> Change:
    return Change(
        key=key(name),
        action=Action.DELETE,
        values=(),
        version=version,
        ref=EventRef(f"msg-del-{name}-{version}", 1_764_028_800_000 + version),
        allow_mass_change=allow,
    )


def batcher(parts: Parts, **settings: object) -> BatcherDeps:
    return parts.batcher_deps(**settings)


def fallback(parts: Parts, **settings: object) -> FallbackDeps:
    return parts.fallback_deps(**settings)


def run(deps: BatcherDeps, changes: list[Change], changeset_id: str) -> None:
    for change in changes:
        deps.ledger.claim(change)
    process_zone(
        "example.com",
        [queues.ChangeSet(changeset_id, "example.com", tuple(changes))],
        deps,
        60.0 + time.monotonic(),
    )


def rejected(parts: Parts) -> list[dict[str, object]]:
    url = parts.stack.queue_urls["RejectedQueue"]
    found: list[dict[str, object]] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got = parts.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=60
        ).get("Messages", [])
        if not got:
            break
        found += [{"body": json.loads(m["Body"]), **m.get("MessageAttributes", {})} for m in got]
    return found


def names_in_cloudflare(parts: Parts) -> set[str]:
    zone_id = parts.emulator.zone_id("example.com")
    return {r.name for r in parts.client.list_records(zone_id) if r.type == "A"}


@pytest.fixture
def owned_zone(parts: Parts) -> list[str]:
    names = [f"h{i:02d}" for i in range(OWNED)]
    run(batcher(parts), [upsert(n, f"192.0.2.{i + 1}") for i, n in enumerate(names)], "cs-seed")
    assert len(names_in_cloudflare(parts)) == OWNED
    parts.outcomes.clear()
    return names


def test_a_window_deleting_most_owned_records_is_held_and_parked(parts: Parts, owned_zone: list[str]) -> None:
    # WHEN one window deletes 40 of the 60 records dnsbatch owns (67% > the 30% threshold)
    doomed = owned_zone[:40]
    run(batcher(parts), [delete(n, 2) for n in doomed], "cs-mass")

    # THEN nothing is deleted, each change ends held, and each is parked with the guard's figures
    assert len(names_in_cloudflare(parts)) == OWNED
    assert sorted(o.outcome for o in parts.outcomes) == [Outcome.HELD] * 40
    parked = rejected(parts)
    assert len(parked) == 40
    reasons = {m["reason"]["StringValue"] for m in parked}  # type: ignore[index]
    assert len(reasons) == 1 and "40" in next(iter(reasons)) and "60" in next(iter(reasons)), reasons
    entry = parts.ledger.get(key(doomed[0]))
    assert entry is not None and entry.status is Status.HELD


def test_a_mass_change_the_producer_allowed_is_applied(parts: Parts, owned_zone: list[str]) -> None:
    # WHEN the same deletes are re-published with allow_mass_change
    doomed = owned_zone[:40]
    run(batcher(parts), [delete(n, 3, allow=True) for n in doomed], "cs-allowed")

    # THEN they are applied, and nothing is parked
    assert names_in_cloudflare(parts) == {f"{n}.example.com" for n in owned_zone[40:]}
    assert sorted(o.outcome for o in parts.outcomes) == [Outcome.APPLIED] * 40
    assert rejected(parts) == []


def test_a_dry_run_fallback_writes_nothing_and_still_logs_each_outcome(parts: Parts) -> None:
    # GIVEN a name the batcher handed over (its Ledger entry is FALLBACK)
    change = upsert("www", "192.0.2.80")
    parts.ledger.claim(change)
    parts.ledger.mark(change, Status.FALLBACK)
    request = queues.FallbackRequest((change,), "cs-dry", 0, "refused")

    # WHEN a dry-run fallback processes it
    result = process_request(request, fallback(parts, dry_run=True), time.monotonic() + 60)

    # THEN Cloudflare and the Ledger are untouched, and the outcome is logged as what would happen
    assert names_in_cloudflare(parts) == set()
    entry = parts.ledger.get(change.key)
    assert entry is not None and entry.status is Status.FALLBACK
    assert result.outcomes == {change.key: Outcome.APPLIED}
    assert [(o.outcome, o.reason) for o in parts.outcomes] == [(Outcome.APPLIED, "dry run: not sent")]


def test_a_fallback_request_delivered_again_records_no_second_outcome(parts: Parts) -> None:
    # GIVEN a fallback request already processed: its record set applied and final in the Ledger
    change = upsert("api", "192.0.2.81")
    parts.ledger.claim(change)
    parts.ledger.mark(change, Status.FALLBACK)
    request = queues.FallbackRequest((change,), "cs-dup", 0, "refused")
    deps = fallback(parts)
    first = process_request(request, deps, time.monotonic() + 60)
    assert first.outcomes == {change.key: Outcome.APPLIED}

    # WHEN SQS delivers the same message again
    again = process_request(request, deps, time.monotonic() + 60)

    # THEN no call is made and no second outcome is recorded
    assert again.outcomes == {change.key: None} and again.calls == 0
    assert [o.outcome for o in parts.outcomes] == [Outcome.APPLIED]
    assert names_in_cloudflare(parts) == {"api.example.com"}


def test_a_fallback_request_overtaken_by_a_newer_version_is_superseded(parts: Parts) -> None:
    # GIVEN version 1 handed to the fallback, then version 2 claimed by a later window
    old, new = upsert("mail", "192.0.2.82", 1), upsert("mail", "192.0.2.83", 2)
    parts.ledger.claim(old)
    parts.ledger.mark(old, Status.FALLBACK)
    parts.ledger.claim(new)

    # WHEN the fallback gets version 1
    result = process_request(
        queues.FallbackRequest((old,), "cs-old", 0, "refused"), fallback(parts), time.monotonic() + 60
    )

    # THEN it writes nothing and ends version 1 superseded, naming the version that won
    assert result.outcomes == {old.key: Outcome.SUPERSEDED} and result.calls == 0
    assert names_in_cloudflare(parts) == set()
    (event,) = parts.outcomes
    assert event.outcome is Outcome.SUPERSEDED and "version 2" in (event.reason or "")
