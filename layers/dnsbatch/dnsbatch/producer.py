"""The producer kit: publish change events to the ingest queue (docs/producer-kit.md).

A producer hands over change objects (the contract of docs/event-contract.md); the kit checks each one with
the aggregator's own parser, gives a ``version`` to those without one, packs them into the fewest
``{"changes": [...]}`` envelopes SQS takes and sends them with ``SendMessageBatch``, retrying what SQS
reports failed. What could not be checked or sent is returned with the reason, never dropped.

Not imported by the Lambda handlers (their cold start is measured): only producers and the CLI
(``python -m dnsbatch publish``) load it.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dnsbatch.events import MAX_CHANGES_PER_MESSAGE, json_object, parse_message
from dnsbatch.model import EventRef, RecordSetKey
from dnsbatch.names import normalize_zone
from dnsbatch.queues import OutgoingMessage, send_batch

__all__ = [
    "MAX_MESSAGE_BYTES",
    "PUBLISH_ATTEMPTS",
    "InvalidChange",
    "PublishResult",
    "UnsentMessage",
    "VersionClock",
    "encode_change",
    "pack",
    "prepare",
    "publish",
    "read_changes",
]

# SQS takes 1 MiB per message since 2025-08, and template.yaml gives IngestQueue that MaximumMessageSize.
# SendMessageBatch takes 1 MiB per call as well, so a full envelope travels alone in its call.
MAX_MESSAGE_BYTES = 1024 * 1024
PUBLISH_ATTEMPTS = 5
ENVELOPE_OPEN = '{"changes":['
ENVELOPE_CLOSE = "]}"
# FIFO MessageGroupId when the ingest queue is a FIFO queue and the producer gives none.
DEFAULT_GROUP_ID = "dnsbatch-producer"

# SQS refuses a body holding a character outside #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
# #x10000-#x10FFFF, and refuses the whole message for it. json.dumps already escapes the control
# characters; these are what it leaves raw. They can only stand inside a JSON string, where \\uXXXX means
# the same character, so escaping them changes no change.
_SQS_REFUSED = re.compile("[\ud800-\udfff\ufffe\uffff]")


def encode_change(change: object) -> str:
    """One change as it goes into an envelope: compact JSON, UTF-8 text kept as is (an escaped non-ASCII
    character costs up to 12 bytes), and every character SQS refuses escaped."""
    text = json.dumps(change, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return _SQS_REFUSED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _size(text: str) -> int:
    # SQS counts UTF-8 bytes. A lone surrogate (escaped by encode_change) cannot reach here raw.
    return len(text.encode("utf-8"))


def pack(
    encoded: Sequence[str],
    *,
    max_bytes: int = MAX_MESSAGE_BYTES,
    max_changes: int = MAX_CHANGES_PER_MESSAGE,
) -> list[list[int]]:
    """Indices of ``encoded`` changes grouped into envelopes of at most ``max_bytes`` (UTF-8, the
    envelope's own brackets and commas included) and ``max_changes`` changes, in order.

    Greedy first-fit in order gives the fewest envelopes of any packing that keeps the order, and at most
    one envelope more than any packing at all per change size of slack (a change is at most ~1.6 % of an
    envelope: docs/producer-kit.md). Raises ``ValueError`` for a change that cannot fit an envelope alone.
    """
    room = max_bytes - len(ENVELOPE_OPEN) - len(ENVELOPE_CLOSE)
    groups: list[list[int]] = []
    used = 0
    for index, text in enumerate(encoded):
        size = _size(text)
        if size > room:
            raise ValueError(f"change {index} is {size} bytes, more than an envelope of {max_bytes} holds")
        if groups and len(groups[-1]) < max_changes and used + 1 + size <= room:
            groups[-1].append(index)
            used += 1 + size
        else:
            groups.append([index])
            used = size
    return groups


def envelope(parts: Iterable[str]) -> str:
    return ENVELOPE_OPEN + ",".join(parts) + ENVELOPE_CLOSE


class VersionClock:
    """Default versions: the wall clock in epoch **milliseconds**, made strictly increasing per record set.

    Milliseconds, because that is the scale of the contract's own default (the SQS ``SentTimestamp``) and
    of most producers' timestamps: a version from the kit compares sensibly with them. A record set that
    gets several changes within one millisecond gets ``last + 1``, which runs ahead of the clock by at most
    the number of such repeats; :meth:`ahead` says by how much, and :func:`publish` waits that long before
    returning, so the next run (which reads the clock afresh) starts above every version this one gave.
    """

    def __init__(self, now_ms: Callable[[], int] | None = None) -> None:
        self._now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        self._last: dict[RecordSetKey, int] = {}
        self._highest = 0

    def next(self, key: RecordSetKey) -> int:
        version = max(self._now_ms(), self._last.get(key, -1) + 1)
        self._last[key] = version
        self._highest = max(self._highest, version)
        return version

    def ahead(self) -> int:
        """Milliseconds the highest version given runs ahead of the clock (0 when it does not)."""
        return max(0, self._highest - self._now_ms())


@dataclass(frozen=True, slots=True)
class InvalidChange:
    """A change the kit did not send: where it was in the input, and the parser's reason."""

    position: str
    reason: str


@dataclass(frozen=True, slots=True)
class UnsentMessage:
    """An envelope SQS did not take after every attempt, with the changes it held (to publish again)."""

    reason: str
    changes: tuple[Mapping[str, Any], ...]


@dataclass(slots=True)
class PublishResult:
    read: int = 0
    ready: int = 0  # changes that passed the check (sent, unsent, or in a dry run's envelopes)
    sent: int = 0
    messages: int = 0
    calls: int = 0
    retried: int = 0  # entries sent again after SQS reported them failed (or their call raised)
    versions_assigned: int = 0
    settled_ms: int = 0
    invalid: list[InvalidChange] = field(default_factory=list)
    unsent: list[UnsentMessage] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)  # the envelopes built, in order (for dry runs and tests)

    @property
    def unsent_changes(self) -> int:
        return sum(len(m.changes) for m in self.unsent)

    @property
    def ok(self) -> bool:
        return not self.invalid and not self.unsent

    def summary(self) -> str:
        return (
            f"publish: {self.read} changes read, {self.sent} sent in {self.messages} messages "
            f"({self.calls} SendMessageBatch calls, {self.retried} entries retried); "
            f"{len(self.invalid)} invalid (not sent), {self.unsent_changes} unsent in {len(self.unsent)} "
            f"messages; {self.versions_assigned} versions assigned"
        )


def _loads(text: str) -> Any:
    return json.loads(text, object_pairs_hook=json_object)


def read_changes(text: str) -> tuple[list[tuple[str, object]], list[InvalidChange]]:
    """The changes of a JSON array, an envelope, or JSON lines (each line a change or an envelope; blank
    lines, ``#`` comments and the ``---`` window separators of the sample streams are skipped), each with
    its position for messages. A line that is not JSON is an :class:`InvalidChange`."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            data = _loads(stripped)
        except (ValueError, RecursionError) as exc:
            return [], [InvalidChange("input", f"not a valid JSON array ({exc})")]
        return [pair for i, item in enumerate(data) for pair in _expand(f"[{i}]", item)], []
    if stripped.startswith("{") and "\n" in stripped:
        # One pretty-printed change or envelope; if it is not one JSON document, it is JSON lines.
        try:
            whole = _loads(stripped)
        except (ValueError, RecursionError):
            pass
        else:
            return _expand("input", whole), []
    items: list[tuple[str, object]] = []
    invalid: list[InvalidChange] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or line == "---":
            continue
        try:
            obj = _loads(line)
        except (ValueError, RecursionError) as exc:
            invalid.append(InvalidChange(f"line {number}", f"not valid JSON ({exc})"))
            continue
        items += _expand(f"line {number}", obj)
    return items, invalid


def _expand(position: str, obj: object) -> list[tuple[str, object]]:
    """An envelope's changes, each with its position; anything else is one change (the parser judges it)."""
    if isinstance(obj, dict) and set(obj) == {"changes"} and isinstance(obj["changes"], list):
        return [(f"{position} changes[{i}]", c) for i, c in enumerate(obj["changes"])]
    return [(position, obj)]


def _allowed_zones(items: Iterable[object]) -> set[str]:
    zones: set[str] = set()
    for item in items:
        zone = item.get("zone") if isinstance(item, dict) else None
        if isinstance(zone, str):
            try:
                zones.add(normalize_zone(zone))
            except Exception:  # the parser rejects it with the reason; nothing to allow
                continue
    return zones


def prepare(
    items: Sequence[tuple[str, object]],
    *,
    clock: VersionClock,
    zones: Iterable[str] | None = None,
    source: str | None = None,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
) -> tuple[list[dict[str, Any]], list[InvalidChange], int]:
    """Check each change with the aggregator's parser (``dnsbatch.events.parse_message``) and give those
    without a ``version`` one from ``clock``, per record set in input order.

    ``zones`` is the deployed ``ZONES`` allowlist if the producer knows it; by default each change's own zone
    is allowed (the aggregator still checks). A valid change that no message of ``max_message_bytes`` can
    carry is invalid too. Returns the changes to send (copies; explicit versions kept), the invalid ones,
    and how many versions were assigned.
    """
    ready: list[dict[str, Any]] = []
    invalid: list[InvalidChange] = []
    assigned = 0
    room = max_message_bytes - len(ENVELOPE_OPEN) - len(ENVELOPE_CLOSE)
    step = MAX_CHANGES_PER_MESSAGE
    for start in range(0, len(items), step):
        chunk = items[start : start + step]
        objs: list[object] = []
        texts: dict[int, str] = {}  # offset in chunk -> the change as JSON
        refused: dict[int, str] = {}
        for offset, (_, given) in enumerate(chunk):
            duplicates = getattr(given, "duplicates", ())
            if isinstance(given, dict) and source is not None and "source" not in given:
                given = {**given, "source": source}  # noqa: PLW2901 - a copy; the caller's change is kept
            objs.append(given)
            if duplicates:
                # json.loads kept the last of the two and the parser would only see that one.
                refused[offset] = (
                    f"{duplicates[0]}: appears twice in the object "
                    "(JSON parsers disagree on which one counts)"
                )
                continue
            try:
                texts[offset] = encode_change(given)
            except (ValueError, TypeError, RecursionError) as exc:
                refused[offset] = f"change: cannot be written as JSON ({exc})"
        allowed = set(zones) if zones is not None else _allowed_zones(objs)
        keys = _check(texts, allowed, refused)
        for offset, (position, _) in enumerate(chunk):
            if offset in refused:
                invalid.append(InvalidChange(position, refused[offset]))
                continue
            obj = objs[offset]
            assert isinstance(obj, dict)
            change = dict(obj)
            if "version" not in change:
                change["version"] = clock.next(keys[offset])
                assigned += 1
            size = _size(encode_change(change))
            if size > room:
                invalid.append(
                    InvalidChange(
                        position, f"change: {size} bytes, more than a message of {max_message_bytes}"
                    )
                )
                continue
            ready.append(change)
    return ready, invalid, assigned


def _check(texts: Mapping[int, str], zones: set[str], refused: dict[int, str]) -> dict[int, RecordSetKey]:
    """Parse the changes as one envelope (one parser call for up to 10,000 changes); add the refused ones
    to ``refused`` and return the record set of each accepted one, by offset."""
    order = list(texts)
    if not order:
        return {}
    ref = EventRef("local-check", 0)
    result = parse_message(envelope(texts[o] for o in order), ref, zones=zones)
    if any(not (r.field or "").startswith("changes[") for r in result.rejections):
        # The envelope as a whole was refused (nested too deeply to read): judge each change alone.
        keys: dict[int, RecordSetKey] = {}
        for offset in order:
            alone = parse_message(texts[offset], ref, zones=zones)
            if alone.changes:
                keys[offset] = alone.changes[0].key
            else:
                refused[offset] = alone.rejections[0].reason
        return keys
    for rejection in result.rejections:
        index = rejection.ref.index
        # The parser names the field inside the envelope it was given; the producer knows the change by
        # its own position.
        reason = rejection.reason.replace(f"changes[{index}].", "").replace(f"changes[{index}]:", "change:")
        refused[order[index]] = reason
    return {order[c.ref.index]: c.key for c in result.changes}


class _Counting:
    """A thin wrapper that counts SendMessageBatch calls and entries; everything goes to the real client."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs
        self.calls = 0
        self.entries = 0

    def send_message_batch(self, **kwargs: Any) -> Any:
        self.calls += 1
        self.entries += len(kwargs.get("Entries", ()))
        return self._sqs.send_message_batch(**kwargs)


def publish(
    sqs: Any,
    queue_url: str,
    changes: Iterable[object],
    *,
    zones: Iterable[str] | None = None,
    source: str | None = None,
    clock: VersionClock | None = None,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    attempts: int = PUBLISH_ATTEMPTS,
    group_id: str | None = None,
    dry_run: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> PublishResult:
    """Check, version, pack and send ``changes`` (change objects, or ``(position, change)`` pairs from
    :func:`read_changes`) to ``queue_url`` with the boto3 SQS client ``sqs``.

    Entries SQS reports failed are sent again with a short doubling backoff (capped at 1 s), ``attempts``
    times in all, unless SQS says they are the sender's fault (they would fail again); so is a call that
    raised after botocore's own retries. A FIFO queue (``.fifo``) gets ``group_id`` and a content-hash
    deduplication id, so a retried envelope that SQS had in fact taken is not delivered twice.
    ``dry_run`` checks and packs without sending. Never raises for a change or a failed send: see the
    result's ``invalid`` and ``unsent``.
    """
    clock = clock or VersionClock()
    items = [c if isinstance(c, tuple) else (f"[{i}]", c) for i, c in enumerate(changes)]
    result = PublishResult(read=len(items))
    ready, result.invalid, result.versions_assigned = prepare(
        items, clock=clock, zones=zones, source=source, max_message_bytes=max_message_bytes
    )
    encoded = [encode_change(c) for c in ready]
    result.ready = len(ready)
    groups = pack(encoded, max_bytes=max_message_bytes)
    result.bodies = [envelope(encoded[i] for i in group) for group in groups]
    fifo = queue_url.endswith(".fifo")
    messages = [
        OutgoingMessage(
            body=body,
            changes=(),
            group_id=(group_id or DEFAULT_GROUP_ID) if fifo else None,
            dedup_id=hashlib.sha256(body.encode()).hexdigest() if fifo else None,
        )
        for body in result.bodies
    ]
    if not dry_run and messages:
        counting = _Counting(sqs)
        failed = send_batch(counting, queue_url, messages, attempts=attempts, sleep=sleep)
        result.calls, result.retried = counting.calls, counting.entries - len(messages)
        for index, group in enumerate(groups):
            if index in failed:
                result.unsent.append(UnsentMessage(failed[index], tuple(ready[i] for i in group)))
            else:
                result.messages += 1
                result.sent += len(group)
    ahead = clock.ahead()
    if ahead and not dry_run:
        sleep(ahead / 1000)
        result.settled_ms = ahead
    return result
