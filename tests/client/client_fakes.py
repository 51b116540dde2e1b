"""Test doubles and builders for the Cloudflare client tests: a fake clock, Cloudflare response bodies."""

from __future__ import annotations

import itertools
import logging
from typing import Any

import pytest

# Shaped like a real token (40 chars of [A-Za-z0-9_-]) and unlikely to occur by chance in any text.
TOKEN = "Tk9_secretTOKEN-0123456789abcdefghijXYZ"
BASE_URL = "https://api.test/client/v4"
ZONE_ID = "023e105f4ecef8ad9ca31a8372d0c353"
_ids = itertools.count(1)


class FakeClock:
    """A clock whose sleep advances time instantly and records what was asked."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"negative sleep {seconds}"
        self.sleeps.append(seconds)
        self.now += seconds


def envelope(result: Any, **extra: Any) -> dict[str, Any]:
    """A successful Cloudflare response body."""
    return {"success": True, "errors": [], "messages": [], "result": result, **extra}


def failure(code: int, message: str) -> dict[str, Any]:
    """A Cloudflare error envelope with one error."""
    return {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None}


def record(
    name: str = "www.example.com", type: str = "A", content: str = "192.0.2.1", **kw: Any
) -> dict[str, Any]:
    """A record object as Cloudflare returns it."""
    rid = kw.pop("id", f"{next(_ids):032x}")
    return {
        "id": rid,
        "name": name,
        "type": type,
        "content": content,
        "ttl": 1,
        "proxied": False,
        "proxiable": True,
        "comment": None,
        "tags": [],
        "settings": {},
        "meta": {},
        "created_on": "2026-11-01T00:00:00.000000Z",
        "modified_on": "2026-11-01T00:00:00.000000Z",
        **kw,
    }


def zone_obj(name: str = "example.com", zone_id: str = ZONE_ID, plan: str = "free") -> dict[str, Any]:
    """A zone object as Cloudflare returns it."""
    return {"id": zone_id, "name": name, "status": "active", "plan": {"id": "x", "legacy_id": plan}}


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record rendered with its message, extra fields and traceback."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    parts = []
    for rec in caplog.records:
        parts.append(formatter.format(rec))
        parts.append(repr(vars(rec)))
    return "\n".join(parts)
