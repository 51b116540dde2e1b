"""Parse and validate ingest messages (the change event, docs/event-contract.md) into :class:`Change` s.

Validation runs in two steps. :func:`structural_errors` checks exactly what the published JSON Schema
(``dnsbatch/schema/change-event.schema.json``) checks, by hand, because ``jsonschema`` is not a runtime
dependency; the tests prove the two agree. Then each structurally valid change is checked for meaning:
the zone allowlist, the name, the values of its type and the per-set rules Cloudflare would enforce.

Every rejection names the field (``changes[3].values[1]``), what was wrong and what is allowed.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from dnsbatch.model import Action, Change, EventRef, RecordSetKey, RecordValue, Rejection
from dnsbatch.names import NameError_, normalize_name, normalize_zone
from dnsbatch.rdata import PROXIABLE_TYPES, SUPPORTED_TYPES, RdataError, parse_values

__all__ = [
    "MAX_CHANGES_PER_MESSAGE",
    "MAX_VALUES_PER_SET",
    "ParseResult",
    "parse_message",
    "structural_errors",
]

# Far above any real round-robin or TXT set, low enough that one event cannot make a huge batch.
MAX_VALUES_PER_SET = 100
# An SQS message is at most 1 MiB, so this is never the binding limit for sensible changes.
MAX_CHANGES_PER_MESSAGE = 10_000
MAX_TTL = 86_400
MIN_TTL = 60  # Cloudflare allows 30 on Enterprise zones only; 60 works on every plan.
MAX_COMMENT = 500  # the paid-plan limit; the planner applies Free's 100, it knows the plan
MAX_TAGS = 20
MAX_REF_TEXT = 256
MAX_VERSION = 2**63 - 1
MAX_NAME_TEXT = 254
MAX_VALUE_TEXT = 16_384

Problem = tuple[str, str]  # (field, what is wrong and what is allowed)


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What one message yielded: accepted changes and rejections, in envelope order."""

    changes: tuple[Change, ...]
    rejections: tuple[Rejection, ...]


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_int(value: object) -> bool:
    # JSON Schema's "integer" is any number with a zero fractional part (so 5.0 counts); booleans
    # are not numbers at all, although Python's bool subclasses int.
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _string(field: str, value: object, *, min_len: int = 0, max_len: int) -> list[Problem]:
    if not isinstance(value, str):
        return [(field, f"must be a string, got {_show(value)}")]
    if len(value) < min_len:
        return [(field, "must not be empty")]
    if len(value) > max_len:
        return [(field, f"is {len(value)} characters long (at most {max_len} allowed)")]
    return []


def _no_newline(field: str, value: str) -> list[Problem]:
    if "\r" in value or "\n" in value:
        return [(field, "must not contain line breaks (Cloudflare refuses \\n and \\r)")]
    return []


def _tag_ok(tag: str) -> bool:
    name, sep, value = tag.partition(":")
    return (
        bool(sep)
        and 1 <= len(name) <= 32
        and all(c.isascii() and (c.isalnum() or c in "_-") for c in name)
        and len(value) <= 100
    )


def _check_values(field: str, value: object, action: object) -> list[Problem]:
    if not isinstance(value, list):
        return [(field, f"must be a list of strings, got {_show(value)}")]
    problems: list[Problem] = []
    if len(value) > MAX_VALUES_PER_SET:
        problems.append((field, f"has {len(value)} values (at most {MAX_VALUES_PER_SET} per record set)"))
    if action == "upsert" and not value:
        problems.append(
            (field, "is empty; an upsert needs at least one value (to remove the set, use delete)")
        )
    if action == "delete" and value:
        problems.append((field, "delete takes no values (leave values out)"))
    for i, item in enumerate(value):
        problems += _string(f"{field}[{i}]", item, min_len=1, max_len=MAX_VALUE_TEXT)
    return problems


def _check_ttl(field: str, value: object) -> list[Problem]:
    if not _is_int(value):
        return [(field, f"must be an integer, got {_show(value)}")]
    assert isinstance(value, int | float)
    if value != 1 and not MIN_TTL <= value <= MAX_TTL:
        return [
            (
                field,
                f"{_show(value)} is not allowed (1 for automatic, or {MIN_TTL}-{MAX_TTL} seconds; "
                "30-59 is Enterprise-only and not accepted)",
            )
        ]
    return []


def _check_tags(field: str, value: object) -> list[Problem]:
    if not isinstance(value, list):
        return [(field, f"must be a list of name:value strings, got {_show(value)}")]
    problems: list[Problem] = []
    if len(value) > MAX_TAGS:
        problems.append((field, f"has {len(value)} tags (at most {MAX_TAGS})"))
    for i, tag in enumerate(value):
        if not isinstance(tag, str):
            problems.append((f"{field}[{i}]", f"must be a string, got {_show(tag)}"))
        elif "\r" in tag or "\n" in tag or not _tag_ok(tag):
            problems.append(
                (
                    f"{field}[{i}]",
                    f"{_show(tag)} is not a tag (name:value; name 1-32 of A-Z a-z 0-9 _ -, "
                    "value at most 100 characters, no line breaks)",
                )
            )
    return problems


def _check_version(field: str, value: object) -> list[Problem]:
    if not _is_int(value):
        return [(field, f"must be an integer, got {_show(value)}")]
    assert isinstance(value, int | float)
    if not 0 <= value <= MAX_VERSION:
        return [(field, f"{_show(value)} is out of range (0 to 2^63-1)")]
    return []


def _check_comment(field: str, value: object) -> list[Problem]:
    problems = _string(field, value, max_len=MAX_COMMENT)
    return problems or _no_newline(field, str(value))


_TYPES_TEXT = ", ".join(sorted(SUPPORTED_TYPES))

_FIELD_CHECKS: dict[str, Callable[[str, object, object], list[Problem]]] = {
    "zone": lambda f, v, a: _string(f, v, min_len=1, max_len=MAX_NAME_TEXT),
    "name": lambda f, v, a: _string(f, v, min_len=1, max_len=MAX_NAME_TEXT),
    "type": lambda f, v, a: (
        []
        if isinstance(v, str) and v in SUPPORTED_TYPES
        else [(f, f"{_show(v)} is not a supported type ({_TYPES_TEXT})")]
    ),
    "action": lambda f, v, a: (
        [] if v in ("upsert", "delete") else [(f, f"{_show(v)} must be upsert or delete")]
    ),
    "values": _check_values,
    "ttl": lambda f, v, a: _check_ttl(f, v),
    "proxied": lambda f, v, a: [] if isinstance(v, bool) else [(f, f"must be true or false, got {_show(v)}")],
    "comment": lambda f, v, a: _check_comment(f, v),
    "tags": lambda f, v, a: _check_tags(f, v),
    "version": lambda f, v, a: _check_version(f, v),
    "source": lambda f, v, a: _string(f, v, max_len=MAX_REF_TEXT),
    "id": lambda f, v, a: _string(f, v, max_len=MAX_REF_TEXT),
}
_REQUIRED = ("zone", "name", "type", "action")
_FIELDS_TEXT = ", ".join(_FIELD_CHECKS)


def _change_errors(obj: object, prefix: str) -> list[Problem]:
    where = prefix.rstrip(".") or "body"
    if not isinstance(obj, dict):
        return [(where, f"must be a change object, got {_show(obj)}")]
    problems: list[Problem] = [
        (f"{prefix}{key}", f"is not a known field (allowed: {_FIELDS_TEXT})")
        for key in obj
        if key not in _FIELD_CHECKS
    ]
    problems += [(f"{prefix}{key}", "is required") for key in _REQUIRED if key not in obj]
    action = obj.get("action")
    if action == "upsert" and "values" not in obj:
        problems.append((f"{prefix}values", "is required for upsert (the values the set should hold)"))
    for key, check in _FIELD_CHECKS.items():
        if key in obj:
            problems += check(f"{prefix}{key}", obj[key], action)
    return problems


def structural_errors(obj: object) -> list[Problem]:
    """Every way ``obj`` (a decoded message body) breaks the published schema, as (field, reason).

    Empty exactly when the schema accepts ``obj``. An object with a ``changes`` key is an envelope.
    """
    if isinstance(obj, dict) and "changes" in obj:
        problems: list[Problem] = [
            (key, "is not allowed beside changes (an envelope holds only changes)")
            for key in obj
            if key != "changes"
        ]
        changes = obj["changes"]
        if not isinstance(changes, list):
            return [*problems, ("changes", f"must be a list of change objects, got {_show(changes)}")]
        if not changes:
            problems.append(("changes", "is empty (send at least one change)"))
        if len(changes) > MAX_CHANGES_PER_MESSAGE:
            problems.append(("changes", f"has {len(changes)} changes (at most {MAX_CHANGES_PER_MESSAGE})"))
        for i, change in enumerate(changes):
            problems += _change_errors(change, f"changes[{i}].")
        return problems
    return _change_errors(obj, "")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _reason(problems: list[Problem]) -> str:
    return "; ".join(f"{field}: {what}" for field, what in problems)


class _Rejected(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _unproxiable(values: tuple[RecordValue, ...], type_: str, prefix: str) -> None:
    if type_ not in ("A", "AAAA"):
        return
    for i, value in enumerate(values):
        address = ipaddress.ip_address(value.content)
        if not address.is_global:
            raise _Rejected(
                f"{prefix}values[{i}]",
                f"{prefix}values[{i}]: {value.content} is a private or reserved address, which Cloudflare "
                "cannot proxy (error 9041); set proxied to false or use a public address",
            )


def _build(obj: Mapping[str, Any], ref: EventRef, zones: Collection[str], prefix: str) -> Change:
    try:
        zone = normalize_zone(obj["zone"])
    except NameError_ as exc:
        raise _Rejected(f"{prefix}zone", f"{prefix}zone: {exc}") from None
    if zone not in zones:
        shown = ", ".join(sorted(zones)[:10]) or "none configured"
        raise _Rejected(
            f"{prefix}zone",
            f"{prefix}zone: {_show(obj['zone'])} is not a zone dnsbatch manages (allowed: {shown})",
        )
    try:
        name = normalize_name(obj["name"], zone)
    except NameError_ as exc:
        raise _Rejected(f"{prefix}name", f"{prefix}name: {exc}") from None
    type_ = obj["type"]
    action = Action(obj["action"])
    version = int(obj.get("version", ref.sent_timestamp))
    key = RecordSetKey(zone=zone, name=name, type=type_)
    if action is Action.DELETE:
        return Change(key=key, action=action, values=(), version=version, ref=ref)
    try:
        values = parse_values(type_, obj["values"], name=name, zone=zone)
    except RdataError as exc:
        raise _Rejected(f"{prefix}{exc.field}", f"{prefix}{exc}") from None
    proxied = bool(obj.get("proxied", False))
    if proxied and type_ not in PROXIABLE_TYPES:
        raise _Rejected(
            f"{prefix}proxied", f"{prefix}proxied: {type_} records cannot be proxied (only A, AAAA and CNAME)"
        )
    if proxied:
        _unproxiable(values, type_, prefix)
    return Change(
        key=key,
        action=action,
        values=values,
        version=version,
        ref=ref,
        # Cloudflare serves proxied records with automatic TTL whatever is stored; storing 1 keeps the
        # planner from seeing a TTL difference on every run (docs/architecture.md#lessons-from-the-peers,
        # lesson 5).
        ttl=1 if proxied else int(obj.get("ttl", 1)),
        proxied=proxied,
        comment=obj.get("comment"),
        tags=tuple(obj.get("tags", ())),
    )


def _key_of(obj: Mapping[str, Any]) -> RecordSetKey | None:
    """The record set a rejected change was about, when it can be worked out (for the log line)."""
    try:
        zone = normalize_zone(obj["zone"])
        return RecordSetKey(zone=zone, name=normalize_name(obj["name"], zone), type=str(obj["type"]))
    except (KeyError, TypeError, AttributeError, ValueError):
        return None


def _change_ref(obj: object, ref: EventRef, index: int) -> EventRef:
    source = event_id = None
    if isinstance(obj, dict):
        raw_source, raw_id = obj.get("source"), obj.get("id")
        source = raw_source[:MAX_REF_TEXT] if isinstance(raw_source, str) else None
        event_id = raw_id[:MAX_REF_TEXT] if isinstance(raw_id, str) else None
    return EventRef(
        message_id=ref.message_id,
        sent_timestamp=ref.sent_timestamp,
        source=source,
        event_id=event_id,
        index=index,
    )


def parse_message(body: str, ref: EventRef, *, zones: Collection[str]) -> ParseResult:
    """Parse one SQS message body into accepted changes and rejections.

    ``body`` is one change object or ``{"changes": [...]}``. Malformed JSON or a malformed envelope
    gives one rejection for the whole message; otherwise each change is accepted or rejected on its
    own, and each gets ``ref`` with its envelope ``index`` and its own ``source``/``id``. ``zones``
    holds the allowlisted zone names, lowercase. Never raises for bad input.
    """
    try:
        obj = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        return ParseResult((), (Rejection(ref=ref, reason=f"body: not valid JSON ({exc})", field="body"),))
    if isinstance(obj, dict) and "changes" in obj:
        envelope_problems = [p for p in structural_errors(obj) if not p[0].startswith("changes[")]
        if envelope_problems:
            reason = _reason(envelope_problems)
            return ParseResult((), (Rejection(ref=ref, reason=reason, field=envelope_problems[0][0]),))
        items: list[tuple[object, str]] = [(c, f"changes[{i}].") for i, c in enumerate(obj["changes"])]
    else:
        items = [(obj, "")]
    allowed = frozenset(z.lower().rstrip(".") for z in zones)
    changes: list[Change] = []
    rejections: list[Rejection] = []
    for index, (item, prefix) in enumerate(items):
        change_ref = _change_ref(item, ref, index)
        problems = _change_errors(item, prefix)
        if problems:
            key = _key_of(item) if isinstance(item, dict) else None
            rejections.append(
                Rejection(ref=change_ref, reason=_reason(problems), field=problems[0][0], key=key)
            )
            continue
        assert isinstance(item, dict)
        try:
            changes.append(_build(item, change_ref, allowed, prefix))
        except _Rejected as exc:
            rejections.append(
                Rejection(ref=change_ref, reason=exc.reason, field=exc.field, key=_key_of(item))
            )
    return ParseResult(tuple(changes), tuple(rejections))
