"""CERT, DNSKEY, LOC and NAPTR ``data``, and OPENPGPKEY ``content``: validation and Cloudflare's formatting.

Which part of each rule is documented and which is guessed is written next to it and summarised in
docs/emulator.md. Sources: **spec** (``openapi-dns.json``: field names, JSON types, numeric ranges, LOC
defaults), **obs** (real Cloudflare responses recorded in DNSControl's provider tests: the LOC and NAPTR
``content`` formats, LOC ``data`` read back from the wire form, NAPTR fields echoed as sent). Everything
else is the strictest plausible reading: a client that passes here should pass at Cloudflare.

``validate`` returns the ``data`` to store (what a GET returns) or raises ``ApiError`` 9010;
``content`` formats the read-only ``content`` from it.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from devstack.emulator import errors as e
from devstack.emulator.errors import ApiError, bad_request

TYPES = frozenset({"CERT", "DNSKEY", "LOC", "NAPTR"})
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
# RFC 3403 §4.1 character-strings; flags are [A-Z0-9] (RFC 3404 §4.1, either case); services are
# `protocol *("+" rs)` with ALPHA / DIGIT / "+" / ":" / "-" / "." (RFC 3958 adds ":"). Guessed: Cloudflare
# documents no rule beyond "string", so we accept only what the RFCs define.
_NAPTR_FLAGS = re.compile(r"^[A-Za-z0-9]*$")
_NAPTR_SERVICE = re.compile(r"^[A-Za-z0-9+:._-]*$")
_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")
# LOC wire form (RFC 1876): altitude in cm above -100,000 m; size and precisions as one digit times a power
# of ten centimetres (0 to 9e9 cm). The spec's maxima (42849672.95 m, 90000000 m) are these limits.
_ALT_MIN, _ALT_MAX = -100_000.0, 42_849_672.95
_SIZE_MAX = 90_000_000.0


def _fail(rtype: str, detail: str) -> ApiError:
    return bad_request(e.INVALID_DATA, f"Data for {rtype} record is invalid. {detail}")


def _integer(rtype: str, data: Mapping[str, Any], key: str, high: int) -> int:
    """An integer field in [0, high] (spec: `number` with these bounds). Guessed: 10.5 is refused (the
    wire field is an integer) and so is a JSON boolean; 10.0 counts as 10."""
    value = data.get(key)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise _fail(rtype, f"'{key}' must be an integer between 0 and {high}.")
    return value


def _number(
    rtype: str, data: Mapping[str, Any], key: str, *, low: float, high: float, default: float | None
) -> float:
    value = data.get(key, default)
    if value is None and default is not None:
        value = default
    # JSON may hold an integer of thousands of digits; compare it before any float conversion.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(rtype, f"'{key}' is required and must be a number.")
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(rtype, f"'{key}' is required and must be a number.")
    if not low <= value <= high:
        raise _fail(rtype, f"'{key}' must be between {low:g} and {high:g}.")
    return float(value)


def _string(rtype: str, data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise _fail(rtype, f"'{key}' is required and must be a string.")
    return value


def _base64_field(rtype: str, data: Mapping[str, Any], key: str) -> str:
    """Guessed: one unbroken base64 string. Zone files split long keys into chunks with spaces; a JSON
    field needs no such split, and whether Cloudflare strips the spaces is not documented, so they are
    refused rather than silently joined."""
    value = _string(rtype, data, key)
    if not base64_ok(value):
        raise _fail(rtype, f"'{key}' must be base64 (no spaces, with its '=' padding).")
    return value


def base64_ok(value: str) -> bool:
    """Standard-alphabet base64 with correct padding, non-empty, no whitespace."""
    if not _BASE64.fullmatch(value) or len(value) % 4:
        return False
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _cert(data: Mapping[str, Any]) -> dict[str, Any]:
    # spec: type 0–65535, key_tag 0–65535, algorithm 0–255, certificate a string.
    return {
        "type": _integer("CERT", data, "type", 65535),
        "key_tag": _integer("CERT", data, "key_tag", 65535),
        "algorithm": _integer("CERT", data, "algorithm", 255),
        "certificate": _base64_field("CERT", data, "certificate"),
    }


def _dnskey(data: Mapping[str, Any]) -> dict[str, Any]:
    # spec: flags 0–65535, protocol 0–255, algorithm 0–255, public_key a string.
    out = {
        "flags": _integer("DNSKEY", data, "flags", 65535),
        "protocol": _integer("DNSKEY", data, "protocol", 255),
        "algorithm": _integer("DNSKEY", data, "algorithm", 255),
        "public_key": _base64_field("DNSKEY", data, "public_key"),
    }
    # Guessed: RFC 4034 §2.1.2 says the protocol MUST be 3 and the key is invalid otherwise; the spec
    # allows 0–255 (its example is 3). Strictest: refuse the rest.
    if out["protocol"] != 3:
        raise _fail("DNSKEY", "'protocol' must be 3 (RFC 4034).")
    return out


def _whole(rtype: str, key: str, value: float) -> int:
    if not value.is_integer():
        raise _fail(rtype, f"'{key}' must be a whole number.")
    return int(value)


def _decimals(rtype: str, key: str, value: float, places: int) -> int:
    """The value in units of 10^-places, refused if it has more decimals (guessed: the wire form keeps
    milliseconds of arc and centimetres; Cloudflare would round, we refuse so nothing changes on read)."""
    exact = value * 10.0**places
    scaled = round(exact)
    if abs(scaled - exact) > max(1e-6, abs(exact) * 1e-12):  # float noise is not a decimal
        raise _fail(rtype, f"'{key}' has more than {places} decimals.")
    return scaled


def _size_cm(key: str, metres: float) -> int:
    """Size/precision in cm; refused unless it is one digit times a power of ten (the wire form).

    Guessed: Cloudflare keeps LOC in wire form (obs: the altitude it returns carries the float noise of
    a centimetre round trip), so 15 m would come back as 10 m; we refuse it instead."""
    cm = _decimals("LOC", key, metres, 2)
    if cm:
        digits = str(cm).rstrip("0")
        if len(digits) > 1:
            raise _fail("LOC", f"'{key}' must be one digit times a power of ten metres or centimetres.")
    return cm


def _plain(value: float) -> float | int:
    """Integral floats as ints, as Cloudflare's JSON shows them (obs: `"lat_seconds": 54`)."""
    return int(value) if value.is_integer() else value


def _loc(data: Mapping[str, Any]) -> dict[str, Any]:
    # spec: field names, ranges and `default: 0` for minutes, seconds, size and precisions; degrees,
    # directions and altitude have no default and are required here.
    out: dict[str, Any] = {}
    for axis, limit, directions in (("lat", 90, ("N", "S")), ("long", 180, ("E", "W"))):
        degrees = _whole(
            "LOC", f"{axis}_degrees", _number("LOC", data, f"{axis}_degrees", low=0, high=limit, default=None)
        )
        minutes = _whole(
            "LOC", f"{axis}_minutes", _number("LOC", data, f"{axis}_minutes", low=0, high=59, default=0)
        )
        seconds = _number("LOC", data, f"{axis}_seconds", low=0, high=59.999, default=0)
        ms = _decimals("LOC", f"{axis}_seconds", seconds, 3)
        direction = data.get(f"{axis}_direction")
        if direction not in directions:
            raise _fail("LOC", f"'{axis}_direction' must be {' or '.join(directions)}.")
        if (degrees * 60 + minutes) * 60_000 + ms > limit * 3_600_000:
            raise _fail("LOC", f"the {axis}itude is beyond {limit} degrees.")
        out[f"{axis}_degrees"] = degrees
        out[f"{axis}_minutes"] = minutes
        out[f"{axis}_seconds"] = _plain(ms / 1000)
        out[f"{axis}_direction"] = direction
    altitude = _number("LOC", data, "altitude", low=_ALT_MIN, high=_ALT_MAX, default=None)
    altitude_cm = _decimals("LOC", "altitude", altitude, 2)
    # obs: the altitude read back is (cm + 10,000,000) / 100 - 100,000 in floating point, e.g. -24.05
    # comes back as -24.05000000000291. Reproduced so clients compare altitudes to the centimetre.
    out["altitude"] = _plain((altitude_cm + 10_000_000) / 100 - 100_000)
    for key in ("size", "precision_horz", "precision_vert"):
        out[key] = _plain(_size_cm(key, _number("LOC", data, key, low=0, high=_SIZE_MAX, default=0)) / 100)
    return out


def _character_string(key: str, value: str, pattern: re.Pattern[str]) -> str:
    if not pattern.fullmatch(value) or len(value) > 255:  # the patterns are ASCII: characters are bytes
        raise _fail("NAPTR", f"'{key}' is not a valid character-string for its field.")
    return value


def _naptr(data: Mapping[str, Any], check_name: Callable[[str], str]) -> dict[str, Any]:
    # spec: order/preference 0–65535; flags, service, regex, replacement strings. obs: every field is
    # echoed exactly as sent (flags keep their case, a replacement keeps its trailing dot).
    out: dict[str, Any] = {
        "order": _integer("NAPTR", data, "order", 65535),
        "preference": _integer("NAPTR", data, "preference", 65535),
        "flags": _character_string("flags", _string("NAPTR", data, "flags"), _NAPTR_FLAGS),
        "service": _character_string("service", _string("NAPTR", data, "service"), _NAPTR_SERVICE),
        "regex": _character_string("regex", _string("NAPTR", data, "regex"), _PRINTABLE),
        "replacement": _string("NAPTR", data, "replacement"),
    }
    replacement = out["replacement"]
    if replacement != ".":
        if not replacement.isascii():  # guessed: a wire-format name, so punycode only
            raise _fail("NAPTR", "'replacement' must be an ASCII host name or '.'.")
        check_name(replacement)  # raises 9010 for anything but a host name (trailing dot allowed)
        # Guessed: RFC 3403 §4.1 makes regex and replacement mutually exclusive; refused, not ignored.
        if out["regex"]:
            raise _fail("NAPTR", "'regex' and 'replacement' cannot both be set (RFC 3403); use '.'.")
    return out


def validate(rtype: str, data: Mapping[str, Any], check_name: Callable[[str], str]) -> dict[str, Any]:
    """The ``data`` to store for a CERT, DNSKEY, LOC or NAPTR record. ``check_name`` validates a host
    name (raising 9010)."""
    if rtype == "CERT":
        return _cert(data)
    if rtype == "DNSKEY":
        return _dnskey(data)
    if rtype == "LOC":
        return _loc(data)
    return _naptr(data, check_name)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def content(rtype: str, data: Mapping[str, Any]) -> str:
    """Cloudflare's read-only ``content`` for a validated ``data``."""
    if rtype == "LOC":
        # obs: "42 21 54.000 N 71 6 18.000 W -24.05 30.00 0.00 0.00" (no unit, no zero padding). The spec's
        # example ("IN LOC 37 46 46 N ... 0m 100m 0m 0m") is not what the API returns.
        axes = [
            " ".join((str(data[f"{a}_degrees"]), str(data[f"{a}_minutes"]), f"{data[f'{a}_seconds']:.3f}"))
            + f" {data[f'{a}_direction']}"
            for a in ("lat", "long")
        ]
        metres = [f"{data[k]:.2f}" for k in ("altitude", "size", "precision_horz", "precision_vert")]
        return " ".join([*axes, *metres])
    if rtype == "NAPTR":
        # obs: '100 10 "U" "E2U+sip" "!^.*$!sip:customer-service@example.com!" .' The escaping of a
        # backslash or quote inside a string is guessed (zone-file presentation format).
        strings = " ".join(_quoted(data[k]) for k in ("flags", "service", "regex"))
        return f"{data['order']} {data['preference']} {strings} {data['replacement']}"
    # Guessed, by analogy with DS and TLSA (obs: "2371 13 2 <digest>"): the numbers in decimal, then the
    # base64 text as sent. No mnemonics (PKIX, ECDSAP256SHA256) and no chunking.
    if rtype == "CERT":
        return f"{data['type']} {data['key_tag']} {data['algorithm']} {data['certificate']}"
    return f"{data['flags']} {data['protocol']} {data['algorithm']} {data['public_key']}"


def openpgpkey(value: object) -> str:
    """OPENPGPKEY ``content``: spec (current SDK) "A single Base64-encoded OpenPGP Transferable Public
    Key"; guessed: one unbroken base64 string, stored as sent."""
    if not isinstance(value, str) or not base64_ok(value):
        raise bad_request(
            e.INVALID_CONTENT, "Content for OPENPGPKEY record must be one base64 string (no spaces)."
        )
    return value
