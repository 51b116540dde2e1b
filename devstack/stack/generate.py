"""Synthetic change streams for volume runs of the local stack (README "Running locally").

``python -m devstack.stack generate --messages 3000`` writes one window of 3,000 messages, one change
each; ``--windows``, ``--changes-per-message`` (an envelope of that many changes per message) and
``--zone`` shape bigger streams. The output is deterministic (same arguments, same file), so two runs
on two machines publish the same events.

The stream is what a busy producer sends: window 1 creates distinct names (A sets, one in ten a TXT
set); every later window sends each of those names again: 5 % deletes, 15 % new addresses, 10 % stale
versions (``superseded``) and the rest re-sends of what is already there (``unchanged``), which keeps
each window under the mass-change guard. Every event passes dnsbatch's validation and none is refused
by the emulator, so every outcome is ``applied``, ``unchanged`` or ``superseded``: a volume run
measures the pipeline, not the fault paths (the sample stream covers those).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO


def _address(n: int, generation: int) -> str:
    # 198.18.0.0/15 is reserved for benchmarking (RFC 2544): room for 131,072 distinct addresses.
    value = (n * 7 + generation * 40_503) % 131_072
    return f"198.{18 + value // 65_536}.{(value // 256) % 256}.{value % 256}"


class _Stream:
    """The generator's state: what each name's A set holds after the windows generated so far, so that a
    later window can re-send it unchanged."""

    def __init__(self, zone: str, pool: int) -> None:
        self.zone = zone
        self.pool = pool
        self.current: dict[int, str | None] = {}

    def change(self, window: int, slot: int) -> dict[str, Any]:
        """The ``slot``-th change of ``window`` (both from 0)."""
        name_index = (window * 7_919 + slot) % self.pool if window else slot % self.pool
        event: dict[str, Any] = {
            "zone": self.zone,
            "name": f"host-{name_index:06d}.volume",
            "type": "A",
            "source": "volume-generator",
        }
        version = window + 1
        if not window:
            if slot % 10 == 9:
                event.update(type="TXT", values=[f"volume-check={name_index}"])
                self.current[name_index] = None
            else:
                self.current[name_index] = _address(name_index, 0)
                event.update(values=[self.current[name_index]])
            event.update(action="upsert", ttl=300)
        else:
            # Later windows stay under the mass-change guard (template.yaml's MassChangeThreshold: a window
            # that would delete or replace 30 % of what dnsbatch owns is held): 5 % deletes, 15 % new
            # addresses, the rest stale versions and re-sends of what is already there, as a controller
            # re-publishing its state does.
            kind = slot % 20
            if kind == 0:
                event.update(action="delete")
                self.current[name_index] = None
            elif kind == 1:
                version = 0  # older than what window 1 applied: superseded
                event.update(action="upsert", values=[_address(name_index, 99)], ttl=300)
            elif kind == 2:
                version = 1  # window 1's version again: superseded
                event.update(action="upsert", values=[_address(name_index, 0)], ttl=300)
            elif kind in (3, 4, 5):
                self.current[name_index] = _address(name_index, window)
                event.update(action="upsert", values=[self.current[name_index]], ttl=300)
            elif self.current.get(name_index) is None:
                event.update(action="delete")  # already absent: unchanged
            else:
                event.update(action="upsert", values=[self.current[name_index]], ttl=300)
        event["version"] = version
        event["id"] = f"w{window + 1}-{slot + 1}"
        return event


def generate(
    messages: int,
    *,
    windows: int = 1,
    changes_per_message: int = 1,
    zone: str = "example.com",
) -> Iterator[str]:
    """JSON lines: ``windows`` windows of ``messages`` message bodies, '---' between windows."""
    if messages < 1 or windows < 1 or changes_per_message < 1:
        raise ValueError("messages, windows and changes per message must be at least 1")
    if changes_per_message > 10_000:
        raise ValueError("an envelope holds at most 10,000 changes")
    # Later windows touch the names of window 1 again, so the pool is window 1's names.
    stream = _Stream(zone, messages * changes_per_message)
    for window in range(windows):
        if window:
            yield "---"
        for message in range(messages):
            changes = [
                stream.change(window, message * changes_per_message + i) for i in range(changes_per_message)
            ]
            body = changes[0] if changes_per_message == 1 else {"changes": changes}
            yield json.dumps(body, separators=(",", ":"))


def write(out: TextIO, messages: int, *, windows: int, changes_per_message: int, zone: str) -> int:
    """Write the stream with a comment header that says how to reproduce it; returns the event count."""
    out.write(
        f"# generated: python -m devstack.stack generate --messages {messages} --windows {windows}"
        f" --changes-per-message {changes_per_message} --zone {zone}\n"
    )
    for line in generate(messages, windows=windows, changes_per_message=changes_per_message, zone=zone):
        out.write(line + "\n")
    return messages * windows * changes_per_message
