"""Bisection and the per-name fallback, wired by hand to real servers (moto, the emulator) for the
interleavings the pipeline cannot be steered into: a deadline in the middle of a bisection, a refused
write in the middle of a name (docs/bisection.md)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from functional_parts import OWNER, Parts
from type_switches import SWITCHES

from devstack.emulator import FaultConfig
from dnsbatch import queues
from dnsbatch.batcher import BatcherDeps, TimeBudgetExceeded, process_zone
from dnsbatch.fallback import FallbackDeps, process_request
from dnsbatch.ledger import Status
from dnsbatch.model import Action, Change, EventRef, Outcome, RecordSetKey
from dnsbatch.rdata import parse_values

ZONE = "example.com"


def change(
    name: str, values: list[str] | None, *, type_: str = "A", version: int = 1, msg: str = ""
) -> Change:
    fqdn = f"{name}.{ZONE}"
    return Change(
        key=RecordSetKey(ZONE, fqdn, type_),
        action=Action.UPSERT if values else Action.DELETE,
        values=parse_values(type_, values, name=fqdn, zone=ZONE) if values else (),
        version=version,
        ref=EventRef(msg or f"msg-{name}-{type_}-{version}", 1_764_028_800_000 + version),
    )


class SteppingClock:
    """A clock that moves on by ``step`` seconds each time it is read: deadlines arrive after a known
    number of steps, without sleeping."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 1000.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def batcher_deps(parts: Parts, clock: Callable[[], float] = time.monotonic) -> BatcherDeps:
    return parts.batcher_deps(clock)


def fallback_deps(parts: Parts) -> FallbackDeps:
    return parts.fallback_deps()


def received(parts: Parts, logical: str) -> list[str]:
    url = parts.stack.queue_urls[logical]
    bodies = []
    for _ in range(20):
        got = parts.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        for message in got:
            bodies.append(message["Body"])
            parts.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def contents(parts: Parts, name: str, type_: str = "A") -> list[str]:
    records = parts.client.list_records(parts.emulator.zone_id(ZONE), name=f"{name}.{ZONE}", type=type_)
    return sorted(r.content for r in records)


def test_a_bisection_cut_short_by_the_deadline_requeues_what_it_did_not_try_and_loses_nothing(
    parts: Parts,
) -> None:
    # GIVEN one chunk of 16 names, one of them refused, and time for only a few batch calls
    parts.emulator.set_faults(FaultConfig(reject_name_pattern="^refused"))
    changes = [change(f"h{i:02d}", [f"192.0.2.{i}"]) for i in range(15)] + [change("refused", ["192.0.2.99"])]
    for c in changes:
        parts.ledger.claim(c)
    clock = SteppingClock(step=1.0)
    deps = batcher_deps(parts, clock)
    # WHEN the deadline falls in the middle of the bisection
    summary = process_zone(
        ZONE, [queues.ChangeSet("cs-1", ZONE, tuple(changes))], deps, deadline=clock.now + 3.5
    )
    # THEN what was not tried is back on ChangeSetQueue as a change set of its own, still claimed
    assert summary.requeued > 0
    (body,) = received(parts, "ChangeSetQueue")
    requeued = queues.parse_changeset(body)
    assert requeued.zone == ZONE and requeued.changeset_id.startswith("cs-1+requeued-")
    done = {o.key for o in parts.outcomes}
    assert {c.key for c in requeued.changes}.isdisjoint(done)
    assert all(parts.ledger.get(c.key).status is Status.CLAIMED for c in requeued.changes)  # type: ignore[union-attr]
    # AND carrying it on finishes the job: every change exactly one outcome, the refused one via the fallback
    process_zone(ZONE, [requeued], batcher_deps(parts), deadline=time.monotonic() + 60)
    for fallback_body in received(parts, "FallbackQueue"):
        process_request(queues.parse_fallback(fallback_body), fallback_deps(parts), time.monotonic() + 60)
    outcomes = [(o.key, o.outcome) for o in parts.outcomes]
    assert len(outcomes) == len(changes) == len({k for k, _ in outcomes})
    assert sorted(o for _, o in outcomes) == sorted([Outcome.APPLIED] * 15 + [Outcome.FAILED])
    assert [contents(parts, f"h{i:02d}") for i in range(15)] == [[f"192.0.2.{i}"] for i in range(15)]


def test_a_zone_with_no_time_for_its_first_batch_fails_instead_of_requeueing_forever(parts: Parts) -> None:
    changes = [change("late", ["192.0.2.1"])]
    parts.ledger.claim(changes[0])
    clock = SteppingClock(step=1.0)
    with pytest.raises(TimeBudgetExceeded):
        process_zone(
            ZONE,
            [queues.ChangeSet("cs-late", ZONE, tuple(changes))],
            batcher_deps(parts, clock),
            clock.now - 1,
        )
    assert received(parts, "ChangeSetQueue") == [] and parts.outcomes == []


def test_the_fallback_creates_before_it_deletes_so_a_refused_write_leaves_the_old_values(
    parts: Parts,
) -> None:
    # GIVEN a set of three addresses dnsbatch owns
    old = change("pool", ["192.0.2.1", "192.0.2.2", "192.0.2.3"], version=1)
    parts.ledger.claim(old)
    process_zone(ZONE, [queues.ChangeSet("cs-old", ZONE, (old,))], batcher_deps(parts), time.monotonic() + 60)
    # WHEN the fallback is to shrink it to one new address, and Cloudflare refuses writes on the name
    new = change("pool", ["198.51.100.1"], version=2)
    parts.ledger.claim(new)
    parts.ledger.mark(new, Status.FALLBACK)
    parts.emulator.set_faults(FaultConfig(reject_name_pattern="^pool"))
    result = process_request(
        queues.FallbackRequest((new,), "cs-new", 0, "refused"), fallback_deps(parts), time.monotonic() + 60
    )
    # THEN the set failed with Cloudflare's code, and it still holds every old value: nothing was deleted
    # before the write that replaces it
    assert result.outcomes == {new.key: Outcome.FAILED}
    assert contents(parts, "pool") == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]


@SWITCHES
def test_the_fallback_applies_a_type_switch_as_one_name_and_ends_as_the_new_type(
    parts: Parts, old_type: str, old_values: list[str], new_type: str, new_values: list[str]
) -> None:
    # GIVEN the old type in Cloudflare, owned by dnsbatch
    old = change("sw", old_values, type_=old_type, version=1)
    parts.ledger.claim(old)
    process_zone(ZONE, [queues.ChangeSet("cs-old", ZONE, (old,))], batcher_deps(parts), time.monotonic() + 60)
    # WHEN the switch (delete the old type, upsert the new) reaches the fallback, the upsert listed first
    delete_old = change("sw", None, type_=old_type, version=2, msg="m2")
    upsert_new = change("sw", new_values, type_=new_type, version=2, msg="m3")
    for c in (delete_old, upsert_new):
        parts.ledger.claim(c)
        parts.ledger.mark(c, Status.FALLBACK)
    request = queues.FallbackRequest((upsert_new, delete_old), "cs-sw", 0, "chunk refused")
    result = process_request(request, fallback_deps(parts), time.monotonic() + 60)
    # THEN the old type was deleted first and the new type holds the name: both applied, nothing lost
    assert result.outcomes == {delete_old.key: Outcome.APPLIED, upsert_new.key: Outcome.APPLIED}
    assert contents(parts, "sw", old_type) == []
    expected = sorted(v.content for v in upsert_new.values)
    assert contents(parts, "sw", new_type) == expected
    records = parts.client.list_records(parts.emulator.zone_id(ZONE), name=f"sw.{ZONE}")
    assert all(OWNER in (r.comment or "") for r in records)
