"""chunk_operations(): names stay whole, chunks stay within size, packing is deterministic."""

from __future__ import annotations

import random

import pytest

from dnsbatch.chunk import chunk_operations, names_of, split_by_names
from dnsbatch.model import Chunk, Operation, OpKind, RecordSetKey

ZONE = "example.com"


def op(kind: OpKind, label: str, type_: str = "A", rid: str | None = None) -> Operation:
    key = RecordSetKey(ZONE, f"{label}.{ZONE}", type_)
    body: dict[str, object] = {"id": rid} if rid else {"name": key.name, "type": type_}
    return Operation(kind=kind, key=key, body=body, record_id=rid)


def names_per_chunk(chunks: tuple[Chunk, ...]) -> list[list[str]]:
    return [sorted({o.key.name.split(".")[0] for o in c.operations}) for c in chunks]


def test_a_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        chunk_operations([op(OpKind.POST, "a")], 0)


def test_no_operations_make_no_chunks() -> None:
    assert chunk_operations([], 200) == ()


def test_a_delete_and_the_post_replacing_it_share_a_chunk_where_external_dns_splits_them() -> None:
    # external-dns slices [deletes][puts][posts]: with size 2 it would send [d-www, d-x] then [p-www].
    ops = [
        op(OpKind.DELETE, "www", "A", "r1"),
        op(OpKind.DELETE, "x", "A", "r2"),
        op(OpKind.POST, "www", "CNAME"),
    ]
    chunks = chunk_operations(ops, 2)
    assert names_per_chunk(chunks) == [["www"], ["x"]]
    assert [o.kind for o in chunks[0].operations] == [OpKind.DELETE, OpKind.POST]


def test_names_are_packed_first_fit_in_name_order_and_no_chunk_exceeds_size() -> None:
    ops = [op(OpKind.POST, "a"), op(OpKind.POST, "a", "TXT"), op(OpKind.POST, "b", "AAAA")]
    ops += [op(OpKind.POST, "b"), op(OpKind.POST, "b", "TXT"), op(OpKind.POST, "c")]
    chunks = chunk_operations(ops, 3)
    # a (2) opens chunk 0, b (3) does not fit there and opens chunk 1, c (1) fills chunk 0.
    assert names_per_chunk(chunks) == [["a", "c"], ["b"]]
    assert all(len(c.operations) <= 3 for c in chunks)
    assert [c.index for c in chunks] == [0, 1]


def test_each_chunk_lists_the_record_sets_it_carries_sorted() -> None:
    ops = [op(OpKind.POST, "b", "TXT"), op(OpKind.POST, "a"), op(OpKind.PATCH, "b", "A", "r1")]
    (chunk,) = chunk_operations(ops, 10)
    assert chunk.record_sets == (
        RecordSetKey(ZONE, "a.example.com", "A"),
        RecordSetKey(ZONE, "b.example.com", "A"),
        RecordSetKey(ZONE, "b.example.com", "TXT"),
    )


def test_the_result_does_not_depend_on_the_input_order_of_names() -> None:
    ops = [op(OpKind.POST, f"n{i:02}", t) for i in range(30) for t in ("A", "TXT")[: 1 + i % 2]]
    shuffled = list(ops)
    random.Random(3).shuffle(shuffled)
    assert chunk_operations(shuffled, 4) == chunk_operations(ops, 4)


def test_a_name_with_more_operations_than_size_is_split_with_its_deletes_first() -> None:
    ops = [op(OpKind.POST, "big", "CNAME")]
    ops += [op(OpKind.PATCH, "big", "TXT", f"t{i}") for i in range(2)]
    ops += [op(OpKind.DELETE, "big", "A", f"r{i}") for i in range(4)]
    ops += [op(OpKind.POST, "small")]
    chunks = chunk_operations(ops, 3)
    kinds = [[o.kind for o in c.operations if o.key.name.startswith("big")] for c in chunks]
    assert kinds == [
        [OpKind.DELETE] * 3,
        [OpKind.DELETE, OpKind.PATCH, OpKind.PATCH],
        [OpKind.POST],
    ]
    # The last piece still has room, so the next name joins it.
    assert names_per_chunk(chunks)[-1] == ["big", "small"]


def test_size_one_gives_one_operation_per_chunk() -> None:
    ops = [op(OpKind.POST, "a"), op(OpKind.POST, "b"), op(OpKind.POST, "c")]
    assert [len(c.operations) for c in chunk_operations(ops, 1)] == [1, 1, 1]


# -- bisection: split_by_names ------------------------------------------------------------------------


def test_split_by_names_keeps_every_name_whole_and_loses_no_operation() -> None:
    rng = random.Random(7)
    for _ in range(200):
        ops = [
            op(rng.choice(list(OpKind)), f"n{rng.randrange(12)}", rng.choice(["A", "TXT", "CNAME"]), None)
            for _ in range(rng.randrange(2, 40))
        ]
        chunk = chunk_operations(ops, 500)[0]
        if len(names_of(chunk)) < 2:
            continue
        left, right = split_by_names(chunk)
        assert left.operations and right.operations
        assert not set(names_of(left)) & set(names_of(right))
        assert sorted(map(id, left.operations + right.operations)) == sorted(map(id, chunk.operations))
        assert left.index == right.index == chunk.index
        assert set(left.record_sets) | set(right.record_sets) == set(chunk.record_sets)


def test_split_by_names_balances_by_operation_count_not_by_name_count() -> None:
    # one heavy name (6 operations) and three light ones: the heavy one alone is the better half
    ops = [op(OpKind.POST, "a", "TXT") for _ in range(6)] + [op(OpKind.POST, n) for n in ("b", "c", "d")]
    left, right = split_by_names(chunk_operations(ops, 100)[0])

    assert (len(left.operations), len(right.operations)) == (6, 3)
    assert names_of(left) == (f"a.{ZONE}",)


def test_split_by_names_halves_many_light_names_evenly() -> None:
    ops = [op(OpKind.POST, f"h{i:03d}") for i in range(200)]
    left, right = split_by_names(chunk_operations(ops, 200)[0])

    assert (len(left.operations), len(right.operations)) == (100, 100)


def test_a_chunk_of_one_name_cannot_be_split() -> None:
    chunk = chunk_operations([op(OpKind.POST, "a"), op(OpKind.DELETE, "a", "A", "r1")], 10)[0]
    with pytest.raises(ValueError, match="one name"):
        split_by_names(chunk)
