"""Fixtures shared by every suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

from devstack.stack.aws import start_moto

# No per-example deadline: on 2 shared cores under pytest-xdist a first example that imports or warms a
# cache can take longer than Hypothesis's 200 ms default, which fails a correct property for timing alone
# (speed belongs in bench/).
settings.register_profile("dnsbatch", deadline=None, print_blob=True)
settings.load_profile("dnsbatch")


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One real moto server over HTTP per test process. moto keeps its state per process, so every test
    that creates resources gives them names of its own (a unique stack name)."""
    server, endpoint = start_moto()
    yield endpoint
    server.stop()
