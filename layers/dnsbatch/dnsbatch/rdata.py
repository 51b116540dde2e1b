"""Record values per type: presentation text → canonical :class:`RecordValue`, and back to Cloudflare.

A :class:`RecordValue` is the *identity* of one record: the planner treats two records as the same
exactly when their values are equal. So :func:`parse_values` (what a producer sent) and
:func:`value_from_record` (what Cloudflare echoes) must produce identical values for the same record,
whatever spelling either side used:

- A: dotted quad; AAAA: RFC 5952 (``ipaddress.IPv6Address.compressed``).
- CNAME/NS/PTR and the MX target: lowercase punycode, no trailing dot (Cloudflare strips it).
- TXT: a list of character-strings; content is each string quoted, space-separated.
- Structured types (SRV, CAA, URI, TLSA, SMIMEA, SSHFP, DS, HTTPS, SVCB): identity is ``data``;
  ``content`` is *our* rendering of it, because Cloudflare's formatted ``content`` for these types is
  read-only and its exact format is undocumented. Cloudflare's content is never parsed for them.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dnsbatch.cloudflare.types import Record
from dnsbatch.model import RecordValue
from dnsbatch.names import NameError_, normalize_hostname

__all__ = [
    "SUPPORTED_TYPES",
    "RdataError",
    "parse_value",
    "parse_values",
    "presentation",
    "record_fields",
    "value_from_record",
]

# Cloudflare also offers CERT, DNSKEY, LOC, NAPTR and OPENPGPKEY; they are rare in automated
# pipelines and each needs its own parser, so they are refused at ingest rather than guessed at.
SUPPORTED_TYPES: frozenset[str] = frozenset(
    {"A", "AAAA", "CNAME", "TXT", "MX", "NS", "PTR", "SRV", "CAA", "URI", "TLSA", "SMIMEA", "SSHFP", "DS"}
    | {"HTTPS", "SVCB"}
)
# Only these carry Cloudflare's ``proxied`` flag (api-notes §3: others give 9004).
PROXIABLE_TYPES: frozenset[str] = frozenset({"A", "AAAA", "CNAME"})

# For each structured type: the data keys, which of them are integers (with their maximum), which are
# host names and which are hex strings.
_DATA_KEYS: dict[str, tuple[str, ...]] = {
    "SRV": ("priority", "weight", "port", "target"),
    "CAA": ("flags", "tag", "value"),
    "URI": ("weight", "target"),
    "TLSA": ("usage", "selector", "matching_type", "certificate"),
    "SMIMEA": ("usage", "selector", "matching_type", "certificate"),
    "SSHFP": ("algorithm", "type", "fingerprint"),
    "DS": ("key_tag", "algorithm", "digest_type", "digest"),
    "HTTPS": ("priority", "target", "value"),
    "SVCB": ("priority", "target", "value"),
}
_U8, _U16 = 255, 65535
_INT_MAX: dict[str, int] = {
    "priority": _U16,
    "weight": _U16,
    "port": _U16,
    "key_tag": _U16,
    "flags": _U8,
    "usage": _U8,
    "selector": _U8,
    "matching_type": _U8,
    "algorithm": _U8,
    "type": _U8,
    "digest_type": _U8,
}
_HEX_KEYS = frozenset({"certificate", "fingerprint", "digest"})
_HEX = re.compile(r"[0-9a-f]+")
_DOTTED_QUAD = re.compile(r"(?:0|[1-9][0-9]{0,2})(?:\.(?:0|[1-9][0-9]{0,2})){3}")
CAA_TAGS = ("issue", "issuewild", "iodef")
# RFC 9460 SvcParamKeys by number, so params render in the order the wire format requires.
_SVC_KEYS = {
    "mandatory": 0,
    "alpn": 1,
    "no-default-alpn": 2,
    "port": 3,
    "ipv4hint": 4,
    "ech": 5,
    "ipv6hint": 6,
}
_SVC_KEY = re.compile(r"[a-z0-9-]+")


class RdataError(ValueError):
    """A value that is not valid for its type. ``field`` locates it (``values[2]``), ``detail`` says why."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}" if field else detail)
        self.field = field
        self.detail = detail


class _Invalid(ValueError):
    """Raised by per-type parsers; :func:`parse_values` prefixes the field."""


def _show(text: str) -> str:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return json.dumps(shown, ensure_ascii=False)


def _uint(token: str, what: str, maximum: int, example: str) -> int:
    if not token.isascii() or not token.isdigit():
        raise _Invalid(f"{what} {_show(token)} is not an integer (expected 0-{maximum}, e.g. {example})")
    value = int(token)
    if value > maximum:
        raise _Invalid(f"{what} {value} is out of range (allowed 0-{maximum})")
    return value


def _host(token: str, what: str, *, allow_root: bool = False) -> str:
    if allow_root and token.strip() == ".":
        return "."
    try:
        return normalize_hostname(token)
    except NameError_ as exc:
        raise _Invalid(f"{what} is not a valid host name: {exc}") from None


def _hex(token: str, what: str) -> str:
    text = "".join(token.split()).lower()
    if not _HEX.fullmatch(text) or len(text) % 2:
        raise _Invalid(f"{what} {_show(token)} is not hexadecimal (an even number of 0-9a-f digits)")
    return text


def _structured(type_: str, data: Mapping[str, str | int], priority: int | None = None) -> RecordValue:
    """Build the canonical value of a structured type from already-normalised data."""
    if type_ == "CAA":
        content = f"{data['flags']} {data['tag']} {quote(str(data['value']).encode())}"
    elif type_ == "URI":
        content = f"{priority} {data['weight']} {quote(str(data['target']).encode())}"
    elif type_ in ("HTTPS", "SVCB"):
        content = " ".join(str(p) for p in (data["priority"], data["target"], data["value"]) if p != "")
    else:
        content = " ".join(str(data[k]) for k in _DATA_KEYS[type_])
    return RecordValue(content=content, priority=priority, data=tuple(sorted(data.items())))


# --- TXT character-strings ----------------------------------------------------------------------------
# A TXT record is a list of character-strings of at most 255 bytes. Presentation: each string in
# double quotes, with \" \\ and \DDD escapes. Cloudflare adds the quotes to unquoted text on a new
# record and splits long text into 255-byte strings (api-notes §3), so we do the same on both sides.

MAX_STRING = 255


class TxtError(ValueError):
    pass


def parse_character_strings(text: str, *, limit: int | None = MAX_STRING) -> list[bytes]:
    """Parse ``"a" "b\"c"`` into byte strings; anything outside quotes other than spaces is an error."""
    strings: list[bytes] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i == n:
            break
        if text[i] != '"':
            raise TxtError(
                f"unexpected {_show(text[i:])} after a quoted string (write each string in double quotes)"
            )
        i += 1
        buf = bytearray()
        while True:
            if i == n:
                raise TxtError(f"{_show(text)} has an unbalanced quote (a quoted string is not closed)")
            ch = text[i]
            if ch == '"':
                i += 1
                break
            if ch == "\\":
                if i + 1 == n:
                    raise TxtError(f"{_show(text)} ends with a lone backslash")
                digits = text[i + 1 : i + 4]
                if len(digits) == 3 and digits.isascii() and digits.isdigit():
                    if int(digits) > 255:
                        raise TxtError(f"escape \\{digits} in {_show(text)} is not a byte (\\000-\\255)")
                    buf.append(int(digits))
                    i += 4
                    continue
                ch = text[i + 1]
                i += 1
            buf += ch.encode()
            i += 1
        if limit is not None and len(buf) > limit:
            raise TxtError(
                f"a quoted string is {len(buf)} bytes; each TXT string holds at most {limit} "
                f"(split it into several quoted strings, or send it unquoted to have it split)"
            )
        strings.append(bytes(buf))
        if i < n and not text[i].isspace():
            raise TxtError(f"{_show(text)}: quoted strings must be separated by spaces")
    if not strings:
        raise TxtError("TXT value is empty")
    return strings


def split_bare_text(text: str) -> list[bytes]:
    """Unquoted text is one string, cut into 255-byte pieces without splitting a UTF-8 character."""
    if not text:
        raise TxtError("TXT value is empty")
    if '"' in text:
        raise TxtError(
            f"{_show(text)} contains a quote but does not start with one: either quote every string "
            '(e.g. "v=spf1 -all") and escape inner quotes as \\", or send text without quotes'
        )
    pieces: list[bytes] = []
    buf = bytearray()
    for ch in text:
        encoded = ch.encode()
        if len(buf) + len(encoded) > MAX_STRING:
            pieces.append(bytes(buf))
            buf = bytearray()
        buf += encoded
    pieces.append(bytes(buf))
    return pieces


def quote(raw: bytes) -> str:
    """Render one character-string quoted; ``parse_character_strings`` reads it back to ``raw``."""
    try:
        chars: list[str] = list(raw.decode("utf-8"))
    except UnicodeDecodeError:
        chars = [chr(b) if b < 0x80 else f"\\{b:03d}" for b in raw]
    out = []
    for ch in chars:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif len(ch) == 1 and (ord(ch) < 0x20 or ord(ch) == 0x7F):
            out.append(f"\\{ord(ch):03d}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def render_txt(strings: Sequence[bytes]) -> str:
    return " ".join(quote(s) for s in strings)


# --- per-type presentation parsers -------------------------------------------------------------------


def _parse_a(text: str, name: str) -> RecordValue:
    token = text.strip()
    if not _DOTTED_QUAD.fullmatch(token) or any(int(p) > 255 for p in token.split(".")):
        raise _Invalid(f"{_show(text)} is not an IPv4 address (A records take a dotted quad like 192.0.2.1)")
    return RecordValue(content=token)


def _parse_aaaa(text: str, name: str) -> RecordValue:
    try:
        address = ipaddress.IPv6Address(text.strip())
    except ValueError:
        raise _Invalid(
            f"{_show(text)} is not an IPv6 address (AAAA records take an address like 2001:db8::1)"
        ) from None
    if address.scope_id is not None:
        raise _Invalid(f"{_show(text)} has a zone index (%...), which DNS cannot hold")
    return RecordValue(content=address.compressed)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip().rstrip("."))
    except ValueError:
        return False
    return True


def _parse_cname(text: str, name: str) -> RecordValue:
    if _is_ip(text):
        raise _Invalid(
            f"{_show(text)} is an IP address; a CNAME must point at a host name (use an A or AAAA record)"
        )
    target = _host(text, f"CNAME target {_show(text)}")
    if target == name:
        raise _Invalid(
            f"CNAME target {_show(text)} is the record's own name (a CNAME cannot point at itself)"
        )
    return RecordValue(content=target)


def _hostname_parser(type_: str) -> Callable[[str, str], RecordValue]:
    def parse(text: str, name: str) -> RecordValue:
        return RecordValue(content=_host(text, f"{type_} target {_show(text)}"))

    return parse


def _parse_txt(text: str, name: str) -> RecordValue:
    try:
        strings = parse_character_strings(text) if text.lstrip().startswith('"') else split_bare_text(text)
    except TxtError as exc:
        raise _Invalid(str(exc)) from None
    return RecordValue(content=render_txt(strings))


def _fields(text: str, count: int, shape: str) -> list[str]:
    parts = text.split(None, count - 1)
    if len(parts) != count:
        raise _Invalid(f"{_show(text)} does not have the form {shape}")
    return parts


def _parse_mx(text: str, name: str) -> RecordValue:
    prio, target = _fields(text, 2, '"<priority> <mail host>", e.g. "10 mail.example.com"')
    return RecordValue(
        content=_host(target, f"MX host {_show(target)}"),
        priority=_uint(prio, "MX priority", _U16, "10"),
    )


def _parse_srv(text: str, name: str) -> RecordValue:
    labels = name.split(".")
    if len(labels) < 3 or not labels[0].startswith("_") or not labels[1].startswith("_"):
        raise _Invalid(
            f"SRV record name {_show(name)} must look like _service._proto.name (e.g. _sip._tcp.example.com)"
        )
    shape = '"<priority> <weight> <port> <target>", e.g. "10 5 5060 sip.example.com"'
    prio, weight, port, target = _fields(text, 4, shape)
    data: dict[str, str | int] = {
        "priority": _uint(prio, "SRV priority", _U16, "10"),
        "weight": _uint(weight, "SRV weight", _U16, "5"),
        "port": _uint(port, "SRV port", _U16, "443"),
        "target": _host(target, f"SRV target {_show(target)}", allow_root=True),
    }
    return _structured("SRV", data)


def _one_string(text: str, what: str) -> str:
    """A single character-string, quoted (with escapes) or bare."""
    token = text.strip()
    if token.startswith('"'):
        try:
            strings = parse_character_strings(token, limit=None)
        except TxtError as exc:
            raise _Invalid(f"{what}: {exc}") from None
        if len(strings) != 1:
            raise _Invalid(f"{what} must be one quoted string, got {len(strings)}")
        return strings[0].decode("utf-8", errors="replace")
    if '"' in token or any(c.isspace() for c in token):
        raise _Invalid(f"{what} {_show(token)} must be quoted when it contains spaces or quotes")
    return token


def _parse_caa(text: str, name: str) -> RecordValue:
    flags, tag, value = _fields(text, 3, '"<flags> <tag> <value>", e.g. \'0 issue "letsencrypt.org"\'')
    tag = tag.lower()  # RFC 8659: property tags are case-insensitive
    if tag not in CAA_TAGS:
        raise _Invalid(f"CAA tag {_show(tag)} is not supported (allowed: {', '.join(CAA_TAGS)})")
    data: dict[str, str | int] = {
        "flags": _uint(flags, "CAA flags", _U8, "0"),
        "tag": tag,
        "value": _one_string(value, "CAA value"),
    }
    return _structured("CAA", data)


def _parse_uri(text: str, name: str) -> RecordValue:
    prio, weight, target = _fields(
        text, 3, '"<priority> <weight> <target>", e.g. \'10 1 "https://example.com/"\''
    )
    data: dict[str, str | int] = {
        "weight": _uint(weight, "URI weight", _U16, "1"),
        "target": _one_string(target, "URI target"),
    }
    if not data["target"]:
        raise _Invalid("URI target is empty")
    return _structured("URI", data, priority=_uint(prio, "URI priority", _U16, "10"))


def _fixed_hex_parser(type_: str) -> Callable[[str, str], RecordValue]:
    keys = _DATA_KEYS[type_]
    shape = f'"{" ".join(f"<{k}>" for k in keys)}"'

    def parse(text: str, name: str) -> RecordValue:
        parts = _fields(text, len(keys), shape)
        data: dict[str, str | int] = {}
        for key, token in zip(keys, parts, strict=True):
            what = f"{type_} {key}"
            data[key] = _hex(token, what) if key in _HEX_KEYS else _uint(token, what, _INT_MAX[key], "1")
        return _structured(type_, data)

    return parse


def _svc_params(text: str, what: str) -> str:
    """Canonical SvcParams: lowercase keys in RFC 9460 key order, every value quoted."""
    params: dict[str, str | None] = {}
    for match in re.finditer(r'([^\s=]+)(?:=("(?:[^"\\]|\\.)*"|\S*))?|(\S)', text):
        key, raw = match.group(1), match.group(2)
        if key is None or '"' in key:
            raise _Invalid(f"{what}: cannot read {_show(text)} as key=value parameters")
        key = key.lower()
        if not _SVC_KEY.fullmatch(key) or (key not in _SVC_KEYS and not re.fullmatch(r"key\d{1,5}", key)):
            raise _Invalid(
                f"{what}: unknown parameter {_show(key)} (known: {', '.join(_SVC_KEYS)}, keyNNNNN)"
            )
        if key in params:
            raise _Invalid(f"{what}: parameter {_show(key)} appears twice")
        if raw is not None and raw.startswith('"'):
            raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params[key] = raw

    def order(key: str) -> int:
        return _SVC_KEYS[key] if key in _SVC_KEYS else int(key[3:])

    rendered = []
    for key in sorted(params, key=order):
        value = params[key]
        rendered.append(key if value is None else f"{key}={quote(value.encode())}")
    return " ".join(rendered)


def _svcb_parser(type_: str) -> Callable[[str, str], RecordValue]:
    def parse(text: str, name: str) -> RecordValue:
        parts = text.split(None, 2)
        if len(parts) < 2:
            raise _Invalid(
                f'{_show(text)} does not have the form "<priority> <target> [params]", e.g. "1 . alpn=h2"'
            )
        value = _svc_params(parts[2] if len(parts) == 3 else "", f"{type_} params")
        priority = _uint(parts[0], f"{type_} priority", _U16, "1")
        if priority == 0 and value:
            raise _Invalid(f"{type_} priority 0 is AliasMode, which takes no parameters")
        data: dict[str, str | int] = {
            "priority": priority,
            "target": _host(parts[1], f"{type_} target {_show(parts[1])}", allow_root=True),
            "value": value,
        }
        return _structured(type_, data)

    return parse


_PARSERS: dict[str, Callable[[str, str], RecordValue]] = {
    "A": _parse_a,
    "AAAA": _parse_aaaa,
    "CNAME": _parse_cname,
    "NS": _hostname_parser("NS"),
    "PTR": _hostname_parser("PTR"),
    "TXT": _parse_txt,
    "MX": _parse_mx,
    "SRV": _parse_srv,
    "CAA": _parse_caa,
    "URI": _parse_uri,
    "TLSA": _fixed_hex_parser("TLSA"),
    "SMIMEA": _fixed_hex_parser("SMIMEA"),
    "SSHFP": _fixed_hex_parser("SSHFP"),
    "DS": _fixed_hex_parser("DS"),
    "HTTPS": _svcb_parser("HTTPS"),
    "SVCB": _svcb_parser("SVCB"),
}
assert frozenset(_PARSERS) == SUPPORTED_TYPES


def _check_type(type_: str) -> None:
    if type_ not in SUPPORTED_TYPES:
        raise RdataError(
            "type", f"{_show(type_)} is not a supported type (allowed: {', '.join(sorted(SUPPORTED_TYPES))})"
        )


def parse_value(type_: str, text: str, *, name: str, field: str = "value") -> RecordValue:
    """Parse one presentation value of ``type_`` for the record named ``name`` (a normalised FQDN).

    Raises :class:`RdataError` whose message starts with ``field``.
    """
    _check_type(type_)
    try:
        return _PARSERS[type_](text, name)
    except _Invalid as exc:
        raise RdataError(field, str(exc)) from None


def parse_values(type_: str, values: Sequence[str], *, name: str, zone: str) -> tuple[RecordValue, ...]:
    """Parse and canonicalise the values of one record set.

    ``name`` and ``zone`` are normalised (see :mod:`dnsbatch.names`). Besides each value's own rules,
    checks the set: a CNAME holds exactly one value, no value appears twice (after canonicalisation:
    Cloudflare would refuse the second with 81058), and the contents total at most 8,192 characters
    (Cloudflare's per-set limit). Raises :class:`RdataError` naming the field, e.g. ``values[3]``.
    """
    _check_type(type_)
    parsed: list[RecordValue] = []
    seen: dict[RecordValue, int] = {}
    for i, text in enumerate(values):
        value = parse_value(type_, text, name=name, field=f"values[{i}]")
        if value in seen:
            raise RdataError(
                f"values[{i}]",
                f"{_show(text)} is the same record as values[{seen[value]}] "
                "(each value may appear once in a set)",
            )
        seen[value] = i
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


MAX_SET_CONTENT = 8192


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
    if type_ in _DATA_KEYS:
        fields: dict[str, Any] = {"data": value.data_dict() or {}}
        if type_ == "URI":
            fields["priority"] = value.priority
        return fields
    fields = {"content": value.content}
    if type_ == "MX":
        fields["priority"] = value.priority
    return fields


def _data_from_record(record: Record) -> RecordValue:
    raw = record.data or {}
    data: dict[str, str | int] = {}
    for key in _DATA_KEYS[record.type]:
        item = raw.get(key)
        if key in _INT_MAX:
            # JSON numbers may come back as floats (the spec types them "number").
            data[key] = int(item) if isinstance(item, int | float) and not isinstance(item, bool) else 0
        elif key in _HEX_KEYS:
            data[key] = "".join(str(item or "").split()).lower()
        elif key == "target" and record.type != "URI":
            target = str(item or "")
            data[key] = "." if target.strip() == "." else normalize_hostname(target)
        elif key == "value" and record.type in ("HTTPS", "SVCB"):
            data[key] = _svc_params(str(item or ""), "value")
        elif key == "tag":
            data[key] = str(item or "").lower()
        else:
            data[key] = str(item if item is not None else "")
    return _structured(record.type, data, priority=record.priority if record.type == "URI" else None)


def _flat_from_record(record: Record) -> RecordValue:
    if record.type == "MX":
        return RecordValue(content=normalize_hostname(record.content), priority=record.priority)
    if record.type == "TXT":
        return _parse_txt(record.content, record.name)
    if record.type in ("CNAME", "NS", "PTR"):
        return RecordValue(content=normalize_hostname(record.content))
    return _PARSERS[record.type](record.content, record.name)


def value_from_record(record: Record) -> RecordValue:
    """The canonical value of a record Cloudflare returned: equal to what :func:`parse_values` gives.

    Structured types are rebuilt from ``record.data``. Never raises: a record of an unsupported type,
    or one whose content we cannot read, gets a value made of its raw fields, which simply never
    equals a desired value (so the planner replaces or leaves it, never mistakes it for another).
    """
    try:
        if record.type in _DATA_KEYS:
            return _data_from_record(record)
        if record.type in SUPPORTED_TYPES:
            return _flat_from_record(record)
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
