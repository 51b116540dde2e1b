"""Coalesce changes per record set: the highest version wins, everything else is superseded.

Changes arrive from a standard SQS queue, so duplicates and any order are normal. The winner of a
record set is the maximum by ``(version, ref.sent_timestamp, ref.message_id, ref.index)``: the
producer's version decides; on equal versions the later-sent message wins, and the message id and
envelope index make the choice total, so every run over the same input picks the same winner.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dnsbatch.model import Change, RecordSetKey

__all__ = ["Coalesced", "coalesce", "precedence"]


@dataclass(frozen=True, slots=True)
class Coalesced:
    """``winners``: one change per record set, in first-seen order of the sets.
    ``superseded``: (loser, winner) for every other input change, in input order."""

    winners: tuple[Change, ...]
    superseded: tuple[tuple[Change, Change], ...]


def precedence(change: Change) -> tuple[int, int, str, int]:
    """The sort key deciding which of two changes to the same record set wins (greater wins)."""
    return (change.version, change.ref.sent_timestamp, change.ref.message_id, change.ref.index)


def coalesce(changes: Iterable[Change]) -> Coalesced:
    """Keep the highest-precedence change per record set; every input is a winner or a loser exactly once."""
    inputs = list(changes)
    # Indices, not identities: a redelivered message can put the very same change in twice, and the
    # second copy must still get its own outcome (superseded by the first).
    best: dict[RecordSetKey, int] = {}
    for i, change in enumerate(inputs):
        current = best.get(change.key)
        if current is None or precedence(change) > precedence(inputs[current]):
            best[change.key] = i
    winning = set(best.values())
    winners = tuple(inputs[i] for i in best.values())
    superseded = tuple((c, inputs[best[c.key]]) for i, c in enumerate(inputs) if i not in winning)
    return Coalesced(winners=winners, superseded=superseded)
