"""Routing and endpoint logic of ``/client/v4``: HTTP-free, over the pure state.

``route()`` maps a method and path to a path template (the counter key and the fault filter use it);
``dispatch()`` runs the endpoint and returns the envelope's ``result`` (and ``result_info``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from devstack.emulator import errors as e
from devstack.emulator.errors import ApiError, bad_request
from devstack.emulator.listing import choice_param, int_param
from devstack.emulator.state import Emulator

_ID = re.compile(r"^[0-9a-f]{32}$")
ZONES = "/zones"
ZONE = "/zones/{zone_id}"
RECORDS = "/zones/{zone_id}/dns_records"
BATCH = "/zones/{zone_id}/dns_records/batch"
RECORD = "/zones/{zone_id}/dns_records/{dns_record_id}"
_METHODS = {
    ZONES: ("GET",),
    ZONE: ("GET",),
    RECORDS: ("GET", "POST"),
    BATCH: ("POST",),
    RECORD: ("GET", "PUT", "PATCH", "DELETE"),
}
# Zone name filter operators of GET /zones (docs/architecture.md#zone-lookup).
_NAME_OPS = ("equal", "not_equal", "starts_with", "ends_with", "contains")


@dataclass(frozen=True, slots=True)
class Route:
    """A matched path: its template (None when nothing matched), ids, and the routing error if any."""

    template: str | None
    zone_id: str = ""
    record_id: str = ""
    error: ApiError | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """A successful answer: HTTP status, ``result`` and, for lists, ``result_info``."""

    result: Any
    result_info: dict[str, int] | None = None
    status: int = 200


def _unroutable(path: str) -> ApiError:
    shown = path if len(path) <= 120 else path[:120] + "..."
    return bad_request(
        e.INVALID_IDENTIFIER, f"Could not route to {shown}, perhaps your object identifier is invalid?"
    )


def route(method: str, path: str) -> Route:
    """Match ``path`` (relative to ``/client/v4``). Unknown paths → 7000 (404); a known path with the
    wrong method → 7001 (405); a malformed zone or record id → 7003 (400)."""
    parts = path.split("/")[1:] if path.startswith("/") else []
    template: str | None = None
    zone_id = record_id = ""
    if parts == ["zones"]:
        template = ZONES
    elif len(parts) >= 2 and parts[0] == "zones":
        zone_id = parts[1]
        rest = parts[2:]
        if not rest:
            template = ZONE
        elif rest == ["dns_records"]:
            template = RECORDS
        elif len(rest) == 2 and rest[0] == "dns_records":
            template = BATCH if rest[1] == "batch" else RECORD
            record_id = "" if template == BATCH else rest[1]
    if template is None:
        return Route(None, error=ApiError(404, e.NO_ROUTE, "No route for that URI"))
    if method not in _METHODS[template]:
        return Route(template, error=ApiError(405, e.METHOD_NOT_ALLOWED, "Method not allowed for this route"))
    if template != ZONES and not _ID.fullmatch(zone_id):
        return Route(template, error=_unroutable(path))
    if template == RECORD and not _ID.fullmatch(record_id):
        return Route(template, error=_unroutable(path))
    return Route(template, zone_id, record_id)


def parse_json(body: bytes) -> Any:
    """A JSON request body; anything unparsable (bad UTF-8, NaN, huge ints, deep nesting) is 6007."""

    def reject_constant(name: str) -> Any:
        raise ValueError(name)

    try:
        return json.loads(body.decode("utf-8"), parse_constant=reject_constant)
    except (ValueError, RecursionError):
        raise bad_request(e.MALFORMED_JSON, "Malformed JSON in request body") from None


def _zone_name_predicate(raw: str) -> Callable[[str], bool]:
    op, sep, value = raw.partition(":")
    sensitive = op.endswith("_case_sensitive")
    op = op.removesuffix("_case_sensitive")
    if not sep or op not in _NAME_OPS:
        op, value, sensitive = "equal", raw, False
    want = value if sensitive else value.lower()

    def matches(name: str) -> bool:
        have = name if sensitive else name.lower()
        return {
            "equal": have == want,
            "not_equal": have != want,
            "starts_with": have.startswith(want),
            "ends_with": have.endswith(want),
            "contains": want in have,
        }[op]

    return matches


def list_zones(state: Emulator, params: Mapping[str, str]) -> Result:
    """``GET /zones`` with the name operators, status, order and pagination (per_page 5–50)."""
    page = int_param(params, "page", 1, 1, 2**31)
    per_page = int_param(params, "per_page", 20, 5, 50)
    status = choice_param(params, "status", ("initializing", "pending", "active", "moved"), None)
    order = choice_param(params, "order", ("name", "status", "account.id", "account.name"), None)
    direction = choice_param(params, "direction", ("asc", "desc"), "asc")
    match = choice_param(params, "match", ("any", "all"), "all")
    checks: list[Callable[[dict[str, Any]], bool]] = []
    if "name" in params:
        name_ok = _zone_name_predicate(params["name"])
        checks.append(lambda z: name_ok(z["name"]))
    if status is not None:
        checks.append(lambda z: z["status"] == status)
    combine = all if match == "all" else any
    zones = [z.to_api() for z in state.zones()]
    zones = [z for z in zones if combine(check(z) for check in checks)] if checks else zones
    if order is not None:
        field, _, sub = order.partition(".")
        zones.sort(key=lambda z: str(z[field][sub] if sub else z[field]), reverse=direction == "desc")
    start = (page - 1) * per_page
    selected = zones[start : start + per_page]
    info = {
        "page": page,
        "per_page": per_page,
        "count": len(selected),
        "total_count": len(zones),
        "total_pages": math.ceil(len(zones) / per_page),
    }
    return Result(selected, info)


def dispatch(state: Emulator, method: str, rt: Route, params: Mapping[str, str], body: bytes) -> Result:
    """Run the endpoint for a routed, authenticated request. Raises ``ApiError``."""
    if rt.template == ZONES:
        return list_zones(state, params)
    if rt.template == ZONE:
        return Result(state.zone(rt.zone_id).to_api())
    if rt.template == RECORDS and method == "GET":
        records, info = state.list_records(rt.zone_id, params)
        return Result(records, info)
    if rt.template == RECORDS:
        return Result(state.create_record(rt.zone_id, parse_json(body)))
    if rt.template == BATCH:
        return Result(state.batch(rt.zone_id, parse_json(body)))
    if method == "GET":
        return Result(state.get_record(rt.zone_id, rt.record_id))
    if method == "DELETE":
        return Result(state.delete_record(rt.zone_id, rt.record_id))
    if method == "PUT":
        return Result(state.put_record(rt.zone_id, rt.record_id, parse_json(body)))
    return Result(state.patch_record(rt.zone_id, rt.record_id, parse_json(body)))
