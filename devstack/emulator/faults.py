"""Fault injection for tests: 5xx, slow answers, dropped connections, 429 bursts, rejected names, and
requests that are applied but whose answer is lost (a 5xx or a dropped connection after the commit).

Faults can be switched while the server runs (``EmulatorServer.set_faults`` or
``POST /__emulator/faults`` with the same fields as JSON). Each ``set`` replaces the previous
configuration and restarts its countdowns; the totals of faults injected (``injected()``,
``GET /__emulator/faults/injected``) keep counting across ``set`` calls until ``reset_injected()``.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from devstack.emulator import errors as e
from devstack.emulator.errors import ApiError


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """What to break. ``method``/``path`` (a path template such as
    ``/zones/{zone_id}/dns_records/batch``) restrict the request-level faults to matching requests;
    ``reject_name_pattern`` applies to every record write (a batch fails whole if any op matches)."""

    error_count: int = 0  # the next N matching requests get `error_status`
    error_rate: float = 0.0  # or this fraction of them (seeded, so runs repeat)
    error_status: int = 503
    seed: int = 0
    delay_seconds: float = 0.0  # wait this long before answering (to trip a client timeout)
    delay_count: int | None = None  # ... for the next N matching requests; None = all of them
    drop_count: int = 0  # close the connection without answering, N times
    rate_limit_count: int = 0  # answer 429 (code 971) N times
    retry_after: int = 1  # Retry-After of those 429s
    # The ambiguous failure: the next N matching requests that change something (not GET) and succeed
    # are carried out (a batch is committed), then answered `error_status` (commit_error_count) or the
    # connection is closed unanswered (commit_drop_count). The client cannot tell these from a failure
    # that changed nothing. A request that fails anyway (a 4xx) gets its real answer and uses none.
    commit_error_count: int = 0
    commit_drop_count: int = 0
    method: str | None = None
    path: str | None = None
    reject_name_pattern: str | None = None

    @classmethod
    def from_json(cls, obj: Any) -> FaultConfig:
        """Build from a JSON object; unknown keys or wrong types raise ``ValueError``."""
        if not isinstance(obj, Mapping):
            raise ValueError("fault configuration must be a JSON object")
        known = {f.name: f for f in fields(cls)}
        unknown = set(obj) - set(known)
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(map(str, unknown)))}")
        config = cls(**obj)
        config.validate()
        return config

    def validate(self) -> None:
        """Raise ``ValueError`` on nonsense values."""
        ints = (
            "error_count",
            "error_status",
            "seed",
            "drop_count",
            "rate_limit_count",
            "retry_after",
            "commit_error_count",
            "commit_drop_count",
        )
        for name in ints:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        if not 500 <= self.error_status <= 599:
            raise ValueError("error_status must be a 5xx status")
        if not isinstance(self.error_rate, int | float) or not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        if not isinstance(self.delay_seconds, int | float) or self.delay_seconds < 0:
            raise ValueError("delay_seconds must be >= 0")
        if self.delay_count is not None and (not isinstance(self.delay_count, int) or self.delay_count < 0):
            raise ValueError("delay_count must be a non-negative integer or null")
        for name in ("method", "path", "reject_name_pattern"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string")
        if self.reject_name_pattern is not None:
            try:
                re.compile(self.reject_name_pattern)
            except re.error as exc:
                raise ValueError(f"reject_name_pattern is not a valid regex: {exc}") from None


@dataclass(frozen=True, slots=True)
class Action:
    """What the server does to one request: wait ``delay`` seconds, then drop it, answer 429, answer a
    5xx, or (all False) serve it normally. ``after_commit`` ("error" or "drop") serves it, then loses the
    answer: ``error_status`` is sent instead of the result, or the connection is closed."""

    delay: float = 0.0
    drop: bool = False
    rate_limited: bool = False
    error_status: int | None = None
    retry_after: int = 1
    after_commit: str | None = None


class FaultInjector:
    """Thread-safe countdowns over a ``FaultConfig``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._injected: Counter[str] = Counter()
        self.set(FaultConfig())

    def set(self, config: FaultConfig) -> None:
        """Replace the configuration and restart its counters."""
        config.validate()
        with self._lock:
            self.config = config
            self._left = {
                "error": config.error_count,
                "drop": config.drop_count,
                "rate": config.rate_limit_count,
                "delay": -1 if config.delay_count is None else config.delay_count,
                "commit_error": config.commit_error_count,
                "commit_drop": config.commit_drop_count,
            }
            self._random = random.Random(config.seed)
            self._name_re = re.compile(config.reject_name_pattern) if config.reject_name_pattern else None

    def clear(self) -> None:
        """No faults."""
        self.set(FaultConfig())

    def injected(self) -> dict[str, int]:
        """Faults injected so far, by kind: delay, drop, rate_limited, error, commit_error, commit_drop,
        refused_name. A commit fault counts only when the request was carried out (its answer lost)."""
        with self._lock:
            return dict(self._injected)

    def reset_injected(self) -> None:
        """Zero the totals of :meth:`injected`."""
        with self._lock:
            self._injected.clear()

    def note(self, kind: str) -> None:
        """Count one injected fault of ``kind`` (the server calls it for faults it carries out itself)."""
        with self._lock:
            self._injected[kind] += 1

    def _take(self, key: str) -> bool:
        if self._left[key] == 0:
            return False
        if self._left[key] > 0:
            self._left[key] -= 1
        return True

    def decide(self, method: str, template: str) -> Action:
        """The fault (if any) for a request to ``template`` (its route, e.g. ``/zones/{zone_id}``)."""
        with self._lock:
            c = self.config
            if (c.method and c.method.upper() != method) or (c.path and c.path != template):
                return Action()
            delay = c.delay_seconds if c.delay_seconds > 0 and self._take("delay") else 0.0
            if delay:
                self._injected["delay"] += 1
            if self._take("drop"):
                self._injected["drop"] += 1
                return Action(delay=delay, drop=True)
            if self._take("rate"):
                self._injected["rate_limited"] += 1
                return Action(delay=delay, rate_limited=True, retry_after=c.retry_after)
            if self._take("error") or (c.error_rate > 0 and self._random.random() < c.error_rate):
                self._injected["error"] += 1
                return Action(delay=delay, error_status=c.error_status)
            # Only a request that changes something can be committed; the countdown is taken (and the
            # fault counted) by the server once the request was carried out: take_commit().
            if method != "GET" and self._left["commit_error"]:
                return Action(delay=delay, after_commit="error", error_status=c.error_status)
            if method != "GET" and self._left["commit_drop"]:
                return Action(delay=delay, after_commit="drop")
            return Action(delay=delay)

    def take_commit(self, kind: str) -> bool:
        """Use one ``kind`` ("error" or "drop") commit fault for a request that was just carried out;
        False when another request used the last one meanwhile (then the answer goes out normally)."""
        with self._lock:
            if not self._take(f"commit_{kind}"):
                return False
            self._injected[f"commit_{kind}"] += 1
            return True

    def reject_name(self, name: str) -> ApiError | None:
        """The validation error for a record name matching ``reject_name_pattern``."""
        pattern = self._name_re
        if pattern is not None and pattern.search(name):
            self.note("refused_name")
            # INVENTED code/text (9000, "DNS name is invalid."): it stands for any per-record rejection.
            return ApiError(400, e.INVALID_NAME, "DNS name is invalid.")
        return None
