"""Fixtures for the Cloudflare client tests: a fake clock and a MockTransport-backed client factory."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from client_fakes import BASE_URL, TOKEN, FakeClock

from dnsbatch.cloudflare import CloudflareClient

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(clock: FakeClock) -> Iterator[Callable[..., CloudflareClient]]:
    """Build a client whose HTTP goes to ``handler`` through ``httpx.MockTransport``; fake clock and sleep."""
    opened: list[httpx.Client] = []

    def factory(handler: Handler, **kwargs: Any) -> CloudflareClient:
        http = httpx.Client(transport=httpx.MockTransport(handler))
        opened.append(http)
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("sleep", clock.sleep)
        kwargs.setdefault("rng", random.Random(1234))
        return CloudflareClient(BASE_URL, TOKEN, http=http, **kwargs)

    yield factory
    for http in opened:
        http.close()


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture everything at DEBUG, including httpx's and httpcore's own loggers."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "dnsbatch", "dnsbatch.cloudflare"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog
