"""Cloudflare API calls and wall time for one sync: dnsbatch vs external-dns's two ways
(docs/architecture.md#external-dns-and-the-batch-api).

The same N changed record sets (a quarter each: new names, a content change, deletes, TTL-only changes) are
applied to the same seeded zone, each strategy on a fresh ``devstack.emulator.EmulatorServer``:

* **dnsbatch** — ``zone_by_name``, ``list_records`` once, ``plan_zone``, ``chunk_operations(ops, 200)``,
  one ``client.batch`` per chunk.
* **external-dns batch** (after PR #6208) — ``Records()`` (zones + records), then ``submitChanges`` (zones +
  records again), then ``[deletes][puts][posts]`` cut into consecutive slices of 200: 4 + X calls.
* **external-dns per-record** (before PR #6208) — zones + records, zones again, then for *every* per-target
  change a full re-list of the zone plus one mutation: 3 + 2 x changes calls.

Both external-dns strategies turn a changed record set into per-target changes as its ``ApplyChanges`` does
(a removed target is a DELETE, an added one a CREATE, a kept one an UPDATE). No pacing anywhere
(``min_interval=0``, no ``--batch-change-interval``): the figures are calls and pure work. The final
records of every strategy are compared (ids and timestamps aside) and must be identical; that is a check of
the comparison, not of speed. Run: ``.venv/bin/python -m bench calls``.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from devstack.emulator import EmulatorServer, ZoneSpec
from dnsbatch import ownership
from dnsbatch.chunk import chunk_operations
from dnsbatch.cloudflare import CloudflareClient, Record
from dnsbatch.model import Action, Change, EventRef, RecordSetKey
from dnsbatch.plan import PlanPolicy, plan_zone
from dnsbatch.rdata import parse_values

ZONE = "example.com"
TOKEN = "bench-calls-token"
OWNER = "bench"
MARK = ownership.with_marker(None, OWNER)
CHUNK_SIZE = 200  # the Free limit, and external-dns's effective minimum
BUDGET_PER_S = 1_200 / 300  # Cloudflare: 1,200 requests per 5 minutes per token
# Re-listing a 3,000-record zone per change costs ~60-120 ms here, so per-record at N=2,000 (~3,000 changes)
# would take minutes on its own; above this N its calls are counted exactly and its time extrapolated.
PER_RECORD_MAX_RUN = 500

RECORDS_PATH = "GET /zones/{zone_id}/dns_records"
_SHORT = {
    "/zones/{zone_id}/dns_records/{dns_record_id}": "record",
    "/zones/{zone_id}/dns_records": "dns_records",
}


# -- workload ----------------------------------------------------------------------------------------------


def _address(k: int) -> str:
    return f"10.{(k >> 16) & 255}.{(k >> 8) & 255}.{k & 255}"


def _seed(records: int) -> list[tuple[str, tuple[str, ...]]]:
    """(name, addresses) per name: one in six names holds two A records, the rest one."""
    pairs = records // 6
    return [
        (f"host{i}.{ZONE}", (_address(i), _address(100_000 + i)) if i < pairs else (_address(i),))
        for i in range(records - pairs)
    ]


def _change(name: str, action: Action, addresses: Sequence[str] = (), ttl: int = 300) -> Change:
    values = parse_values("A", list(addresses), name=name, zone=ZONE) if addresses else ()
    key = RecordSetKey(ZONE, name, "A")
    return Change(key=key, action=action, values=values, version=1, ref=EventRef("bench", 0), ttl=ttl)


def _changes(seed: Sequence[tuple[str, tuple[str, ...]]], n: int) -> list[Change]:
    """n changed record sets over distinct names, kinds in turn: create, content, delete, TTL only."""
    if n > len(seed):
        raise ValueError(f"{n} changes need at least {n} seeded names, got {len(seed)}")
    out = []
    for j in range(n):
        name, addresses = seed[(j * 7919) % len(seed)]  # 7919 is prime: distinct names, spread out
        kind = j % 4
        if kind == 0:
            fresh = [_address(300_000 + j)] + ([_address(400_000 + j)] if j % 3 == 0 else [])
            out.append(_change(f"new{j}.{ZONE}", Action.UPSERT, fresh))
        elif kind == 1:  # one address replaced; a second one, if any, kept
            out.append(_change(name, Action.UPSERT, (_address(200_000 + j), *addresses[1:])))
        elif kind == 2:
            out.append(_change(name, Action.DELETE))
        else:
            out.append(_change(name, Action.UPSERT, addresses, ttl=600))
    return out


# -- one run of one strategy ---------------------------------------------------------------------------------


@dataclass
class Result:
    """What one strategy cost on one workload."""

    strategy: str
    counters: dict[str, int]
    seconds: float
    final: list[Record] = field(default_factory=list)
    split: tuple[int, int] = (0, 0)  # (names split over chunks, names that could have been)
    extrapolated: bool = False

    @property
    def calls(self) -> int:
        return sum(self.counters.values())

    @property
    def state(self) -> list[tuple[Any, ...]]:
        """The zone's records without ids and timestamps, sorted: what DNS would serve."""
        return sorted((r.name, r.type, r.content, r.ttl, r.proxied, r.comment, r.tags) for r in self.final)


@contextmanager
def _emulator(seed: Sequence[tuple[str, tuple[str, ...]]]) -> Iterator[EmulatorServer]:
    """A fresh pro zone (so the quota never interferes) holding ``seed``, counters at zero."""
    zone = ZoneSpec(ZONE, plan="pro", record_limit=50_000)
    # No rate limit: per-record sync alone can exceed 1,200 calls; the budget is reported, not enforced.
    with EmulatorServer([zone], token=TOKEN, rate_limit=10**9, validate_requests=False) as emu:
        emu.seed(
            ZONE,
            (
                {"type": "A", "name": name, "content": a, "ttl": 300, "comment": MARK}
                for name, addresses in seed
                for a in addresses
            ),
        )
        emu.reset_counters()
        yield emu


def _client(emu: EmulatorServer, http: httpx.Client) -> CloudflareClient:
    # A new client per zone lookup: CloudflareClient caches zones, external-dns lists them again.
    return CloudflareClient(emu.base_url, TOKEN, http=http, min_interval=0)


Work = Callable[[EmulatorServer, httpx.Client], tuple[int, int]]


def _measure(
    strategy: str, seed: Sequence[tuple[str, tuple[str, ...]]], work: Work, repeats: int = 1
) -> Result:
    """Best wall time of ``repeats`` syncs, each on a fresh emulator; calls must not vary between them."""
    best: Result | None = None
    for _ in range(repeats):
        with _emulator(seed) as emu, httpx.Client() as http:
            start = time.perf_counter()
            split = work(emu, http)
            seconds = time.perf_counter() - start
            final = [Record.from_api(r) for r in emu.records(ZONE)]
            result = Result(strategy, emu.counters(), seconds, final, split)
        if best is not None and (best.counters, best.state) != (result.counters, result.state):
            raise AssertionError(f"{strategy}: two runs of the same sync made different calls or states")
        if best is None or result.seconds < best.seconds:
            best = result
    assert best is not None  # repeats >= 1
    return best


# -- dnsbatch --------------------------------------------------------------------------------


def _dnsbatch(changes: Sequence[Change]) -> Work:
    def work(emu: EmulatorServer, http: httpx.Client) -> tuple[int, int]:
        client = _client(emu, http)
        zone = client.zone_by_name(ZONE)
        policy = PlanPolicy(owner_id=OWNER, paid=zone.paid)
        plan = plan_zone(changes, client.list_records(zone.id), policy)
        chunks = chunk_operations(plan.operations, CHUNK_SIZE)
        for chunk in chunks:
            client.batch(zone.id, chunk.batch_body())
        spans: dict[str, set[int]] = defaultdict(set)
        for chunk in chunks:
            for op in chunk.operations:
                spans[op.key.name].add(chunk.index)
        return sum(1 for s in spans.values() if len(s) > 1), len(spans)

    return work


# -- external-dns ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    """One per-target change, as external-dns's ApplyChanges emits them."""

    action: str  # "create" | "update" | "delete"
    name: str
    content: str
    ttl: int

    def body(self) -> dict[str, Any]:
        return {
            "type": "A",
            "name": self.name,
            "content": self.content,
            "ttl": self.ttl,
            "proxied": False,
            "comment": MARK,
            "tags": [],
        }


def external_dns_changes(current: Sequence[Record], changes: Sequence[Change]) -> list[_Target]:
    """Creates, then each updated set's deletes/creates/updates, then deletes (custom hostnames off)."""
    by_set: dict[str, list[Record]] = defaultdict(list)
    for record in current:
        by_set[record.name].append(record)
    creates: list[_Target] = []
    updates: list[_Target] = []
    deletes: list[_Target] = []
    for change in changes:
        name, old = change.key.name, by_set.get(change.key.name, [])
        new = [v.content for v in change.values]
        if change.action is Action.DELETE:
            deletes.extend(_Target("delete", name, r.content, r.ttl) for r in old)
        elif not old:
            creates.extend(_Target("create", name, c, change.ttl) for c in new)
        elif sorted(r.content for r in old) != sorted(new) or any(r.ttl != change.ttl for r in old):
            kept = {r.content for r in old}
            updates.extend(_Target("delete", name, r.content, r.ttl) for r in old if r.content not in new)
            updates.extend(_Target("create", name, c, change.ttl) for c in new if c not in kept)
            updates.extend(_Target("update", name, c, change.ttl) for c in new if c in kept)
    return creates + updates + deletes


def _ids(records: Sequence[Record]) -> dict[tuple[str, str], str]:
    return {(r.name, r.content): r.id for r in records}


def _per_record(changes: Sequence[Change]) -> Work:
    def work(emu: EmulatorServer, http: httpx.Client) -> tuple[int, int]:
        zone = _client(emu, http).zone_by_name(ZONE)  # Records(): ListZones ...
        current = _client(emu, http).list_records(zone.id)  # ... + ListDNSRecords
        client = _client(emu, http)
        client.zone_by_name(ZONE)  # submitChanges lists the zones again
        for target in external_dns_changes(current, changes):
            # getDNSRecordsMap: the whole zone, re-read for every single change.
            record_id = _ids(client.list_records(zone.id)).get((target.name, target.content))
            if target.action == "create":
                client.create_record(zone.id, target.body())
            elif record_id is None:
                continue  # "failed to find previous record": skipped, not an error
            elif target.action == "update":
                client.put_record(zone.id, record_id, target.body())
            else:
                client.delete_record(zone.id, record_id)
        return 0, 0  # one call per change: nothing is chunked

    return work


def _external_batch(changes: Sequence[Change]) -> Work:
    def work(emu: EmulatorServer, http: httpx.Client) -> tuple[int, int]:
        zone = _client(emu, http).zone_by_name(ZONE)
        current = _client(emu, http).list_records(zone.id)
        client = _client(emu, http)
        client.zone_by_name(ZONE)
        ids = _ids(client.list_records(zone.id))  # one map for the whole sync
        lists: dict[str, list[tuple[str, dict[str, Any]]]] = {"deletes": [], "puts": [], "posts": []}
        for target in external_dns_changes(current, changes):
            record_id = ids.get((target.name, target.content))
            if target.action == "create":
                lists["posts"].append((target.name, target.body()))
            elif record_id is not None and target.action == "update":
                lists["puts"].append((target.name, {"id": record_id, **target.body()}))
            elif record_id is not None:
                lists["deletes"].append((target.name, {"id": record_id}))
        sequence = [(kind, name, body) for kind, items in lists.items() for name, body in items]
        where: dict[str, dict[str, set[int]]] = defaultdict(lambda: {"deletes": set(), "posts": set()})
        for index, start in enumerate(range(0, len(sequence), CHUNK_SIZE)):
            request: dict[str, list[dict[str, Any]]] = {}
            for kind, name, body in sequence[start : start + CHUNK_SIZE]:
                request.setdefault(kind, []).append(body)  # empty lists are left out
                if kind != "puts":
                    where[name][kind].add(index)
            client.batch(zone.id, request)
        # A name whose old target is deleted in one chunk and whose new one is created in another is
        # missing (or half-updated) from DNS for at least one --batch-change-interval.
        both = [w for w in where.values() if w["deletes"] and w["posts"]]
        return sum(1 for w in both if w["deletes"] != w["posts"]), len(both)

    return work


def _extrapolate(current: Sequence[Record], changes: Sequence[Change], per_target_s: float) -> Result:
    """Per-record calls counted from the same translation (3 + 2 x targets); time = targets x measured."""
    targets = external_dns_changes(current, changes)
    actions = Counter(t.action for t in targets)
    counters = {
        "GET /zones": 2,
        RECORDS_PATH: 1 + len(targets),
        "POST /zones/{zone_id}/dns_records": actions["create"],
        "PUT /zones/{zone_id}/dns_records/{dns_record_id}": actions["update"],
        "DELETE /zones/{zone_id}/dns_records/{dns_record_id}": actions["delete"],
    }
    return Result("ext-dns per-record", counters, per_target_s * len(targets), extrapolated=True)


# -- report --------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


def _endpoints(counters: dict[str, int]) -> str:
    parts = []
    for key, count in sorted(counters.items()):
        method, _, path = key.partition(" ")
        parts.append(f"{method} {_SHORT.get(path, path.removeprefix('/zones/{zone_id}/'))} {count:,}")
    return ", ".join(parts)


def _tier(
    seed: Sequence[tuple[str, tuple[str, ...]]], n: int, per_target_s: float | None
) -> tuple[list[str], float]:
    changes = _changes(seed, n)
    ours = _measure("dnsbatch", seed, _dnsbatch(changes), repeats=3)
    batch = _measure("ext-dns batch", seed, _external_batch(changes), repeats=3)
    with _emulator(seed) as emu:
        current = [Record.from_api(r) for r in emu.records(ZONE)]
    targets = len(external_dns_changes(current, changes))
    if per_target_s is None:
        per_record = _measure("ext-dns per-record", seed, _per_record(changes))
        per_target_s = per_record.seconds / max(1, targets)
        # Where it runs, the call count used for extrapolation must match what was measured.
        counted = {k: v for k, v in _extrapolate(current, changes, 0.0).counters.items() if v}
        if counted != per_record.counters:
            raise AssertionError(f"per-record calls counted {counted} but measured {per_record.counters}")
    else:
        per_record = _extrapolate(current, changes, per_target_s)

    for other in (batch, per_record):
        if not other.extrapolated and other.state != ours.state:
            raise AssertionError(f"{other.strategy} ended in a different zone state than dnsbatch (N={n})")
    # dnsbatch's own check: planning the same changes against its final state finds nothing to do.
    leftover = plan_zone(changes, ours.final, PlanPolicy(owner_id=OWNER, paid=True)).operations
    if leftover:
        raise AssertionError(f"dnsbatch left {len(leftover)} operations undone (N={n})")

    kinds = "create, content change, delete, TTL-only"
    lines = [
        f"calls: N={n:,} changed record sets ({kinds}, a quarter each) -> {targets:,} external-dns "
        f"per-target changes; final state identical ({len(ours.state):,} records) for "
        + ("all three" if not per_record.extrapolated else "dnsbatch and ext-dns batch (per-record not run)"),
        f"  {'strategy':<20} {'calls':>7} {'x dnsbatch':>11} {'wall':>9} {'x dnsbatch':>11} "
        f"{'budget (calls / 4 per s)':>25}",
    ]
    for res in (ours, batch, per_record):
        mark = "~" if res.extrapolated else " "
        lines.append(
            f"  {res.strategy:<20} {res.calls:>7,} {res.calls / ours.calls:>10.1f}x "
            f"{mark}{res.seconds:>7.2f}s {res.seconds / ours.seconds:>10.1f}x "
            f"{_duration(res.calls / BUDGET_PER_S):>25}"
        )
    for res in (ours, batch, per_record):
        note = " (counted, time extrapolated: not run)" if res.extrapolated else ""
        lines.append(f"    {res.strategy}: {_endpoints(res.counters)}{note}")
    chunks = batch.counters.get("POST /zones/{zone_id}/dns_records/batch", 0)
    lines += [
        f"  split names: ext-dns batch put the delete and the create of {batch.split[0]:,} of "
        f"{batch.split[1]:,} names in different chunks; dnsbatch spread {ours.split[0]} of "
        f"{ours.split[1]:,} names over more than one chunk",
        f"  (external-dns's default --batch-change-interval=1s would add {max(0, chunks - 1)} s of sleep to "
        "its batch sync, and leave each split name without its new target for at least 1 s)",
    ]
    return lines, per_target_s


def run(quick: bool = False) -> list[str]:
    """Measure and return report lines; ``quick``: a 200-record zone and N=20 (a smoke run)."""
    records, tiers = (200, (20,)) if quick else (3_000, (50, 500, 2_000))
    seed = _seed(records)
    lines = [
        f"calls: zone of {records:,} A records on {len(seed):,} names (plan pro), chunks of {CHUNK_SIZE}, "
        "no pacing; wall = perf_counter over one sync, emulator on loopback in-process"
    ]
    per_target_s: float | None = None
    for n in tiers:
        tier_lines, measured = _tier(seed, n, per_target_s if n > PER_RECORD_MAX_RUN else None)
        per_target_s = measured
        lines.extend(tier_lines)
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
