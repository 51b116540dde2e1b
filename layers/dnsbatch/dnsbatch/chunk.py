"""chunk_operations(): one zone's operations → chunks, one ``/dns_records/batch`` call each.

All operations on one *name* travel in the same chunk, whatever their type: Cloudflare checks a batch's
conflicts (CNAME vs A, duplicates, the zone's record quota) against the state after its deletes, so an A
delete and the CNAME post replacing it must share a request. external-dns cuts its delete/put/post lists
into consecutive slices and can put them a chunk (and an interval) apart; that gap is what this closes.
See docs/chunking.md for the packing decision and the alternatives rejected.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from dnsbatch.model import Chunk, Operation, OpKind

_KIND_ORDER = {kind: i for i, kind in enumerate(OpKind)}


def chunk_operations(operations: Sequence[Operation], size: int) -> tuple[Chunk, ...]:
    """Pack ``operations`` into chunks of at most ``size`` operations, keeping each name whole.

    Names are taken in sorted order, operations of one name in (type, kind, record id) order, and each
    name's operations go, whole, into the first chunk that still has room (first-fit), so the result
    is deterministic and uses few calls. A name with more than
    ``size`` operations is split over consecutive new chunks in Cloudflare's own execution order
    (deletes, patches, puts, posts), so no post lands in a chunk before the deletes that make room for it.
    Chunk indexes start at 0; each chunk lists the record sets it carries, sorted.
    """
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, got {size}")
    by_name: dict[str, list[Operation]] = defaultdict(list)
    for op in operations:
        by_name[op.key.name].append(op)

    chunks: list[list[Operation]] = []
    room: list[int] = []  # free places per chunk, parallel to chunks
    open_chunks: list[int] = []  # indexes of chunks with room, ascending
    for name in sorted(by_name):
        # Canonical order inside a name (sort is stable: posts of one set keep their value order).
        group = sorted(by_name[name], key=lambda op: (op.key.type, _KIND_ORDER[op.kind], op.record_id or ""))
        if len(group) > size:
            group.sort(key=lambda op: _KIND_ORDER[op.kind])
            for start in range(0, len(group), size):
                _append_chunk(chunks, room, open_chunks, group[start : start + size], size)
            continue
        target = next((i for i in open_chunks if room[i] >= len(group)), None)
        if target is None:
            _append_chunk(chunks, room, open_chunks, group, size)
            continue
        chunks[target].extend(group)
        room[target] -= len(group)
        if room[target] == 0:
            open_chunks.remove(target)

    return tuple(
        Chunk(index=i, operations=tuple(ops), record_sets=tuple(sorted({op.key for op in ops})))
        for i, ops in enumerate(chunks)
    )


def _append_chunk(
    chunks: list[list[Operation]], room: list[int], open_chunks: list[int], ops: list[Operation], size: int
) -> None:
    chunks.append(list(ops))
    room.append(size - len(ops))
    if room[-1] > 0:
        open_chunks.append(len(chunks) - 1)


def names_of(chunk: Chunk) -> tuple[str, ...]:
    """The names a chunk's operations touch, in first-seen order."""
    return tuple(dict.fromkeys(op.key.name for op in chunk.operations))


def split_by_names(chunk: Chunk) -> tuple[Chunk, Chunk]:
    """Halve a chunk of two or more names for bisection: whole names on each side, the operation counts as
    even as the names allow (the left half is the shortest prefix of names holding at least half of the
    operations, minus its last name when that is closer). Both halves keep the chunk's index."""
    names = names_of(chunk)
    if len(names) < 2:
        raise ValueError("a chunk of one name cannot be split by names")
    counts: dict[str, int] = defaultdict(int)
    for op in chunk.operations:
        counts[op.key.name] += 1
    half = len(chunk.operations) / 2
    prefix, best, cut = 0, float("inf"), 1
    for i, name in enumerate(names[:-1], start=1):
        prefix += counts[name]
        if abs(prefix - half) < best:
            best, cut = abs(prefix - half), i
    left_names = set(names[:cut])
    left = tuple(op for op in chunk.operations if op.key.name in left_names)
    right = tuple(op for op in chunk.operations if op.key.name not in left_names)
    return _part(chunk.index, left), _part(chunk.index, right)


def _part(index: int, ops: tuple[Operation, ...]) -> Chunk:
    return Chunk(index=index, operations=ops, record_sets=tuple(sorted({op.key for op in ops})))
