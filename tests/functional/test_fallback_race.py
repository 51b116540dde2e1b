"""The fallback runs beside the batcher, not in order with it. A newer version of a record set can be
claimed and applied by a batch while the fallback is still writing an older one; the older writes must
not be what stays in Cloudflare (docs/architecture.md#convergence)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from functional_parts import OWNER, Parts

from dnsbatch import queues
from dnsbatch.chunk import chunk_operations
from dnsbatch.fallback import FallbackDeps, process_request
from dnsbatch.ledger import Status
from dnsbatch.model import Action, Change, EventRef, Outcome, RecordSetKey, RecordValue
from dnsbatch.plan import PlanPolicy, plan_zone

KEY = RecordSetKey("example.com", "www.example.com", "A")


def change(version: int, address: str) -> Change:
    ref = EventRef(f"msg-v{version}", 1_764_028_800_000 + version)
    return Change(
        key=KEY, action=Action.UPSERT, values=(RecordValue(address),), version=version, ref=ref, ttl=300
    )


@pytest.fixture
def deps(parts: Parts) -> FallbackDeps:
    return parts.fallback_deps()


def test_a_newer_version_batched_while_the_fallback_writes_an_older_one_is_what_stays(
    deps: FallbackDeps, parts: Parts
) -> None:
    # GIVEN version 5 is in the fallback (its chunk was rejected) and holds the Ledger
    v5, v6 = change(5, "192.0.2.5"), change(6, "192.0.2.6")
    deps.ledger.claim(v5)
    deps.ledger.mark(v5, Status.FALLBACK)
    zone = deps.client.zone_by_name("example.com")
    policy = PlanPolicy(owner_id=OWNER)
    real_create = deps.client.create_record
    raced = []

    def create_after_the_batcher_ran(zone_id: str, body: Any, **kwargs: Any) -> Any:
        # WHEN, between the fallback's read and its write, the batcher claims version 6 and applies it
        if not raced:
            raced.append(True)
            deps.ledger.claim(v6)
            plan = plan_zone([v6], deps.client.list_records(zone.id), policy)
            for chunk in chunk_operations(plan.operations, 200):
                deps.client.batch(zone.id, chunk.batch_body())
            deps.ledger.mark(v6, Status.APPLIED)
        return real_create(zone_id, body, **kwargs)

    deps.client.create_record = create_after_the_batcher_ran  # type: ignore[method-assign]
    request = queues.FallbackRequest((v5,), "cs-1", 0, "chunk rejected")
    result = process_request(request, deps, deadline=time.monotonic() + 60)

    # THEN version 5 is reported applied (it was), and Cloudflare ends with version 6's values only
    assert raced and result.outcomes == {KEY: Outcome.APPLIED}
    contents = sorted(r.content for r in deps.client.list_records(zone.id, name=KEY.name, type="A"))
    assert contents == ["192.0.2.6"]
    assert [(o.outcome, o.version) for o in parts.outcomes] == [(Outcome.APPLIED, 5)]
