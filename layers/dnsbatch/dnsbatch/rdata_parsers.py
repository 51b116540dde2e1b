"""Per-type presentation parsers: one value's zone-file text → canonical :class:`RecordValue`.

Each parser takes ``(text, name)`` (``name`` is the record's normalised FQDN) and raises
:class:`Invalid` with a message that says what is wrong and what is expected; :mod:`dnsbatch.rdata`
prefixes the field. The tables describing the structured types' ``data`` are shared with the
Cloudflare side of :mod:`dnsbatch.rdata`, which rebuilds values from Cloudflare's ``data``.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping

from dnsbatch.model import RecordValue
from dnsbatch.names import NameError_, normalize_hostname
from dnsbatch.safe_text import escape
from dnsbatch.txt import TxtError, parse_character_strings, quote, render_txt, split_bare_text

__all__ = [
    "CAA_TAGS",
    "DATA_KEYS",
    "HEX_KEYS",
    "INT_MAX",
    "PARSERS",
    "SUPPORTED_TYPES",
    "Invalid",
    "parse_txt",
    "show",
    "structured",
    "svc_params",
]

# Cloudflare also offers CERT, DNSKEY, LOC, NAPTR and OPENPGPKEY; they are rare in automated
# pipelines and each needs its own parser, so they are refused at ingest rather than guessed at.
SUPPORTED_TYPES: frozenset[str] = frozenset(
    {"A", "AAAA", "CNAME", "TXT", "MX", "NS", "PTR", "SRV", "CAA", "URI", "TLSA", "SMIMEA", "SSHFP", "DS"}
    | {"HTTPS", "SVCB"}
)

# For each structured type: the data keys, which of them are integers (with their maximum), which are
# host names and which are hex strings.
DATA_KEYS: dict[str, tuple[str, ...]] = {
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
INT_MAX: dict[str, int] = {
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
HEX_KEYS = frozenset({"certificate", "fingerprint", "digest"})
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


class Invalid(ValueError):
    """Raised by per-type parsers; :func:`dnsbatch.rdata.parse_values` prefixes the field."""


def show(text: str) -> str:
    """``text`` as a JSON string for an error message, cut to 80 characters, safe to log and to send
    (lone surrogates and control characters escaped: the message must encode even when the input did not)."""
    shown = text if len(text) <= 80 else text[:77] + "..."
    return escape(json.dumps(shown, ensure_ascii=False))


def _uint(token: str, what: str, maximum: int, example: str) -> int:
    if not token.isascii() or not token.isdigit():
        raise Invalid(f"{what} {show(token)} is not an integer (expected 0-{maximum}, e.g. {example})")
    value = int(token)
    if value > maximum:
        raise Invalid(f"{what} {value} is out of range (allowed 0-{maximum})")
    return value


def _host(token: str, what: str, *, allow_root: bool = False) -> str:
    if allow_root and token.strip() == ".":
        return "."
    try:
        return normalize_hostname(token)
    except NameError_ as exc:
        raise Invalid(f"{what} is not a valid host name: {exc}") from None


def _hex(token: str, what: str) -> str:
    text = "".join(token.split()).lower()
    if not _HEX.fullmatch(text) or len(text) % 2:
        raise Invalid(f"{what} {show(token)} is not hexadecimal (an even number of 0-9a-f digits)")
    return text


def structured(type_: str, data: Mapping[str, str | int], priority: int | None = None) -> RecordValue:
    """Build the canonical value of a structured type from already-normalised data."""
    if type_ == "CAA":
        content = f"{data['flags']} {data['tag']} {quote(str(data['value']).encode())}"
    elif type_ == "URI":
        content = f"{priority} {data['weight']} {quote(str(data['target']).encode())}"
    elif type_ in ("HTTPS", "SVCB"):
        content = " ".join(str(p) for p in (data["priority"], data["target"], data["value"]) if p != "")
    else:
        content = " ".join(str(data[k]) for k in DATA_KEYS[type_])
    return RecordValue(content=content, priority=priority, data=tuple(sorted(data.items())))


def _parse_a(text: str, name: str) -> RecordValue:
    token = text.strip()
    if not _DOTTED_QUAD.fullmatch(token) or any(int(p) > 255 for p in token.split(".")):
        raise Invalid(f"{show(text)} is not an IPv4 address (A records take a dotted quad like 192.0.2.1)")
    return RecordValue(content=token)


def _parse_aaaa(text: str, name: str) -> RecordValue:
    try:
        address = ipaddress.IPv6Address(text.strip())
    except ValueError:
        raise Invalid(
            f"{show(text)} is not an IPv6 address (AAAA records take an address like 2001:db8::1)"
        ) from None
    if address.scope_id is not None:
        raise Invalid(f"{show(text)} has a zone index (%...), which DNS cannot hold")
    return RecordValue(content=address.compressed)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip().rstrip("."))
    except ValueError:
        return False
    return True


def _parse_cname(text: str, name: str) -> RecordValue:
    if _is_ip(text):
        raise Invalid(
            f"{show(text)} is an IP address; a CNAME must point at a host name (use an A or AAAA record)"
        )
    target = _host(text, f"CNAME target {show(text)}")
    if target == name:
        raise Invalid(f"CNAME target {show(text)} is the record's own name (a CNAME cannot point at itself)")
    return RecordValue(content=target)


def _hostname_parser(type_: str) -> Callable[[str, str], RecordValue]:
    def parse(text: str, name: str) -> RecordValue:
        return RecordValue(content=_host(text, f"{type_} target {show(text)}"))

    return parse


def parse_txt(text: str, name: str) -> RecordValue:
    try:
        strings = parse_character_strings(text) if text.lstrip().startswith('"') else split_bare_text(text)
    except TxtError as exc:
        raise Invalid(str(exc)) from None
    return RecordValue(content=render_txt(strings))


def _fields(text: str, count: int, shape: str) -> list[str]:
    parts = text.split(None, count - 1)
    if len(parts) != count:
        raise Invalid(f"{show(text)} does not have the form {shape}")
    return parts


def _parse_mx(text: str, name: str) -> RecordValue:
    prio, target = _fields(text, 2, '"<priority> <mail host>", e.g. "10 mail.example.com"')
    return RecordValue(
        content=_host(target, f"MX host {show(target)}"),
        priority=_uint(prio, "MX priority", _U16, "10"),
    )


def _parse_srv(text: str, name: str) -> RecordValue:
    labels = name.split(".")
    if len(labels) < 3 or not labels[0].startswith("_") or not labels[1].startswith("_"):
        raise Invalid(
            f"SRV record name {show(name)} must look like _service._proto.name (e.g. _sip._tcp.example.com)"
        )
    shape = '"<priority> <weight> <port> <target>", e.g. "10 5 5060 sip.example.com"'
    prio, weight, port, target = _fields(text, 4, shape)
    data: dict[str, str | int] = {
        "priority": _uint(prio, "SRV priority", _U16, "10"),
        "weight": _uint(weight, "SRV weight", _U16, "5"),
        "port": _uint(port, "SRV port", _U16, "443"),
        "target": _host(target, f"SRV target {show(target)}", allow_root=True),
    }
    return structured("SRV", data)


def _one_string(text: str, what: str) -> str:
    """A single character-string, quoted (with escapes) or bare."""
    token = text.strip()
    if token.startswith('"'):
        try:
            strings = parse_character_strings(token, limit=None)
        except TxtError as exc:
            raise Invalid(f"{what}: {exc}") from None
        if len(strings) != 1:
            raise Invalid(f"{what} must be one quoted string, got {len(strings)}")
        return strings[0].decode("utf-8", errors="replace")
    if '"' in token or any(c.isspace() for c in token):
        raise Invalid(f"{what} {show(token)} must be quoted when it contains spaces or quotes")
    return token


def _parse_caa(text: str, name: str) -> RecordValue:
    flags, tag, value = _fields(text, 3, '"<flags> <tag> <value>", e.g. \'0 issue "letsencrypt.org"\'')
    tag = tag.lower()  # RFC 8659: property tags are case-insensitive
    if tag not in CAA_TAGS:
        raise Invalid(f"CAA tag {show(tag)} is not supported (allowed: {', '.join(CAA_TAGS)})")
    data: dict[str, str | int] = {
        "flags": _uint(flags, "CAA flags", _U8, "0"),
        "tag": tag,
        "value": _one_string(value, "CAA value"),
    }
    return structured("CAA", data)


def _parse_uri(text: str, name: str) -> RecordValue:
    prio, weight, target = _fields(
        text, 3, '"<priority> <weight> <target>", e.g. \'10 1 "https://example.com/"\''
    )
    data: dict[str, str | int] = {
        "weight": _uint(weight, "URI weight", _U16, "1"),
        "target": _one_string(target, "URI target"),
    }
    if not data["target"]:
        raise Invalid("URI target is empty")
    return structured("URI", data, priority=_uint(prio, "URI priority", _U16, "10"))


def _fixed_hex_parser(type_: str) -> Callable[[str, str], RecordValue]:
    keys = DATA_KEYS[type_]
    shape = f'"{" ".join(f"<{k}>" for k in keys)}"'

    def parse(text: str, name: str) -> RecordValue:
        parts = _fields(text, len(keys), shape)
        data: dict[str, str | int] = {}
        for key, token in zip(keys, parts, strict=True):
            what = f"{type_} {key}"
            data[key] = _hex(token, what) if key in HEX_KEYS else _uint(token, what, INT_MAX[key], "1")
        return structured(type_, data)

    return parse


def svc_params(text: str, what: str) -> str:
    """Canonical SvcParams: lowercase keys in RFC 9460 key order, every value quoted."""
    params: dict[str, str | None] = {}
    for match in re.finditer(r'([^\s=]+)(?:=("(?:[^"\\]|\\.)*"|\S*))?|(\S)', text):
        key, raw = match.group(1), match.group(2)
        if key is None or '"' in key:
            raise Invalid(f"{what}: cannot read {show(text)} as key=value parameters")
        key = key.lower()
        if not _SVC_KEY.fullmatch(key) or (key not in _SVC_KEYS and not re.fullmatch(r"key\d{1,5}", key)):
            raise Invalid(f"{what}: unknown parameter {show(key)} (known: {', '.join(_SVC_KEYS)}, keyNNNNN)")
        if key in params:
            raise Invalid(f"{what}: parameter {show(key)} appears twice")
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
            raise Invalid(
                f'{show(text)} does not have the form "<priority> <target> [params]", e.g. "1 . alpn=h2"'
            )
        value = svc_params(parts[2] if len(parts) == 3 else "", f"{type_} params")
        priority = _uint(parts[0], f"{type_} priority", _U16, "1")
        if priority == 0 and value:
            raise Invalid(f"{type_} priority 0 is AliasMode, which takes no parameters")
        data: dict[str, str | int] = {
            "priority": priority,
            "target": _host(parts[1], f"{type_} target {show(parts[1])}", allow_root=True),
            "value": value,
        }
        return structured(type_, data)

    return parse


PARSERS: dict[str, Callable[[str, str], RecordValue]] = {
    "A": _parse_a,
    "AAAA": _parse_aaaa,
    "CNAME": _parse_cname,
    "NS": _hostname_parser("NS"),
    "PTR": _hostname_parser("PTR"),
    "TXT": parse_txt,
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
assert frozenset(PARSERS) == SUPPORTED_TYPES
