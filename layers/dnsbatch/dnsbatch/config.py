"""Configuration: environment variables only (docs/architecture.md#configuration), parsed once and checked up
front so a
mis-set variable fails the cold start with a message that names it, rather than a batch later."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from dnsbatch.limits import PAID_BATCH_LIMIT
from dnsbatch.ownership import check_owner_id

DEFAULT_API_BASE_URL = "https://api.cloudflare.com/client/v4"
# The largest batch any plan takes; the batcher caps it further at the zone's own plan limit.
MAX_BATCH_SIZE = PAID_BATCH_LIMIT


class ConfigError(ValueError):
    """A configuration variable is missing or malformed; the message names it and what is allowed."""


@dataclass(frozen=True, slots=True)
class Settings:
    zones: Mapping[str, str | None]  # zone name → zone id, when the operator gave one
    api_base_url: str = DEFAULT_API_BASE_URL
    # Exactly one of the two is needed by functions that call Cloudflare. Never logged.
    api_token: str | None = field(default=None, repr=False)
    api_token_secret: str | None = None
    changeset_queue_url: str | None = None
    fallback_queue_url: str | None = None
    rejected_queue_url: str | None = None
    ledger_table: str | None = None
    batch_change_size: int = 200
    batch_change_interval: float = 1.0
    fallback_request_interval: float = 2.0
    owner_id: str = "dnsbatch"
    adopt_unowned: bool = False
    dry_run: bool = False
    ledger_ttl_days: int = 30
    request_timeout: float = 10.0
    retry_backoff_base: float = 15.0
    retry_backoff_cap: float = 300.0
    mass_change_threshold: float = 0.3
    mass_change_min_records: int = 50
    # Seconds after which the batcher lists a zone again rather than plan from what it knows of its records
    # (docs/record-knowledge.md); 0: list it in every window.
    zone_read_interval: float = 600.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            zones=parse_zones(env.get("ZONES", "")),
            api_base_url=env.get("CLOUDFLARE_API_BASE_URL") or DEFAULT_API_BASE_URL,
            api_token=env.get("CLOUDFLARE_API_TOKEN") or None,
            api_token_secret=env.get("CLOUDFLARE_API_TOKEN_SECRET") or None,
            changeset_queue_url=env.get("CHANGESET_QUEUE_URL") or None,
            fallback_queue_url=env.get("FALLBACK_QUEUE_URL") or None,
            rejected_queue_url=env.get("REJECTED_QUEUE_URL") or None,
            ledger_table=env.get("LEDGER_TABLE") or None,
            batch_change_size=_number(env, "BATCH_CHANGE_SIZE", 200, 1, MAX_BATCH_SIZE),
            batch_change_interval=_number(env, "BATCH_CHANGE_INTERVAL", 1.0, 0.0, 60.0),
            fallback_request_interval=_number(env, "FALLBACK_REQUEST_INTERVAL", 2.0, 0.0, 60.0),
            owner_id=_owner(env.get("OWNER_ID") or "dnsbatch"),
            adopt_unowned=_bool(env, "ADOPT_UNOWNED", False),
            dry_run=_bool(env, "DRY_RUN", False),
            ledger_ttl_days=_number(env, "LEDGER_TTL_DAYS", 30, 1, 3650),
            request_timeout=_number(env, "CLOUDFLARE_REQUEST_TIMEOUT", 10.0, 0.5, 120.0),
            retry_backoff_base=_number(env, "RETRY_BACKOFF_BASE", 15.0, 0.0, 900.0),
            retry_backoff_cap=_number(env, "RETRY_BACKOFF_CAP", 300.0, 0.0, 43_200.0),
            mass_change_threshold=_number(env, "MASS_CHANGE_THRESHOLD", 0.3, 0.0, 1.0),
            mass_change_min_records=_number(env, "MASS_CHANGE_MIN_RECORDS", 50, 1, 1_000_000),
            zone_read_interval=_number(env, "ZONE_READ_INTERVAL", 600.0, 0.0, 86_400.0),
        )

    def require(self, *names: str) -> None:
        """Fail with every missing variable named, for a function that needs them."""
        env_names = {
            "changeset_queue_url": "CHANGESET_QUEUE_URL",
            "fallback_queue_url": "FALLBACK_QUEUE_URL",
            "rejected_queue_url": "REJECTED_QUEUE_URL",
            "ledger_table": "LEDGER_TABLE",
        }
        missing = [env_names[n] for n in names if n in env_names and not getattr(self, n)]
        if "token" in names and not (self.api_token or self.api_token_secret):
            missing.append("CLOUDFLARE_API_TOKEN_SECRET (or CLOUDFLARE_API_TOKEN for local use)")
        if not self.zones:
            missing.append("ZONES")
        if missing:
            raise ConfigError("missing configuration: " + ", ".join(m for m in missing if m))


def parse_zones(raw: str) -> dict[str, str | None]:
    """``example.com,shop.example=023e105f4ecef8ad9ca31a8372d0c353`` → {name: id or None}."""
    zones: dict[str, str | None] = {}
    for item in (part.strip() for part in raw.replace(";", ",").split(",")):
        if not item:
            continue
        name, _, zone_id = item.partition("=")
        name = name.strip().lower().rstrip(".")
        zone_id = zone_id.strip().lower()
        if not name or " " in name:
            raise ConfigError(
                f"ZONES: {item!r} is not a zone name (expected name or name=zone_id, comma-separated)"
            )
        if zone_id and (len(zone_id) != 32 or any(c not in "0123456789abcdef" for c in zone_id)):
            raise ConfigError(f"ZONES: zone id for {name!r} must be 32 hex characters, got {zone_id!r}")
        zones[name] = zone_id or None
    return zones


N = TypeVar("N", int, float)


def _number(env: Mapping[str, str], name: str, default: N, lo: N, hi: N) -> N:
    """An integer or float variable (by the type of ``default``) within [lo, hi]."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    kind = type(default)
    unit = "" if kind is int else " seconds"
    try:
        value = kind(raw)
    except ValueError:
        what = "an integer" if kind is int else "a number of seconds"
        raise ConfigError(f"{name}: {raw!r} is not {what} (allowed: {lo}..{hi})") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}: {value} is out of range (allowed: {lo}..{hi}{unit})")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}: {raw!r} is not a boolean (allowed: true/false)")


def _owner(raw: str) -> str:
    # The owner id is embedded in every record comment (docs/ownership.md): the marker's own rule, checked
    # at the cold start rather than by the planner later, and at most 32 characters so that the marker
    # leaves room for the user's comment within Free zones' 100.
    try:
        if len(raw) > 32:
            raise ValueError("too long")
        return check_owner_id(raw)
    except ValueError:
        raise ConfigError(
            f"OWNER_ID: {raw!r} must be 1-32 characters of letters, digits, '-', '_' or '.', "
            "starting with a letter or digit"
        ) from None
