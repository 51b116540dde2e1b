"""The API's endpoints: path templates (the keys for call counts and metrics) and concrete paths."""

from __future__ import annotations

from urllib.parse import quote

ZONES = "/zones"
RECORDS = "/zones/{zone_id}/dns_records"
RECORD = "/zones/{zone_id}/dns_records/{dns_record_id}"
BATCH = "/zones/{zone_id}/dns_records/batch"


def segment(value: str) -> str:
    """An id as one path segment; quoting keeps a stray '/' or '?' from changing the endpoint."""
    if not value:
        raise ValueError("an empty id cannot be used in a Cloudflare API path")
    return quote(value, safe="")


def records_path(zone_id: str) -> str:
    """``/zones/{zone_id}/dns_records`` for one zone."""
    return f"/zones/{segment(zone_id)}/dns_records"


def record_path(zone_id: str, record_id: str) -> str:
    """``/zones/{zone_id}/dns_records/{dns_record_id}`` for one record."""
    return f"/zones/{segment(zone_id)}/dns_records/{segment(record_id)}"


def batch_path(zone_id: str) -> str:
    """``/zones/{zone_id}/dns_records/batch`` for one zone."""
    return f"/zones/{segment(zone_id)}/dns_records/batch"
