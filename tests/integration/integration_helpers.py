"""Helpers for the integration tests: event bodies and reading record sets back."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from devstack.stack.pipeline import LocalPipeline

PipelineFactory = Callable[..., LocalPipeline]


def change(
    name: str, values: list[str] | None = None, *, type_: str = "A", version: int = 1, **extra: Any
) -> str:
    """One change event body."""
    body: dict[str, Any] = {"zone": "example.com", "name": name, "type": type_, "version": version, **extra}
    if values is None:
        body["action"] = "delete"
    else:
        body["action"] = "upsert"
        body["values"] = values
    return json.dumps(body)


def rrset(pipeline: LocalPipeline, name: str, type_: str = "A", zone: str = "example.com") -> list[str]:
    """The sorted contents Cloudflare (the emulator) holds for one record set."""
    fqdn = zone if name == "@" else f"{name}.{zone}"
    assert pipeline.emulator is not None
    return sorted(
        r["content"] for r in pipeline.emulator.records(zone) if r["name"] == fqdn and r["type"] == type_
    )
