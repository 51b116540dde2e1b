"""Record values per type: presentation text → canonical :class:`RecordValue`, and back to Cloudflare.

A :class:`RecordValue` is the *identity* of one record: the planner treats two records as the same
exactly when their values are equal. So :func:`parse_values` (what a producer sent) and
:func:`value_from_record` (what Cloudflare echoes) go through one path,
:func:`dnsbatch.rdata_parsers.canonical` (dnspython's rdata classes, cached): a producer's text directly,
Cloudflare's record as the presentation text rebuilt from its ``content`` / ``data`` / ``priority``. The
same record gives the same value whatever spelling either side used (``port=0853`` and ``port=853``,
``2001:DB8::1`` and ``2001:db8::1``, hex case, TXT quoting, base64 line breaks).

- Flat types (A, AAAA, CNAME, NS, PTR, MX, TXT, OPENPGPKEY) travel as ``content`` (+ ``priority`` for
  MX). Host names are lowercase IDNA 2008 punycode without the trailing dot (Cloudflare strips it).
- Structured types (SRV, CAA, URI, TLSA, SMIMEA, SSHFP, DS, HTTPS, SVCB, CERT, DNSKEY, LOC, NAPTR) travel
  as ``data`` (+ ``priority`` for URI), whose fields are in :data:`DATA_KEYS`; their identity is
  ``data``. ``content`` is *our* rendering of it, because Cloudflare's formatted ``content`` for these
  types is read-only and its exact format is undocumented: it is never parsed for them.

The per-type mapping lives in :mod:`dnsbatch.rdata_parsers` and TXT character-strings in
:mod:`dnsbatch.txt`; this module holds the set rules and the Cloudflare side (docs/record-values.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from dnsbatch.cloudflare.types import Record
from dnsbatch.model import RecordValue
from dnsbatch.rdata_parsers import (
    CAA_TAGS,
    DATA_KEYS,
    SUPPORTED_TYPES,
    Invalid,
    canonical,
    number,
    parse_txt,
    show,
)
from dnsbatch.safe_text import first_surrogate
from dnsbatch.txt import MAX_STRING, TxtError, parse_character_strings, quote, render_txt, split_bare_text

__all__ = [
    "CAA_TAGS",
    "DATA_KEYS",
    "MAX_SET_CONTENT",
    "MAX_STRING",
    "PROXIABLE_TYPES",
    "SUPPORTED_TYPES",
    "RdataError",
    "TxtError",
    "duplicate_key",
    "parse_character_strings",
    "parse_value",
    "parse_values",
    "presentation",
    "quote",
    "record_fields",
    "record_presentation",
    "render_txt",
    "split_bare_text",
    "value_from_record",
]

# Only these carry Cloudflare's ``proxied`` flag (docs/architecture.md#per-type-and-zone-rules: others give
# 9004).
PROXIABLE_TYPES: frozenset[str] = frozenset({"A", "AAAA", "CNAME"})
# Unicode's Cc category: C0, DEL and C1. House rule (docs/event-contract.md): where Cloudflare's behaviour
# is unknown, assume the strictest plausible one, so a raw control character in a value (almost always a
# templating bug such as a trailing newline) is refused at ingest rather than sent and guessed at.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
MAX_SET_CONTENT = 8192


class RdataError(ValueError):
    """A value that is not valid for its type. ``field`` locates it (``values[2]``), ``detail`` says why."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}" if field else detail)
        self.field = field
        self.detail = detail


def _check_type(type_: str) -> None:
    if type_ not in SUPPORTED_TYPES:
        raise RdataError(
            "type", f"{show(type_)} is not a supported type (allowed: {', '.join(sorted(SUPPORTED_TYPES))})"
        )


def parse_value(type_: str, text: str, *, name: str, field: str = "value") -> RecordValue:
    """Parse one presentation value of ``type_`` for the record named ``name`` (a normalised FQDN).

    Raises :class:`RdataError` whose message starts with ``field``.
    """
    _check_type(type_)
    at = first_surrogate(text)
    if at is not None:
        # Every parser would meet it sooner or later (TXT bytes, CAA/URI/SVCB quoting, httpx's body):
        # refuse it here, once, with the field named.
        raise RdataError(
            field,
            f"{show(text)} holds a lone UTF-16 surrogate (\\u{ord(text[at]):04x} at character {at}), "
            "which is not text and cannot be encoded as UTF-8",
        )
    control = _CONTROL.search(text)
    if control is not None:
        raise RdataError(
            field,
            f"{show(text)} holds the control character \\u{ord(control.group()):04x}; Cloudflare's handling "
            "of control characters is not documented, so none is accepted in a value (a TXT string can "
            'hold any byte written as a \\DDD escape inside quotes, e.g. "a\\009b")',
        )
    try:
        value = canonical(type_, text)
    except Invalid as exc:
        raise RdataError(field, str(exc)) from None
    if type_ == "CNAME" and value.content == name:
        raise RdataError(
            field, f"CNAME target {show(text)} is the record's own name (a CNAME cannot point at itself)"
        )
    if type_ == "SRV":
        labels = name.split(".")
        if len(labels) < 3 or not labels[0].startswith("_") or not labels[1].startswith("_"):
            raise RdataError(
                field,
                f"SRV record name {show(name)} must look like _service._proto.name "
                "(e.g. _sip._tcp.example.com)",
            )
    return value


def parse_values(type_: str, values: Sequence[str], *, name: str, zone: str) -> tuple[RecordValue, ...]:
    """Parse and canonicalise the values of one record set.

    ``name`` and ``zone`` are normalised (see :mod:`dnsbatch.names`). Besides each value's own rules,
    checks the set: a CNAME holds exactly one value, no value appears twice (after canonicalisation:
    Cloudflare would refuse the second with 81058), no two values could be taken by Cloudflare as the
    same record (MX with the same host, SRV with the same weight/port/target, URI with the same
    weight/target, whatever their priorities; any type's contents differing only in letter case), and
    the contents total at most 8,192 characters (Cloudflare's per-set limit). Raises
    :class:`RdataError` naming the field, e.g. ``values[3]``.
    """
    _check_type(type_)
    parsed: list[RecordValue] = []
    seen: dict[RecordValue, int] = {}
    seen_keys: dict[str, int] = {}
    for i, text in enumerate(values):
        value = parse_value(type_, text, name=name, field=f"values[{i}]")
        if value in seen:
            raise RdataError(
                f"values[{i}]",
                f"{show(text)} is the same record as values[{seen[value]}] "
                "(each value may appear once in a set)",
            )
        key = duplicate_key(type_, value)
        if key in seen_keys:
            raise RdataError(f"values[{i}]", _duplicate_detail(type_, text, value, seen_keys[key], parsed))
        seen[value] = i
        seen_keys[key] = i
        parsed.append(value)
    if type_ == "CNAME" and len(parsed) > 1:
        raise RdataError("values", f"a CNAME set holds exactly one value, got {len(parsed)}")
    total = sum(len(v.content) for v in parsed)
    if total > MAX_SET_CONTENT:
        raise RdataError(
            "values",
            f"the set's content totals {total} characters "
            f"(Cloudflare allows {MAX_SET_CONTENT} per name and type)",
        )
    return tuple(parsed)


# Cloudflare refuses a second record with the same type, name and *content* (81058,
# docs/architecture.md#per-type-and-zone-rules), and
# the content of MX, SRV and URI leaves the priority out (it is a field of its own). Whether two such
# records that differ only in priority, or only in letter case, count as identical is undocumented. House
# rule: where Cloudflare's behaviour is unknown, assume the strictest plausible one, so these sets are
# refused at ingest with a clear message instead of failing a whole batch with 81058 later. The emulator
# (devstack/emulator/rules.py, state.py) applies the same identity.
_PRIORITY_FREE: dict[str, tuple[tuple[str, ...], str]] = {
    "SRV": (("weight", "port", "target"), "weight, port and target"),
    "URI": (("weight", "target"), "weight and target"),
}


def duplicate_key(type_: str, value: RecordValue) -> str:
    """What Cloudflare's duplicate check (81058) is assumed to compare: content without priority, any case.

    Two values of one set with equal keys cannot both exist as records, not even for a moment.
    """
    if type_ in _PRIORITY_FREE:
        data = value.data_dict() or {}
        keys, _ = _PRIORITY_FREE[type_]
        return " ".join(str(data.get(k, "")) for k in keys).lower()
    return value.content.lower()


def _priority(type_: str, value: RecordValue) -> int | str | float | None:
    if type_ == "SRV":
        return (value.data_dict() or {}).get("priority")
    return value.priority


def _duplicate_detail(
    type_: str, text: str, value: RecordValue, earlier: int, parsed: Sequence[RecordValue]
) -> str:
    if _priority(type_, value) != _priority(type_, parsed[earlier]):
        if type_ == "MX":
            shown, same = value.content, "host"
        else:
            keys, same = _PRIORITY_FREE[type_]
            data = value.data_dict() or {}
            shown = f"{type_} " + " ".join(
                quote(str(data[k]).encode()) if type_ == "URI" and k == "target" else str(data[k])
                for k in keys
            )
        return (
            f"{shown} appears twice with different priorities; "
            f"Cloudflare treats records with the same {same} as duplicates"
        )
    return (
        f"{show(text)} differs from values[{earlier}] only in letter case; Cloudflare may compare "
        "record content regardless of case and refuse it as a duplicate (81058)"
    )


def presentation(type_: str, value: RecordValue) -> str:
    """The zone-file presentation text of a canonical value; ``parse_value`` reads it back unchanged."""
    if type_ == "MX":
        return f"{value.priority} {value.content}"
    return value.content


# --- Cloudflare side ---------------------------------------------------------------------------------


def record_fields(type_: str, value: RecordValue) -> dict[str, Any]:
    """The type-specific part of a Cloudflare create/put body for ``value``.

    ``{"content": ...}`` for flat types, plus ``"priority"`` for MX; ``{"data": {...}}`` for
    structured types (Cloudflare builds their content itself), plus ``"priority"`` for URI.
    """
    if type_ in DATA_KEYS:
        fields: dict[str, Any] = {"data": value.data_dict() or {}}
        if type_ == "URI":
            fields["priority"] = value.priority
        return fields
    fields = {"content": value.content}
    if type_ == "MX":
        fields["priority"] = value.priority
    return fields


def _quoted(value: object) -> str:
    return quote(str(value).encode())


def _seconds(value: object) -> str:
    number(value)  # a number, not a string that happens to parse
    return f"{float(value):.3f}"  # type: ignore[arg-type]


def _metres(value: object) -> str:
    number(value)
    return f"{float(value):.2f}m"  # type: ignore[arg-type]


# How each ``data`` field is written in the presentation text rebuilt from a Cloudflare record.
_WRITE: dict[str, Any] = {
    "CAA.value": _quoted,
    "URI.target": _quoted,
    "NAPTR.flags": _quoted,
    "NAPTR.service": _quoted,
    "NAPTR.regex": _quoted,
    "LOC.lat_seconds": _seconds,
    "LOC.long_seconds": _seconds,
    "LOC.altitude": _metres,
    "LOC.size": _metres,
    "LOC.precision_horz": _metres,
    "LOC.precision_vert": _metres,
}
_TEXT_FIELDS = frozenset(
    {"target", "tag", "value", "certificate", "fingerprint", "digest", "public_key", "replacement"}
    | {"lat_direction", "long_direction"}
)


# Fields Cloudflare's schema gives a default (openapi-dns.json): a record may come back without them.
_DEFAULTS: dict[str, dict[str, int]] = {
    "LOC": dict.fromkeys(
        (
            "lat_minutes",
            "lat_seconds",
            "long_minutes",
            "long_seconds",
            "size",
            "precision_horz",
            "precision_vert",
        ),
        0,
    ),
}


def _field_text(type_: str, key: str, item: object) -> str:
    write = _WRITE.get(f"{type_}.{key}")
    if write is not None:
        return str(write(item))
    if isinstance(item, str) and key in _TEXT_FIELDS:
        return item
    return number(item)


def record_presentation(record: Record) -> str:
    """The presentation text of a record Cloudflare returned, rebuilt from the fields that carry it:
    ``data`` for structured types (with the top-level ``priority`` for URI), ``content`` otherwise."""
    if record.type in DATA_KEYS:
        raw = record.data or {}
        if record.type == "SRV" and "priority" not in raw:
            # SRV's priority is also a top-level field (Cloudflare echoes it there): take it from there.
            raw = {**raw, "priority": record.priority}
        keys = DATA_KEYS[record.type]
        defaults = _DEFAULTS.get(record.type, {})
        parts = [_field_text(record.type, key, raw[key] if key in raw else defaults[key]) for key in keys]
        if record.type == "URI":
            parts.insert(0, number(record.priority))
        return " ".join(parts)
    if record.type == "MX":
        return f"{number(record.priority)} {record.content}"
    return record.content


def value_from_record(record: Record) -> RecordValue:
    """The canonical value of a record Cloudflare returned: equal to what :func:`parse_values` gives.

    Goes through the producers' path (:func:`dnsbatch.rdata_parsers.canonical`) with the text
    :func:`record_presentation` rebuilds. Never raises: a record of an unsupported type, or one whose
    fields we cannot read, gets a value made of its raw fields, which simply never equals a desired value
    (so the planner replaces or leaves it, never mistakes it for another).
    """
    try:
        if record.type == "TXT":
            return parse_txt(record.content)
        if record.type in SUPPORTED_TYPES:
            return canonical(record.type, record_presentation(record))
    except (ValueError, KeyError, TypeError):
        pass
    data = (
        None if record.data is None else tuple(sorted((str(k), _scalar(v)) for k, v in record.data.items()))
    )
    return RecordValue(content=record.content, priority=record.priority, data=data)


def _scalar(value: object) -> str | int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return str(value)
