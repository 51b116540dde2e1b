"""Pure list/filter/paginate for ``GET /zones/{zone_id}/dns_records``
(docs/architecture.md#records-and-listing).

Filtering by exact name (the common case: dnsbatch reads a record set, the SDK sends ``name.exact``)
uses the zone's name index, so it costs O(records on that name), not O(zone).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from devstack.emulator import errors as e
from devstack.emulator.errors import bad_request
from devstack.emulator.rules import RECORD_TYPES, normalize_filter_name

MAX_PER_PAGE = 5_000_000
ORDERS = ("type", "name", "content", "ttl", "proxied")
Record = dict[str, Any]
Predicate = Callable[[Record], bool]


def int_param(params: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    """An integer query parameter in [low, high]; anything else is a 400 in the envelope."""
    raw = params.get(key)
    if raw is None:
        return default
    try:
        value = float(raw.strip()) if "." in raw or "e" in raw.lower() else int(raw.strip())
    except (ValueError, OverflowError):
        raise bad_request(e.INVALID_QUERY, f"Invalid '{key}' value: must be an integer.") from None
    if isinstance(value, float) and not value.is_integer():
        raise bad_request(e.INVALID_QUERY, f"Invalid '{key}' value: must be an integer.")
    if not low <= value <= high:
        raise bad_request(e.INVALID_QUERY, f"Invalid '{key}' value: must be between {low} and {high}.")
    return int(value)


def choice_param(
    params: Mapping[str, str], key: str, allowed: Iterable[str], default: str | None
) -> str | None:
    """A query parameter restricted to an enum."""
    raw = params.get(key)
    if raw is None:
        return default
    allowed = tuple(allowed)
    if raw not in allowed:
        raise bad_request(e.INVALID_QUERY, f"Invalid '{key}' value: expected one of {', '.join(allowed)}.")
    return raw


def _text(field: str) -> Callable[[Record], str]:
    return lambda rec: str(rec.get(field) or "").lower()


def _string_ops(key: str, get: Callable[[Record], str], value: str) -> Predicate | None:
    op = key.rpartition(".")[2] if "." in key else "exact"
    v = value.lower()
    ops: dict[str, Predicate] = {
        "exact": lambda r: get(r) == v,
        "contains": lambda r: v in get(r),
        "startswith": lambda r: get(r).startswith(v),
        "endswith": lambda r: get(r).endswith(v),
    }
    return ops.get(op)


def _tag_predicate(key: str, value: str) -> Predicate | None:
    tag_name, sep, tag_value = value.lower().partition(":")

    def tags(rec: Record) -> list[tuple[str, str]]:
        return [(n.lower(), v.lower()) for n, _, v in (t.partition(":") for t in rec.get("tags") or [])]

    op = key.partition(".")[2] or ("exact" if sep else "present")
    ops: dict[str, Predicate] = {
        "present": lambda r: any(n == tag_name for n, _ in tags(r)),
        "absent": lambda r: all(n != tag_name for n, _ in tags(r)),
        "exact": lambda r: (tag_name, tag_value) in tags(r),
        "contains": lambda r: any(n == tag_name and tag_value in v for n, v in tags(r)),
        "startswith": lambda r: any(n == tag_name and v.startswith(tag_value) for n, v in tags(r)),
        "endswith": lambda r: any(n == tag_name and v.endswith(tag_value) for n, v in tags(r)),
    }
    return ops.get(op)


def _equals(field: str, want: object) -> Predicate:
    return lambda r: bool(r[field] == want)


def _search(needle: str) -> Predicate:
    return lambda r: any(needle in _text(f)(r) for f in ("name", "content", "comment"))


def _predicates(params: Mapping[str, str]) -> tuple[list[Predicate], str | None]:
    """(predicates, exact name if one was given)."""
    preds: list[Predicate] = []
    exact_name = None
    for key, value in params.items():
        base = key.partition(".")[0]
        pred: Predicate | None = None
        if base == "name":
            name = normalize_filter_name(value)
            if key in ("name", "name.exact"):
                exact_name = name
            pred = _string_ops(key, _text("name"), name)
        elif base == "content":
            pred = _string_ops(key, _text("content"), value)
        elif base == "comment":
            if key == "comment.present":
                pred = lambda r: bool(r.get("comment"))  # noqa: E731
            elif key == "comment.absent":
                pred = lambda r: not r.get("comment")  # noqa: E731
            else:
                pred = _string_ops(key, _text("comment"), value)
        elif base == "tag":
            pred = _tag_predicate(key, value)
        elif key == "type":
            pred = _equals("type", choice_param(params, "type", sorted(RECORD_TYPES), None))
        elif key == "proxied":
            pred = _equals("proxied", choice_param(params, "proxied", ("true", "false"), None) == "true")
        elif key == "search":
            pred = _search(value.lower())
        else:
            continue  # page, per_page, order, ... and unknown parameters, which Cloudflare ignores
        if pred is None:
            raise bad_request(e.INVALID_QUERY, f"Unknown filter '{key[:60]}'.")
        preds.append(pred)
    return preds, exact_name


def _sort_key(order: str) -> Callable[[Record], Any]:
    if order in ("ttl", "proxied"):
        return lambda r: r[order]
    return _text(order)


def query(
    records: Mapping[str, Record], by_name: Mapping[str, Mapping[str, None]], params: Mapping[str, str]
) -> tuple[list[Record], dict[str, int]]:
    """Filter, order and page a zone's records. Returns (page of stored records, result_info).

    A page past the end is an empty list (the SDK pages until it sees one), not an error.
    """
    page = int_param(params, "page", 1, 1, 2**31)
    per_page = int_param(params, "per_page", 100, 1, MAX_PER_PAGE)
    match = choice_param(params, "match", ("any", "all"), "all")
    choice_param(params, "tag_match", ("any", "all"), "all")
    order = choice_param(params, "order", ORDERS, None)
    direction = choice_param(params, "direction", ("asc", "desc"), "asc")
    preds, exact_name = _predicates(params)

    start = (page - 1) * per_page
    if not preds and order is None:
        total = len(records)
        selected = list(itertools.islice(records.values(), start, start + per_page))
    else:
        if match == "all" and exact_name is not None:
            candidates: Iterable[Record] = [records[i] for i in by_name.get(exact_name, {})]
        else:
            candidates = records.values()
        combine = all if match == "all" else any
        matched = [r for r in candidates if combine(p(r) for p in preds)] if preds else list(candidates)
        if order is not None:
            matched.sort(key=_sort_key(order), reverse=direction == "desc")
        total = len(matched)
        selected = matched[start : start + per_page]
    info = {
        "page": page,
        "per_page": per_page,
        "count": len(selected),
        "total_count": total,
        "total_pages": math.ceil(total / per_page),
    }
    return selected, info
