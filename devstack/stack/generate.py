"""Synthetic change streams for volume runs of the local stack (README "Running locally").

``python -m devstack.stack generate --messages 3000`` writes one window of 3,000 messages, one change
each; ``--windows``, ``--changes-per-message`` (an envelope of that many changes per message) and
``--zone`` shape bigger streams. The output is deterministic (same arguments, same file), so two runs
on two machines publish the same events.

The stream is what a busy producer sends: mostly address upserts of distinct names, some TXT sets,
and from the second window on, re-sends of earlier names with new addresses (a change of value), exact
repeats (``unchanged``), stale versions (``superseded``) and deletes of names created before. Every
event passes dnsbatch's validation and none is refused by the emulator, so every outcome is
``applied``, ``unchanged`` or ``superseded``: a volume run measures the pipeline, not the fault paths
(the sample stream covers those).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO


def _address(n: int, generation: int) -> str:
    # 198.18.0.0/15 is reserved for benchmarking (RFC 2544): room for 131,072 distinct addresses.
    value = (n * 7 + generation * 40_503) % 131_072
    return f"198.{18 + value // 65_536}.{(value // 256) % 256}.{value % 256}"


def _change(zone: str, window: int, slot: int, pool: int) -> dict[str, Any]:
    """The ``slot``-th change of ``window`` (both from 0): a fresh name in window 0, a mix after."""
    name_index = (window * 7_919 + slot) % pool if window else slot % pool
    name = f"host-{name_index:06d}.volume"
    version = window + 1
    event: dict[str, Any] = {"zone": zone, "name": name, "type": "A", "source": "volume-generator"}
    kind = slot % 20 if window else slot % 10
    if window and kind == 0:
        event.update(action="delete")
    elif window and kind == 1:
        version = 0  # older than what window 0 applied: superseded
        event.update(action="upsert", values=[_address(name_index, 99)], ttl=300)
    elif window and kind == 2:
        version = 1  # the very change window 0 sent again: the Ledger says superseded (same version)
        event.update(action="upsert", values=[_address(name_index, 0)], ttl=300)
    elif kind == 9:
        event.update(
            type="TXT",
            action="upsert",
            values=[f"volume-check={name_index}-{window}"],
            ttl=300,
        )
    else:
        event.update(action="upsert", values=[_address(name_index, window)], ttl=300)
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
    per_window = messages * changes_per_message
    # Later windows touch names of window 0 again, so the pool is window 0's names.
    pool = per_window
    for window in range(windows):
        if window:
            yield "---"
        for message in range(messages):
            changes = [
                _change(zone, window, message * changes_per_message + i, pool)
                for i in range(changes_per_message)
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
