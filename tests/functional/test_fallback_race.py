"""The fallback runs beside the batcher, not in order with it. A newer version of a record set can be
claimed and applied by a batch while the fallback is still writing an older one; the older writes must
not be what stays in Cloudflare (architecture §4.2, convergence)."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics

from devstack.emulator import EmulatorServer, ZoneSpec
from devstack.stack.aws import create_stack
from devstack.stack.pipeline import REPO
from dnsbatch import queues
from dnsbatch.chunk import chunk_operations
from dnsbatch.cloudflare.client import CloudflareClient
from dnsbatch.config import Settings
from dnsbatch.fallback import FallbackDeps, process_request
from dnsbatch.ledger import Ledger, Status
from dnsbatch.model import Action, Change, EventRef, Outcome, RecordSetKey, RecordValue
from dnsbatch.plan import PlanPolicy, plan_zone
from dnsbatch.telemetry import OutcomeEvent, Telemetry

TOKEN = "race-test-token-0123456789"
KEY = RecordSetKey("example.com", "www.example.com", "A")


def change(version: int, address: str) -> Change:
    ref = EventRef(f"msg-v{version}", 1_764_028_800_000 + version)
    return Change(
        key=KEY, action=Action.UPSERT, values=(RecordValue(address),), version=version, ref=ref, ttl=300
    )


@pytest.fixture
def deps(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FallbackDeps]:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "dnsbatch-test")
    stack = create_stack(
        moto_endpoint, REPO / "template.yaml", f"r{uuid.uuid4().hex[:10]}", {"Zones": "example.com"}
    )
    with EmulatorServer([ZoneSpec("example.com")], token=TOKEN) as emulator:
        client = CloudflareClient(emulator.base_url, TOKEN)
        settings = Settings(
            zones={"example.com": None},
            rejected_queue_url=stack.queue_urls["RejectedQueue"],
            ledger_table=stack.table_name,
            owner_id="race",
        )
        telemetry = Telemetry(
            Logger(service=f"race-{uuid.uuid4().hex[:6]}", stream=io.StringIO()), Metrics(), "fallback"
        )
        yield FallbackDeps(
            settings=settings,
            sqs=stack.client("sqs"),
            ledger=Ledger(stack.table_name, stack.client("dynamodb")),
            client=client,
            telemetry=telemetry,
        )
        client.close()
        assert emulator.spec_violations == []


def test_a_newer_version_batched_while_the_fallback_writes_an_older_one_is_what_stays(
    deps: FallbackDeps,
) -> None:
    # GIVEN version 5 is in the fallback (its chunk was rejected) and holds the Ledger
    v5, v6 = change(5, "192.0.2.5"), change(6, "192.0.2.6")
    deps.ledger.claim(v5)
    deps.ledger.mark(v5, Status.FALLBACK)
    outcomes: list[OutcomeEvent] = []
    deps.telemetry.listeners.append(outcomes.append)
    zone = deps.client.zone_by_name("example.com")
    policy = PlanPolicy(owner_id="race")
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
    request = queues.FallbackRequest(v5, "cs-1", 0, "chunk rejected")
    result = process_request(request, deps, deadline=time.monotonic() + 60)

    # THEN version 5 is reported applied (it was), and Cloudflare ends with version 6's values only
    assert raced and result is Outcome.APPLIED
    contents = sorted(r.content for r in deps.client.list_records(zone.id, name=KEY.name, type="A"))
    assert contents == ["192.0.2.6"]
    assert [(o.outcome, o.version) for o in outcomes] == [(Outcome.APPLIED, 5)]
