"""What the batcher knows of a zone's records (docs/record-knowledge.md), wired by hand to moto's server and
the emulator: one Cloudflare call per zone-window in the steady state, and every way that knowledge can go
stale (a record deleted, added or edited out of band, a fallback's individual writes, a run that died)
ending in the desired state. Cloudflare calls are counted by the emulator; the Ledger's wall clock is
driven by the test, nothing sleeps."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest
from functional_parts import OWNER, Parts

from dnsbatch import queues
from dnsbatch.batcher import BatcherDeps, ZoneSummary, process_zone
from dnsbatch.fallback import process_request
from dnsbatch.ledger import KnowledgeStore, Ledger, knowledge_pk
from dnsbatch.model import Action, Change, EventRef, Outcome, RecordSetKey
from dnsbatch.ownership import marker
from dnsbatch.rdata import parse_values

ZONE = "example.com"
LIST = "GET /zones/{zone_id}/dns_records"
BATCH = "POST /zones/{zone_id}/dns_records/batch"
INTERVAL = 600.0


class WallClock:
    """The Ledger's clock (knowledge freshness is judged on it), moved by the test."""

    def __init__(self) -> None:
        self.now = 1_764_028_800.0

    def __call__(self) -> float:
        return self.now


def change(name: str, values: list[str] | None, *, version: int, type_: str = "A", ttl: int = 1) -> Change:
    fqdn = f"{name}.{ZONE}"
    return Change(
        key=RecordSetKey(ZONE, fqdn, type_),
        action=Action.UPSERT if values else Action.DELETE,
        values=parse_values(type_, values, name=fqdn, zone=ZONE) if values else (),
        version=version,
        ref=EventRef(f"msg-{name}-{type_}-{version}", 1_764_028_800_000 + version),
        ttl=ttl,
    )


class Windows:
    """Runs one zone-window at a time through ``process_zone`` and says what it cost at Cloudflare."""

    def __init__(self, parts: Parts, **settings: Any) -> None:
        self.parts = parts
        self.clock = WallClock()
        self.ledger = Ledger(parts.stack.table_name, parts.ledger.client, clock=self.clock)
        base = parts.batcher_deps(**{"zone_read_interval": INTERVAL, **settings})
        self.deps: BatcherDeps = replace(base, ledger=self.ledger)
        self.count = 0

    def run(self, *changes: Change, advance: float = 60.0) -> tuple[ZoneSummary, dict[str, int]]:
        self.clock.now += advance
        self.count += 1
        if not self.deps.settings.dry_run:
            for c in changes:
                self.ledger.claim(c)
        self.parts.emulator.reset_counters()
        changeset = queues.ChangeSet(f"cs-{self.count}", ZONE, tuple(changes))
        summary = process_zone(ZONE, [changeset], self.deps, deadline=time.monotonic() + 60)
        calls = {k: v for k, v in self.parts.emulator.counters().items() if k != "GET /zones"}
        return summary, calls


def contents(parts: Parts, name: str, type_: str = "A") -> list[str]:
    return sorted(
        r["content"]
        for r in parts.emulator.records(ZONE)
        if r["name"] == f"{name}.{ZONE}" and r["type"] == type_
    )


def record_id(parts: Parts, name: str, type_: str = "A") -> str:
    (found,) = [
        r for r in parts.emulator.records(ZONE) if r["name"] == f"{name}.{ZONE}" and r["type"] == type_
    ]
    return str(found["id"])


def outcome_of(parts: Parts, c: Change) -> list[Outcome]:
    return [o.outcome for o in parts.outcomes if o.ref == c.ref]


def test_the_steady_state_costs_one_batch_call_per_zone_window(parts: Parts) -> None:
    w = Windows(parts)
    # GIVEN a first window that reads the zone (nothing is known of it yet)
    summary, calls = w.run(*(change(f"n{i}", [f"192.0.2.{i}"], version=1) for i in range(5)))
    assert calls == {LIST: 1, BATCH: 1}
    assert not summary.planned_from_knowledge
    # WHEN further windows change values, add and delete record sets
    for v in range(2, 7):
        summary, calls = w.run(
            change("n0", [f"198.51.100.{v}"], version=v),
            change(f"new{v}", ["203.0.113.1", "203.0.113.2"], version=1),
            change(f"new{v - 1}", None, version=2) if v > 2 else change("n1", ["192.0.2.201"], version=v),
        )
        # THEN each costs exactly one batch call, planned from what the Ledger knows
        assert calls == {BATCH: 1}, f"window {v}"
        assert summary.planned_from_knowledge and summary.applied == 3
    assert contents(parts, "n0") == ["198.51.100.6"]
    assert contents(parts, "new6") == ["203.0.113.1", "203.0.113.2"]
    assert contents(parts, "new5") == []
    # AND a window whose changes are already in place costs nothing at all
    summary, calls = w.run(change("n0", ["198.51.100.6"], version=7))
    assert calls == {} and summary.unchanged == 1


def test_a_record_deleted_out_of_band_costs_one_read_and_one_resend(parts: Parts) -> None:
    w = Windows(parts)
    w.run(change("www", ["192.0.2.1"], version=1), change("api", ["192.0.2.2"], version=1))
    # GIVEN someone deletes dnsbatch's record in the dashboard
    parts.emulator.state.delete_record(parts.emulator.zone_id(ZONE), record_id(parts, "www"))
    # WHEN the next window changes it (planned from knowledge: a patch of the deleted id, 81044)
    www, api = change("www", ["192.0.2.10"], version=2), change("api", ["192.0.2.20"], version=2)
    summary, calls = w.run(www, api)
    # THEN the refused batch is followed by exactly one zone read and one batch of the new plan
    assert calls == {BATCH: 2, LIST: 1}
    assert summary.stale_rereads == 1 and summary.bisections == 0 and summary.fallbacks == 0
    assert contents(parts, "www") == ["192.0.2.10"] and contents(parts, "api") == ["192.0.2.20"]
    assert outcome_of(parts, www) == outcome_of(parts, api) == [Outcome.APPLIED]
    # AND the knowledge is right again: the next window is one call
    _, calls = w.run(change("www", ["192.0.2.11"], version=3))
    assert calls == {BATCH: 1}
    assert contents(parts, "www") == ["192.0.2.11"]


@pytest.mark.parametrize(
    "added",
    [
        {"type": "CNAME", "content": "elsewhere.example.net"},  # 81053: a CNAME beside the A dnsbatch adds
        {"type": "A", "content": "192.0.2.77"},  # 81058: the very record dnsbatch is about to create
    ],
    ids=["conflicting-cname", "identical-record"],
)
def test_a_record_added_out_of_band_is_read_replanned_and_the_rest_resent_once(
    parts: Parts, added: dict[str, Any]
) -> None:
    w = Windows(parts)
    w.run(change("www", ["192.0.2.1"], version=1))
    # GIVEN someone adds a record (not dnsbatch's) on a name dnsbatch knows to be empty
    parts.emulator.seed(ZONE, [{"name": f"new.{ZONE}", "ttl": 1, **added}])
    # WHEN a window creates an A there, and changes another record set
    new, www = change("new", ["192.0.2.77"], version=1), change("www", ["192.0.2.2"], version=2)
    summary, calls = w.run(new, www)
    # THEN Cloudflare refuses the batch, the zone is read, the plan now refuses the A (the name holds a
    # record dnsbatch does not own / a CNAME) and the rest goes out in one more batch call
    assert calls == {BATCH: 2, LIST: 1}
    assert summary.stale_rereads == 1 and summary.bisections == 0
    assert outcome_of(parts, new) == [Outcome.REJECTED]
    assert outcome_of(parts, www) == [Outcome.APPLIED]
    assert contents(parts, "www") == ["192.0.2.2"]
    assert contents(parts, "new", added["type"]) == [added["content"]]


def test_a_value_edited_out_of_band_is_repaired_at_the_forced_read(parts: Parts) -> None:
    w = Windows(parts)
    w.run(change("www", ["192.0.2.1"], version=1, ttl=300))
    # GIVEN someone edits the value of dnsbatch's record (its comment, so its owner, unchanged)
    parts.emulator.state.patch_record(
        parts.emulator.zone_id(ZONE), record_id(parts, "www"), {"content": "192.0.2.99"}
    )
    # WHEN a window soon after asks for the value dnsbatch believes in place
    summary, calls = w.run(change("www", ["192.0.2.1"], version=2, ttl=300), advance=60)
    # THEN nothing is sent: the knowledge cannot see the edit (the cost of not reading)
    assert calls == {} and summary.unchanged == 1
    assert contents(parts, "www") == ["192.0.2.99"]
    # WHEN a window touches it after ZONE_READ_INTERVAL
    third = change("www", ["192.0.2.1"], version=3, ttl=300)
    summary, calls = w.run(third, advance=INTERVAL)
    # THEN the zone is read and the record repaired
    assert calls == {LIST: 1, BATCH: 1} and not summary.planned_from_knowledge
    assert contents(parts, "www") == ["192.0.2.1"]
    assert outcome_of(parts, third) == [Outcome.APPLIED]
    # AND the interval starts again from that read
    _, calls = w.run(change("www", ["192.0.2.2"], version=4, ttl=300), advance=INTERVAL - 120)
    assert calls == {BATCH: 1}


def test_a_run_that_died_after_its_batch_leaves_the_knowledge_untrusted(parts: Parts) -> None:
    w = Windows(parts)
    w.run(change("www", ["192.0.2.1"], version=1))
    # GIVEN a run that marked the knowledge as being written, then died (its batch committed, its final
    # write never made): the knowledge says 192.0.2.1, Cloudflare holds what the dead run sent
    store = KnowledgeStore(w.ledger)
    store.mark_writing(ZONE, "dead-run")
    parts.emulator.state.patch_record(
        parts.emulator.zone_id(ZONE), record_id(parts, "www"), {"content": "192.0.2.5"}
    )
    # WHEN the next window asks for the value the knowledge holds
    summary, calls = w.run(change("www", ["192.0.2.1"], version=2))
    # THEN it reads the zone rather than trust it, and sends what is needed
    assert calls == {LIST: 1, BATCH: 1} and not summary.planned_from_knowledge
    assert contents(parts, "www") == ["192.0.2.1"]
    loaded = store.load(ZONE)
    assert loaded is not None and loaded.writing is None


def test_the_fallbacks_individual_writes_make_their_name_dirty_until_the_next_read(parts: Parts) -> None:
    w = Windows(parts)
    w.run(change("www", ["192.0.2.1"], version=1), change("api", ["192.0.2.2"], version=1))
    # WHEN the fallback writes a name with individual calls
    name = change("www", ["192.0.2.3"], version=2)
    w.ledger.claim(name)
    deps = replace(parts.fallback_deps(fallback_request_interval=0.0), ledger=w.ledger)
    process_request(queues.FallbackRequest((name,), "cs-x", 0, "refused"), deps, time.monotonic() + 60)
    assert contents(parts, "www") == ["192.0.2.3"]
    loaded = KnowledgeStore(w.ledger).load(ZONE)
    assert loaded is not None and loaded.dirty == {f"www.{ZONE}"}
    # THEN a window of other names still plans from knowledge
    _, calls = w.run(change("api", ["192.0.2.4"], version=2))
    assert calls == {BATCH: 1}
    # AND one that changes that name reads the zone first, which makes the name clean again
    summary, calls = w.run(change("www", ["192.0.2.3"], version=3))
    assert calls == {LIST: 1} and summary.unchanged == 1
    loaded = KnowledgeStore(w.ledger).load(ZONE)
    assert loaded is not None and loaded.dirty == frozenset()
    _, calls = w.run(change("www", ["192.0.2.5"], version=4))
    assert calls == {BATCH: 1}
    assert contents(parts, "www") == ["192.0.2.5"]


def test_a_fallback_write_during_a_zone_read_keeps_its_name_dirty(parts: Parts) -> None:
    w = Windows(parts)
    store = KnowledgeStore(w.ledger)
    w.run(change("www", ["192.0.2.1"], version=1))
    store.dirty(ZONE, [f"www.{ZONE}"])
    loaded = store.load(ZONE)
    assert loaded is not None
    # GIVEN a zone read that started before the fallback dirtied the name again (a write in between)
    basis = w.clock.now - 1
    w.clock.now += 1
    store.dirty(ZONE, [f"www.{ZONE}"])
    # WHEN that read is stored, asking to clean the names it saw
    assert store.store(ZONE, loaded.records, basis=basis, read_at=basis, clean=loaded.dirty)
    # THEN the name stays dirty: the read may predate the write
    after = store.load(ZONE)
    assert after is not None and after.dirty == {f"www.{ZONE}"} and after.read_at == basis


def test_a_zone_read_interval_of_zero_reads_every_window(parts: Parts) -> None:
    w = Windows(parts, zone_read_interval=0.0)
    for v in range(1, 4):
        _, calls = w.run(change("www", [f"192.0.2.{v}"], version=v))
        assert calls == {LIST: 1, BATCH: 1}
    assert "Item" not in parts.ledger.client.get_item(
        TableName=parts.stack.table_name, Key={"pk": {"S": knowledge_pk(ZONE)}}
    )


def test_dry_run_neither_uses_nor_writes_knowledge(parts: Parts) -> None:
    w = Windows(parts, dry_run=True)
    for v in range(1, 3):
        _, calls = w.run(change("www", [f"192.0.2.{v}"], version=v))
        assert calls == {LIST: 1}
    assert parts.ledger.client.scan(TableName=parts.stack.table_name)["Items"] == []
    assert contents(parts, "www") == []


def test_knowledge_keeps_records_as_cloudflare_returned_them(parts: Parts) -> None:
    w = Windows(parts)
    w.run(
        change("txt", ["hello world"], version=1, type_="TXT"),
        change("mx", ["10 mx.example.net"], version=1, type_="MX"),
    )
    loaded = KnowledgeStore(w.ledger).load(ZONE)
    assert loaded is not None
    by_type = {r.type: r for r in loaded.records}
    assert by_type["TXT"].content == '"hello world"'  # Cloudflare stores TXT quoted
    assert by_type["MX"].priority == 10 and by_type["MX"].content == "mx.example.net"
    assert all(marker(OWNER) in (r.comment or "") for r in loaded.records)
    assert {r.id for r in loaded.records} == {r["id"] for r in parts.emulator.records(ZONE)}


def test_a_zone_too_big_for_one_item_is_read_every_window(
    parts: Parts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a snapshot over the item size budget (here: a budget of 10 bytes)
    monkeypatch.setattr("dnsbatch.ledger.MAX_SNAPSHOT_BYTES", 10)
    w = Windows(parts)
    for v in range(1, 3):
        _, calls = w.run(change("www", [f"192.0.2.{v}"], version=v))
        # THEN nothing is kept and each window reads the zone, as before record knowledge
        assert calls == {LIST: 1, BATCH: 1}
    assert KnowledgeStore(w.ledger).load(ZONE) is None
    assert contents(parts, "www") == ["192.0.2.2"]


def test_a_run_dying_between_its_batch_and_its_final_write_makes_the_next_run_read(
    parts: Parts, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = Windows(parts)
    w.run(change("www", ["192.0.2.1"], version=1))
    # GIVEN a run planned from knowledge that dies after its batch committed, before storing what it learnt
    real_store = KnowledgeStore.store

    def dying_store(self: KnowledgeStore, *args: Any, **kwargs: Any) -> bool:
        if kwargs.get("release"):
            raise RuntimeError("killed before the final write")
        return real_store(self, *args, **kwargs)

    monkeypatch.setattr(KnowledgeStore, "store", dying_store)
    with pytest.raises(RuntimeError):
        w.run(change("www", ["192.0.2.2"], version=2))
    monkeypatch.setattr(KnowledgeStore, "store", real_store)
    assert contents(parts, "www") == ["192.0.2.2"]
    # WHEN a later change asks for the value the stored knowledge still holds
    summary, calls = w.run(change("www", ["192.0.2.1"], version=3))
    # THEN that run does not trust it (the dead run's mark is still there): it reads, and sends the change
    assert calls == {LIST: 1, BATCH: 1} and not summary.planned_from_knowledge
    assert contents(parts, "www") == ["192.0.2.1"]
