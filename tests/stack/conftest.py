"""A real moto server on loopback, shared by the module, and a fresh stack from template.yaml per test."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from devstack.stack.aws import LocalStack, create_stack

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
PARAMETERS = {"Zones": "example.com"}


@pytest.fixture
def stack(moto_endpoint: str) -> LocalStack:
    # moto's state is per process, so each test gets its own stack name (and so its own queue names).
    name = f"t{uuid.uuid4().hex[:10]}"
    return create_stack(moto_endpoint, TEMPLATE, stack_name=name, parameters=PARAMETERS, token="tok-local")
