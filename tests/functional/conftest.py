"""Functional fixtures: the library's pieces wired by hand to real servers (moto's, the emulator), for
interleavings the pipeline cannot be steered into."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator

import pytest
from aws_lambda_powertools import Logger, Metrics
from functional_parts import TOKEN, Parts

from devstack.emulator import EmulatorServer, ZoneSpec
from devstack.stack.aws import create_stack
from devstack.stack.pipeline import REPO
from dnsbatch.cloudflare.client import CloudflareClient
from dnsbatch.ledger import Ledger
from dnsbatch.telemetry import OutcomeEvent, Telemetry


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
