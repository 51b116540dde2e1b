"""parse_message under attack: every body json.loads accepts (and many it does not) gives, per change, an
accepted change that every later stage can encode or a rejection naming the field; never an exception.

The bodies come from a seeded generator (tests/fuzz_bodies.py), so a failure names its seed and index
and replays exactly. The aggregator's real handler gets the same bodies in
tests/functional/test_aggregator_fuzz.py.
"""

from __future__ import annotations

import json

import pytest
from fuzz_bodies import ZONE, Body, Generator, readable, sqs_safe

from dnsbatch.aggregator import parked_body
from dnsbatch.chunk import chunk_operations
from dnsbatch.events import ParseResult, parse_message
from dnsbatch.model import EventRef
from dnsbatch.plan import PlanPolicy, plan_zone
from dnsbatch.queues import changeset_messages, parse_changeset, rejection_message

REF = EventRef(message_id="fuzz", sent_timestamp=1_700_000_000_000)


def check(body: Body, result: ParseResult) -> None:
    """The properties every parse must have, whatever the body."""
    indices = sorted([c.ref.index for c in result.changes] + [r.ref.index for r in result.rejections])
    # Every event exactly one result: the envelope's changes each once, or the body as one event.
    assert indices == list(range(len(indices))) and indices, indices
    for rejection in result.rejections:
        assert rejection.field, rejection
        assert rejection.reason.startswith(rejection.field + ":"), rejection
        assert sqs_safe(rejection.reason) and sqs_safe(rejection.field), rejection
        for text in (rejection.ref.source, rejection.ref.event_id):
            assert text is None or sqs_safe(text)
        message = rejection_message(
            parked_body(body.text, rejection),
            reason=rejection.reason,
            stage="aggregator",
            field=rejection.field,
            record_set=None if rejection.key is None else str(rejection.key),
        )
        assert sqs_safe(message.body) and all(sqs_safe(v) for v in (message.attributes or {}).values())
    if not readable(body.text):
        # Nesting deeper than the interpreter's recursion limit, or not JSON: one rejection for the body.
        assert result.changes == () and [r.field for r in result.rejections] == ["body"], result
        return
    accepted = {(c.ref.index, c.key.name, c.key.type) for c in result.changes}
    for index, name, type_ in body.valid:
        assert (index, f"{name}.{ZONE}", type_) in accepted, (index, name, result.rejections)
    for change in result.changes:
        json.dumps(change.to_dict(), ensure_ascii=False).encode("utf-8")
        for text in (change.ref.source, change.ref.event_id):
            assert text is None or sqs_safe(text)


def check_later_stages(results: list[ParseResult]) -> None:
    """What the batcher does with accepted changes encodes: the change-set message round-trips and every
    batch body encodes as httpx sends it (json.dumps(ensure_ascii=False) as UTF-8)."""
    changes = {c.key: c for r in results for c in r.changes}  # one per record set, as after coalescing
    for message in changeset_messages(ZONE, list(changes.values()), "fuzz"):
        assert parse_changeset(message.body).changes == message.changes
    for paid in (False, True):
        plan = plan_zone(list(changes.values()), [], PlanPolicy(owner_id="fuzz", paid=paid))
        for chunk in chunk_operations(plan.operations, 200):
            json.dumps(chunk.batch_body(), ensure_ascii=False).encode("utf-8")


def run(seed: int, count: int) -> dict[str, int]:
    generator = Generator(seed)
    results: list[ParseResult] = []
    kinds: dict[str, int] = {}
    for i, body in enumerate(generator.bodies(count)):
        try:
            result = parse_message(body.text, REF, zones={ZONE})
            check(body, result)
        except BaseException as exc:
            raise AssertionError(f"seed {seed} body {i} ({body.kind}): {body.text[:300]!r}") from exc
        results.append(result)
        kinds[body.kind] = kinds.get(body.kind, 0) + 1
    check_later_stages(results)
    accepted = sum(len(r.changes) for r in results)
    rejected = sum(len(r.rejections) for r in results)
    assert accepted > count // 10 and rejected > count // 3  # the generator still produces both
    return kinds


def test_parse_message_fuzz_quick() -> None:
    kinds = run(seed=7, count=3_000)
    assert set(kinds) == {"valid", "mutated", "envelope", "bad envelope", "corrupt text", "junk"}


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_parse_message_fuzz_many(seed: int) -> None:
    run(seed=seed * 1_000_003, count=10_000)
