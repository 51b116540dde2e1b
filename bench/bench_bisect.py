"""Cloudflare calls to isolate k refused names in a chunk of B: dnsbatch's bisection vs per-record replay.

One chunk of B new record sets (one A record each, on B names) of which k names, spread over the chunk,
are refused by Cloudflare (the emulator's ``reject_name_pattern``). Each strategy runs on a fresh emulator
(a pro zone, so both B = 200 and B = 3,500 fit one batch) and a fresh local AWS (moto), side by side:

* **dnsbatch** — the real ``batcher.process_zone`` (one zone read, one batch call, then bisection of the
  refused chunk) and the real ``fallback.process_request`` for each name it hands over.
* **per-record replay** — what dnsbatch did before, and what external-dns does with a failed chunk: the
  chunk's one batch call, then every record set on its own: a read of its name and its individual writes.

No pacing (interval 0): the figures are calls and pure work; "budget" is calls / 4 per second, Cloudflare's
1,200 requests per 5 minutes. Both must end with the same records (checked). Run:
``.venv/bin/python -m bench bisect``. The cost model is in docs/bisection.md.
"""

from __future__ import annotations

import io
import logging
import math
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics

from devstack.emulator import EmulatorServer, FaultConfig, ZoneSpec
from devstack.stack.aws import LocalStack, create_stack, start_moto
from devstack.stack.pipeline import REPO
from dnsbatch import queues
from dnsbatch.batcher import BatcherDeps, process_zone
from dnsbatch.chunk import chunk_operations
from dnsbatch.cloudflare import CloudflareClient, RejectedError, RetryPolicy
from dnsbatch.config import Settings
from dnsbatch.fallback import FallbackDeps, _apply, process_request
from dnsbatch.ledger import Ledger
from dnsbatch.model import Action, Change, EventRef, RecordSetKey
from dnsbatch.plan import PlanPolicy, plan_zone
from dnsbatch.rdata import parse_values
from dnsbatch.telemetry import Telemetry

ZONE = "example.com"
TOKEN = "bench-bisect-token"
OWNER = "bench"
BUDGET_PER_S = 1_200 / 300
BATCH = "POST /zones/{zone_id}/dns_records/batch"


def _changes(size: int, refused: int) -> list[Change]:
    bad = {round((i + 0.5) * size / refused) for i in range(refused)}
    out = []
    for i in range(size):
        name = f"{'bad' if i in bad else 'h'}{i:05d}.{ZONE}"
        values = parse_values("A", [f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"], name=name, zone=ZONE)
        ref = EventRef(f"m{i}", 0)
        out.append(Change(RecordSetKey(ZONE, name, "A"), Action.UPSERT, values, 1, ref, ttl=300))
    return out


Work = Callable[[EmulatorServer, LocalStack, CloudflareClient], None]


@dataclass
class Result:
    strategy: str
    counters: dict[str, int]
    seconds: float
    state: list[tuple[Any, ...]]

    @property
    def calls(self) -> int:
        return sum(self.counters.values())

    @property
    def paced(self) -> float:
        """Seconds of pacing at the deployed defaults: 0.8 s between batch calls (BATCH_CHANGE_INTERVAL),
        2 s between other calls (FALLBACK_REQUEST_INTERVAL: reads and writes of the fallback; counting the
        batcher's few zone reads at 2 s too keeps the figure an upper bound)."""
        batch = self.counters.get(BATCH, 0)
        return max(batch - 1, 0) * 0.8 + (self.calls - batch) * 2.0


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


@contextmanager
def _world(endpoint: str) -> Iterator[tuple[EmulatorServer, LocalStack, CloudflareClient]]:
    zone = ZoneSpec(ZONE, plan="pro", record_limit=10**6)
    with EmulatorServer([zone], token=TOKEN, rate_limit=10**9, validate_requests=False) as emu:
        emu.set_faults(FaultConfig(reject_name_pattern="^bad"))
        stack = create_stack(endpoint, REPO / "template.yaml", f"b{uuid.uuid4().hex[:10]}", {"Zones": ZONE})
        client = CloudflareClient(emu.base_url, TOKEN, retry=_no_retry())
        try:
            yield emu, stack, client
        finally:
            client.close()


def _no_retry() -> RetryPolicy:
    return RetryPolicy(max_attempts=1)


def _parts(stack: LocalStack, client: CloudflareClient) -> tuple[Settings, Any, Ledger, Telemetry]:
    settings = Settings(
        zones={ZONE: None},
        changeset_queue_url=stack.queue_urls["ChangeSetQueue"],
        fallback_queue_url=stack.queue_urls["FallbackQueue"],
        rejected_queue_url=stack.queue_urls["RejectedQueue"],
        ledger_table=stack.table_name,
        owner_id=OWNER,
        batch_change_size=3500,
        batch_change_interval=0.0,
        fallback_request_interval=0.0,
    )
    logger = Logger(service=f"bench-{uuid.uuid4().hex[:6]}", stream=io.StringIO(), level="ERROR")
    telemetry = Telemetry(logger, Metrics(namespace="bench"), "bench")
    return settings, stack.client("sqs"), Ledger(stack.table_name, stack.client("dynamodb")), telemetry


def _dnsbatch(changes: Sequence[Change]) -> Work:
    def work(emu: EmulatorServer, stack: LocalStack, client: CloudflareClient) -> None:
        settings, sqs, ledger, telemetry = _parts(stack, client)
        deadline = time.monotonic() + 3600
        deps = BatcherDeps(settings, sqs, ledger, client, telemetry, time.monotonic, lambda _: None)
        process_zone(ZONE, [queues.ChangeSet("cs", ZONE, tuple(changes))], deps, deadline)
        fallback = FallbackDeps(settings, sqs, ledger, client, telemetry)
        url = stack.queue_urls["FallbackQueue"]
        while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in got:
                process_request(queues.parse_fallback(message["Body"]), fallback, deadline)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    return work


def _replay(changes: Sequence[Change]) -> Work:
    def work(emu: EmulatorServer, stack: LocalStack, client: CloudflareClient) -> None:
        zone = client.zone_by_name(ZONE)
        policy = PlanPolicy(owner_id=OWNER, paid=True)
        plan = plan_zone(changes, client.list_records(zone.id), policy)
        (chunk,) = chunk_operations(plan.operations, 3500)
        try:
            client.batch(zone.id, chunk.batch_body())
        except RejectedError:
            for change in changes:
                current = client.list_records(zone.id, name=change.key.name)
                for op in plan_zone([change], current, policy).operations:
                    try:
                        _apply(client, zone.id, op, time.monotonic() + 60)
                    except RejectedError:
                        break

    return work


def _measure(endpoint: str, strategy: str, changes: Sequence[Change], work: Work) -> Result:
    with _world(endpoint) as (emu, stack, client):
        # The aggregator's claims, done before the clock starts (both strategies get them).
        ledger = Ledger(stack.table_name, stack.client("dynamodb"))
        ledger.claim_many(changes)
        started = time.perf_counter()
        work(emu, stack, client)
        seconds = time.perf_counter() - started
        counters = {k: v for k, v in emu.counters().items() if v}
        state = sorted((r["name"], r["type"], r["content"]) for r in emu.records(ZONE))
    return Result(strategy, counters, seconds, state)


def run(quick: bool = False) -> list[str]:
    sizes = (200,) if quick else (200, 3500)
    ks = (1, 2) if quick else (1, 2, 10)
    server, endpoint = start_moto()
    client_logger = logging.getLogger("dnsbatch.cloudflare")
    saved_level = client_logger.level
    client_logger.setLevel(logging.ERROR)  # every refused call logs a warning; not figures
    lines = [
        "| B | k | dnsbatch calls (batch) | per-record replay calls | ratio "
        "| paced: dnsbatch | paced: replay | unpaced: dnsbatch | unpaced: replay |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    try:
        for size in sizes:
            for k in ks:
                changes = _changes(size, k)
                ours = _measure(endpoint, "dnsbatch", changes, _dnsbatch(changes))
                theirs = _measure(endpoint, "replay", changes, _replay(changes))
                if ours.state != theirs.state:
                    raise AssertionError(f"B={size} k={k}: the two strategies ended with different records")
                bound = k * (2 * math.ceil(math.log2(size / k)) + 1) + 1
                lines.append(
                    f"| {size:,} | {k} | **{ours.calls}** ({ours.counters.get(BATCH, 0)}; bound {bound}) "
                    f"| {theirs.calls:,} ({theirs.calls / BUDGET_PER_S / 60:.1f} min of budget) "
                    f"| {theirs.calls / ours.calls:.0f}x "
                    f"| {_duration(ours.paced)} | {_duration(theirs.paced)} "
                    f"| {ours.seconds:.1f} s | {theirs.seconds:.1f} s |"
                )
    finally:
        client_logger.setLevel(saved_level)
        server.stop()
    lines.append(
        "calls: every Cloudflare request (zone lookup, reads, batch calls, individual writes); bound: "
        "k(2⌈log2(B/k)⌉+1)+1 batch calls; paced: the waits the deployed intervals put between those calls; "
        "unpaced: measured here, no waits, dnsbatch's Ledger writes to the local AWS (moto) included (the "
        "replay keeps no Ledger)"
    )
    return lines
