"""A record set whose operations span several chunks (a name with more operations than BATCH_CHANGE_SIZE)
is done only when its last chunk is applied: an outage between its chunks must leave it to the redelivery,
not report it applied with half its records missing (docs/architecture.md#nothing-lost-nothing-silent,
docs/architecture.md#convergence)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from functional_parts import OWNER, Parts

from dnsbatch import queues
from dnsbatch.batcher import BatcherDeps, process_zone
from dnsbatch.cloudflare.errors import TransientError
from dnsbatch.ledger import Status
from dnsbatch.model import Action, Change, EventRef, Outcome, RecordSetKey, RecordValue

KEY = RecordSetKey("example.com", "pool.example.com", "A")
ADDRESSES = [f"192.0.2.{i}" for i in range(1, 6)]


@pytest.fixture
def deps(parts: Parts) -> BatcherDeps:
    return parts.batcher_deps(batch_change_size=2)


def test_a_record_set_split_over_chunks_is_applied_only_when_its_last_chunk_is(
    deps: BatcherDeps, parts: Parts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN one record set of five addresses: five posts on one name, three chunks of at most two
    change = Change(
        key=KEY,
        action=Action.UPSERT,
        values=tuple(RecordValue(a) for a in ADDRESSES),
        version=1,
        ref=EventRef("msg-pool", 1_764_028_800_000),
    )
    deps.ledger.claim(change)
    changeset = queues.ChangeSet("cs-pool", "example.com", (change,))
    real_batch = deps.client.batch
    calls: list[int] = []

    def failing_second_batch(zone_id: str, body: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise TransientError("simulated outage past the time budget", method="POST", path="/batch")
        return real_batch(zone_id, body, **kwargs)

    # WHEN Cloudflare fails between the record set's chunks
    monkeypatch.setattr(deps.client, "batch", failing_second_batch)
    with pytest.raises(TransientError):
        process_zone("example.com", [changeset], deps, deadline=time.monotonic() + 60)

    # THEN it is not reported applied, and the Ledger still has it on its way
    assert parts.outcomes == []
    entry = deps.ledger.get(KEY)
    assert entry is not None and entry.status is Status.CLAIMED

    # AND the redelivery finishes it: all five records, one outcome
    monkeypatch.setattr(deps.client, "batch", real_batch)
    process_zone("example.com", [changeset], deps, deadline=time.monotonic() + 60)
    records = parts.client.list_records(parts.emulator.zone_id("example.com"), name=KEY.name)
    assert sorted(r.content for r in records) == ADDRESSES
    assert [(o.outcome, o.key) for o in parts.outcomes] == [(Outcome.APPLIED, KEY)]
    assert all(OWNER in (r.comment or "") for r in records)
