"""The mass-change guard end to end in the batcher (guard.py), over real sockets: a window that would delete
or replace too much of what dnsbatch owns is held and parked with the figures, nothing is written to
Cloudflare, and re-publishing with allow_mass_change applies it."""

from __future__ import annotations

import json
import time
from dataclasses import replace

from functional_parts import Parts

from dnsbatch import queues
from dnsbatch.batcher import process_zone
from dnsbatch.ledger import Status
from dnsbatch.model import Action, Change, EventRef, Outcome, RecordSetKey, RecordValue

ZONE = "example.com"


def change(i: int, *, version: int, action: Action = Action.UPSERT, msg: str = "") -> Change:
    values = (RecordValue(f"192.0.2.{i}"),) if action is Action.UPSERT else ()
    key = RecordSetKey(ZONE, f"h{i:02d}.{ZONE}", "A")
    return Change(key, action, values, version, EventRef(msg or f"m{i}-{version}", 0), ttl=300)


def run(parts: Parts, changes: list[Change], changeset_id: str) -> None:
    deps = parts.batcher_deps(mass_change_min_records=10)
    for c in changes:
        parts.ledger.claim(c)
    process_zone(ZONE, [queues.ChangeSet(changeset_id, ZONE, tuple(changes))], deps, time.monotonic() + 60)


def test_a_window_deleting_half_of_the_owned_records_is_held_and_applies_once_allowed(parts: Parts) -> None:
    # GIVEN 20 records dnsbatch owns
    run(parts, [change(i, version=1) for i in range(20)], "cs-seed")
    zone_id = parts.emulator.zone_id(ZONE)
    assert len(parts.client.list_records(zone_id)) == 20
    parts.outcomes.clear()
    # WHEN one window deletes 10 of them (50% > 30%)
    deletes = [change(i, version=2, action=Action.DELETE) for i in range(10)]
    run(parts, deletes, "cs-mass")
    # THEN nothing was deleted; each change is held, parked with the figures, and final in the Ledger
    assert len(parts.client.list_records(zone_id)) == 20
    assert [o.outcome for o in parts.outcomes] == [Outcome.HELD] * 10
    url = parts.stack.queue_urls["RejectedQueue"]
    parked = parts.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    reasons = {m["MessageAttributes"]["reason"]["StringValue"] for m in parked["Messages"]}
    assert len(parked["Messages"]) == 10
    assert reasons == {
        "mass-change guard: this window would delete 10 and replace 0 of the 20 records dnsbatch owns in "
        "the zone (50%, more than the 30% allowed); held. If this is intended, re-publish the changes with "
        '"allow_mass_change": true'
    }
    assert all(json.loads(m["Body"])["action"] == "delete" for m in parked["Messages"])
    assert all(parts.ledger.get(c.key).status is Status.HELD for c in deletes)  # type: ignore[union-attr]
    # AND re-published with allow_mass_change (a new event, a newer version), the deletes go through
    parts.outcomes.clear()
    allowed = [
        replace(c, version=3, ref=EventRef(f"again-{i}", 0), allow_mass_change=True)
        for i, c in enumerate(deletes)
    ]
    run(parts, allowed, "cs-allowed")
    assert [o.outcome for o in parts.outcomes] == [Outcome.APPLIED] * 10
    assert len(parts.client.list_records(zone_id)) == 10
