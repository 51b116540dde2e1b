"""How many zones one token serves: zones per minute sustained without a 429, and which setting binds.

Cloudflare allows 1,200 requests per 5 minutes per *user*, across all of that user's tokens. Every active
zone costs its calls in every window (today 2: one zone read and one batch call; 1 once the batcher plans
from what the Ledger knows), so the allowance, not CPU, decides how many zones one deployment keeps in sync.

**Method.** Many zones (one emulated zone each) each get a window of changes every ``window`` seconds. The
real aggregator (``aggregator.aggregate``: validation, Ledger claims, one change set per zone on the local
ChangeSetQueue) turns each window into change sets; ``concurrency`` batcher "containers" take up to
``zones_per_invocation`` change sets per invocation from the FIFO queue (moto's FIFO semantics) and run the
real ``batcher.ZoneBatches`` with the real Ledger (moto) and the real ``CloudflareClient`` against the
emulator, whose rate limiter (``devstack/emulator/ratelimit.py``) answers 429 past 1,200 calls in any
300 s.

**Time is virtual** (:class:`VirtualClock`): the emulator's limiter, the client's pacing and retry
sleeps, the batcher's pacing and deadlines all read one clock that only moves when every actor waits, so
a 7-minute run takes seconds and no test sleeps. What takes time is modelled, not measured: each Cloudflare
call takes ``latency`` (100-300 ms against the real API), each zone's Ledger round trips ``ledger_per_zone``,
each invocation ``invocation_overhead``. The local work (moto, the emulator, this machine's load) costs
no virtual time, so the figures do not depend on the machine: scaled wall time (``--time-scale``) would
count moto's ~2 ms per DynamoDB call here as Cloudflare time.

**Calls per window.** ``calls_per_window=2`` is the batcher reading the zone in every window
(``ZONE_READ_INTERVAL=0``, dnsbatch before record knowledge). ``calls_per_window=1`` is the steady state of
planning from the Ledger's knowledge (docs/record-knowledge.md): the same code, the zone read answered from
the emulator's own state without a request. The knowledge's periodic re-read (``ZONE_READ_INTERVAL``, 600 s:
0.1 call per window) and a zone's first window are left out; ``bench_knowledge`` counts them. Zone lookups
(``GET /zones?name=``) are cached per container for its life; the bench warms the containers first, so the
figures are the steady state (a cold container spends one extra call per zone it meets, reported apart).

**Search.** For each setup the bench computes the bound each setting puts on zones per minute (below) and
runs the pipeline at the lowest one and just above it, stepping down until a run passes: the figure is the
highest zones per window that got no 429 and finished every window's work before the run's end.

Bounds, in zones per window (``w`` = window seconds, ``c`` = calls per zone-window, ``C`` = concurrency):

* **calls per window** (the allowance): ``limit / rate_window * w / c``;
* **pacing**: every call of a container starts at least ``pacing`` apart: ``C * w / (pacing * c)``;
* **concurrency**: each container works one zone at a time: ``C * w / (c * latency + ledger_per_zone +
  invocation_overhead / zones_per_invocation)``.
"""

from __future__ import annotations

import heapq
import io
import itertools
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from aws_lambda_powertools import Logger, Metrics

from devstack.emulator import EmulatorServer, ZoneSpec
from devstack.emulator.ratelimit import SlidingWindow
from devstack.emulator.server import RATE_LIMITED_SUFFIX
from devstack.stack.aws import LocalStack, create_stack, start_moto
from devstack.stack.pipeline import REPO
from dnsbatch.aggregator import AggregatorDeps, aggregate
from dnsbatch.batcher import BatcherDeps, ZoneBatches
from dnsbatch.cloudflare import CloudflareClient
from dnsbatch.cloudflare.client import RequestInfo
from dnsbatch.cloudflare.types import Record
from dnsbatch.config import Settings
from dnsbatch.ledger import Ledger
from dnsbatch.telemetry import Telemetry

TOKEN = "bench-zones-token"
OWNER = "bench"
ZONES_LOOKUP = "GET /zones"
#: From a change set's arrival on ChangeSetQueue to a poller taking it (virtual seconds).
POLL_DELAY = 1.0


class VirtualClock:
    """A clock that moves only when every participant waits: then it jumps to the earliest wake-up.

    Each thread that calls :meth:`sleep` must be a participant (:meth:`join` before it starts, :meth:`leave`
    when it ends). A participant doing real work (an HTTP call to the emulator, a DynamoDB call to moto)
    holds the clock still, so local work costs no virtual time.
    """

    def __init__(self) -> None:
        self._now = 0.0
        self._running = 0
        self._sleepers: list[tuple[float, int, list[bool]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()

    def now(self) -> float:
        return self._now

    def join(self) -> None:
        with self._cond:
            self._running += 1

    def leave(self) -> None:
        with self._cond:
            self._running -= 1
            self._advance()

    def sleep(self, seconds: float) -> None:
        self.sleep_until(self._now + max(0.0, seconds))

    def sleep_until(self, when: float) -> None:
        with self._cond:
            woken = [False]
            heapq.heappush(self._sleepers, (max(when, self._now), next(self._seq), woken))
            self._running -= 1
            self._advance()
            while not woken[0]:
                self._cond.wait()

    def _advance(self) -> None:
        if self._running > 0 or not self._sleepers:
            return
        self._now = max(self._now, self._sleepers[0][0])
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, woken = heapq.heappop(self._sleepers)
            woken[0] = True
            self._running += 1
        self._cond.notify_all()


@dataclass(frozen=True)
class Setup:
    """One deployment's settings and the modelled costs (seconds); defaults are the template's."""

    calls_per_window: int = 2  # 2: zone read + batch call (today); 1: plan from knowledge
    concurrency: int = 2  # the batcher event source's MaximumConcurrency
    zones_per_invocation: int = 10  # the FIFO event source's BatchSize: change sets (zones) per invocation
    pacing: float = 0.0  # the batcher's client: seconds between the starts of two calls (0: unpaced)
    latency: float = 0.2  # one Cloudflare call, request to answer
    ledger_per_zone: float = 0.03  # one zone's Ledger round trips (read, marks) in the same region
    invocation_overhead: float = 0.05  # Lambda's poll + invoke per batch
    window: float = 60.0  # the coalescing window (IngestBatchingWindow)
    windows: int = 6  # more than the limiter's window, so it fills and slides
    changes_per_zone: int = 1
    rate_limit: int = 1200
    rate_window: float = 300.0

    def bounds(self) -> dict[str, float]:
        """Zones per window each setting allows (module docstring)."""
        c, w = self.calls_per_window, self.window
        out = {"calls per window": self.rate_limit / self.rate_window * w / c}
        if self.pacing > 0:
            out["pacing"] = self.concurrency * w / (self.pacing * c)
        per_zone = (
            c * self.latency + self.ledger_per_zone + self.invocation_overhead / self.zones_per_invocation
        )
        out["concurrency"] = self.concurrency * w / per_zone
        return out

    def binding(self) -> tuple[str, float]:
        name, value = min(self.bounds().items(), key=lambda kv: kv[1])
        return name, value


@dataclass
class RunResult:
    zones: int
    calls: int
    rate_limited: int
    busiest: int  # admitted calls in the busiest rate_window
    finished: bool  # every zone-window done within one window of its arrival, before the run ended
    max_lag: float  # longest wait from a window's arrival to its zone being done
    lookups: int  # GET /zones (cold containers), before the measured run
    wall: float

    @property
    def ok(self) -> bool:
        return self.rate_limited == 0 and self.finished


class _KnowledgeClient(CloudflareClient):
    """``calls_per_window=1``: the zone read answered without a request (what the batcher would know from
    the Ledger), from the emulator's own state."""

    def __init__(self, emu: EmulatorServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._emu = emu

    def list_records(
        self, zone_id: str, *, name: str | None = None, type: str | None = None, deadline: float | None = None
    ) -> list[Record]:
        if name is not None or type is not None:
            return super().list_records(zone_id, name=name, type=type, deadline=deadline)
        return [Record.from_api(r) for r in self._emu.state.records(zone_id)]


def _quiet_telemetry(name: str) -> Telemetry:
    logger = Logger(service=f"bench-zones-{name}-{uuid.uuid4().hex[:6]}", stream=io.StringIO(), level="ERROR")
    return Telemetry(logger, Metrics(namespace="bench"), name)


def _zone_names(count: int) -> list[str]:
    return [f"z{i:04d}.example" for i in range(count)]


def _window_records(zones: Sequence[str], window: int, changes: int) -> list[dict[str, Any]]:
    """One ingest message per zone: an envelope of ``changes`` upserts, a new address each window."""
    records = []
    for z, zone in enumerate(zones):
        body = {
            "changes": [
                {
                    "zone": zone,
                    "name": f"h{i}",
                    "type": "A",
                    "action": "upsert",
                    "values": [f"10.{window % 250}.{z % 250}.{i + 1}"],
                    "ttl": 300,
                    "version": window + 1,
                }
                for i in range(changes)
            ]
        }
        records.append(
            {
                "messageId": f"w{window}-{zone}",
                "receiptHandle": "r",
                "body": json.dumps(body),
                "attributes": {"SentTimestamp": str(1_700_000_000_000 + window * 60_000)},
            }
        )
    return records


class _Run:
    def __init__(self, setup: Setup, zones: int, endpoint: str) -> None:
        self.setup = setup
        self.zone_names = _zone_names(zones)
        self.clock = VirtualClock()
        self.endpoint = endpoint
        self.admitted: list[float] = []
        self.done_at: list[float] = []
        self.arrivals_done = threading.Event()
        self.errors: list[BaseException] = []
        self.failed_zones = 0
        self.lags: list[float] = []
        self.warming = True
        self.start = 0.0  # virtual time of the first window, once the containers are warm

    def run(self) -> RunResult:
        s = self.setup
        started = time.perf_counter()
        specs = [ZoneSpec(z, plan="pro") for z in self.zone_names]
        with EmulatorServer(specs, token=TOKEN, clock=self.clock.now, validate_requests=False) as emu:
            stack = create_stack(
                self.endpoint,
                REPO / "template.yaml",
                f"z{uuid.uuid4().hex[:10]}",
                {"Zones": self.zone_names[0]},
            )
            settings = Settings(
                zones={z: None for z in self.zone_names},
                changeset_queue_url=stack.queue_urls["ChangeSetQueue"],
                fallback_queue_url=stack.queue_urls["FallbackQueue"],
                rejected_queue_url=stack.queue_urls["RejectedQueue"],
                ledger_table=stack.table_name,
                owner_id=OWNER,
                batch_change_interval=s.pacing,
                fallback_request_interval=0.0,
                mass_change_threshold=1.0,
                # The batcher reads the zone in every window; calls_per_window=1 answers that read without a
                # request (_KnowledgeClient), the steady state of planning from the Ledger's knowledge.
                zone_read_interval=0.0,
            )
            with self._containers(emu, stack, settings) as containers:
                # Warm containers: each has looked its zones up before (a cold one pays one call per zone).
                # The lookups are paced like any call, so this thread takes part in virtual time meanwhile.
                self.clock.join()
                try:
                    for client, _deps in containers:
                        for zone in self.zone_names:
                            client.zone_by_name(zone)
                finally:
                    self.clock.leave()
                self.start = math.ceil(self.clock.now() / s.window + 1) * s.window
                lookups = emu.counters().get(ZONES_LOOKUP, 0)
                self.warming = False
                self.admitted.clear()
                emu.reset_counters()
                emu.limiter = SlidingWindow(s.rate_limit, s.rate_window, self.clock.now)
                self._drive(stack, settings, containers)
            counters = emu.counters()
        if self.errors:
            raise self.errors[0]
        expected = len(self.zone_names) * s.windows
        end = self.start + s.windows * s.window
        return RunResult(
            zones=len(self.zone_names),
            calls=sum(counters.values()),
            rate_limited=sum(v for k, v in counters.items() if k.endswith(RATE_LIMITED_SUFFIX)),
            busiest=_busiest(self.admitted, s.rate_window),
            finished=len(self.done_at) >= expected
            and self.failed_zones == 0
            and max(self.done_at, default=0) <= end
            and max(self.lags, default=0.0) <= s.window,
            max_lag=max(self.lags, default=0.0),
            lookups=lookups,
            wall=time.perf_counter() - started,
        )

    @contextmanager
    def _containers(
        self, emu: EmulatorServer, stack: LocalStack, settings: Settings
    ) -> Iterator[list[tuple[CloudflareClient, BatcherDeps]]]:
        s = self.setup
        out: list[tuple[CloudflareClient, BatcherDeps]] = []
        try:
            for n in range(s.concurrency):

                def on_request(info: RequestInfo) -> None:
                    if self.warming:
                        return
                    if info.status != 429:
                        self.admitted.append(self.clock.now())
                    self.clock.sleep(s.latency)

                kwargs: dict[str, Any] = {
                    "clock": self.clock.now,
                    "sleep": self.clock.sleep,
                    "min_interval": s.pacing,
                    "on_request": on_request,
                }
                client = (
                    _KnowledgeClient(emu, emu.base_url, TOKEN, **kwargs)
                    if s.calls_per_window == 1
                    else CloudflareClient(emu.base_url, TOKEN, **kwargs)
                )
                ledger = Ledger(stack.table_name, stack.client("dynamodb"))
                deps = BatcherDeps(
                    settings,
                    stack.client("sqs"),
                    ledger,
                    client,
                    _quiet_telemetry(f"b{n}"),
                    self.clock.now,
                    self.clock.sleep,
                )
                out.append((client, deps))
            yield out
        finally:
            for client, _deps in out:
                client.close()

    def _drive(
        self, stack: LocalStack, settings: Settings, containers: list[tuple[CloudflareClient, BatcherDeps]]
    ) -> None:
        actors = [threading.Thread(target=self._guard, args=(self._arrivals, stack, settings), daemon=True)]
        actors += [
            threading.Thread(target=self._guard, args=(self._container, stack, deps), daemon=True)
            for _client, deps in containers
        ]
        for actor in actors:
            self.clock.join()
            actor.start()
        for actor in actors:
            actor.join()

    def _guard(self, work: Callable[..., None], *args: Any) -> None:
        try:
            work(*args)
        except BaseException as exc:  # reported by run(); the other actors must not wait for this one
            self.errors.append(exc)
        finally:
            self.clock.leave()

    def _arrivals(self, stack: LocalStack, settings: Settings) -> None:
        s = self.setup
        ledger = Ledger(stack.table_name, stack.client("dynamodb"))
        deps = AggregatorDeps(settings, stack.client("sqs"), ledger, _quiet_telemetry("aggregator"))
        for window in range(s.windows):
            self.clock.sleep_until(self.start + window * s.window)
            summary = aggregate(_window_records(self.zone_names, window, s.changes_per_zone), deps)
            if summary.failed_messages:
                raise RuntimeError(f"the aggregator failed {len(summary.failed_messages)} messages")
        self.arrivals_done.set()

    def _container(self, stack: LocalStack, deps: BatcherDeps) -> None:
        s = self.setup
        sqs = deps.sqs
        url = stack.queue_urls["ChangeSetQueue"]
        while True:
            got = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, s.zones_per_invocation),
                MessageSystemAttributeNames=["MessageGroupId"],
            ).get("Messages", [])
            if not got:
                if self.arrivals_done.is_set():
                    return
                # Nothing visible until the next window arrives (the other container's zones are its own);
                # Lambda's poller sees it a moment after the aggregator sent it.
                following = math.floor((self.clock.now() - self.start - POLL_DELAY) / s.window) + 1
                self.clock.sleep_until(self.start + following * s.window + POLL_DELAY)
                continue
            self.clock.sleep(s.invocation_overhead)
            records = [
                {
                    "messageId": m["MessageId"],
                    "body": m["Body"],
                    "attributes": {"MessageGroupId": m["Attributes"]["MessageGroupId"]},
                }
                for m in got
            ]
            batches = ZoneBatches(records, deps, self.clock.now() + 300 - 10)
            for record in records:
                try:
                    batches.handle(record)
                except Exception:
                    self.failed_zones += 1
                self.clock.sleep(s.ledger_per_zone)
                # One change set per zone and window; its changes carry the window number as version.
                arrived = min(c["version"] for c in json.loads(record["body"])["changes"]) - 1
                self.done_at.append(self.clock.now())
                self.lags.append(self.clock.now() - self.start - arrived * s.window)
            for start in range(0, len(got), 10):
                entries = [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(got[start : start + 10])
                ]
                sqs.delete_message_batch(QueueUrl=url, Entries=entries)


def _busiest(stamps: Sequence[float], window: float) -> int:
    ordered = sorted(stamps)
    best = start = 0
    for end, stamp in enumerate(ordered):
        while ordered[start] <= stamp - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def sustained(setup: Setup, endpoint: str, *, tolerance: float = 0.03) -> tuple[RunResult, RunResult | None]:
    """The highest zones per window found to pass (no 429, every window done in time) below the lowest found
    to fail, to within ``tolerance``: run at the binding bound; if it passes, 5 % above it (and on up while
    runs pass); if it fails, 10 % below it, then bisect."""
    _name, bound = setup.binding()
    tried: dict[int, RunResult] = {}

    def run(zones: int) -> RunResult:
        if zones not in tried:
            tried[zones] = _Run(setup, zones, endpoint).run()
        return tried[zones]

    zones = max(1, int(bound))
    if run(zones).ok:
        while run(up := max(zones + 1, int(zones * 1.05))).ok:
            zones = up
        return tried[zones], tried[up]
    good, bad = max(1, int(zones * 0.9)), zones
    while not run(good).ok and good > 1:
        bad, good = good, max(1, int(good * 0.9))
    while bad - good > max(1, tolerance * bad):
        middle = (good + bad) // 2
        if run(middle).ok:
            good = middle
        else:
            bad = middle
    return tried[good], tried[bad]


def template_setup(endpoint: str) -> tuple[Setup, str]:
    """The template's defaults as a Setup (batcher concurrency, zones per invocation, pacing), and a line on
    the worst case of the batcher and the fallback together against the allowance."""
    stack = create_stack(
        endpoint, REPO / "template.yaml", f"zt{uuid.uuid4().hex[:8]}", {"Zones": "example.com"}
    )
    batcher = stack.event_sources("BatcherFunction")[0]
    fallback = stack.event_sources("FallbackFunction")[0]
    pacing = float(stack.function_env("BatcherFunction")["BATCH_CHANGE_INTERVAL"])
    fallback_interval = float(stack.function_env("FallbackFunction")["FALLBACK_REQUEST_INTERVAL"])
    setup = Setup(
        concurrency=batcher.max_concurrency or 1000,
        zones_per_invocation=batcher.batch_size,
        pacing=pacing,
    )
    worst = setup.concurrency / pacing + (fallback.max_concurrency or 1000) / fallback_interval
    allowance = setup.rate_limit / setup.rate_window
    line = (
        f"zones: template.yaml: batcher MaximumConcurrency {setup.concurrency},"
        f" BatchSize {setup.zones_per_invocation} (zones per invocation),"
        f" BatchChangeInterval {pacing:g} s between any two calls of a container;"
        f" fallback {fallback.max_concurrency} x 1 call / {fallback_interval:g} s: worst case {worst:.2f} of"
        f" {allowance:g} requests/s, {(allowance - worst) * setup.rate_window:.0f} requests / 5 min left for"
        " humans and other tools"
    )
    return setup, line


HEADER = (
    f"  {'setup':<46} {'zones/min':>9} {'x max':>6}  {'binds':<16} {'bounds, zones/min':<52} "
    f"{'busiest window':>14} {'lag':>5}  above it"
)


def _line(label: str, setup: Setup, good: RunResult, bad: RunResult | None) -> str:
    name, _bound = setup.binding()
    per_minute = 60 / setup.window
    bounds = ", ".join(f"{k} {v * per_minute:.0f}" for k, v in setup.bounds().items())
    zones = good.zones * per_minute
    theoretical = setup.rate_limit / setup.rate_window * 60 / setup.calls_per_window
    if bad is None:
        above = "-"
    else:
        why = [f"{bad.rate_limited} x 429"] if bad.rate_limited else []
        why += [] if bad.finished else [f"backlog (lag {bad.max_lag:.0f} s)"]
        above = f"{bad.zones * per_minute:.0f}: {', '.join(why)}"
    busiest = f"{good.busiest:,}/{setup.rate_limit:,}"
    return (
        f"  {label:<46} {zones:>9.0f} {zones / theoretical:>5.2f}x  {name:<16} {bounds:<52} "
        f"{busiest:>14} {good.max_lag:>4.0f}s  {above}"
    )


def scenarios(template: Setup) -> list[tuple[str, Setup]]:
    unpaced = replace(template, pacing=0.0)
    return [
        ("2 calls/window, unpaced across zones (before)", replace(unpaced, calls_per_window=2)),
        ("2 calls/window, template defaults", replace(template, calls_per_window=2)),
        ("1 call/window, template defaults", replace(template, calls_per_window=1)),
    ]


def run(quick: bool = False) -> list[str]:
    client_logger = logging.getLogger("dnsbatch.cloudflare")
    saved = client_logger.level
    client_logger.setLevel(logging.ERROR)  # every 429 logs a warning; not figures
    server, endpoint = start_moto()
    lines = []
    try:
        template, described = template_setup(endpoint)
        cases = scenarios(template)
        if quick:
            # A 120 s limiter window of 40 calls, 4 windows: the same search on a few zones.
            cases = [
                (label, replace(setup, rate_limit=40, rate_window=120.0, windows=4))
                for label, setup in (cases[0], cases[-1])
            ]
        limits = cases[0][1]
        reference = limits.rate_limit / limits.rate_window * 60
        lines.append(
            f"zones: reference: the allowance, {limits.rate_limit:,} requests / {limits.rate_window:g} s per"
            f" user = {reference:.0f} calls/min: at most {reference / 2:.0f} zones/min at 2 calls per"
            f" zone-window, {reference:.0f} at 1 (the theoretical maximum)"
        )
        lines.append(described)
        lines.append(
            f"zones: modelled per call {limits.latency:g} s, per zone {limits.ledger_per_zone:g} s of Ledger,"
            f" per invocation {limits.invocation_overhead:g} s; {limits.windows} windows of"
            f" {limits.window:g} s, {limits.changes_per_zone} change per zone-window, warm containers;"
            " virtual time"
        )
        lines.append(HEADER)
        for label, setup in cases:
            good, bad = sustained(setup, endpoint)
            lines.append(_line(label, setup, good, bad))
    finally:
        server.stop()
        client_logger.setLevel(saved)
    return lines
