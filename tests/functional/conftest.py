"""Functional fixtures: the library's pieces wired by hand to real servers (moto's, the emulator), for
interleavings the pipeline cannot be steered into."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics

from devstack.emulator import EmulatorServer, ZoneSpec
from devstack.stack.aws import LocalStack, create_stack
from devstack.stack.pipeline import REPO
from dnsbatch.batcher import BatcherDeps
from dnsbatch.cloudflare.client import CloudflareClient
from dnsbatch.config import Settings
from dnsbatch.fallback import FallbackDeps
from dnsbatch.ledger import Ledger
from dnsbatch.telemetry import OutcomeEvent, Telemetry

TOKEN = "functional-test-token-0123456789"
OWNER = "functional"


@dataclass
class Parts:
    stack: LocalStack
    emulator: EmulatorServer
    client: CloudflareClient
    ledger: Ledger
    sqs: Any
    telemetry: Telemetry
    outcomes: list[OutcomeEvent]

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "zones": {"example.com": None},
            "changeset_queue_url": self.stack.queue_urls["ChangeSetQueue"],
            "fallback_queue_url": self.stack.queue_urls["FallbackQueue"],
            "rejected_queue_url": self.stack.queue_urls["RejectedQueue"],
            "ledger_table": self.stack.table_name,
            "owner_id": OWNER,
            **overrides,
        }
        return Settings(**values)

    def batcher_deps(self, clock: Callable[[], float] = time.monotonic, **settings: Any) -> BatcherDeps:
        """The batcher's dependencies on these parts: no pause between batch calls unless asked."""
        return BatcherDeps(
            settings=self.settings(**{"batch_change_interval": 0.0, **settings}),
            sqs=self.sqs,
            ledger=self.ledger,
            client=self.client,
            telemetry=self.telemetry,
            clock=clock,
            sleep=lambda _: None,
        )

    def fallback_deps(self, **settings: Any) -> FallbackDeps:
        return FallbackDeps(
            settings=self.settings(**settings),
            sqs=self.sqs,
            ledger=self.ledger,
            client=self.client,
            telemetry=self.telemetry,
        )


@pytest.fixture
def parts(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Parts]:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "dnsbatch-test")
    stack = create_stack(
        moto_endpoint, REPO / "template.yaml", f"f{uuid.uuid4().hex[:10]}", {"Zones": "example.com"}
    )
    with EmulatorServer([ZoneSpec("example.com")], token=TOKEN) as emulator:
        client = CloudflareClient(emulator.base_url, TOKEN)
        logger = Logger(service=f"functional-{uuid.uuid4().hex[:6]}", stream=io.StringIO())
        telemetry = Telemetry(logger, Metrics(), "functional")
        outcomes: list[OutcomeEvent] = []
        telemetry.listeners.append(outcomes.append)
        sqs, dynamodb = stack.client("sqs"), stack.client("dynamodb")
        yield Parts(stack, emulator, client, Ledger(stack.table_name, dynamodb), sqs, telemetry, outcomes)
        client.close()
        sqs.close()
        dynamodb.close()
        assert emulator.spec_violations == []
