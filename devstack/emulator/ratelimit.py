"""Cloudflare's global API rate limit as a sliding window (docs/architecture.md#rate-limits): 1,200 requests
per 300 s."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Decision:
    """The limiter's answer for one request; ``retry_after`` is whole seconds until a slot frees."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int = 0


class SlidingWindow:
    """At most ``limit`` admitted requests in any ``window`` seconds of ``clock``.

    Refused requests do not take a slot: otherwise a client that keeps retrying would never get back
    in, which is stricter than Cloudflare's "blocked for the rest of the five minutes".
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("rate limit and window must be positive")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._admitted: deque[float] = deque()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._admitted and self._admitted[0] <= now - self.window:
            self._admitted.popleft()

    def remaining(self) -> int:
        """Free slots right now, without taking one."""
        with self._lock:
            self._expire(self._clock())
            return self.limit - len(self._admitted)

    def acquire(self) -> Decision:
        """Admit one request if a slot is free."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            if len(self._admitted) >= self.limit:
                wait = self._admitted[0] + self.window - now
                return Decision(False, self.limit, 0, max(1, math.ceil(wait)))
            self._admitted.append(now)
            return Decision(True, self.limit, self.limit - len(self._admitted))
