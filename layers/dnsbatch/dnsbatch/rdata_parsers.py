"""Per-type values through dnspython: presentation text → dnspython rdata → canonical :class:`RecordValue`.

dnspython (``dns.rdata.from_text``) reads and checks every value against its RFC: integer ranges, addresses,
hex and base64 lengths, SvcParams (``port=notaport`` is refused, ``port=0853`` is ``port=853``), LOC
coordinates, NAPTR strings. What it cannot know stays here, per type: how the value maps to Cloudflare's
``content`` / ``data`` / ``priority`` (:data:`DATA_KEYS`), Cloudflare's own rules (CAA tags, host names
without odd characters, a CNAME that is not an IP address, an SRV name shaped ``_service._proto``), and
messages that say what is expected. TXT is the one type read by :mod:`dnsbatch.txt`: Cloudflare's TXT
content is not zone-file syntax (bare text is *one* string, split every 255 bytes), see
docs/record-values.md.

:func:`canonical` is the one path: :mod:`dnsbatch.rdata` calls it on what a producer sent and on the
presentation text it rebuilds from what Cloudflare returns, so equal records give equal values whatever
their spelling. It is cached on ``(type, text)``: busy windows repeat values, and dnspython costs 10-50 µs
a value. The common spellings of CNAME, NS, PTR, MX, SRV and TXT skip dnspython (``_SHORTCUTS``,
``_PLAIN_TXT``): same value, and anything a shortcut does not take goes the full way. dnspython itself is
imported on the first value parsed (about 20 ms of CPU in the aggregator, 45 ms in a bare interpreter),
not when a handler starts.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from dnsbatch.model import RecordValue
from dnsbatch.names import NameError_, normalize_hostname
from dnsbatch.safe_text import escape
from dnsbatch.txt import TxtError, parse_character_strings, quote, render_txt, split_bare_text

if TYPE_CHECKING:
    import dns.name
    import dns.rdata  # lazy: see the docstring

__all__ = [
    "CAA_TAGS",
    "DATA_KEYS",
    "SUPPORTED_TYPES",
    "Invalid",
    "canonical",
    "clear_cache",
    "number",
    "parse_txt",
    "show",
    "structured",
]

# All the types Cloudflare serves (docs/architecture.md#per-type-and-zone-rules).
SUPPORTED_TYPES: frozenset[str] = frozenset(
    {"A", "AAAA", "CAA", "CERT", "CNAME", "DNSKEY", "DS", "HTTPS", "LOC", "MX", "NAPTR", "NS"}
    | {"OPENPGPKEY", "PTR", "SMIMEA", "SRV", "SSHFP", "SVCB", "TLSA", "TXT", "URI"}
)

# Structured types: Cloudflare takes ``data`` with these fields (devstack/emulator/openapi-dns.json) and
# formats ``content`` itself, read-only. URI's priority is a top-level field, SRV's sits in ``data``.
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
    "CERT": ("type", "key_tag", "algorithm", "certificate"),
    "DNSKEY": ("flags", "protocol", "algorithm", "public_key"),
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
}
# Cloudflare's API offers these three tags only (the spec's enum); RFC 8659 tags are case-insensitive.
CAA_TAGS = ("issue", "issuewild", "iodef")

# What each type's presentation looks like, for messages.
_SHAPES: dict[str, str] = {
    "A": '"<IPv4 address>", e.g. "192.0.2.1"',
    "AAAA": '"<IPv6 address>", e.g. "2001:db8::1"',
    "CNAME": '"<host name>", e.g. "target.example.net"',
    "NS": '"<host name>", e.g. "ns1.example.net"',
    "PTR": '"<host name>", e.g. "host.example.com"',
    "MX": '"<priority> <mail host>", e.g. "10 mail.example.com"',
    "SRV": '"<priority> <weight> <port> <target>", e.g. "10 5 5060 sip.example.com"',
    "CAA": '"<flags> <tag> <value>", e.g. \'0 issue "letsencrypt.org"\'',
    "URI": '"<priority> <weight> <target>", e.g. \'10 1 "https://example.com/"\'',
    "TLSA": '"<usage> <selector> <matching_type> <certificate hex>", e.g. "3 1 1 <64 hex digits>"',
    "SMIMEA": '"<usage> <selector> <matching_type> <certificate hex>", e.g. "3 1 1 <64 hex digits>"',
    "SSHFP": '"<algorithm> <type> <fingerprint hex>", e.g. "4 2 <64 hex digits>"',
    "DS": '"<key_tag> <algorithm> <digest_type> <digest hex>", e.g. "2371 13 2 <64 hex digits>"',
    "HTTPS": '"<priority> <target> [params]", e.g. "1 . alpn=h2"',
    "SVCB": '"<priority> <target> [params]", e.g. "1 . alpn=h2"',
    "CERT": '"<type> <key_tag> <algorithm> <certificate base64>", e.g. "PGP 0 0 <base64>"',
    "DNSKEY": '"<flags> <protocol> <algorithm> <public key base64>", e.g. "257 3 13 <base64>"',
    "LOC": '"<d> [<m> [<s>]] N|S <d> [<m> [<s>]] E|W <altitude>m [<size>m [<horiz>m [<vert>m]]]", '
    'e.g. "37 46 46 N 122 23 35 W 0m"',
    "NAPTR": '"<order> <preference> <flags> <service> <regex> <replacement>", '
    'e.g. \'100 10 "S" "SIP+D2U" "" _sip._udp.example.com\'',
    "OPENPGPKEY": '"<public key base64>"',
}
# A number written with digits other than 0-9 (Arabic-Indic, full-width...): Python's int() reads them,
# and so would dnspython; a zone file cannot hold them, so they are refused rather than silently read.
_FOREIGN_NUMBER = re.compile(r"(?:^|\s)(?=[^\s]*[^\x00-\x7f])\d+(?=\s|$)")
# Values longer than this are parsed every time rather than kept in the cache (its memory stays bounded).
_CACHED_TEXT = 512


_Data = dict[str, str | int | float]


class Invalid(ValueError):
    """Raised by per-type parsers; :func:`dnsbatch.rdata.parse_values` prefixes the field."""


def show(text: str) -> str:
    """``text`` as a JSON string for an error message, cut to 80 characters, safe to log and to send
    (lone surrogates and control characters escaped: the message must encode even when the input did not)."""
    shown = text if len(text) <= 80 else text[:77] + "..."
    return escape(json.dumps(shown, ensure_ascii=False))


def _detail(exc: BaseException) -> str:
    # dnspython's messages can quote the whole offending token (up to 16 KiB here): cut and escape.
    text = str(exc) or type(exc).__name__
    return escape(text if len(text) <= 120 else text[:117] + "...")


def number(value: object) -> str:
    """A number from Cloudflare's JSON as presentation text (integers may come back as floats)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"{show(str(value))} is not a number")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def structured(type_: str, data: Mapping[str, str | int | float], priority: int | None = None) -> RecordValue:
    """The canonical value of a structured type from its Cloudflare ``data`` (already canonical)."""
    if type_ == "CAA":
        content = f"{data['flags']} {data['tag']} {quote(str(data['value']).encode())}"
    elif type_ == "URI":
        content = f"{priority} {data['weight']} {quote(str(data['target']).encode())}"
    elif type_ in ("HTTPS", "SVCB"):
        content = " ".join(str(p) for p in (data["priority"], data["target"], data["value"]) if p != "")
    elif type_ == "NAPTR":
        strings = " ".join(quote(str(data[k]).encode()) for k in ("flags", "service", "regex"))
        content = f"{data['order']} {data['preference']} {strings} {data['replacement']}"
    elif type_ == "LOC":
        content = " ".join(
            f"{data[k]}m" if k in ("altitude", "size", "precision_horz", "precision_vert") else str(data[k])
            for k in DATA_KEYS["LOC"]
        )
    else:
        content = " ".join(str(data[k]) for k in DATA_KEYS[type_])
    return RecordValue(content=content, priority=priority, data=tuple(sorted(data.items())))


# --- dnspython -------------------------------------------------------------------------------------------


class _Dns:
    """dnspython, imported on first use: only the value paths need it, and the import would add a sixth to
    a third of ``import boto3`` to every handler's cold start (bench/bench_imports.py)."""

    def __init__(self) -> None:
        import dns.ipv4  # noqa: PLC0415  # lazy: see the class docstring
        import dns.ipv6  # noqa: PLC0415
        import dns.name  # noqa: PLC0415
        import dns.rdata  # noqa: PLC0415
        import dns.rdataclass  # noqa: PLC0415
        import dns.rdatatype  # noqa: PLC0415
        import dns.tokenizer  # noqa: PLC0415

        self.from_text = dns.rdata.from_text
        self.IN = dns.rdataclass.IN
        self.types = {t: dns.rdatatype.RdataType.make(t) for t in SUPPORTED_TYPES}
        self.classes: dict[str, Any] = {
            t: dns.rdata.get_rdata_class(self.IN, self.types[t])  # type: ignore[no-untyped-call]
            for t in SUPPORTED_TYPES
        }
        self.root = dns.name.root
        # UTS 46 mapping, non-transitional, then IDNA 2008: like dnsbatch.names.
        self.codec = dns.name.IDNA_2008_Practical
        # An address is one token: what the rdata class's constructor does with it (A.__init__ and
        # AAAA.__init__ keep exactly this), without building the rdata around it.
        self.address: dict[str, Callable[[str], str]] = {
            "A": dns.ipv4.canonicalize,
            "AAAA": dns.ipv6.canonicalize,
        }
        tokenizer = dns.tokenizer

        class SplitTokenizer(tokenizer.Tokenizer):
            """dnspython's tokenizer for text that needs no tokenizing: no quotes, escapes, parentheses or
            comments, only tokens between spaces or tabs. It hands dnspython the tokens its own tokenizer
            would find (which reads character by character, a third of the cost of a value), and dnspython
            does all the rest: the rdata class reads and checks them as usual."""

            def __init__(self, tokens: list[str], codec: Any) -> None:
                super().__init__("", idna_codec=codec)
                self.tokens = tokens[::-1]

            def get(self, want_leading: bool = False, want_comment: bool = False) -> Any:
                if self.ungotten_token is not None:
                    token, self.ungotten_token = self.ungotten_token, None
                    return token
                if self.tokens:
                    return tokenizer.Token(tokenizer.IDENTIFIER, self.tokens.pop())
                return tokenizer.Token(tokenizer.EOF, "")

        self.split_tokenizer = SplitTokenizer


_dns: _Dns | None = None
# Text dnspython's tokenizer would split at spaces and tabs only: nothing it treats specially.
_SIMPLE = re.compile(r'[^"\\();\x00-\x08\x0a-\x1f\x7f]*')
_TOKEN = re.compile(r"[^ \t]+")


def _rdata(type_: str, text: str) -> dns.rdata.Rdata:
    global _dns  # noqa: PLW0603  # one instance, made on first use
    dns_ = _dns = _dns or _Dns()
    rdtype = dns_.types[type_]
    try:
        # origin=root, relativize=False: a target is absolute with or without its trailing dot, as
        # Cloudflare reads it.
        if _SIMPLE.fullmatch(text):
            # What dns.rdata.from_text does for such text (no generic \# form, no comment), minus its
            # per-call lookups: the type's class reads the tokens, then nothing may follow.
            tok = dns_.split_tokenizer(_TOKEN.findall(text), dns_.codec)
            simple: dns.rdata.Rdata = dns_.classes[type_].from_text(
                dns_.IN, rdtype, tok, dns_.root, False, None
            )
            tok.get_eol_as_token()
            return simple
        rd = dns_.from_text(dns_.IN, rdtype, text, origin=dns_.root, relativize=False, idna_codec=dns_.codec)
    # Any exception: dns.rdata.from_text turns every one its class raises into a SyntaxError (some raise
    # Python's own SyntaxError, ValueError, KeyError...), and the shortcut above must refuse the same text.
    except Exception as exc:
        raise Invalid(
            f"{show(text)} is not a valid {type_} value ({_detail(exc)}); expected {_SHAPES[type_]}"
        ) from None
    if rd.rdcomment is not None:
        # Zone-file syntax would silently drop the rest: `0 issue ca.example;account=1` loses ";account=1".
        raise Invalid(
            f"{show(text)} holds a ';' outside quotes, which zone-file syntax reads as the start of a "
            "comment (the rest of the value would be lost); quote the text that holds it"
        )
    return rd


def _host(target: dns.name.Name, what: str, *, allow_root: bool = False) -> str:
    if allow_root and len(target.labels) == 1:  # the root: "." ("the owner itself" for SVCB/HTTPS)
        return "."
    text = target.to_text(omit_final_dot=True)
    try:
        return normalize_hostname(text)
    except NameError_ as exc:
        raise Invalid(f"{what} is not a valid host name: {exc}") from None


def _utf8(raw: bytes, what: str) -> str:
    # Cloudflare takes these fields as JSON strings: bytes that are not UTF-8 have no such form.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid(
            f"{what} holds bytes that are not UTF-8 text, which Cloudflare's JSON cannot carry"
        ) from None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _a(rd: Any) -> RecordValue:
    return RecordValue(content=rd.address)


def _hostname(type_: str) -> Callable[[Any], RecordValue]:
    def build(rd: Any) -> RecordValue:
        target = _host(rd.target, f"{type_} target {show(rd.target.to_text())}")
        if type_ == "CNAME" and _is_ip(target):
            # dnspython reads 192.0.2.1 as a name of four numeric labels; Cloudflare refuses it.
            raise Invalid(
                f"{show(target)} is an IP address; a CNAME must point at a host name "
                "(use an A or AAAA record)"
            )
        return RecordValue(content=target)

    return build


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _mx(rd: Any) -> RecordValue:
    exchange = _host(rd.exchange, f"MX host {show(rd.exchange.to_text())}")
    return RecordValue(content=exchange, priority=int(rd.preference))


def _srv(rd: Any) -> RecordValue:
    target = _host(rd.target, f"SRV target {show(rd.target.to_text())}", allow_root=True)
    data: _Data = {
        "priority": int(rd.priority),
        "weight": int(rd.weight),
        "port": int(rd.port),
        "target": target,
    }
    return structured("SRV", data)


def _caa(rd: Any) -> RecordValue:
    tag = rd.tag.decode("ascii").lower()
    if tag not in CAA_TAGS:
        raise Invalid(f"CAA tag {show(tag)} is not supported by Cloudflare (allowed: {', '.join(CAA_TAGS)})")
    data: _Data = {"flags": int(rd.flags), "tag": tag, "value": _utf8(rd.value, "CAA value")}
    return structured("CAA", data)


def _uri(rd: Any) -> RecordValue:
    data: _Data = {"weight": int(rd.weight), "target": _utf8(rd.target, "URI target")}
    return structured("URI", data, priority=int(rd.priority))


def _tlsa(type_: str) -> Callable[[Any], RecordValue]:
    def build(rd: Any) -> RecordValue:
        data: _Data = {"usage": int(rd.usage), "selector": int(rd.selector), "matching_type": int(rd.mtype)}
        return structured(type_, {**data, "certificate": rd.cert.hex()})

    return build


def _sshfp(rd: Any) -> RecordValue:
    data: _Data = {
        "algorithm": int(rd.algorithm),
        "type": int(rd.fp_type),
        "fingerprint": rd.fingerprint.hex(),
    }
    return structured("SSHFP", data)


def _ds(rd: Any) -> RecordValue:
    data: _Data = {
        "key_tag": int(rd.key_tag),
        "algorithm": int(rd.algorithm),
        "digest_type": int(rd.digest_type),
    }
    return structured("DS", {**data, "digest": rd.digest.hex()})


def _svcb(type_: str) -> Callable[[Any], RecordValue]:
    def build(rd: Any) -> RecordValue:
        target = _host(rd.target, f"{type_} target {show(rd.target.to_text())}", allow_root=True)
        # dnspython renders the params in key order with every value quoted: the canonical form.
        parts = rd.to_text().split(" ", 2)
        data: _Data = {
            "priority": int(rd.priority),
            "target": target,
            "value": parts[2] if len(parts) == 3 else "",
        }
        return structured(type_, data)

    return build


def _cert(rd: Any) -> RecordValue:
    data: _Data = {
        "type": int(rd.certificate_type),
        "key_tag": int(rd.key_tag),
        "algorithm": int(rd.algorithm),
        "certificate": _b64(rd.certificate),
    }
    return structured("CERT", data)


def _dnskey(rd: Any) -> RecordValue:
    data: _Data = {
        "flags": int(rd.flags),
        "protocol": int(rd.protocol),
        "algorithm": int(rd.algorithm),
        "public_key": _b64(rd.key),
    }
    return structured("DNSKEY", data)


def _metres(centimetres: float) -> int | float:
    metres = round(centimetres / 100, 2)
    return int(metres) if metres.is_integer() else metres


def _angle(
    parts: tuple[int, int, int, int, int], prefix: str, directions: str
) -> dict[str, str | int | float]:
    degrees, minutes, seconds, milliseconds, sign = parts
    total = round(seconds + milliseconds / 1000, 3)
    return {
        f"{prefix}_degrees": degrees,
        f"{prefix}_minutes": minutes,
        f"{prefix}_seconds": int(total) if total.is_integer() else total,
        f"{prefix}_direction": directions[0] if sign > 0 else directions[1],
    }


def _loc(rd: Any) -> RecordValue:
    data: dict[str, str | int | float] = {
        **_angle(rd.latitude, "lat", "NS"),
        **_angle(rd.longitude, "long", "EW"),
        "altitude": _metres(rd.altitude),
        "size": _metres(rd.size),
        "precision_horz": _metres(rd.horizontal_precision),
        "precision_vert": _metres(rd.vertical_precision),
    }
    return structured("LOC", data)


def _naptr(rd: Any) -> RecordValue:
    data: _Data = {
        "order": int(rd.order),
        "preference": int(rd.preference),
        "flags": _utf8(rd.flags, "NAPTR flags"),
        "service": _utf8(rd.service, "NAPTR service"),
        "regex": _utf8(rd.regexp, "NAPTR regex"),
        "replacement": _host(
            rd.replacement, f"NAPTR replacement {show(rd.replacement.to_text())}", allow_root=True
        ),
    }
    return structured("NAPTR", data)


def _openpgpkey(rd: Any) -> RecordValue:
    return RecordValue(content=_b64(rd.key))


_BUILDERS: dict[str, Callable[[Any], RecordValue]] = {
    "A": _a,
    "AAAA": _a,
    "CNAME": _hostname("CNAME"),
    "NS": _hostname("NS"),
    "PTR": _hostname("PTR"),
    "MX": _mx,
    "SRV": _srv,
    "CAA": _caa,
    "URI": _uri,
    "TLSA": _tlsa("TLSA"),
    "SMIMEA": _tlsa("SMIMEA"),
    "SSHFP": _sshfp,
    "DS": _ds,
    "HTTPS": _svcb("HTTPS"),
    "SVCB": _svcb("SVCB"),
    "CERT": _cert,
    "DNSKEY": _dnskey,
    "LOC": _loc,
    "NAPTR": _naptr,
    "OPENPGPKEY": _openpgpkey,
}


# --- shortcuts for the common spellings ------------------------------------------------------------------
# A cold aggregator meets most values for the first time, and dnspython spends 10-50 µs building an rdata
# object for each. For the spellings nearly every producer uses (plain numbers, plain ASCII host names,
# printable bare TXT), the canonical value is known without it: each shortcut below returns exactly what
# the dnspython path returns for such text, and None for anything else, which then goes to dnspython. A
# shortcut never refuses a value: every message about a bad value comes from the one path above
# (tests/unit/test_rdata_shortcuts.py checks both paths agree, weird spellings included).

# Labels of letters, digits, '-' and '_' (each non-empty), an optional final dot: dnspython's name reader
# keeps such text as it is (nothing to unescape, nothing to escape back) and the name is absolute.
_PLAIN_HOST = re.compile(r"(?:[A-Za-z0-9_-]+\.)*[A-Za-z0-9_-]+\.?")
# What dnspython's uint16 reader takes, at most five ASCII digits (leading zeros allowed, as dnspython does).
_PLAIN_UINT = re.compile(r"[0-9]{1,5}")


def _plain_host(token: str) -> str | None:
    """The target ``_host`` gives for ``token`` when dnspython would read it unchanged, else None."""
    if _PLAIN_HOST.fullmatch(token) is None:
        return None
    try:
        # normalize_hostname accepting it (labels of at most 63, at most 253 characters without the final
        # dot) implies dnspython accepts it too (labels of at most 63, at most 255 octets in wire form).
        return normalize_hostname(token)
    except NameError_:
        return None


def _plain_uint16(token: str) -> int | None:
    if _PLAIN_UINT.fullmatch(token) is None:
        return None
    value = int(token)
    return value if value <= 0xFFFF else None


def _plain_target(tokens: list[str]) -> RecordValue | None:
    if len(tokens) != 1:
        return None
    target = _plain_host(tokens[0])
    if target is None or target.replace(".", "").isdigit():
        # All digits and dots may be an IP address, which a CNAME refuses: the full path says so.
        return None
    return RecordValue(content=target)


def _plain_mx(tokens: list[str]) -> RecordValue | None:
    if len(tokens) != 2:
        return None
    preference, exchange = _plain_uint16(tokens[0]), _plain_host(tokens[1])
    if preference is None or exchange is None:
        return None
    return RecordValue(content=exchange, priority=preference)


def _plain_srv(tokens: list[str]) -> RecordValue | None:
    if len(tokens) != 4:
        return None
    priority, weight, port = (_plain_uint16(t) for t in tokens[:3])
    target = _plain_host(tokens[3])  # not the root ("."): the full path reads that one
    if priority is None or weight is None or port is None or target is None:
        return None
    return structured("SRV", {"priority": priority, "weight": weight, "port": port, "target": target})


_SHORTCUTS: dict[str, Callable[[list[str]], RecordValue | None]] = {
    "CNAME": _plain_target,
    "NS": _plain_target,
    "PTR": _plain_target,
    "MX": _plain_mx,
    "SRV": _plain_srv,
}
# Bare TXT text of printable ASCII without quotes or backslashes, short enough to be one string:
# split_bare_text keeps it as one string and quote() writes it back unchanged between quotes.
_PLAIN_TXT = re.compile(r"[ !#-\[\]-~]{1,255}")


def parse_txt(text: str) -> RecordValue:
    """TXT as Cloudflare reads its content: quoted character-strings, or bare text as one string."""
    if _PLAIN_TXT.fullmatch(text) is not None:
        return RecordValue(content=f'"{text}"')
    try:
        strings = parse_character_strings(text) if text.lstrip().startswith('"') else split_bare_text(text)
    except TxtError as exc:
        raise Invalid(str(exc)) from None
    return RecordValue(content=render_txt(strings))


def _parse(type_: str, text: str) -> RecordValue:
    if type_ == "TXT":
        return parse_txt(text)
    if not text.isascii() and _FOREIGN_NUMBER.search(text):
        raise Invalid(f"{show(text)} writes a number with digits other than 0-9")
    if type_ in ("A", "AAAA"):
        return _address(type_, text)
    shortcut = _SHORTCUTS.get(type_)
    if shortcut is not None and _SIMPLE.fullmatch(text):
        value = shortcut(_TOKEN.findall(text))
        if value is not None:
            return value
    return _BUILDERS[type_](_rdata(type_, text))


def _address(type_: str, text: str) -> RecordValue:
    global _dns  # noqa: PLW0603  # one instance, made on first use
    dns_ = _dns = _dns or _Dns()
    tokens = _TOKEN.findall(text) if _SIMPLE.fullmatch(text) else ()
    try:
        if len(tokens) == 1:
            return RecordValue(content=dns_.address[type_](tokens[0]))
        return _a(_rdata(type_, text))
    except Exception:  # as dns.rdata.from_text does: any exception of the class refuses the text
        # dnspython refuses short forms (1.2.3), leading zeros (01.2.3.4), zone indexes; the message is ours.
        if type_ == "A":
            raise Invalid(
                f"{show(text)} is not an IPv4 address (A records take a dotted quad like 192.0.2.1)"
            ) from None
        raise Invalid(
            f"{show(text)} is not an IPv6 address (AAAA records take an address like 2001:db8::1, "
            "without a zone index)"
        ) from None


_parse_cached = lru_cache(maxsize=8192)(_parse)


def clear_cache() -> None:
    """Forget every cached value (benchmarks measure the first parse this way)."""
    _parse_cached.cache_clear()


def canonical(type_: str, text: str) -> RecordValue:
    """The canonical value of ``text``, a presentation value of ``type_`` (one of :data:`SUPPORTED_TYPES`).

    Raises :class:`Invalid` saying what is wrong and what is expected. Checks that depend on the record's
    name (a CNAME pointing at itself, an SRV name) are the caller's (:mod:`dnsbatch.rdata`).
    """
    if len(text) > _CACHED_TEXT:
        return _parse(type_, text)
    return _parse_cached(type_, text)
