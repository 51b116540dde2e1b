"""The Ledger: one DynamoDB item per record set holding the highest accepted version and where it is.

It is what makes convergence hold under at-least-once, out-of-order delivery
(docs/architecture.md#convergence):
a change only moves on once it has *claimed* its record set's version with a conditional write, and
every later step checks that it still holds the claim before it acts or records an outcome.

Item: ``pk`` ("zone|name|type"), ``version``, ``event`` (message id + envelope index: the identity of
the event that holds the claim), ``status`` (claimed, fallback, applied, unchanged, rejected, failed),
``change`` (the desired state, JSON), ``detail``, ``updated_at``, ``expires_at`` (DynamoDB TTL).
"""

from __future__ import annotations

import contextlib
import json
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from dnsbatch.cloudflare.types import Record
from dnsbatch.model import Change, RecordSetKey


class Status(StrEnum):
    CLAIMED = "claimed"
    FALLBACK = "fallback"
    APPLIED = "applied"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"
    FAILED = "failed"
    HELD = "held"

    @property
    def final(self) -> bool:
        return self not in (Status.CLAIMED, Status.FALLBACK)


# The one state machine of a record set's entry, for the event that holds the claim: which status a
# ``mark`` may move it to, from which. A claim starts CLAIMED (``claim``); a change handed to the fallback
# is FALLBACK; every other status is final and never changes again for that event (a newer version starts
# over with its own claim). DynamoDB enforces it with a condition on the current status, so two writers
# racing (the batcher marking FALLBACK after the fallback already marked APPLIED) cannot move it backwards.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.FALLBACK: frozenset({Status.CLAIMED}),
    Status.APPLIED: frozenset({Status.CLAIMED, Status.FALLBACK}),
    Status.UNCHANGED: frozenset({Status.CLAIMED, Status.FALLBACK}),
    Status.REJECTED: frozenset({Status.CLAIMED, Status.FALLBACK}),
    Status.FAILED: frozenset({Status.CLAIMED, Status.FALLBACK}),
    Status.HELD: frozenset({Status.CLAIMED}),
}


class Mark(StrEnum):
    """What ``Ledger.mark`` did."""

    MARKED = "marked"  # the entry moved to the new status: the caller records the outcome
    SUPERSEDED = "superseded"  # a newer version (or another event) holds the record set now
    ALREADY = "already"  # this event's entry is already past that point (another path recorded it)

    def __bool__(self) -> bool:
        return self is Mark.MARKED


class Claim(StrEnum):
    CLAIMED = "claimed"  # this change now holds the record set (or already held it: a retry)
    SUPERSEDED = "superseded"  # a higher version, or the same version from another event, holds it
    DUPLICATE = "duplicate"  # this very event was already carried to a final outcome


@dataclass(frozen=True, slots=True)
class Entry:
    key: RecordSetKey
    version: int
    event: str
    status: Status
    change: Change | None
    detail: str | None = None
    # False between a final mark and the outcome line that follows it: a function that died in between left
    # an outcome nobody logged, and the redelivery logs it (outcomes.still_held). Entries written before the
    # flag existed read as logged.
    logged: bool = True

    def holds(self, change: Change) -> bool:
        """Does ``change`` (still) hold the claim on its record set?"""
        return self.version == change.version and self.event == event_id(change)


def pk(key: RecordSetKey) -> str:
    return f"{key.zone}|{key.name}|{key.type}"


def event_id(change: Change) -> str:
    return f"{change.ref.message_id}#{change.ref.index}"


class Ledger:
    def __init__(
        self,
        table_name: str,
        client: Any,
        *,
        clock: Callable[[], float] = time.time,
        ttl_days: int = 30,
    ) -> None:
        self.table_name = table_name
        self.client = client
        self.clock = clock
        self.ttl_seconds = ttl_days * 86400

    def claim(self, change: Change) -> tuple[Claim, Entry | None]:
        """Claim the change's version of its record set.

        Succeeds when the record set is new, holds a lower version, or is held by this same event and not
        yet final (a retry after a crash between claim and hand-off must not lose the change). Returns the
        previous entry when the claim fails.
        """
        now = int(self.clock())
        item = {
            "pk": {"S": pk(change.key)},
            "version": {"N": str(change.version)},
            "event": {"S": event_id(change)},
            "status": {"S": Status.CLAIMED.value},
            "change": {"S": json.dumps(change.to_dict(), separators=(",", ":"))},
            "updated_at": {"N": str(now)},
            "expires_at": {"N": str(now + self.ttl_seconds)},
        }
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR #v < :v",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues={":v": {"N": str(change.version)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            entry = self._old_entry(exc, change.key)
            if entry is not None and entry.holds(change):
                # This very event already holds the claim: a redelivery after a crash between the claim and
                # the hand-off must go on (nothing else would carry the change), without moving the entry
                # back to CLAIMED if it is already further on.
                return (Claim.DUPLICATE if entry.status.final else Claim.CLAIMED), entry
            return Claim.SUPERSEDED, entry
        return Claim.CLAIMED, None

    def mark_logged(self, changes: Sequence[Change]) -> None:
        """Note that the outcome lines of these changes (final, holding their claim) are written."""

        def one(change: Change) -> None:
            # A failed condition: a newer version took the record set, its entry is not ours to mark.
            with contextlib.suppress(self.client.exceptions.ConditionalCheckFailedException):
                self.client.update_item(
                    TableName=self.table_name,
                    Key={"pk": {"S": pk(change.key)}},
                    UpdateExpression="SET #l = :t",
                    ConditionExpression="#v = :v AND #e = :e",
                    ExpressionAttributeNames={"#l": "logged", "#v": "version", "#e": "event"},
                    ExpressionAttributeValues={
                        ":t": {"BOOL": True},
                        ":v": {"N": str(change.version)},
                        ":e": {"S": event_id(change)},
                    },
                )

        _concurrently(one, changes)

    def _old_entry(self, exc: Any, key: RecordSetKey) -> Entry | None:
        """The item a failed condition saw (DynamoDB returns it with ALL_OLD; read it if not)."""
        old = exc.response.get("Item")
        return _entry(old) if old else self.get(key)

    def claim_many(
        self, changes: Sequence[Change]
    ) -> list[tuple[Change, tuple[Claim, Entry | None] | Exception]]:
        """:meth:`claim` for each change, concurrently; a failed claim is returned as its exception."""

        def one(change: Change) -> tuple[Change, tuple[Claim, Entry | None] | Exception]:
            try:
                return change, self.claim(change)
            except Exception as exc:  # the caller reports that change's message failed
                return change, exc

        return _concurrently(one, changes)

    def mark_many(self, changes: Sequence[Change], status: Status) -> list[Mark]:
        """:meth:`mark` for each change, concurrently, in order; the first error is raised after all were
        tried."""
        results = _concurrently(lambda c: self._try_mark(c, status), changes)
        errors = [r for r in results if isinstance(r, Exception)]
        if errors:
            raise errors[0]
        return [r for r in results if isinstance(r, Mark)]

    def _try_mark(self, change: Change, status: Status) -> Mark | Exception:
        try:
            return self.mark(change, status)
        except Exception as exc:
            return exc

    def get(self, key: RecordSetKey) -> Entry | None:
        resp = self.client.get_item(
            TableName=self.table_name, Key={"pk": {"S": pk(key)}}, ConsistentRead=True
        )
        item = resp.get("Item")
        return None if not item else _entry(item)

    def get_many(self, keys: Iterable[RecordSetKey]) -> dict[RecordSetKey, Entry]:
        """Consistent reads of many record sets (BatchGetItem, 100 keys a call, unprocessed keys retried)."""
        pending = sorted({pk(k) for k in keys})
        out: dict[RecordSetKey, Entry] = {}
        while pending:
            request_keys = [{"pk": {"S": p}} for p in pending[:100]]
            pending = pending[100:]
            request: dict[str, Any] = {self.table_name: {"Keys": request_keys, "ConsistentRead": True}}
            for _ in range(8):
                resp = self.client.batch_get_item(RequestItems=request)
                for item in resp.get("Responses", {}).get(self.table_name, []):
                    entry = _entry(item)
                    out[entry.key] = entry
                request = resp.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise RuntimeError("DynamoDB kept returning unprocessed keys for the ledger batch read")
        return out

    def mark(self, change: Change, status: Status, detail: str | None = None) -> Mark:
        """Move the change's entry to ``status`` if ``TRANSITIONS`` allows it from the current status and the
        change still holds the claim. Truthy only when the entry moved."""
        now = int(self.clock())
        allowed = sorted(TRANSITIONS[status])
        names = {"#v": "version", "#e": "event", "#s": "status", "#d": "detail", "#u": "updated_at"}
        values: dict[str, Any] = {
            ":v": {"N": str(change.version)},
            ":e": {"S": event_id(change)},
            ":s": {"S": status.value},
            ":u": {"N": str(now)},
        }
        values.update({f":from{i}": {"S": s.value} for i, s in enumerate(allowed)})
        update = "SET #s = :s, #u = :u, #l = :l"
        names["#l"] = "logged"
        values[":l"] = {"BOOL": not status.final}
        if detail is not None:
            update += ", #d = :d"
            values[":d"] = {"S": detail[:1000]}
        else:
            update += " REMOVE #d"
        froms = ", ".join(f":from{i}" for i in range(len(allowed)))
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": pk(change.key)}},
                UpdateExpression=update,
                ConditionExpression=f"#v = :v AND #e = :e AND #s IN ({froms})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            entry = self._old_entry(exc, change.key)
            return Mark.ALREADY if entry is not None and entry.holds(change) else Mark.SUPERSEDED
        return Mark.MARKED


# Conditional writes are independent per record set; a window or a chunk can hold thousands of them and
# a function has seconds, so they run concurrently (boto3 clients are thread-safe).
CONCURRENCY = 16
T = TypeVar("T")
R = TypeVar("R")


def _concurrently(work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    if len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(CONCURRENCY, len(items))) as pool:
        return list(pool.map(work, items))


def _entry(item: dict[str, Any]) -> Entry:
    zone, name, type_ = item["pk"]["S"].split("|", 2)
    raw_change = item.get("change", {}).get("S")
    return Entry(
        key=RecordSetKey(zone=zone, name=name, type=type_),
        version=int(item["version"]["N"]),
        event=item.get("event", {}).get("S", ""),
        status=Status(item["status"]["S"]),
        change=None if raw_change is None else Change.from_dict(json.loads(raw_change)),
        detail=item.get("detail", {}).get("S"),
        logged=item.get("logged", {}).get("BOOL", True),
    )


# -- record knowledge ---------------------------------------------------------------------------------
#
# What dnsbatch knows of a zone's records (docs/record-knowledge.md): one item per zone in the same table,
# ``pk = "records|<zone>"``, holding the zone as last read, kept up to date with what Cloudflare answered to
# dnsbatch's own batch calls, so the batcher can plan a window without listing the zone. Attributes:
# ``snapshot`` (zlib-compressed JSON of the records), ``read_at`` (when the zone was last listed),
# ``writing`` (set by a batcher run before its first batch call and cleared by its final write: a run that
# died in between leaves it set, and the snapshot is not trusted), ``dirty`` (names whose records the
# fallback wrote one by one: the snapshot is not trusted for them until the next zone read) and
# ``invalidated_at`` (when a name was last made dirty: a zone read that started before it cannot clean it).

# DynamoDB's item limit is 400 KB; leave room for the other attributes. A zone whose compressed snapshot
# is larger is simply always read (about 12,000 records and more).
MAX_SNAPSHOT_BYTES = 350_000
_RECORD_FIELDS = ("id", "name", "type", "content", "ttl", "proxied", "comment", "tags", "priority", "data")


@dataclass(frozen=True, slots=True)
class Knowledge:
    """A zone's records as dnsbatch last knew them; ``read_at``: when the zone was last listed."""

    zone: str
    records: tuple[Record, ...]
    read_at: float
    writing: str | None = None
    dirty: frozenset[str] = frozenset()

    def covers(self, names: Iterable[str], now: float, interval: float) -> bool:
        """Can a plan for these names be made from it: fresh, not being written, none of them dirty."""
        fresh = self.writing is None and 0 <= now - self.read_at < interval
        return fresh and not self.dirty.intersection(names)


def knowledge_pk(zone: str) -> str:
    return f"records|{zone}"


def encode_records(records: Sequence[Record]) -> bytes:
    rows = []
    for r in records:
        row = {k: getattr(r, k) for k in _RECORD_FIELDS}
        row["tags"] = list(r.tags)
        rows.append({k: v for k, v in row.items() if v not in (None, [], False)})
    return zlib.compress(json.dumps(rows, separators=(",", ":"), sort_keys=True).encode(), 6)


def decode_records(blob: bytes) -> tuple[Record, ...]:
    return tuple(Record.from_api(row) for row in json.loads(zlib.decompress(blob)))


class KnowledgeStore:
    """The Ledger's record knowledge (see the comment above)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def _update(self, zone: str, **kwargs: Any) -> bool:
        try:
            self.ledger.client.update_item(
                TableName=self.ledger.table_name, Key={"pk": {"S": knowledge_pk(zone)}}, **kwargs
            )
        except self.ledger.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def load(self, zone: str) -> Knowledge | None:
        resp = self.ledger.client.get_item(
            TableName=self.ledger.table_name, Key={"pk": {"S": knowledge_pk(zone)}}, ConsistentRead=True
        )
        item = resp.get("Item") or {}
        blob = item.get("snapshot", {}).get("B")
        if blob is None or "read_at" not in item:
            return None
        try:
            records = decode_records(blob)
        except (ValueError, KeyError, TypeError, zlib.error):
            return None  # unreadable: the zone is read instead
        return Knowledge(
            zone,
            records,
            float(item["read_at"]["N"]),
            item.get("writing", {}).get("S"),
            frozenset(item.get("dirty", {}).get("SS", ())),
        )

    def store(
        self,
        zone: str,
        records: Sequence[Record],
        *,
        basis: float,
        read_at: float | None = None,
        writing: str | None = None,
        release: str | None = None,
        clean: Iterable[str] = (),
    ) -> bool:
        """Store the zone's records. ``read_at``: the zone was listed then (else the stored one stays), and
        ``clean`` are the dirty names that read saw again (``basis``: when it started), made clean unless
        the fallback dirtied a name since. ``writing``: mark a run about to send batch calls; ``release``:
        the run that ends, which must still hold the mark. False when that mark was not there (nothing
        written: the next run reads)."""
        blob = encode_records(records)
        now = self.ledger.clock()
        names = {"#w": "writing", "#x": "expires_at"}
        values: dict[str, Any] = {":x": {"N": str(int(now) + self.ledger.ttl_seconds)}}
        sets = ["#x = :x"]
        removes = []
        names["#s"] = "snapshot"
        if len(blob) > MAX_SNAPSHOT_BYTES:
            removes.append("#s")
        else:
            sets.append("#s = :s")
            values[":s"] = {"B": blob}
        if read_at is not None:
            sets.append("#r = :r")
            names["#r"] = "read_at"
            values[":r"] = {"N": repr(read_at)}
        if writing is not None:
            sets.append("#w = :w")
            values[":w"] = {"S": writing}
        else:
            removes.append("#w")
        conditions = []
        if release is not None:
            conditions.append("#w = :release")
            values[":release"] = {"S": release}
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        base: dict[str, Any] = {"UpdateExpression": update, "ExpressionAttributeNames": names}
        cleaned = sorted(set(clean))
        if cleaned and read_at is not None:
            tidy = {
                "UpdateExpression": update + " DELETE #d :d",
                "ExpressionAttributeNames": {**names, "#d": "dirty", "#i": "invalidated_at"},
                "ExpressionAttributeValues": {**values, ":d": {"SS": cleaned}, ":basis": {"N": repr(basis)}},
                "ConditionExpression": " AND ".join(
                    [*conditions, "(attribute_not_exists(#i) OR #i < :basis)"]
                ),
            }
            if self._update(zone, **tidy):
                return True
            # The fallback dirtied a name after this read started (or the mark is gone): keep every dirty
            # name dirty, and store the rest below.
        if conditions:
            base["ConditionExpression"] = " AND ".join(conditions)
        return self._update(zone, **base, ExpressionAttributeValues=values)

    def mark_writing(self, zone: str, run: str) -> None:
        """Before a run's first batch call on a snapshot it did not read itself: until its final ``store``
        the snapshot is not trusted (a run that dies between a committed batch and that write leaves it)."""
        self._update(
            zone,
            UpdateExpression="SET #w = :w",
            ExpressionAttributeNames={"#w": "writing"},
            ExpressionAttributeValues={":w": {"S": run}},
        )

    def dirty(self, zone: str, names: Iterable[str]) -> None:
        """Records of these names were (or are about to be) written outside a batch (the fallback's
        individual calls): plans for them read the zone until a read started after this cleans them."""
        wanted = sorted(set(names))
        if not wanted:
            return
        now = self.ledger.clock()
        self._update(
            zone,
            UpdateExpression="ADD #d :d SET #i = :i, #x = :x",
            ExpressionAttributeNames={"#d": "dirty", "#i": "invalidated_at", "#x": "expires_at"},
            ExpressionAttributeValues={
                ":d": {"SS": wanted},
                ":i": {"N": repr(now)},
                ":x": {"N": str(int(now) + self.ledger.ttl_seconds)},
            },
        )
