"""Zone resolution: an allowlisted zone name → Cloudflare's zone object, or a reason to reject its changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dnsbatch.cloudflare.client import CloudflareClient
from dnsbatch.cloudflare.errors import ZoneNotFoundError
from dnsbatch.cloudflare.types import Zone
from dnsbatch.model import Change
from dnsbatch.outcomes import Sinks, reject


class ZoneDeps(Sinks, Protocol):
    client: CloudflareClient


def resolve_zone(
    deps: ZoneDeps, zone: str, changes: Sequence[Change], deadline: float, *, stage: str
) -> Zone | None:
    """The zone's Cloudflare object, or None after rejecting every change when the zone cannot be used:
    it is not visible to the token, or ZONES pins another id. Retrying would not help either, and a
    redelivery loop would only end in the DLQ without a reason per change."""
    try:
        found = deps.client.zone_by_name(zone, deadline=deadline)
    except ZoneNotFoundError as exc:
        problem = str(exc)
    else:
        configured = deps.settings.zones.get(zone)
        if not configured or configured == found.id:
            return found
        problem = (
            f"ZONES pins {zone} to zone id {configured}, but Cloudflare's zone of that name is {found.id}"
        )
    deps.telemetry.logger.error(
        "zone cannot be used; rejecting its changes", extra={"zone": zone, "error": problem}
    )
    for change in changes:
        reject(deps, change, problem, stage=stage)
    return None
