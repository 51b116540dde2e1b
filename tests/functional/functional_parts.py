"""The library's pieces wired by hand to real servers (moto's, the emulator), shared by the functional
tests. A module of its own, not conftest.py: two conftest modules (this folder's and tests/integration's)
cannot both be imported as ``conftest`` in one xdist worker."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devstack.emulator import EmulatorServer
from devstack.stack.aws import LocalStack
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
