"""Fixtures shared by every suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.stack.aws import start_moto


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One real moto server over HTTP per test process. moto keeps its state per process, so every test
    that creates resources gives them names of its own (a unique stack name)."""
    server, endpoint = start_moto()
    yield endpoint
    server.stop()
