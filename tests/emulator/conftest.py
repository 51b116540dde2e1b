"""A started emulator and an httpx client for it (real sockets on loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from devstack.emulator import Emulator, EmulatorServer, ZoneSpec

TOKEN = "emulator-test-token"
ZONES = [
    ZoneSpec("example.com"),
    ZoneSpec("shop.example", plan="pro"),
    ZoneSpec("ent.example", plan="enterprise"),
]


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(zones=ZONES, token=TOKEN) as server:
        yield server


@pytest.fixture
def client(emu: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as c:
        yield c


@pytest.fixture
def state() -> Emulator:
    return Emulator(ZONES)


@pytest.fixture
def token() -> str:
    return TOKEN
