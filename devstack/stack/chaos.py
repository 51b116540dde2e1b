"""The chaos suite: a seeded stream of change events through the whole local pipeline while the emulator
injects every fault it knows and the functions are killed mid-invocation, then checks against an oracle.

One seed drives everything the runner decides: the events (updates, deletes, duplicates, stale replays,
out-of-order versions, type switches, refused names, producer errors), the fault schedule (one emulator
fault configuration per window) and the kill switch (which invocations die, after how many calls).
What the seed cannot fix is timing: moto's receive order, retry jitter and deadlines differ between runs,
so a replay repeats the same inputs and faults, not always the same interleaving.

The oracle knows nothing of dnsbatch's code. It follows the event contract (README "The change event"):
per record set the highest version wins and is the desired state, except where Cloudflare or the
contract refuses it, which the generator knows by construction (see :func:`oracle`). Windows are drained
one after the other, so the oracle can walk them in order.

``python -m devstack.stack chaos`` (``make chaos``) runs it; tests/integration/test_chaos.py runs a short one.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from devstack.emulator import FaultConfig, ZoneSpec
from devstack.emulator.ratelimit import Decision
from devstack.stack.pipeline import LocalPipeline, PipelineOptions
from devstack.stack.poller import FunctionCrash
from dnsbatch.ledger import knowledge_pk

BATCH_PATH = "/zones/{zone_id}/dns_records/batch"
LIST_PATH = "/zones/{zone_id}/dns_records"
DLQS = ("IngestDeadLetterQueue", "ChangeSetDeadLetterQueue", "FallbackDeadLetterQueue")
#: Every fault kind the schedule can pick for a window (refused names are on in every window).
FAULT_KINDS = ("error", "error_rate", "rate_limited", "drop", "slow", "commit_error", "commit_drop")
ALWAYS_REFUSED = "cf-reject-"
SOMETIMES_REFUSED = "flip-"


# ---------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class ChaosConfig:
    seed: int
    events: int = 10_000
    windows: int = 50
    zones: tuple[ZoneSpec, ...] = (
        ZoneSpec("chaos-free.example", plan="free"),
        ZoneSpec("chaos-pro.example", plan="pro"),
        ZoneSpec("chaos-biz.example", plan="business"),
    )
    faults: tuple[str, ...] = FAULT_KINDS
    kill_rate: float = 0.08  # share of invocations that die
    kill_after: int = 40  # ... after 1..kill_after hooked calls (AWS before/after, Cloudflare after)
    refusal_window_rate: float = 0.25  # windows in which flip-* names are refused too
    # Dense: in every window every zone gets a cf-reject-* upsert (so its first chunk is rolled back and
    # replayed by the fallback), a malformed event and a duplicate, and every switching name takes a
    # step: a short run then meets the fallback, the switches and the aggregator's own outcomes in every
    # window. These events come on top of `events`.
    dense: bool = False
    max_envelope: int = 25
    batch_change_size: int = 40  # several chunks per zone and window
    time_scale: float = 0.002  # visibility timeouts, batching window, pacing
    context_time_scale: float = 0.05  # the functions' time budgets
    request_timeout: float = 1.0  # CLOUDFLARE_REQUEST_TIMEOUT
    slow_seconds: float = 1.5  # a slow answer: past the client's timeout
    drain_timeout: float = 300.0  # per window
    # The mass-change guard holds a window that deletes or replaces over this share of a zone's records,
    # by design; the oracle follows versions per record set and does not model it (the guard has tests
    # of its own), so the suite turns it off: no window can change more than 100 %.
    mass_change_threshold: float = 1.0
    # Out-of-band edits (someone in Cloudflare's dashboard), made between windows: before every
    # `forced_read_every`-th window the runner ages what the Ledger knows of each zone's records (as the
    # clock passing ZONE_READ_INTERVAL would) and edits, deletes and adds records behind dnsbatch's back
    # (see OutOfBand and oracle()). 0: none.
    forced_read_every: int = 2
    moto_endpoint: str | None = None
    log_path: Path | None = None


# ---------------------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Event:
    """One change event as the producer meant it; ``body()`` is what goes on the wire."""

    zone: str
    name: str  # relative
    type: str
    action: str
    values: tuple[str, ...] | None
    ttl: int
    version: int
    eid: str
    valid: bool = True  # False: the aggregator must reject it (a malformed value)
    conflict: bool = False  # True: a CNAME beside a pinned A, which dnsbatch must reject

    @property
    def rs(self) -> tuple[str, str, str]:
        return (self.zone, self.name, self.type)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "zone": self.zone,
            "name": self.name,
            "type": self.type,
            "action": self.action,
            "version": self.version,
            "source": "chaos",
            "id": self.eid,
        }
        if self.action == "upsert":
            out["values"] = list(self.values or ())
            out["ttl"] = self.ttl
        return out

    def desired(self) -> tuple[tuple[str, ...], int] | None:
        """The state this event asks for: sorted values and TTL, or None (absent)."""
        if self.action == "delete":
            return None
        return (tuple(sorted(self.values or ())), self.ttl)


@dataclass
class Message:
    events: list[Event]
    kind: str  # "new", "duplicate", "replay"

    def body(self) -> str:
        if len(self.events) == 1 and self.kind == "new" and self.events[0].version % 2:
            return json.dumps(self.events[0].body(), separators=(",", ":"))
        return json.dumps({"changes": [e.body() for e in self.events]}, separators=(",", ":"))


@dataclass
class Window:
    number: int
    messages: list[Message]
    faults: FaultConfig
    fault_kinds: tuple[str, ...]
    refusing_flip: bool


@dataclass(frozen=True)
class OutOfBand:
    """One out-of-band edit, made after window ``before - 1`` drained and before window ``before``.

    ``kind``: ``edit`` (one record's value changed, its comment and so its owner kept), ``delete`` (one
    record removed) or ``cname`` (a CNAME nobody owns added on a name that holds nothing). ``state``: what
    the record set holds right after it. Edits and deletes target record sets that window ``before`` (a
    forced-read window) changes, which dnsbatch must repair, or that no later event touches, which must
    stay as edited; a CNAME blocks every later upsert on its name."""

    before: int
    kind: str
    rs: tuple[str, str, str]
    state: tuple[tuple[str, ...], int] | None
    old: str | None = None  # the value edited or deleted (presentation form, as the oracle keeps it)
    new: str | None = None  # the value it became (edit) or the CNAME's target (cname)


@dataclass
class _Names:
    regular: list[tuple[str, str]]  # (name, type)
    switch: list[str]
    pinned: list[str]
    refused: list[str]
    flip: list[str]


def _names(zone: ZoneSpec, rng: random.Random) -> _Names:
    # Free zones hold at most 200 records: keep the name space small enough that every set fits.
    scale = 1 if zone.plan == "free" else 3
    regular = []
    for i in range(24 * scale):
        for type_ in rng.sample(["A", "AAAA", "TXT", "MX"], rng.choice([1, 1, 2])):
            regular.append((f"r{i:03d}", type_))
    return _Names(
        regular=regular,
        switch=[f"s{i:02d}" for i in range(2 * scale)],
        pinned=[f"p{i}" for i in range(3)],
        refused=[f"{ALWAYS_REFUSED}{i}" for i in range(2)],
        flip=[f"{SOMETIMES_REFUSED}{i}" for i in range(3 * scale)],
    )


def _values(type_: str, rng: random.Random) -> tuple[str, ...]:
    count = 1 if type_ == "CNAME" else rng.choice([1, 1, 2])
    pools = {
        "A": lambda: f"192.0.2.{rng.randint(1, 254)}",
        "AAAA": lambda: f"2001:db8::{rng.randint(1, 0xFFFF):x}",
        "TXT": lambda: f"chaos-{rng.randint(0, 10**6)}",
        "MX": lambda: f"{rng.choice([10, 20])} mx{rng.randint(1, 999)}.example.net",
        "CNAME": lambda: f"target{rng.randint(1, 999)}.example.net",
    }
    values: set[str] = set()
    while len(values) < count:
        value = pools[type_]()
        if type_ == "MX" and any(v.split()[1] == value.split()[1] for v in values):
            continue  # same host, other priority: Cloudflare may call it a duplicate (docs/emulator.md)
        values.add(value)
    return tuple(sorted(values))


class Generator:
    """The seeded producer. It keeps a model of what it has asked for so that its events make sense:
    versions are monotonic per record set, type switches delete the old type in the same message."""

    def __init__(self, config: ChaosConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.fault_rng = random.Random(f"faults-{config.seed}")
        self.names = {z.name: _names(z, self.rng) for z in config.zones}
        self.version: Counter[tuple[str, str, str]] = Counter()
        self.switch_type = {
            (z.name, n): self.rng.choice(["A", "MX"]) for z in config.zones for n in self.names[z.name].switch
        }
        self.sent: list[Message] = []
        self.events = 0
        self._late: list[list[Event]] = []
        self.switch_live: set[tuple[str, str]] = set()

    def _next(self, zone: str, name: str, type_: str, action: str, **extra: Any) -> Event:
        key = (zone, name, type_)
        self.version[key] += 1
        self.events += 1
        values = _values(type_, self.rng) if action == "upsert" else None
        return Event(
            zone,
            name,
            type_,
            action,
            values,
            self.rng.choice([1, 300, 3600]),
            self.version[key],
            f"e{self.events}",
            **extra,
        )

    def windows(self) -> list[Window]:
        cfg = self.config
        per_window = max(1, cfg.events // cfg.windows)
        out = []
        for number in range(cfg.windows):
            target = cfg.events - self.events if number == cfg.windows - 1 else per_window
            out.append(self._window(number, target))
        return out

    def _window(self, number: int, target: int) -> Window:
        rng, cfg = self.rng, self.config
        groups: list[list[Event]] = []
        groups.extend(self._late)
        self._late = []  # older versions held back from the previous window: out of order
        busy_switch: set[tuple[str, str]] = set()
        if number == 0:
            for spec in cfg.zones:
                for name in self.names[spec.name].pinned:
                    groups.append([self._next(spec.name, name, "A", "upsert")])
        if cfg.dense:
            for spec in cfg.zones:
                names = self.names[spec.name]
                groups.append([self._next(spec.name, rng.choice(names.refused), "A", "upsert")])
                for name in names.switch:
                    busy_switch.add((spec.name, name))
                    groups.append(self._switch(spec.name, name))
                name, _type = rng.choice(names.regular)
                bad = self._next(spec.name, name, "A", "upsert", valid=False)
                groups.append([replace(bad, values=("192.0.2.300",))])
        start = self.events
        copies: list[Message] = []
        if cfg.dense:  # and a duplicate: every window has outcomes the aggregator logs itself
            copies.append(Message(list(groups[-1]), "duplicate"))
            self.events += len(copies[-1].events)
        while self.events - start < target:
            self._step(number, rng.choice(cfg.zones).name, groups, copies, busy_switch)
        rng.shuffle(groups)
        messages: list[Message] = []
        current: list[Event] = []
        size = rng.randint(1, cfg.max_envelope)
        for group in groups:
            current.extend(group)
            if len(current) >= size:
                messages.append(Message(current, "new"))
                current, size = [], rng.randint(1, cfg.max_envelope)
        if current:
            messages.append(Message(current, "new"))
        self.sent.extend(messages)
        for copy in copies:
            messages.insert(rng.randint(0, len(messages)), copy)
        faults, kinds = self._faults(number)
        refusing = rng.random() < cfg.refusal_window_rate
        pattern = f"^({ALWAYS_REFUSED}|{SOMETIMES_REFUSED})" if refusing else f"^{ALWAYS_REFUSED}"
        return Window(number, messages, replace(faults, reject_name_pattern=pattern), kinds, refusing)

    def _step(
        self,
        number: int,
        zone: str,
        groups: list[list[Event]],
        copies: list[Message],
        busy_switch: set[tuple[str, str]],
    ) -> None:
        """Add one producer action to the window: a group of events sent together, or a copy."""
        rng, names = self.rng, self.names[zone]
        last_window = number == self.config.windows - 1
        roll = rng.random()
        if roll < 0.41:
            name, type_ = rng.choice(names.regular)
            groups.append([self._next(zone, name, type_, "upsert" if rng.random() < 0.85 else "delete")])
        elif roll < 0.51:
            # Out of order: two new versions, the older one sent after the newer (here or next window).
            name, type_ = rng.choice(names.regular)
            older = self._next(zone, name, type_, "upsert")
            newer = self._next(zone, name, type_, rng.choice(["upsert", "upsert", "delete"]))
            groups.append([newer])
            (self._late if rng.random() < 0.5 and not last_window else groups).append([older])
        elif roll < 0.63:
            name = rng.choice(names.switch)
            if (zone, name) not in busy_switch:  # one step per switching name per window: see oracle()
                busy_switch.add((zone, name))
                groups.append(self._switch(zone, name))
        elif roll < 0.71 and groups:
            copies.append(Message(list(rng.choice(groups)), "duplicate"))
            self.events += len(copies[-1].events)
        elif roll < 0.79 and self.sent:
            copies.append(replace(rng.choice(self.sent), kind="replay"))
            self.events += len(copies[-1].events)
        elif roll < 0.82:
            name = rng.choice(names.refused)
            groups.append([self._next(zone, name, "A", rng.choice(["upsert", "upsert", "delete"]))])
        elif roll < 0.90:
            name = rng.choice(names.flip)
            groups.append([self._next(zone, name, "A", rng.choice(["upsert"] * 5 + ["delete"]))])
        elif roll < 0.95 and number > 0:
            name = rng.choice(names.pinned)
            groups.append([self._next(zone, name, "CNAME", "upsert", conflict=True)])
        elif roll < 0.97:
            name, _type = rng.choice(names.regular)
            bad = self._next(zone, name, "A", "upsert", valid=False)
            groups.append([replace(bad, values=("192.0.2.300",))])

    def _switch(self, zone: str, name: str) -> list[Event]:
        now = self.switch_type[(zone, name)]
        target = "CNAME" if now != "CNAME" else self.rng.choice(["A", "MX"])
        if (zone, name) not in self.switch_live or self.rng.random() < 0.3:
            # The name's first step creates its first type (a switch needs something to switch from);
            # later, not every step is a switch: values also change in place.
            self.switch_live.add((zone, name))
            return [self._next(zone, name, now, "upsert")]
        self.switch_type[(zone, name)] = target
        return [self._next(zone, name, now, "delete"), self._next(zone, name, target, "upsert")]

    def _faults(self, number: int) -> tuple[FaultConfig, tuple[str, ...]]:
        rng, cfg = self.fault_rng, self.config
        if not cfg.faults:
            return FaultConfig(), ()
        # Window n always gets kind n (round robin), so even a short run meets every kind; plus extras.
        extra = rng.sample(list(cfg.faults), min(len(cfg.faults), rng.choice([0, 0, 1, 2])))
        kinds = tuple(sorted({cfg.faults[number % len(cfg.faults)], *extra}))
        fields: dict[str, Any] = {"seed": rng.randint(0, 2**31)}
        for kind in kinds:
            if kind == "error":
                fields["error_count"] = rng.randint(1, 3)
                fields["error_status"] = rng.choice([500, 502, 503, 504])
            elif kind == "error_rate":
                fields["error_rate"] = rng.choice([0.02, 0.05, 0.1])
            elif kind == "rate_limited":
                fields["rate_limit_count"] = rng.randint(1, 4)
                fields["retry_after"] = 1
            elif kind == "drop":
                fields["drop_count"] = rng.randint(1, 2)
            elif kind == "slow":
                fields["delay_seconds"] = cfg.slow_seconds
                fields["delay_count"] = 1
            elif kind == "commit_error":
                fields["commit_error_count"] = rng.randint(1, 2)
                fields.setdefault("error_status", 503)
            elif kind == "commit_drop":
                fields["commit_drop_count"] = rng.randint(1, 2)
        # A commit fault waits for a write that succeeds: unfiltered, the fallback's individual writes
        # can take it too when every batch of the window is refused.
        commit = {"commit_error", "commit_drop"} & set(kinds)
        fields["path"] = None if commit else rng.choice([None, BATCH_PATH, LIST_PATH])
        return FaultConfig(**fields), kinds


# ---------------------------------------------------------------------------------------------- oracle

RecordSet = tuple[str, str, str]
State = tuple[tuple[str, ...], int] | None


def oracle(windows: Sequence[Window], out_of_band: Sequence[OutOfBand] = ()) -> dict[RecordSet, State]:
    """What every record set must hold at the end, from the events (and the out-of-band edits) alone.

    Walking the windows in order (each is drained before the next is published), a record set takes the
    desired state of the highest version seen so far when that version is new; an event with a lower or
    equal version changes nothing (stale, duplicate, out of order). Then the refusals:

    * a malformed event is rejected at ingest and claims nothing;
    * a CNAME upsert on a pinned name (which holds an A since window 0 that no event ever deletes) is a
      producer error the contract rejects: the CNAME stays absent, the A stays;
    * cf-reject-* names are refused by Cloudflare in every window: they never exist, whatever their
      highest version says;
    * flip-* names are refused only in some windows: an upsert whose window refuses them is not applied
      and the record set keeps what it held before (the refused write must not leave it half changed or
      empty); its version still counts as accepted, so a lower version later is stale. Deletes are never
      refused (Cloudflare checks names only on writes).

    Type switches need no rule of their own: the generator sends the delete of the old type and the
    upsert of the new one in one message, and moves a switching name at most one step per window, so
    every order of delivery within a window ends in the same state.

    Out-of-band edits (docs/chaos.md) are made just before a window in which dnsbatch reads every zone
    (the runner ages its knowledge, as ZONE_READ_INTERVAL passing would): a record set edited or deleted
    there holds what the edit left until its next accepted event, which dnsbatch then applies against
    what Cloudflare really holds; a name given a CNAME out of band refuses every later upsert (a CNAME
    stands alone on its name) and the CNAME stays.
    """
    return _walk(windows, out_of_band)[0]


def _walk(
    windows: Sequence[Window], out_of_band: Sequence[OutOfBand]
) -> tuple[dict[RecordSet, State], dict[RecordSet, int], set[tuple[str, str]]]:
    """The oracle's walk: end states, accepted versions, names blocked by an out-of-band CNAME."""
    accepted: dict[RecordSet, int] = {}
    state: dict[RecordSet, State] = {}
    blocked: set[tuple[str, str]] = set()
    edits: dict[int, list[OutOfBand]] = defaultdict(list)
    for edit in out_of_band:
        edits[edit.before].append(edit)
    for window in windows:
        for edit in edits[window.number]:
            state[edit.rs] = edit.state
            if edit.kind == "cname":
                blocked.add((edit.rs[0], edit.rs[1]))
        for rs, event in _accepted_in(window, accepted).items():
            accepted[rs] = event.version
            state.setdefault(rs, None)
            if event.conflict or event.name.startswith(ALWAYS_REFUSED):
                continue
            if window.refusing_flip and event.name.startswith(SOMETIMES_REFUSED) and event.action == "upsert":
                continue
            if (event.zone, event.name) in blocked and event.action == "upsert":
                continue
            state[rs] = event.desired()
    return state, accepted, blocked


def _accepted_in(window: Window, accepted: dict[RecordSet, int]) -> dict[RecordSet, Event]:
    """The event of each record set that window makes the new highest version, if any."""
    best: dict[RecordSet, Event] = {}
    for message in window.messages:
        for event in message.events:
            if not event.valid:
                continue
            if event.version > accepted.get(event.rs, 0) and (
                event.rs not in best or event.version > best[event.rs].version
            ):
                best[event.rs] = event
    return best


# ------------------------------------------------------------------------------------ out-of-band edits

_EDITABLE = ("A", "AAAA", "TXT")  # types whose value the runner edits (any type may be deleted)


def forced_read(config: ChaosConfig, number: int) -> bool:
    """Whether the runner ages the Ledger's knowledge before this window (every zone it changes is read)."""
    every = config.forced_read_every
    return every > 0 and number > 0 and number % every == 0


def plan_out_of_band(config: ChaosConfig, windows: Sequence[Window]) -> list[OutOfBand]:
    """The out-of-band edits of a run, drawn from their own generator (``oob-<seed>``) so that they do not
    change the events of a seed. Each is chosen so that its end state does not depend on timing:

    * before a forced-read window: a value edit and a delete of record sets that window changes (dnsbatch
      reads the zone, so it plans against them), and an edit or delete of a record set no later event
      touches (nothing repairs it);
    * before the window after it (planned from knowledge): a delete or a value edit of a record set whose
      next change rewrites or deletes exactly the record edited (the batch refers to its id: a deleted one
      fails with 81044 and the zone is read; an edited one is overwritten), and a CNAME on a regular name
      that holds nothing and that the window then gives a record (refused: 81053, read, rejected).
    """
    if config.forced_read_every <= 0:
        return []
    rng = random.Random(f"oob-{config.seed}")
    edits: list[OutOfBand] = []
    later: dict[int, set[RecordSet]] = {}
    touched: set[RecordSet] = set()
    for window in reversed(windows):
        touched |= {e.rs for m in window.messages for e in m.events}
        later[window.number] = set(touched)
    for window in windows:
        number = window.number
        forced = forced_read(config, number)
        if not forced and not forced_read(config, number - 1):
            continue
        state, accepted, blocked = _walk(windows[:number], edits)
        coming = _accepted_in(window, accepted)
        ours = sorted(rs for rs in state if _editable(rs, state, blocked))
        if forced:
            changed = [rs for rs in ours if rs in coming and not coming[rs].conflict]
            alone = [rs for rs in ours if rs not in later[number]]
            either = rng.choice(["edit", "delete"])
            picks: list[tuple[str, list[RecordSet], dict[RecordSet, Event] | None]] = [
                ("edit", changed, None),
                ("delete", changed, None),
                (either, alone, None),
            ]
        else:
            single = [rs for rs in ours if rs in coming and len((state[rs] or ((), 0))[0]) == 1]
            picks = [(kind, single, coming) for kind in ("edit", "delete")]
        chosen: set[RecordSet] = set()
        for kind, pool, rewrites in picks:
            fits = [
                rs
                for rs in pool
                if rs not in chosen
                and (kind == "delete" or rs[2] in _EDITABLE)
                and (rewrites is None or _rewrites(rewrites[rs], state[rs], kind))
            ]
            if fits:
                rs = rng.choice(fits)
                chosen.add(rs)
                edits.append(_edit(number, kind, rs, state[rs], rng))
        if not forced:
            empty = sorted(
                {
                    (rs[0], rs[1])
                    for rs, event in coming.items()
                    if event.action == "upsert"
                    and rs[1].startswith("r")
                    and (rs[0], rs[1]) not in blocked
                    and not any(state.get((rs[0], rs[1], t)) for t in ("A", "AAAA", "TXT", "MX", "CNAME"))
                }
            )
            if empty:
                zone, name = rng.choice(empty)
                target = f"oob{number}.example.net"
                edits.append(OutOfBand(number, "cname", (zone, name, "CNAME"), ((target,), 1), new=target))
    return edits


def _editable(rs: RecordSet, state: dict[RecordSet, State], blocked: set[tuple[str, str]]) -> bool:
    return rs[1].startswith("r") and bool(state.get(rs)) and (rs[0], rs[1]) not in blocked


def _rewrites(event: Event, held: State, kind: str) -> bool:
    """Does a plan made from the record set's old state touch its one record (by id)? A delete of the set
    does; so does an upsert that drops its value (the record is patched to a new one) or, for a deleted
    record, changes its TTL (a patch of that id too)."""
    assert held is not None
    (value,), ttl = held
    desired = event.desired()
    if desired is None or value not in desired[0]:
        return True
    return kind == "delete" and desired[1] != ttl


def _edit(number: int, kind: str, rs: RecordSet, held: State, rng: random.Random) -> OutOfBand:
    assert held is not None
    values, ttl = held
    old = rng.choice(values)
    rest = [v for v in values if v != old]
    if kind == "delete":
        return OutOfBand(number, kind, rs, (tuple(sorted(rest)), ttl) if rest else None, old=old)
    new = {
        "A": f"198.51.100.{rng.randint(1, 254)}",
        "AAAA": f"2001:db8:ffff::{rng.randint(1, 0xFFFF):x}",
        "TXT": f"oob-{rng.randint(0, 10**6)}",
    }[rs[2]]
    return OutOfBand(number, kind, rs, (tuple(sorted([*rest, new])), ttl), old=old, new=new)


def _presented(record: dict[str, Any]) -> str:
    """A record's value as the oracle writes it (see actual_state)."""
    if record["type"] == "MX":
        return f"{record['priority']} {record['content']}"
    if record["type"] == "TXT":
        return str(record["content"]).strip('"')
    return str(record["content"])


def apply_out_of_band(pipeline: LocalPipeline, edits: Sequence[OutOfBand], *, age: bool) -> list[str]:
    """Make the edits behind dnsbatch's back, straight in the emulator's state (no API call: nothing
    counted or rate limited, like a change made by another account), after ageing what the Ledger knows
    of every zone if ``age``. Returns what could not be done (the zone was not as the oracle expected)."""
    emulator = pipeline.emulator
    assert emulator is not None and pipeline.stack is not None
    dynamodb = pipeline.stack.client("dynamodb")
    for zone in sorted(z.name for z in emulator.state.zones()) if age else ():
        # What ZONE_READ_INTERVAL passing does: the next window reads every zone it changes.
        with contextlib.suppress(dynamodb.exceptions.ConditionalCheckFailedException):
            dynamodb.update_item(
                TableName=pipeline.stack.table_name,
                Key={"pk": {"S": knowledge_pk(zone)}},
                UpdateExpression="SET read_at = :zero",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":zero": {"N": "0"}},
            )
    problems = []
    for edit in edits:
        zone, name, type_ = edit.rs
        fqdn = f"{name}.{zone}"
        zone_id = emulator.zone_id(zone)
        if edit.kind == "cname":
            emulator.seed(zone, [{"type": "CNAME", "name": fqdn, "content": edit.new, "ttl": 1}])
            continue
        found = [
            r
            for r in emulator.records(zone)
            if r["name"] == fqdn and r["type"] == type_ and _presented(r) == edit.old
        ]
        if not found:
            problems.append(f"{edit.kind} {fqdn} {type_} {edit.old}: no such record")
        elif edit.kind == "delete":
            emulator.state.delete_record(zone_id, found[0]["id"])
        else:
            emulator.state.patch_record(zone_id, found[0]["id"], {"content": edit.new})
    return problems


def actual_state(pipeline: LocalPipeline, zones: Iterable[str]) -> dict[RecordSet, State]:
    """What the emulator holds, in the oracle's shape."""
    assert pipeline.emulator is not None
    values: dict[RecordSet, list[str]] = defaultdict(list)
    ttls: dict[RecordSet, set[int]] = defaultdict(set)
    for zone in zones:
        for record in pipeline.emulator.records(zone):
            name = record["name"].removesuffix("." + zone)
            rs = (zone, name, record["type"])
            content = record["content"]
            if record["type"] == "MX":
                content = f"{record['priority']} {content}"
            elif record["type"] == "TXT":
                content = content.strip('"')
            values[rs].append(content)
            ttls[rs].add(record["ttl"])
    out: dict[RecordSet, State] = {}
    for rs, contents in values.items():
        ttl = ttls[rs].pop() if len(ttls[rs]) == 1 else -1  # -1: the set's records disagree
        out[rs] = (tuple(sorted(contents)), ttl)
    return out


# ---------------------------------------------------------------------------------------------- kills


class KillSwitch:
    """Kills invocations: a seeded share of them die after a seeded number of hooked calls. Until a
    function has been killed once, each of its invocations dies within its first few calls, so even a
    short run kills every function that runs."""

    def __init__(self, seed: int, rate: float, after: int) -> None:
        self.rng = random.Random(f"kills-{seed}")
        self.rate, self.after = rate, after
        self.lock = threading.Lock()
        self.countdown: int | None = None
        self.dead = False
        self.invocations = 0
        self.kills: Counter[str] = Counter()
        self.points: list[str] = []

    def started(self, function: str) -> None:
        with self.lock:
            self.invocations += 1
            self.dead = False
            if self.rate > 0 and not self.kills[function]:
                self.countdown = self.rng.randint(1, 6)
            elif self.rng.random() < self.rate:
                self.countdown = self.rng.randint(1, self.after)
            else:
                self.countdown = None

    def call(self, function: str, point: str) -> None:
        with self.lock:
            if self.dead:
                raise FunctionCrash(f"{function} is dead")  # other threads of a dead process get nowhere
            if self.countdown is None:
                return
            self.countdown -= 1
            if self.countdown > 0:
                return
            self.dead, self.countdown = True, None
            self.kills[function] += 1
            self.points.append(f"{function} at {point}")
        raise FunctionCrash(f"{function} killed at {point}")


class KillAt:
    """Kills one function at one point, deterministically: the ``nth`` time ``function``'s invocation
    passes a point containing ``point`` (e.g. ``"after dynamodb.UpdateItem"``). For minimised scenarios."""

    def __init__(self, function: str, point: str, nth: int = 1) -> None:
        self.function, self.point, self.left = function, point, nth
        self.lock = threading.Lock()
        self.dead = False
        self.points: list[str] = []

    def started(self, function: str) -> None:
        with self.lock:
            self.dead = False

    def call(self, function: str, point: str) -> None:
        with self.lock:
            if self.dead:
                raise FunctionCrash(f"{function} is dead")
            if function != self.function or self.point not in point or self.left <= 0:
                return
            self.left -= 1
            if self.left:
                return
            self.dead = True
            self.points.append(f"{function} at {point}")
        raise FunctionCrash(f"{function} killed at {point}")


# ---------------------------------------------------------------------------------------------- run


@dataclass
class Check:
    name: str
    ok: bool
    detail: list[str] = field(default_factory=list)


@dataclass
class ChaosResult:
    config: ChaosConfig
    windows: list[Window]
    checks: list[Check]
    summary: dict[str, Any]
    outcome_keys: Counter[tuple[str, int]]
    log_outcome_keys: Counter[tuple[str, int]]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)


class _RateRecorder:
    """Wraps the emulator's limiter: timestamps of admitted requests, and how many it refused."""

    def __init__(self, pipeline: LocalPipeline) -> None:
        assert pipeline.emulator is not None
        self.limiter = pipeline.emulator.limiter
        self.admitted: list[float] = []
        self.refused = 0
        self._acquire = self.limiter.acquire
        self.limiter.acquire = self.acquire  # type: ignore[method-assign]

    def acquire(self) -> Decision:
        decision = self._acquire()
        if decision.allowed:
            self.admitted.append(time.monotonic())
        else:
            self.refused += 1
        return decision

    def busiest(self, window: float) -> int:
        most, start = 0, 0
        for end, stamp in enumerate(self.admitted):
            while self.admitted[start] <= stamp - window:
                start += 1
            most = max(most, end - start + 1)
        return most


def run_chaos(config: ChaosConfig, *, progress: IO[str] | None = None) -> ChaosResult:
    started = time.monotonic()
    windows = Generator(config).windows()
    out_of_band = plan_out_of_band(config, windows)
    oob_problems: list[str] = []
    kills = KillSwitch(config.seed, config.kill_rate, config.kill_after)
    rate_window = 300.0 * config.time_scale
    log_file = config.log_path.open("w") if config.log_path is not None else None
    options = PipelineOptions(
        zones=config.zones,
        time_scale=config.time_scale,
        context_time_scale=config.context_time_scale,
        parameters={"BatchChangeSize": str(config.batch_change_size)},
        env={
            "CLOUDFLARE_REQUEST_TIMEOUT": str(config.request_timeout),
            "MASS_CHANGE_THRESHOLD": str(config.mass_change_threshold),
            # Reads are forced by the runner before chosen windows (apply_out_of_band), not by the clock,
            # so that which windows plan from knowledge does not depend on timing.
            "ZONE_READ_INTERVAL": "86400",
        },
        rate_window=rate_window,
        hooks=kills,
        moto_endpoint=config.moto_endpoint,
        log_stream=log_file,
    )
    expected: Counter[tuple[str, int]] = Counter()
    by_key: dict[tuple[str, int], Event] = {}
    undrained: list[int] = []
    try:
        with LocalPipeline(options) as pipeline:
            assert pipeline.emulator is not None
            rates = _RateRecorder(pipeline)
            for window in windows:
                edits = [e for e in out_of_band if e.before == window.number]
                if edits or forced_read(config, window.number):
                    oob_problems += apply_out_of_band(pipeline, edits, age=forced_read(config, window.number))
                pipeline.emulator.set_faults(window.faults)
                bodies = [m.body() for m in window.messages]
                ids = pipeline.publish(bodies)
                for message_id, message in zip(ids, window.messages, strict=True):
                    for index, event in enumerate(message.events):
                        expected[(message_id, index)] += 1
                        by_key[(message_id, index)] = event
                stats = pipeline.drain(timeout=config.drain_timeout)
                if not stats.idle:
                    undrained.append(window.number)
                if progress is not None:
                    print(
                        f"[{time.monotonic() - started:7.1f}s] window {window.number + 1}/{len(windows)}:"
                        f" {sum(len(m.events) for m in window.messages)} events, faults"
                        f" {','.join(window.fault_kinds) or 'none'}"
                        f"{' +flip refused' if window.refusing_flip else ''},"
                        f" outcomes {len(pipeline.outcomes)}, kills {sum(kills.kills.values())}",
                        file=progress,
                        flush=True,
                    )
            pipeline.emulator.clear_faults()
            zones = [z.name for z in config.zones]
            actual = actual_state(pipeline, zones)
            dlqs = {q: pipeline.depth(q) for q in DLQS}
            outcome_keys = Counter((o.ref.message_id, o.ref.index) for o in pipeline.outcomes)
            seen: dict[tuple[str, int], list[str]] = defaultdict(list)
            for o in pipeline.outcomes:
                seen[(o.ref.message_id, o.ref.index)].append(f"{o.function} {o.outcome.value}")
            outcome_kinds = Counter(o.outcome.value for o in pipeline.outcomes)
            injected = pipeline.emulator.faults_injected()
            calls = pipeline.emulator.counters()
            logs = pipeline.logs()
            cold_starts = dict(pipeline.cold_starts)
    finally:
        if log_file is not None:
            log_file.close()
    if config.log_path is not None:
        logs = config.log_path.read_text()
    log_outcome_keys = _log_outcomes(logs)
    repeats = _recovered_repeats(logs)
    plans = _plans(logs)
    expected_state = oracle(windows, out_of_band)
    checks = [
        Check("windows drained", not undrained, [f"window {n} did not drain" for n in undrained]),
        Check("out-of-band edits made", not oob_problems, oob_problems),
        _check_state(expected_state, actual, windows, out_of_band),
        _check_once(
            "outcomes exactly once (listeners)", expected, outcome_keys, by_key, seen, repeats=repeats
        ),
        _check_once(
            "outcomes exactly once (log lines)", expected, log_outcome_keys, by_key, seen, repeats=repeats
        ),
        Check(
            "dead-letter queues empty", not any(dlqs.values()), [f"{q}: {n}" for q, n in dlqs.items() if n]
        ),
        Check(
            "Cloudflare rate limit never exceeded",
            rates.refused == 0 and rates.busiest(rate_window) <= options.rate_limit,
            [f"limiter refused {rates.refused}; busiest {rate_window:g} s held {rates.busiest(rate_window)}"],
        ),
    ]
    events = sum(expected.values())
    summary = {
        "seed": config.seed,
        "events": events,
        "messages": sum(len(w.messages) for w in windows),
        "windows": len(windows),
        "zones": {z.name: z.plan for z in config.zones},
        "faults_injected": {
            **dict(sorted(injected.items())),
            **{f"killed {k.removesuffix('Function').lower()}": v for k, v in sorted(kills.kills.items())},
        },
        "out_of_band": dict(sorted(Counter(e.kind for e in out_of_band).items())),
        "forced_read_windows": [w.number for w in windows if forced_read(config, w.number)],
        "invocations": kills.invocations,
        "kill_points": kills.points,
        "cold_starts_after_kills": cold_starts,
        "outcomes": dict(sorted(outcome_kinds.items())),
        "outcomes_total": sum(outcome_kinds.values()),
        "outcome_log_lines": sum(log_outcome_keys.values()),
        "recovered_repeats": len(repeats),
        "zone_plans": plans,
        "cloudflare_calls": dict(sorted(calls.items())),
        "cloudflare_calls_total": sum(calls.values()),
        "rate_limit": {
            "limit": options.rate_limit,
            "window_seconds": rate_window,
            "busiest_window": rates.busiest(rate_window),
            "limiter_refusals": rates.refused,
        },
        "dead_letter_queues": dlqs,
        "wall_seconds": round(time.monotonic() - started, 1),
        "checks": {c.name: c.ok for c in checks},
    }
    return ChaosResult(config, windows, checks, summary, outcome_keys, log_outcome_keys)


def _plans(logs: str) -> dict[str, int]:
    """How the batcher's plans were made: from the Ledger's knowledge of the zone or from a zone read, and
    how many batches planned from knowledge were refused as stale (read, re-planned, resent)."""
    counts = {"from knowledge": 0, "from a read": 0, "stale knowledge refused": 0}
    for line in logs.splitlines():
        if "zone planned" not in line and "knowledge refused" not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        if entry.get("message") == "zone planned":
            counts["from knowledge" if entry.get("from_knowledge") else "from a read"] += 1
        elif str(entry.get("message", "")).startswith("batch planned from the Ledger's knowledge refused"):
            counts["stale knowledge refused"] += 1
    return counts


def _recovered_repeats(logs: str) -> set[tuple[str, int]]:
    """Events whose outcome line was written twice, the second time ``recovered``: the function that wrote
    the first died between the line and ``Ledger.mark_logged``, and the redelivery could not know the line
    was out. docs/pipeline.md allows exactly that repeat (readers count per message id and index); the
    checks accept it when both lines name the same outcome, and list how many there were."""
    lines: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for key, entry in _outcome_lines(logs):
        lines[key].append(entry)
    return {
        key
        for key, entries in lines.items()
        if len(entries) == 2
        and not entries[0].get("recovered")
        and entries[1].get("recovered")
        and entries[0]["outcome"] == entries[1]["outcome"]
    }


def _outcome_lines(logs: str) -> Iterator[tuple[tuple[str, int], dict[str, Any]]]:
    """Each outcome line of the functions' logs, keyed by (message id, event index)."""
    for line in logs.splitlines():
        if '"outcome"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and "outcome" in entry and "message_id" in entry:
            yield (entry["message_id"], int(entry.get("event_index", 0))), entry


def _log_outcomes(logs: str) -> Counter[tuple[str, int]]:
    return Counter(key for key, _ in _outcome_lines(logs))


def _history(windows: Sequence[Window], rs: RecordSet, out_of_band: Sequence[OutOfBand] = ()) -> list[str]:
    lines = []
    for window in windows:
        for edit in out_of_band:
            if edit.before == window.number and (
                edit.rs == rs or (edit.kind == "cname" and edit.rs[:2] == rs[:2])
            ):
                what = " → ".join(v for v in (edit.old, edit.new) if v)
                lines.append(f"      before window {window.number}: out of band {edit.kind} {what}")
        for message in window.messages:
            for event in message.events:
                if event.rs == rs:
                    flags = "".join(
                        [
                            f" [{message.kind}]" if message.kind != "new" else "",
                            " [invalid]" if not event.valid else "",
                            " [conflict]" if event.conflict else "",
                            " [flip refused]"
                            if window.refusing_flip and event.name.startswith("flip-")
                            else "",
                        ]
                    )
                    what = (
                        event.action
                        if event.action == "delete"
                        else f"upsert {list(event.values or ())} ttl {event.ttl}"
                    )
                    lines.append(f"      window {window.number} v{event.version} {event.eid}: {what}{flags}")
    return lines


def _check_state(
    expected: dict[RecordSet, State],
    actual: dict[RecordSet, State],
    windows: Sequence[Window],
    out_of_band: Sequence[OutOfBand] = (),
) -> Check:
    problems = []
    for rs in sorted(set(expected) | set(actual)):
        want, got = expected.get(rs), actual.get(rs)
        if want != got:
            problems.append(f"{rs[1]}.{rs[0]} {rs[2]}: expected {want}, emulator holds {got}")
            problems.extend(_history(windows, rs, out_of_band)[-8:])
    return Check("zones match the oracle", not problems, problems)


def _check_once(
    name: str,
    expected: Counter[tuple[str, int]],
    counted: Counter[tuple[str, int]],
    by_key: dict[tuple[str, int], Event],
    seen: dict[tuple[str, int], list[str]],
    *,
    repeats: Collection[tuple[str, int]] = (),
) -> Check:
    problems = []
    patterns: Counter[str] = Counter()
    for key in sorted(set(expected) | set(counted), key=lambda k: (counted[k], k)):
        if key in repeats and counted[key] == 2 and key in expected:
            continue
        if counted[key] != 1 or key not in expected:
            event = by_key.get(key)
            what = (
                "unknown event"
                if event is None
                else f"{event.eid} {event.name}.{event.zone} {event.type} v{event.version}"
            )
            outcomes = ", ".join(seen.get(key, [])) or "none"
            patterns[f"{counted[key]} outcomes ({outcomes})"] += 1
            problems.append(f"{counted[key]} outcomes: message {key[0]} #{key[1]} ({what}): {outcomes}")
    summary = [f"{n} event(s) with {pattern}" for pattern, n in patterns.most_common()]
    return Check(name, not problems, summary + problems)


def format_summary(result: ChaosResult, *, detail_lines: int = 40) -> str:
    s = result.summary
    out = ["", "dnsbatch chaos run", "=" * 18]
    out.append(f"seed               {s['seed']}  (replay: make chaos SEED={s['seed']})")
    out.append(f"events             {s['events']} in {s['messages']} messages, {s['windows']} windows")
    out.append("zones              " + ", ".join(f"{k} ({v})" for k, v in s["zones"].items()))
    faults = ", ".join(f"{k} {v}" for k, v in s["faults_injected"].items()) or "none"
    out.append(f"faults injected    {faults}")
    oob = ", ".join(f"{k} {v}" for k, v in s["out_of_band"].items()) or "none"
    forced = ", ".join(str(n) for n in s["forced_read_windows"]) or "none"
    out.append(f"out of band        {oob}; knowledge aged before windows {forced}")
    plans = ", ".join(f"{k} {v}" for k, v in s["zone_plans"].items())
    out.append(f"zone plans         {plans}")
    out.append(f"invocations        {s['invocations']}")
    for point in s["kill_points"]:
        out.append(f"    killed {point}")
    outcomes = ", ".join(f"{k} {v}" for k, v in s["outcomes"].items())
    out.append(f"outcomes           {outcomes} = {s['outcomes_total']} ({s['outcome_log_lines']} log lines)")
    if s["recovered_repeats"]:
        out.append(
            f"                   {s['recovered_repeats']} outcome(s) written again on redelivery: their"
            " function died between the line and Ledger.mark_logged (docs/pipeline.md)"
        )
    out.append(f"cloudflare calls   {s['cloudflare_calls_total']}")
    for endpoint, count in s["cloudflare_calls"].items():
        out.append(f"    {count:6d}  {endpoint}")
    r = s["rate_limit"]
    out.append(
        f"rate limit         busiest {r['window_seconds']:g} s window (300 s scaled)"
        f" held {r['busiest_window']}"
        f" of {r['limit']}; limiter refusals {r['limiter_refusals']}"
    )
    out.append(f"dead-letter queues {', '.join(f'{k}={v}' for k, v in s['dead_letter_queues'].items())}")
    out.append(f"wall time          {s['wall_seconds']} s")
    out.append("checks")
    for check in result.checks:
        out.append(f"    {'ok    ' if check.ok else 'FAILED'}  {check.name}")
        for line in check.detail[:detail_lines] if not check.ok else []:
            out.append(f"            {line}")
        if not check.ok and len(check.detail) > detail_lines:
            out.append(f"            ... {len(check.detail) - detail_lines} more")
    out.append("result             " + ("OK" if result.ok else "FAILED"))
    return "\n".join(out)
