"""Stateful Cloudflare API v4 emulator (zones + DNS records) for the local stack, tests and benchmarks.

``EmulatorServer`` serves it over HTTP on loopback; ``Emulator`` (in ``state``) is the same rules with
no HTTP, for in-process use.
"""

from devstack.emulator.errors import ApiError
from devstack.emulator.faults import FaultConfig
from devstack.emulator.server import DEFAULT_TOKEN, EmulatorServer
from devstack.emulator.state import Emulator
from devstack.emulator.zones import ZoneSpec

__all__ = ["DEFAULT_TOKEN", "ApiError", "Emulator", "EmulatorServer", "FaultConfig", "ZoneSpec"]
