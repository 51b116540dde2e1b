"""The one timing rule every benchmark uses: best of N wall-clock runs (perf_counter), so a figure is the
cost of the work, not of whatever else the machine was doing."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(runs: int, work: Callable[[], object]) -> float:
    """Seconds of the fastest of ``runs`` calls of ``work``."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best
