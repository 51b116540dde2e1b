"""Pure per-record rules: name normalisation and per-type validation of a request body
(docs/architecture.md#per-type-and-zone-rules).

``build_record`` turns a create/put/patch body into the stored fields, or raises ``ApiError`` with
Cloudflare's code. Same-name conflicts, duplicates and quotas need the zone's state and live in
``state``. Where Cloudflare's behaviour is undocumented we pick the strictest plausible rule.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from devstack.emulator import errors as e
from devstack.emulator import typed_data
from devstack.emulator.errors import ApiError, bad_request
from devstack.emulator.zones import ZoneInfo

_TYPES = (
    "A AAAA CAA CERT CNAME DNSKEY DS HTTPS LOC MX NAPTR NS OPENPGPKEY PTR SMIMEA SRV SSHFP SVCB TLSA TXT URI"
)
RECORD_TYPES = frozenset(_TYPES.split(" "))
PROXIABLE_TYPES = frozenset({"A", "AAAA", "CNAME"})
HOSTNAME_TYPES = frozenset({"CNAME", "MX", "NS", "PTR"})
# Structured types: `data` is authoritative and `content` is formatted from these fields in this order
# (the spec marks their `content` read-only). CERT, DNSKEY, LOC and NAPTR are checked and formatted in
# `typed_data`, which also holds OPENPGPKEY's `content` rule.
DATA_FIELDS: dict[str, tuple[str, ...]] = {
    "SRV": ("weight", "port", "target"),
    "CAA": ("flags", "tag", "value"),
    "CERT": ("type", "key_tag", "algorithm", "certificate"),
    "DNSKEY": ("flags", "protocol", "algorithm", "public_key"),
    "DS": ("key_tag", "algorithm", "digest_type", "digest"),
    "HTTPS": ("priority", "target", "value"),
    "SVCB": ("priority", "target", "value"),
    "LOC": (
        "lat_degrees",
        "lat_minutes",
        "lat_seconds",
        "lat_direction",
        "long_degrees",
        "long_minutes",
        "long_seconds",
        "long_direction",
        "altitude",
        "size",
        "precision_horz",
        "precision_vert",
    ),
    "NAPTR": ("order", "preference", "flags", "service", "regex", "replacement"),
    "SMIMEA": ("usage", "selector", "matching_type", "certificate"),
    "TLSA": ("usage", "selector", "matching_type", "certificate"),
    "SSHFP": ("algorithm", "type", "fingerprint"),
    "URI": ("weight", "target"),
}
# MX, URI and SRV keep their priority out of `content` (SRV's stays in `data` and is echoed at the top
# level). The duplicate check (81058, `state._check_conflicts`) compares type, name and content with case
# folded, so two MX records with the same host and different priorities are "identical", as are SRV/URI
# records differing only in priority and any records whose contents differ only in letter case (e.g. a
# CAA value). Cloudflare documents only "same type+name+content"
# (docs/architecture.md#per-type-and-zone-rules); this is the strictest
# plausible reading, chosen on purpose, and dnsbatch.rdata.parse_values refuses such sets to match.
PRIORITY_TYPES = frozenset({"MX", "URI"})
CAA_TAGS = frozenset({"issue", "issuewild", "iodef"})
MAX_TTL = 86_400
_LABEL = re.compile(r"^[a-z0-9_*-]{1,63}$")
_TAG_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_SETTINGS: dict[str, frozenset[str]] = {
    "A": frozenset({"ipv4_only", "ipv6_only"}),
    "AAAA": frozenset({"ipv4_only", "ipv6_only"}),
    "CNAME": frozenset({"ipv4_only", "ipv6_only", "flatten_cname"}),
}
# Private, loopback, link-local, CGNAT, multicast and unspecified targets are `proxiable: false`.
# Documentation ranges (192.0.2.0/24, 2001:db8::/32, ...) stay proxiable so examples behave like
# public addresses; Cloudflare's real list (which also covers its own IPs) is not published.
_UNPROXIABLE = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
    )
]  # fmt: skip
WRITABLE = ("name", "type", "content", "data", "priority", "ttl", "proxied", "comment", "tags", "settings")


def _label_ascii(label: str) -> str:
    if label.isascii():
        return label
    try:
        return label.encode("idna").decode("ascii")
    except UnicodeError:
        raise bad_request(e.INVALID_NAME, "DNS name is invalid.") from None


def _dns_name(value: str, code: int, message: str) -> str:
    """Lowercase punycode, no trailing dot; labels 1–63 of LDH, `_` or `*`; at most 253 octets."""
    labels = value.lower().split(".")
    try:
        out = ".".join(_label_ascii(label) for label in labels)
    except ApiError:
        raise bad_request(code, message) from None
    if len(out) > 253 or not all(_LABEL.fullmatch(label) for label in out.split(".")):
        raise bad_request(code, message)
    return out


def normalize_name(raw: object, zone_name: str) -> str:
    """A request name (FQDN, relative or ``@``) → lowercase punycode FQDN inside the zone.

    Like Cloudflare, a name that does not end in the zone is taken as relative to it.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise bad_request(e.INVALID_NAME, "DNS name is invalid.")
    name = raw.strip().rstrip(".").lower()
    if name in ("@", ""):
        return zone_name
    name = _dns_name(name, e.INVALID_NAME, "DNS name is invalid.")
    if name != zone_name and not name.endswith("." + zone_name):
        name = f"{name}.{zone_name}"
    if len(name) > 253:
        raise bad_request(e.INVALID_NAME, "DNS name is invalid.")
    return name


def normalize_filter_name(raw: str) -> str:
    """A list filter's name: lowercase punycode, no trailing dot; not made relative to the zone."""
    name = raw.strip().rstrip(".").lower()
    try:
        return ".".join(_label_ascii(label) for label in name.split("."))
    except ApiError:
        return name


def _hostname(value: object, code: int, message: str) -> str:
    if not isinstance(value, str) or not value.strip().rstrip("."):
        raise bad_request(code, message)
    return _dns_name(value.strip().rstrip("."), code, message)


def _int_field(value: object, low: int, high: int) -> int | None:
    """An integer in [low, high], or None. JSON booleans are not numbers; 10.0 counts as 10."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    return value if low <= value <= high else None


def _txt(content: object) -> str:
    """TXT content as Cloudflare stores it: one or more quoted strings of ≤255 bytes each.

    Unquoted text gets quotes and is split every 255 bytes; quoted text must be balanced. Text with a
    stray double quote is rejected (strictest reading of "unbalanced quotes are a validation error").
    """
    message = "Content for TXT record is invalid."
    if not isinstance(content, str) or not content:
        raise bad_request(e.INVALID_CONTENT, message)
    if len(content.encode()) > 4096:
        raise bad_request(e.INVALID_CONTENT, "Content for TXT record is too long.")
    if not content.lstrip().startswith('"'):
        if '"' in content:
            raise bad_request(e.INVALID_CONTENT, message)
        raw, chunks = content.encode(), []
        while raw:
            cut = min(255, len(raw))
            while cut < len(raw) and (raw[cut] & 0xC0) == 0x80:  # never split a UTF-8 sequence
                cut -= 1
            chunks.append(raw[:cut].decode().replace("\\", "\\\\"))
            raw = raw[cut:]
        return " ".join(f'"{chunk}"' for chunk in chunks)
    strings, i, text = [], 0, content.strip()
    while i < len(text):
        if text[i] != '"':
            raise bad_request(e.INVALID_CONTENT, message)
        j, size = i + 1, 0
        while j < len(text) and text[j] != '"':
            step = 2 if text[j] == "\\" else 1
            size += len(text[j + step - 1 : j + step].encode())
            j += step
        if j >= len(text):
            raise bad_request(e.INVALID_CONTENT, message)
        if size > 255:
            raise bad_request(e.INVALID_CONTENT, "TXT strings must be at most 255 bytes.")
        strings.append(text[i : j + 1])
        i = j + 1
        while i < len(text) and text[i] == " ":
            i += 1
    return " ".join(strings)


def _ip_content(rtype: str, content: object) -> tuple[str, bool]:
    """(canonical content, proxiable). A: dotted quad only; AAAA: RFC 5952 form."""
    code, label = (e.INVALID_A, "IPv4") if rtype == "A" else (e.INVALID_AAAA, "IPv6")
    message = f"Content for {rtype} record must be a valid {label} address."
    if not isinstance(content, str):
        raise bad_request(code, message)
    try:
        addr: ipaddress.IPv4Address | ipaddress.IPv6Address = (
            ipaddress.IPv4Address(content) if rtype == "A" else ipaddress.IPv6Address(content)
        )
    except ValueError:
        raise bad_request(code, message) from None
    if isinstance(addr, ipaddress.IPv6Address) and addr.scope_id:
        raise bad_request(code, message)
    return addr.compressed, not any(addr in net for net in _UNPROXIABLE)


def _utf8(text: str) -> bool:
    """False for text holding a lone UTF-16 surrogate (JSON's "\\ud800"), which no DNS string can carry.
    Guessed: refused, like any content that does not fit its type."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _data(rtype: str, data: object) -> dict[str, Any]:
    message = f"Data for {rtype} record is invalid."
    if not isinstance(data, Mapping):
        raise bad_request(e.INVALID_DATA, f"Data for {rtype} record is required.")
    if not all(_utf8(value) for value in data.values() if isinstance(value, str)):
        raise bad_request(e.INVALID_DATA, message)
    if rtype in typed_data.TYPES:
        return typed_data.validate(rtype, data, lambda host: _hostname(host, e.INVALID_DATA, message))
    out: dict[str, Any] = {}
    fields = DATA_FIELDS[rtype] + (("priority",) if rtype == "SRV" else ())
    for key in fields:
        value = data.get(key)
        if value is None or isinstance(value, bool) or not isinstance(value, str | int | float):
            raise bad_request(e.INVALID_DATA, f"{message} '{key}' is required.")
        out[key] = value
    if rtype == "SRV":
        for key in ("priority", "weight", "port"):
            number = _int_field(out[key], 0, 65535)
            if number is None:
                raise bad_request(e.INVALID_DATA, f"{message} '{key}' must be between 0 and 65535.")
            out[key] = number
        target = out["target"]
        out["target"] = "." if target == "." else _hostname(target, e.INVALID_DATA, message)
    elif rtype == "CAA":
        flags = _int_field(out["flags"], 0, 255)
        if flags is None or out["tag"] not in CAA_TAGS or not isinstance(out["value"], str):
            raise bad_request(e.INVALID_DATA, message)
        out["flags"] = flags
    elif rtype == "URI":
        weight = _int_field(out["weight"], 0, 65535)
        if weight is None or not isinstance(out["target"], str) or not out["target"]:
            raise bad_request(e.INVALID_DATA, message)
        out["weight"] = weight
    return out


def _format_data(rtype: str, data: Mapping[str, Any]) -> str:
    if rtype in typed_data.TYPES:
        return typed_data.content(rtype, data)
    if rtype == "CAA":
        return f'{data["flags"]} {data["tag"]} "{data["value"]}"'
    if rtype == "URI":
        return f'{data["weight"]} "{data["target"]}"'
    return " ".join(str(data[key]) for key in DATA_FIELDS[rtype])


def _content(zone: ZoneInfo, rtype: str, name: str, body: Mapping[str, Any]) -> tuple[str, bool, Any]:
    """(content, proxiable, data) for the type."""
    content = body.get("content")
    if isinstance(content, str) and not _utf8(content):
        raise bad_request(e.INVALID_CONTENT, f"Content for {rtype} record is invalid.")
    if rtype in ("A", "AAAA"):
        canonical, proxiable = _ip_content(rtype, content)
        return canonical, proxiable, None
    if rtype in DATA_FIELDS:
        data = _data(rtype, body.get("data"))
        if rtype == "SRV" and not re.match(r"^_[^.]+\._[^.]+(\.|$)", name):
            raise bad_request(e.INVALID_NAME, "SRV record names must start with _service._proto.")
        return _format_data(rtype, data), False, data
    if rtype == "TXT":
        return _txt(content), False, None
    if rtype == "OPENPGPKEY":
        return typed_data.openpgpkey(content), False, None
    code = e.INVALID_CNAME if rtype == "CNAME" else e.INVALID_CONTENT
    message = f"Content for {rtype} record is invalid."
    if rtype == "MX" and content == ".":  # null MX (RFC 7505)
        return ".", False, None
    if isinstance(content, str):
        try:
            ipaddress.ip_address(content)
        except ValueError:
            pass
        else:
            raise bad_request(code, message)  # an IP is never a valid hostname target
    host = _hostname(content, code, message)
    if rtype == "CNAME" and host == name:
        raise bad_request(code, "Content for CNAME record cannot point to itself.")
    return host, rtype == "CNAME", None


def _tags(zone: ZoneInfo, tags: object) -> list[str]:
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise bad_request(e.INVALID_TAG, "DNS record tags must be a list of strings.")
    if len(tags) > zone.tag_limit:
        raise bad_request(
            e.TAGS_QUOTA, f"DNS record has {len(tags)} tags, exceeding the quota of {zone.tag_limit}."
        )
    for tag in tags:
        tag_name, sep, value = tag.partition(":")
        if not sep or not _TAG_NAME.fullmatch(tag_name) or len(value) > 100:
            raise bad_request(e.INVALID_TAG, f"DNS record tag '{tag[:140]}' must be name:value.")
    return list(tags)


def _settings(rtype: str, settings: object, proxied: bool) -> dict[str, Any]:
    if settings is None:
        return {}
    allowed = _SETTINGS.get(rtype, frozenset())
    if not isinstance(settings, Mapping):
        raise bad_request(e.INVALID_FIELD, "DNS record settings must be an object.")
    for key, value in settings.items():
        if key not in allowed or not isinstance(value, bool):
            raise bad_request(e.INVALID_FIELD, f"DNS record setting '{str(key)[:40]}' is invalid.")
    if proxied and settings.get("flatten_cname"):
        raise bad_request(e.INVALID_FIELD, "flatten_cname cannot be set on a proxied record.")
    return dict(settings)


def build_record(
    zone: ZoneInfo, body: Mapping[str, Any], base: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Validate a create/put body (``base`` None) or a patch (``base`` = the record's current fields)
    and return the record fields to store: name, type, content, data, priority, proxiable, proxied,
    ttl, comment, tags, settings. Raises ``ApiError`` (HTTP 400) with Cloudflare's code."""
    merged: dict[str, Any] = {k: base[k] for k in WRITABLE if k in base} if base is not None else {}
    merged.update({k: body[k] for k in WRITABLE if k in body})
    rtype = merged.get("type")
    if not isinstance(rtype, str) or rtype not in RECORD_TYPES:
        raise bad_request(e.INVALID_TYPE, "Invalid or missing DNS record type.")
    name = normalize_name(merged.get("name"), zone.name)
    content, proxiable, data = _content(zone, rtype, name, merged)

    priority = None
    if rtype in PRIORITY_TYPES:
        priority = _int_field(merged.get("priority"), 0, 65535)
        if priority is None:
            raise bad_request(e.INVALID_PRIORITY, "priority is a required field (0-65535).")
    elif rtype == "SRV":
        priority = data["priority"]  # echoed at the top level, as Cloudflare does

    proxied = merged.get("proxied", False)
    if proxied is None:
        proxied = False
    if not isinstance(proxied, bool):
        raise bad_request(e.PROXIED_NOT_BOOLEAN, "Invalid 'proxied' value, must be a boolean")
    if proxied and rtype not in PROXIABLE_TYPES:
        raise bad_request(e.TYPE_NOT_PROXIABLE, "This record type cannot be proxied.")
    if proxied and not proxiable:
        raise bad_request(
            e.TARGET_NOT_PROXIABLE,
            "This DNS record cannot be proxied - click the cloud icon to set it to DNS only.",
        )

    raw_ttl = merged.get("ttl", 1)
    ttl = _int_field(1 if raw_ttl is None else raw_ttl, 1, MAX_TTL)
    if ttl is None or (ttl != 1 and ttl < zone.min_ttl):
        raise bad_request(
            e.INVALID_TTL,
            f"Invalid TTL. Must be between {zone.min_ttl} and {MAX_TTL} seconds, or 1 for automatic",
        )
    if proxied:
        # Proxied records always use Auto TTL. Whether Cloudflare rejects or replaces another TTL is
        # undocumented; we store 1, which is what a client reading the record back will see either way.
        ttl = 1

    comment = merged.get("comment")
    if comment is not None:
        if not isinstance(comment, str) or "\n" in comment or "\r" in comment:
            raise bad_request(e.INVALID_COMMENT, "DNS record comment must be a single line of text.")
        if len(comment) > zone.comment_limit:
            raise bad_request(
                e.INVALID_COMMENT, f"DNS record comment is longer than {zone.comment_limit} characters."
            )
    return {
        "name": name,
        "type": rtype,
        "content": content,
        "data": data,
        "priority": priority,
        "proxiable": proxiable,
        "proxied": proxied,
        "ttl": ttl,
        "comment": comment,
        "tags": _tags(zone, merged.get("tags")),
        "settings": _settings(rtype, merged.get("settings"), proxied),
    }
