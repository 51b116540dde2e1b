"""Cloudflare calls per zone-window over a stream of small windows: the zone read in every window
(``ZONE_READ_INTERVAL=0``, dnsbatch before record knowledge) vs planning from what the Ledger knows of the
zone's records (the default, 600 s), side by side in one run (docs/record-knowledge.md).

Both run the real batcher (``process_zone``: Ledger claims and outcomes in DynamoDB on moto's server, the
Cloudflare client against a fresh in-process emulator) on the same seeded zone and the same stream: W
windows a minute apart on the Ledger's clock (driven, nothing sleeps), each changing a few record sets (new
names, new addresses, TTL changes, deletes). The final records of both must be identical and as the stream
asks. Run: ``.venv/bin/python -m bench knowledge``.
"""

from __future__ import annotations

import io
import os
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger, Metrics

from devstack.emulator import EmulatorServer, ZoneSpec
from devstack.stack.aws import create_stack, start_moto
from dnsbatch import ownership, queues
from dnsbatch.batcher import BatcherDeps, process_zone
from dnsbatch.cloudflare import CloudflareClient
from dnsbatch.config import Settings
from dnsbatch.ledger import Ledger
from dnsbatch.model import Action, Change, EventRef, RecordSetKey
from dnsbatch.rdata import parse_values
from dnsbatch.telemetry import Telemetry

ZONE = "example.com"
TOKEN = "bench-knowledge-token"
OWNER = "bench"
WINDOW_SECONDS = 60.0  # the template's IngestBatchingWindow default
BUDGET_PER_5_MIN = 1_200
LIST = "GET /zones/{zone_id}/dns_records"
BATCH = "POST /zones/{zone_id}/dns_records/batch"
REPO = Path(__file__).resolve().parents[1]


class _Clock:
    def __init__(self) -> None:
        self.now = 1_764_028_800.0

    def __call__(self) -> float:
        return self.now


def _stream(
    names: int, windows: int, per_window: int, seed: int
) -> list[list[tuple[str, list[str] | None, int]]]:
    """Per window, (name, addresses or None for a delete, ttl) of the record sets it changes."""
    rng = random.Random(seed)
    live = {f"host{i}": 1 for i in range(names)}
    out = []
    fresh = names
    for _ in range(windows):
        window: dict[str, tuple[list[str] | None, int]] = {}
        while len(window) < per_window:
            roll = rng.random()
            if roll < 0.2:
                name = f"host{fresh}"
                fresh += 1
                window[name] = ([f"192.0.2.{rng.randint(1, 254)}"], 1)
            elif roll < 0.3 and live:
                name = rng.choice(sorted(live))
                window[name] = (None, 1)
            else:
                name = rng.choice(sorted(live))
                window[name] = ([f"198.51.100.{rng.randint(1, 254)}"], rng.choice([1, 300]))
        for name, (values, _ttl) in window.items():
            if values is None:
                live.pop(name, None)
            else:
                live[name] = 1
        out.append([(n, v, t) for n, (v, t) in sorted(window.items())])
    return out


@dataclass
class Run:
    label: str
    per_window: list[dict[str, int]]
    final: list[tuple[Any, ...]]
    seconds: float

    def calls(self, key: str | None = None) -> int:
        return sum(sum(v for k, v in w.items() if key is None or k == key) for w in self.per_window)

    @property
    def per_window_mean(self) -> float:
        return self.calls() / len(self.per_window)


def _run(label: str, interval: float, endpoint: str, names: int, stream: list[list[Any]]) -> Run:
    stack = create_stack(endpoint, REPO / "template.yaml", f"bk{uuid.uuid4().hex[:10]}", {"Zones": ZONE})
    mark = ownership.with_marker(None, OWNER)
    zone = ZoneSpec(ZONE, plan="pro", record_limit=50_000)
    with EmulatorServer([zone], token=TOKEN, validate_requests=False) as emu:
        emu.seed(
            ZONE,
            (
                {
                    "type": "A",
                    "name": f"host{i}.{ZONE}",
                    "content": f"10.0.{i // 250}.{i % 250 + 1}",
                    "ttl": 1,
                    "comment": mark,
                }
                for i in range(names)
            ),
        )
        clock = _Clock()
        dynamodb, sqs = stack.client("dynamodb"), stack.client("sqs")
        ledger = Ledger(stack.table_name, dynamodb, clock=clock)
        settings = Settings(
            zones={ZONE: None},
            changeset_queue_url=stack.queue_urls["ChangeSetQueue"],
            fallback_queue_url=stack.queue_urls["FallbackQueue"],
            rejected_queue_url=stack.queue_urls["RejectedQueue"],
            ledger_table=stack.table_name,
            owner_id=OWNER,
            batch_change_interval=0.0,
            zone_read_interval=interval,
        )
        telemetry = Telemetry(Logger(service=f"bench-{label}", stream=io.StringIO()), Metrics(), "bench")
        with CloudflareClient(emu.base_url, TOKEN, min_interval=0) as client:
            deps = BatcherDeps(settings, sqs, ledger, client, telemetry, time.monotonic, lambda _: None)
            client.zone_by_name(ZONE)  # the container's cached zone lookup: not a per-window cost
            per_window: list[dict[str, int]] = []
            started = time.perf_counter()
            for number, window in enumerate(stream, start=1):
                clock.now += WINDOW_SECONDS
                changes = []
                for name, values, ttl in window:
                    fqdn = f"{name}.{ZONE}"
                    change = Change(
                        key=RecordSetKey(ZONE, fqdn, "A"),
                        action=Action.UPSERT if values else Action.DELETE,
                        values=parse_values("A", values, name=fqdn, zone=ZONE) if values else (),
                        version=number,
                        ref=EventRef(f"w{number}-{name}", 1_764_028_800_000 + number),
                        ttl=ttl,
                    )
                    ledger.claim(change)
                    changes.append(change)
                emu.reset_counters()
                process_zone(
                    ZONE,
                    [queues.ChangeSet(f"cs-{number}", ZONE, tuple(changes))],
                    deps,
                    time.monotonic() + 60,
                )
                per_window.append(emu.counters())
            seconds = time.perf_counter() - started
        final = sorted(
            (r["name"], r["type"], r["content"], r["ttl"], r.get("comment")) for r in emu.records(ZONE)
        )
        dynamodb.close()
        sqs.close()
    return Run(label, per_window, final, seconds)


def _expected(names: int, stream: list[list[Any]]) -> list[tuple[Any, ...]]:
    mark = ownership.with_marker(None, OWNER)
    state: dict[str, tuple[str, int]] = {
        f"host{i}": (f"10.0.{i // 250}.{i % 250 + 1}", 1) for i in range(names)
    }
    for window in stream:
        for name, values, ttl in window:
            if values is None:
                state.pop(name, None)
            else:
                state[name] = (values[0], ttl)
    return sorted((f"{n}.{ZONE}", "A", v, t, mark) for n, (v, t) in state.items())


def run(quick: bool = False) -> list[str]:
    """Measure and return report lines; ``quick``: 10 windows on a 100-record zone (a smoke run)."""
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "dnsbatch-bench")
    names, windows, per_window = (100, 10, 3) if quick else (1_000, 60, 5)
    stream = _stream(names, windows, per_window, seed=7)
    server, endpoint = start_moto()
    try:
        runs = [
            _run("read", 0.0, endpoint, names, stream),
            _run("knowledge", 600.0, endpoint, names, stream),
        ]
    finally:
        server.stop()
    expected = _expected(names, stream)
    for r in runs:
        if r.final != expected:
            raise AssertionError(f"{r.label}: the zone does not end as the stream asks")
    read, known = runs
    lines = [
        f"knowledge: zone of {names:,} A records (plan pro), {windows} windows of {per_window} changed "
        f"record sets, {WINDOW_SECONDS:g} s apart on the Ledger's clock; final state identical and as asked "
        "for both; zones/token = active zones one token serves at one window a minute (1,200 calls / 5 min)",
        f"  {'mode':<32} {'calls':>6} {'reads':>6} {'batches':>8} {'calls/window':>13} {'x read':>7} "
        f"{'zones/token':>12}",
    ]
    for label, r in (("read every window (interval 0)", read), ("knowledge (interval 600 s)", known)):
        per = r.per_window_mean
        # Active zones one token keeps in sync at one window a minute: 1,200 calls per 5 minutes.
        zones = BUDGET_PER_5_MIN / 5 / per
        lines.append(
            f"  {label:<32} {r.calls():>6} {r.calls(LIST):>6} {r.calls(BATCH):>8} {per:>13.2f} "
            f"{per / read.per_window_mean:>6.2f}x {zones:>12.0f}"
        )
    first = Counter({k: v for k, v in known.per_window[0].items()})
    lines.append(
        f"  knowledge: first window {sum(first.values())} calls (its read), then "
        f"{known.calls() - sum(first.values())} calls over {windows - 1} windows; wall {known.seconds:.2f} s "
        f"vs {read.seconds:.2f} s reading every window (moto + emulator on loopback)"
    )
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
