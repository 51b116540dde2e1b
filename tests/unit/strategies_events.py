"""Hypothesis strategies for change events and record values, shared by the event-contract tests."""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import strategies as st

from dnsbatch.model import Action, Change, EventRef, RecordSetKey, RecordValue

ZONE = "example.com"
SRV_NAME = "_sip._tcp.example.com"
HOST_NAME = "host.example.com"

_label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=10)


def _random_case(text: str, flips: list[bool]) -> str:
    return "".join(c.upper() if f else c for c, f in zip(text, flips + [False] * len(text), strict=False))


@st.composite
def hostnames(draw: st.DrawFn) -> str:
    """A host name in any spelling Cloudflare or a producer might use (case, trailing dot)."""
    labels = draw(st.lists(_label, min_size=1, max_size=4))
    labels.append(draw(st.sampled_from(["com", "net", "org", "example"])))
    text = ".".join(labels)
    text = _random_case(text, draw(st.lists(st.booleans(), max_size=len(text))))
    return text + draw(st.sampled_from(["", "."]))


def _escape_bytes(raw: bytes, style: list[bool]) -> str:
    out = []
    for i, b in enumerate(raw):
        ch = chr(b)
        decimal = i < len(style) and style[i]
        if 0x20 <= b < 0x7F and ch not in '"\\' and not decimal:
            out.append(ch)
        elif ch in '"\\' and not decimal:
            out.append("\\" + ch)
        else:
            out.append(f"\\{b:03d}")
    return '"' + "".join(out) + '"'


@st.composite
def txt_values(draw: st.DrawFn) -> str:
    """TXT presentation text: bare text, or quoted strings with escapes in varied styles."""
    if draw(st.booleans()):
        # Raw control characters are refused in values (dnsbatch.rdata); bytes go in as \DDD escapes.
        alphabet = st.characters(codec="utf-8", exclude_characters='"', exclude_categories=("Cc",))
        return draw(st.text(alphabet=alphabet, min_size=1, max_size=600))
    strings = draw(st.lists(st.binary(max_size=255), min_size=1, max_size=3))
    return " ".join(_escape_bytes(s, draw(st.lists(st.booleans(), max_size=len(s)))) for s in strings)


_u8 = st.integers(0, 255)
_u16 = st.integers(0, 65535)
_plain = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-:/;= ", min_size=1, max_size=40)
_base64 = st.binary(min_size=1, max_size=64).map(lambda b: base64.b64encode(b).decode())


def _hex_of(lengths: dict[int, int], low: int = 0) -> st.SearchStrategy[tuple[int, str]]:
    """(a digest or matching type, hex data of the length RFCs give that type: dnspython checks it)."""

    def data(kind: int) -> st.SearchStrategy[tuple[int, str]]:
        size = lengths.get(kind)
        raw = st.binary(min_size=size or 1, max_size=size or 32)
        return raw.map(lambda b: (kind, b.hex()))

    return st.integers(low, 255).flatmap(data)


_TLSA_HEX = _hex_of({1: 32, 2: 64})
_SSHFP_HEX = _hex_of({1: 20, 2: 32})
_DS_HEX = _hex_of({1: 20, 2: 32, 3: 32, 4: 48}, low=1)  # digest type 0 is reserved


@st.composite
def _svc(draw: st.DrawFn) -> str:
    prio = draw(st.integers(1, 65535))
    target = draw(st.one_of(st.just("."), hostnames()))
    params = draw(
        st.lists(
            st.sampled_from(
                ["alpn=h2", 'alpn="h3,h2"', "port=443", "port=0853", "ipv4hint=192.0.2.1", 'ipv6hint="::1"']
            ),
            unique_by=lambda p: p.split("=")[0],
            max_size=3,
        )
    )
    return " ".join([str(prio), target, *params])


@st.composite
def _loc(draw: st.DrawFn) -> str:
    def angle(limit: int, directions: str) -> str:
        degrees = draw(st.integers(0, limit - 1))
        minutes, seconds = draw(st.integers(0, 59)), draw(st.integers(0, 59999)) / 1000
        return f"{degrees} {minutes} {seconds:.3f} {draw(st.sampled_from(directions))}"

    metres = [f"{draw(st.integers(0, 9)) * 10 ** draw(st.integers(0, 6))}m" for _ in range(3)]
    altitude = draw(st.integers(-10_000_000, 100_000_000)) / 100
    return " ".join([angle(90, "NS"), angle(180, "EW"), f"{altitude:.2f}m", *metres])


_VALUES: dict[str, st.SearchStrategy[str]] = {
    "A": st.ip_addresses(v=4).map(str),
    "AAAA": st.ip_addresses(v=6).flatmap(lambda a: st.sampled_from([str(a), a.exploded, str(a).upper()])),
    "CNAME": hostnames(),
    "NS": hostnames(),
    "PTR": hostnames(),
    "TXT": txt_values(),
    "MX": st.tuples(_u16, hostnames()).map(lambda t: f"{t[0]} {t[1]}"),
    "SRV": st.tuples(_u16, _u16, _u16, st.one_of(hostnames(), st.just("."))).map(
        lambda t: " ".join(map(str, t))
    ),
    "CAA": st.tuples(_u8, st.sampled_from(["issue", "IssueWild", "iodef"]), _plain).map(
        lambda t: f'{t[0]} {t[1]} "{t[2]}"'
    ),
    "URI": st.tuples(_u16, _u16, _plain).map(lambda t: f'{t[0]} {t[1]} "{t[2]}"'),
    "TLSA": st.tuples(_u8, _u8, _TLSA_HEX).map(lambda t: f"{t[0]} {t[1]} {t[2][0]} {t[2][1]}"),
    "SMIMEA": st.tuples(_u8, _u8, _TLSA_HEX).map(lambda t: f"{t[0]} {t[1]} {t[2][0]} {t[2][1]}".upper()),
    "SSHFP": st.tuples(_u8, _SSHFP_HEX).map(lambda t: f"{t[0]} {t[1][0]} {t[1][1]}"),
    "DS": st.tuples(_u16, _u8, _DS_HEX).map(lambda t: f"{t[0]} {t[1]} {t[2][0]} {t[2][1]}"),
    "HTTPS": _svc(),
    "SVCB": _svc(),
    "CERT": st.tuples(st.sampled_from(["PGP", "PKIX", "1", "3", "254"]), _u16, _u8, _base64).map(
        lambda t: " ".join(map(str, t))
    ),
    "DNSKEY": st.tuples(st.sampled_from([256, 257, 0]), _u8, _base64).map(
        lambda t: f"{t[0]} 3 {t[1]} {t[2]}"
    ),
    "LOC": _loc(),
    "NAPTR": st.tuples(
        _u16, _u16, st.sampled_from(["S", "A", "U", ""]), _plain, st.one_of(hostnames(), st.just("."))
    ).map(lambda t: f'{t[0]} {t[1]} "{t[2]}" "{t[3]}" "" {t[4]}'),
    "OPENPGPKEY": _base64,
}


def values_of(type_: str) -> st.SearchStrategy[str]:
    """Valid presentation values of ``type_`` (for a record named :func:`name_for`)."""
    return _VALUES[type_]


def name_for(type_: str) -> str:
    return SRV_NAME if type_ == "SRV" else HOST_NAME


# --- events, valid and not, for the schema agreement test ----------------------------------------------

_junk: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _maybe_bad(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(good, good, good, _junk)


_tag = st.one_of(
    st.tuples(
        st.text(alphabet="aZ09_-é", min_size=0, max_size=33),
        st.text(alphabet="ab\n\r:\x00\x9f\u2028\ud800", max_size=101),
    ).map(":".join),
    st.text(max_size=10),
)
_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "zone": _maybe_bad(st.sampled_from(["example.com", "", "x" * 255, "example.com\n", "\x00"])),
    "name": _maybe_bad(st.sampled_from(["www", "@", "", "a" * 255, "www\t", "a\x85", "\u2028"])),
    "type": _maybe_bad(st.sampled_from(["A", "TXT", "MX", "a", "SPF"])),
    "action": _maybe_bad(st.sampled_from(["upsert", "delete", "UPSERT"])),
    "values": _maybe_bad(
        st.lists(st.sampled_from(["192.0.2.1", "", "x"]), max_size=3) | st.just(["1"] * 101)
    ),
    "ttl": _maybe_bad(st.sampled_from([1, 1.0, 0, 30, 59, 60, 300, 86400, 86401, True])),
    "proxied": _maybe_bad(st.booleans()),
    "comment": _maybe_bad(
        st.sampled_from(
            ["", "ok", "a\nb", "x\r", "c" * 500, "c" * 501, "a\tb", "\x00", "\x7f", "\u2029", "\ud800"]
        )
    ),
    "tags": _maybe_bad(st.lists(_tag, max_size=3) | st.just(["a:b"] * 21)),
    "version": _maybe_bad(st.sampled_from([0, 5, -1, 2**63 - 1, 2**63, 7.0, 7.5, 1e30])),
    "source": _maybe_bad(st.sampled_from(["ci", "", "s" * 256, "s" * 257])),
    "id": _maybe_bad(st.sampled_from(["e-1", "i" * 257])),
}
_REQUIRED = ("zone", "name", "type", "action")


_GOOD: dict[str, st.SearchStrategy[Any]] = {
    "zone": st.sampled_from(["example.com", "Example.org."]),
    "name": st.sampled_from(["www", "@", "a.example.com."]),
    "type": st.sampled_from(["A", "TXT", "MX"]),
    "ttl": st.sampled_from([1, 1.0, 60, 300, 86400]),
    "proxied": st.booleans(),
    "comment": st.sampled_from(["", "ok", "c" * 500]),
    "tags": st.lists(st.sampled_from(["a:b", "team_x-1:" + "v" * 100, "t:"]), max_size=3),
    "version": st.sampled_from([0, 5, 2**63 - 1, 7.0]),
    "source": st.sampled_from(["ci", "", "s" * 256]),
    "id": st.sampled_from(["e-1", "i" * 256]),
}


@st.composite
def change_objects(draw: st.DrawFn) -> dict[str, Any]:
    """A decoded change object: a valid one, then 0-3 mutations (junk, missing or unknown fields)."""
    obj: dict[str, Any] = {key: draw(_GOOD[key]) for key in ("zone", "name", "type")}
    obj["action"] = draw(st.sampled_from(["upsert", "delete"]))
    if obj["action"] == "upsert":
        obj["values"] = draw(st.lists(st.sampled_from(["192.0.2.1", "x"]), min_size=1, max_size=3))
    elif draw(st.booleans()):
        obj["values"] = []
    for key in draw(st.lists(st.sampled_from(sorted(set(_GOOD) - set(_REQUIRED))), unique=True, max_size=4)):
        obj[key] = draw(_GOOD[key])
    for _ in range(draw(st.integers(0, 3))):
        mutation = draw(st.sampled_from(["set", "set", "drop", "unknown"]))
        if mutation == "set":
            key = draw(st.sampled_from(sorted(_FIELDS)))
            obj[key] = draw(_FIELDS[key])
        elif mutation == "drop" and obj:
            del obj[draw(st.sampled_from(sorted(obj)))]
        else:
            obj[draw(st.sampled_from(["changes", "Zone", "value", "x"]))] = 1
    return obj


event_bodies: st.SearchStrategy[Any] = st.one_of(
    change_objects(),
    st.fixed_dictionaries({"changes": st.lists(change_objects(), max_size=3)}),
    st.fixed_dictionaries({"changes": _junk}),
    st.fixed_dictionaries(
        {"changes": st.lists(change_objects(), max_size=2), "zone": st.just("example.com")}
    ),
    _junk,
)


# --- Changes for the coalescing properties ---------------------------------------------------------------


@st.composite
def changes(draw: st.DrawFn) -> Change:
    """A change to one of a few record sets, with colliding versions, timestamps and message ids."""
    key = RecordSetKey(
        ZONE, draw(st.sampled_from(["a.example.com", "b.example.com"])), draw(st.sampled_from("AB"))
    )
    ref = EventRef(
        message_id=draw(st.sampled_from(["m1", "m2", "m3"])),
        sent_timestamp=draw(st.integers(0, 3)),
        index=draw(st.integers(0, 2)),
    )
    action = draw(st.sampled_from(Action))
    values = () if action is Action.DELETE else (RecordValue(content=draw(st.sampled_from(["1", "2"]))),)
    return Change(key=key, action=action, values=values, version=draw(st.integers(0, 3)), ref=ref)
