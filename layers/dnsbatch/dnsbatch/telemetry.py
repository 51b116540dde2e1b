"""Outcome logging and metrics: the one place where "every change ends in an outcome that is counted
and logged" (docs/architecture.md#nothing-lost-nothing-silent) is carried out.

Each outcome is one structured log line (searchable in CloudWatch Logs Insights by ``outcome``,
``zone``, ``record_set``, ``event_id``) and one EMF metric. Listeners let the local runner and the
tests count outcomes without parsing logs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from dnsbatch.model import Change, EventRef, Outcome, RecordSetKey


@dataclass(frozen=True, slots=True)
class OutcomeEvent:
    """What a listener receives for each final outcome."""

    outcome: Outcome
    ref: EventRef
    key: RecordSetKey | None
    version: int | None
    reason: str | None
    cf_code: int | None
    function: str


OutcomeListener = Callable[[OutcomeEvent], None]


def change_fields(change: Change) -> dict[str, Any]:
    """The log keys that identify a change in every line about it."""
    return {**key_fields(change.key), "version": change.version, **ref_fields(change.ref)}


def key_fields(key: RecordSetKey) -> dict[str, Any]:
    return {"zone": key.zone, "record_set": f"{key.name} {key.type}"}


def ref_fields(ref: EventRef) -> dict[str, Any]:
    fields: dict[str, Any] = {"message_id": ref.message_id, "event_index": ref.index}
    if ref.event_id is not None:
        fields["event_id"] = ref.event_id
    if ref.source is not None:
        fields["source"] = ref.source
    return fields


class Telemetry:
    """Wraps the function's Powertools Logger and Metrics."""

    def __init__(self, logger: Logger, metrics: Metrics, function: str) -> None:
        self.logger = logger
        self.metrics = metrics
        self.function = function
        self.listeners: list[OutcomeListener] = []
        # Totals for the life of the container (the EMF metrics are flushed per invocation); the local
        # runner's report reads them.
        self.counters: Counter[str] = Counter()
        self._pending: Counter[str] = Counter()

    def count(self, name: str, value: float = 1) -> None:
        if value:
            self._pending[name] += int(value)
            self.counters[name] += int(value)

    def publish(self) -> None:
        """Hand this invocation's counts to Powertools Metrics as one value per metric. Adding each count
        as it happens would give a window of 10,000 outcomes 100 EMF lines (Powertools flushes every 100
        values); the handlers call this once, before ``log_metrics`` flushes."""
        for name, value in sorted(self._pending.items()):
            self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        self._pending.clear()

    def outcome(
        self,
        outcome: Outcome,
        change: Change | None = None,
        *,
        ref: EventRef | None = None,
        key: RecordSetKey | None = None,
        reason: str | None = None,
        cf_code: int | None = None,
        **extra: Any,
    ) -> None:
        """Record the final outcome of one change (or of an event that never became a change)."""
        if change is not None:
            ref, key = change.ref, change.key
        if ref is None:
            raise ValueError("an outcome needs the change or the event reference it belongs to")
        fields: dict[str, Any] = {"outcome": outcome.value, **ref_fields(ref), **extra}
        if key is not None:
            fields.update(key_fields(key))
        if change is not None:
            fields["version"] = change.version
        if reason is not None:
            fields["reason"] = reason
        if cf_code is not None:
            fields["cf_code"] = cf_code
        warn = outcome in (Outcome.REJECTED, Outcome.FAILED, Outcome.HELD)
        level = self.logger.warning if warn else self.logger.info
        level(f"outcome {outcome.value}", extra=fields)
        self.count(f"Outcome{outcome.value.capitalize()}")
        event = OutcomeEvent(
            outcome=outcome,
            ref=ref,
            key=key,
            version=None if change is None else change.version,
            reason=reason,
            cf_code=cf_code,
            function=self.function,
        )
        for listener in self.listeners:
            listener(event)
