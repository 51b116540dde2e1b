"""Parse and validate ingest messages (the change event, docs/event-contract.md) into :class:`Change` s.

Validation runs in two steps. :func:`structural_errors` checks exactly what the published JSON Schema
(``dnsbatch/schema/change-event.schema.json``) checks, by hand, because ``jsonschema`` is not a runtime
dependency; the tests prove the two agree. Then each structurally valid change is checked for meaning:
the zone allowlist, the name, the values of its type and the per-set rules Cloudflare would enforce.

Every rejection names the field (``changes[3].values[1]``), what was wrong and what is allowed.

Any body ``json.loads`` accepts yields, per change, a :class:`Change` that every later stage can encode
(UTF-8 for logs and SQS, Cloudflare's JSON as httpx sends it) or a :class:`Rejection`; never an exception.
Two checks the schema cannot express run before it: no lone UTF-16 surrogate anywhere in a change (keys
included: ``json.loads`` accepts ``"\\ud800"``, no UTF-8 encoder does) and no key twice in one object.
The text of a rejection is itself safe to log and to send (:mod:`dnsbatch.safe_text`).
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from dnsbatch.model import Action, Change, EventRef, RecordSetKey, RecordValue, Rejection
from dnsbatch.names import NameError_, normalize_name, normalize_zone
from dnsbatch.rdata import PROXIABLE_TYPES, SUPPORTED_TYPES, RdataError, parse_values
from dnsbatch.safe_text import escape, first_surrogate, show

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
# A rejection lists every problem of a change, but a change with 10,000 unknown keys must not make a
# megabyte-long log line: past this many, the rest are counted.
MAX_PROBLEMS_SHOWN = 10
MAX_FIELD_TEXT = 64

Problem = tuple[str, str]  # (field, what is wrong and what is allowed)


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What one message yielded: accepted changes and rejections, in envelope order."""

    changes: tuple[Change, ...]
    rejections: tuple[Rejection, ...]


class _HugeInt:
    """An integer literal too long for ``int()`` (Python refuses more than 4,300 digits by default): kept
    as its length so the field that holds it is rejected as out of range, not the whole message. Not an
    ``int`` nor a ``str``, so no check can take it for either."""

    __slots__ = ("digits",)

    def __init__(self, literal: str) -> None:
        self.digits = len(literal.lstrip("-"))

    def __str__(self) -> str:
        return f"an integer of {self.digits} digits"


def _parse_int(digits: str) -> int | _HugeInt:
    try:
        return int(digits)
    except ValueError:
        return _HugeInt(digits)


class JsonObject(dict[str, Any]):
    """A decoded JSON object that remembers which keys it held more than once."""

    duplicates: tuple[str, ...] = ()


def json_object(pairs: list[tuple[str, Any]]) -> JsonObject:
    """``object_pairs_hook`` for :func:`json.loads`: keys given twice are kept in ``duplicates``."""
    obj = JsonObject(pairs)
    if len(obj) != len(pairs):
        counts = Counter(k for k, _ in pairs)
        obj.duplicates = tuple(k for k, n in counts.items() if n > 1)
    return obj


def _show(value: object) -> str:
    if isinstance(value, _HugeInt):
        return str(value)
    return show(value)


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _field(prefix: str, key: str) -> str:
    """A field path for a message: ``changes[0].ttl``. A key that is not a plain word (an unknown key can
    hold anything, the empty string included) is shown quoted, escaped and cut: ``changes[0]["a b"]``."""
    if _PLAIN_KEY.fullmatch(key):
        return prefix + key
    return f"{prefix.rstrip('.')}[{show(key, MAX_FIELD_TEXT)}]"


def _is_int(value: object) -> bool:
    # JSON Schema's "integer" is any number with a zero fractional part (so 5.0 counts); booleans
    # are not numbers at all, although Python's bool subclasses int. 1e400 decodes to infinity: not one.
    if isinstance(value, _HugeInt):
        return True
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


# C0, DEL, C1 and the Unicode line and paragraph separators. Cloudflare refuses \n and \r in comments
# and tags; what it does with the others is undocumented. House rule: where Cloudflare's behaviour is
# unknown, assume the strictest plausible one, so they are refused at ingest in every text that reaches
# Cloudflare outside a value (zone, name, comment, tags); values have rules of their own (dnsbatch.rdata).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _no_newline(field: str, value: str) -> list[Problem]:
    if "\r" in value or "\n" in value:
        return [(field, "must not contain line breaks (Cloudflare refuses \\n and \\r)")]
    return _no_control(field, value)


def _no_control(field: str, value: str) -> list[Problem]:
    match = _CONTROL.search(value)
    if match is not None:
        return [
            (
                field,
                f"holds the control character \\u{ord(match.group()):04x} (control characters, U+0000-U+001F "
                "and U+007F-U+009F, and the separators U+2028/U+2029 are not accepted)",
            )
        ]
    return []


def _name_string(field: str, value: object) -> list[Problem]:
    return _string(field, value, min_len=1, max_len=MAX_NAME_TEXT) or _no_control(field, str(value))


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
    if isinstance(value, _HugeInt) or (value != 1 and not MIN_TTL <= value <= MAX_TTL):  # type: ignore[operator]
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
        elif _CONTROL.search(tag) or not _tag_ok(tag):
            problems.append(
                (
                    f"{field}[{i}]",
                    f"{_show(tag)} is not a tag (name:value; name 1-32 of A-Z a-z 0-9 _ -, "
                    "value at most 100 characters, no line breaks or other control characters)",
                )
            )
    return problems


def _check_version(field: str, value: object) -> list[Problem]:
    if not _is_int(value):
        return [(field, f"must be an integer, got {_show(value)}")]
    if isinstance(value, _HugeInt) or not 0 <= value <= MAX_VERSION:  # type: ignore[operator]
        return [(field, f"{_show(value)} is out of range (0 to 2^63-1)")]
    return []


def _check_comment(field: str, value: object) -> list[Problem]:
    problems = _string(field, value, max_len=MAX_COMMENT)
    return problems or _no_newline(field, str(value))


_TYPES_TEXT = ", ".join(sorted(SUPPORTED_TYPES))

_FIELD_CHECKS: dict[str, Callable[[str, object, object], list[Problem]]] = {
    "zone": lambda f, v, a: _name_string(f, v),
    "name": lambda f, v, a: _name_string(f, v),
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
    "allow_mass_change": lambda f, v, a: (
        [] if isinstance(v, bool) else [(f, f"must be true or false, got {_show(v)}")]
    ),
}
_REQUIRED = ("zone", "name", "type", "action")
_FIELDS_TEXT = ", ".join(_FIELD_CHECKS)


def _plain_name(value: object) -> bool:
    return type(value) is str and 1 <= len(value) <= MAX_NAME_TEXT and _CONTROL.search(value) is None


def _plain_tags(value: object) -> bool:
    return (
        type(value) is list
        and len(value) <= MAX_TAGS
        and all(type(t) is str and _CONTROL.search(t) is None and _tag_ok(t) for t in value)
    )


# Per field, a quick test that holds only where its check in _FIELD_CHECKS finds nothing (exact types:
# JSON gives nothing else for a valid field; a float TTL such as 300.0, valid, just takes the full check).
_PLAIN_FIELDS: dict[str, Callable[[object], bool]] = {
    "zone": _plain_name,
    "name": _plain_name,
    "type": lambda v: type(v) is str and v in SUPPORTED_TYPES,
    "action": lambda v: v in ("upsert", "delete"),
    "values": lambda v: (
        type(v) is list
        and len(v) <= MAX_VALUES_PER_SET
        and all(type(item) is str and 1 <= len(item) <= MAX_VALUE_TEXT for item in v)
    ),
    "ttl": lambda v: type(v) is int and (v == 1 or MIN_TTL <= v <= MAX_TTL),
    "proxied": lambda v: type(v) is bool,
    "comment": lambda v: type(v) is str and len(v) <= MAX_COMMENT and _CONTROL.search(v) is None,
    "tags": _plain_tags,
    "version": lambda v: type(v) is int and 0 <= v <= MAX_VERSION,
    "source": lambda v: type(v) is str and len(v) <= MAX_REF_TEXT,
    "id": lambda v: type(v) is str and len(v) <= MAX_REF_TEXT,
    "allow_mass_change": lambda v: type(v) is bool,
}
_REQUIRED_KEYS = frozenset(_REQUIRED)


def _plainly_valid(obj: dict[str, Any]) -> bool:
    """True only if :func:`_change_errors` would find no problem in ``obj``: the common case, told in a
    fraction of the time the checks that name every problem take. False means: run those checks."""
    if not obj.keys() >= _REQUIRED_KEYS:
        return False
    values = obj.get("values")
    if obj["action"] == "upsert" and not values:  # missing or empty: the full checks say which
        return False
    if obj["action"] == "delete" and "values" in obj and values != []:
        return False
    plain = _PLAIN_FIELDS
    for key, value in obj.items():
        check = plain.get(key)
        if check is None or not check(value):
            return False
    return True


def _change_errors(obj: object, prefix: str) -> list[Problem]:
    if isinstance(obj, dict) and _plainly_valid(obj):
        return []
    where = prefix.rstrip(".") or "body"
    if not isinstance(obj, dict):
        return [(where, f"must be a change object, got {_show(obj)}")]
    problems: list[Problem] = [
        (_field(prefix, key), f"is not a known field (allowed: {_FIELDS_TEXT})")
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
            (_field("", key), "is not allowed beside changes (an envelope holds only changes)")
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


# json.loads makes a decoder per call; these are made once (a decoder keeps no state between calls).
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=json_object)
_HUGE_INT_DECODER = json.JSONDecoder(
    parse_constant=_reject_constant, parse_int=_parse_int, object_pairs_hook=json_object
)


def _decode(body: str) -> Any:
    if not isinstance(body, str) or body.startswith("\ufeff"):
        # json.loads's own handling: bytes decoded, a BOM refused with its own message.
        return json.loads(
            body, parse_constant=_reject_constant, parse_int=_parse_int, object_pairs_hook=json_object
        )
    limit = sys.get_int_max_str_digits()
    # A body no longer than the limit holds no integer literal int() refuses: the C scanner's own int
    # parsing is then the same as _parse_int, at a fraction of the cost of a Python call per integer.
    decoder = _DECODER if limit == 0 or len(body) <= limit else _HUGE_INT_DECODER
    return decoder.decode(body)


def _reason(problems: list[Problem]) -> str:
    shown = "; ".join(f"{field}: {what}" for field, what in problems[:MAX_PROBLEMS_SHOWN])
    if len(problems) > MAX_PROBLEMS_SHOWN:
        shown += f"; and {len(problems) - MAX_PROBLEMS_SHOWN} more problems"
    # Belt and braces: whatever a parser put in its message, the reason must encode (it goes into a log
    # line, an SQS message attribute and the outcome).
    return escape(shown)


# A surrogate can only reach a decoded string as an escape (\udXXX) or raw in the body: a body with neither
# needs no walk (a false alarm, such as an escaped backslash before "ud800", only costs the walk).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _may_hold_surrogates(body: str) -> bool:
    return _SURROGATE_ESCAPE.search(body) is not None or first_surrogate(body) is not None


def _text_problems(obj: object, prefix: str, *, surrogates: bool = True) -> list[Problem]:
    """What the schema cannot say: a lone surrogate in any key or string of a change, at any depth (the
    first one is enough; looked for only when ``surrogates``), and a key given twice in the change object."""
    where = prefix.rstrip(".") or "body"
    problems: list[Problem] = []
    duplicates = getattr(obj, "duplicates", ())
    problems += [
        (_field(prefix, key), "appears twice in the object (JSON parsers disagree on which one counts)")
        for key in duplicates
    ]
    if not surrogates:
        return problems
    # Iterative, not recursive: json.loads accepts nesting close to the interpreter's recursion limit.
    stack: list[tuple[str, object]] = [(where, obj)]
    while stack:
        path, item = stack.pop()
        texts: list[tuple[str, str]] = []
        if isinstance(item, str):
            texts.append((path, item))
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = _field(f"{path}.", key) if path != "body" else _field("", key)
                texts.append((child_path, key))
                stack.append((child_path, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
        for text_path, text in texts:
            at = first_surrogate(text)
            if at is not None:
                problems.append(
                    (
                        text_path,
                        f"holds a lone UTF-16 surrogate (\\u{ord(text[at]):04x} at character {at}), which is "
                        "not text: no UTF-8 encoder (logs, SQS, Cloudflare's JSON) can carry it",
                    )
                )
                return problems
    return problems


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


_ACTIONS = {action.value: action for action in Action}  # a dict lookup costs a fifth of Action(...)


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
    action = _ACTIONS[obj["action"]]
    version = int(obj.get("version", ref.sent_timestamp))
    key = RecordSetKey(zone=zone, name=name, type=type_)
    allow_mass_change = obj.get("allow_mass_change") is True
    if action is Action.DELETE:
        return Change(
            key=key, action=action, values=(), version=version, ref=ref, allow_mass_change=allow_mass_change
        )
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
        allow_mass_change=allow_mass_change,
    )


def _key_of(obj: Mapping[str, Any]) -> RecordSetKey | None:
    """The record set a rejected change was about, when it can be worked out (for the log line). Only
    normalised names and a supported type: the key goes into logs and message attributes as it is."""
    try:
        if obj["type"] not in SUPPORTED_TYPES:
            return None
        zone = normalize_zone(obj["zone"])
        return RecordSetKey(zone=zone, name=normalize_name(obj["name"], zone), type=str(obj["type"]))
    except (KeyError, TypeError, AttributeError, ValueError):
        return None


def _change_ref(obj: object, ref: EventRef, index: int) -> EventRef:
    source = event_id = None
    if isinstance(obj, dict):
        raw_source, raw_id = obj.get("source"), obj.get("id")
        # Carried into every log line about the change, rejected or not: escaped, so that a lone
        # surrogate in them cannot make the rejection's own log line fail to encode.
        source = _ref_text(raw_source[:MAX_REF_TEXT]) if isinstance(raw_source, str) else None
        event_id = _ref_text(raw_id[:MAX_REF_TEXT]) if isinstance(raw_id, str) else None
    return EventRef(ref.message_id, ref.sent_timestamp, source, event_id, index)


def _ref_text(text: str) -> str:
    # Printable ASCII holds nothing escape() replaces: the usual source or id skips its regex.
    return text if text.isascii() and text.isprintable() else escape(text)


@lru_cache(maxsize=16)
def _allowed_zones(zones: frozenset[str]) -> frozenset[str]:
    return frozenset(z.lower().rstrip(".") for z in zones)


def parse_message(body: str, ref: EventRef, *, zones: Collection[str]) -> ParseResult:
    """Parse one SQS message body into accepted changes and rejections.

    ``body`` is one change object or ``{"changes": [...]}``. Malformed JSON or a malformed envelope
    gives one rejection for the whole message; otherwise each change is accepted or rejected on its
    own, and each gets ``ref`` with its envelope ``index`` and its own ``source``/``id``. ``zones``
    holds the allowlisted zone names, lowercase. Never raises for bad input.
    """
    try:
        obj = _decode(body)
    except RecursionError:
        reason = "body: not valid JSON (nested too deeply to read; a change event is at most 4 levels deep)"
        return ParseResult((), (Rejection(ref=ref, reason=reason, field="body"),))
    except ValueError as exc:  # JSONDecodeError, and a BOM or NaN/Infinity
        reason = escape(f"body: not valid JSON ({exc})")
        return ParseResult((), (Rejection(ref=ref, reason=reason, field="body"),))
    if isinstance(obj, dict) and "changes" in obj:
        envelope_problems = [p for p in structural_errors(obj) if not p[0].startswith("changes[")]
        envelope_problems += [
            (_field("", key), "appears twice in the envelope (JSON parsers disagree on which one counts)")
            for key in getattr(obj, "duplicates", ())
        ]
        if envelope_problems:
            reason = _reason(envelope_problems)
            field = escape(envelope_problems[0][0])
            return ParseResult((), (Rejection(ref=ref, reason=reason, field=field),))
        items: list[tuple[object, str]] = [(c, f"changes[{i}].") for i, c in enumerate(obj["changes"])]
    else:
        items = [(obj, "")]
    # A handler passes the same frozenset for every message: normalised once.
    allowed = (
        _allowed_zones(zones)
        if isinstance(zones, frozenset)
        else frozenset(z.lower().rstrip(".") for z in zones)
    )
    surrogates = _may_hold_surrogates(body)
    changes: list[Change] = []
    rejections: list[Rejection] = []
    for index, (item, prefix) in enumerate(items):
        change_ref = _change_ref(item, ref, index)
        problems = _text_problems(item, prefix, surrogates=surrogates)
        problems += _change_errors(item, prefix)
        if problems:
            key = _key_of(item) if isinstance(item, dict) else None
            rejections.append(
                Rejection(ref=change_ref, reason=_reason(problems), field=escape(problems[0][0]), key=key)
            )
            continue
        assert isinstance(item, dict)
        try:
            change = _build(item, change_ref, allowed, prefix)
            _check_encodes(change, prefix)
            changes.append(change)
        except _Rejected as exc:
            rejections.append(
                Rejection(
                    ref=change_ref, reason=escape(exc.reason), field=escape(exc.field), key=_key_of(item)
                )
            )
    return ParseResult(tuple(changes), tuple(rejections))


def _check_encodes(change: Change, prefix: str) -> None:
    """The defensive property: an accepted change encodes the way every later stage encodes it (httpx sends
    ``json.dumps(ensure_ascii=False)`` as UTF-8). The checks above make this unreachable; if a parser ever
    lets something through, the change is rejected here, not in the batcher where it would block its zone."""
    # Every text of the change at once (json.dumps of the whole change cost an eighth of parse_message):
    # JSON adds only ASCII around them, so they encode exactly when the request body does.
    texts = [change.key.zone, change.key.name, change.key.type, change.comment or "", *change.tags]
    plain = True
    for value in change.values:
        texts.append(value.content)
        for key, item in value.data or ():
            texts.append(key)
            if isinstance(item, str):
                texts.append(item)
            else:
                # LOC's seconds and metres may be fractions; NaN and infinities have no JSON form.
                plain = plain and (
                    (isinstance(item, int) and not isinstance(item, bool))
                    or (isinstance(item, float) and math.isfinite(item))
                )
    try:
        "".join(texts).encode("utf-8")
    except UnicodeEncodeError:
        plain = False
    if not plain:
        raise _Rejected(
            f"{prefix}values",
            f"{prefix}values: the change cannot be encoded as UTF-8 JSON; check every text field for lone "
            "surrogates",
        )
