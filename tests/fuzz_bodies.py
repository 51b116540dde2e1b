"""A seeded generator of hostile ingest message bodies, shared by the parse_message fuzz (tests/unit) and the
aggregator handler fuzz (tests/functional).

Each body is JSON *text* written by :func:`render`, not ``json.dumps``, so it can hold what a producer's
serializer might emit and ``json.dumps`` never would: duplicate keys, lone surrogate escapes (``"\\ud800"``,
which ``json.loads`` accepts), integers of 5,000 digits, ``1e400``, ``-0``, nesting thousands deep,
truncated text, a BOM. Every body is ASCII, as SQS would carry it.

Some changes are *known valid*: untouched copies of valid templates under names no mutation produces
(``ok<n>``). :class:`Body` lists them, so a test can check that they reach ChangeSetQueue whatever their
siblings hold.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

ZONE = "example.com"


class Raw(str):
    """JSON text put into the body as it is (a number literal, nesting, anything)."""


class Pairs(list[tuple[str, Any]]):
    """A JSON object as (key, value) pairs: keys may repeat."""


@dataclass
class Body:
    text: str
    # (name relative to the zone, type) of every change that must be accepted, with its envelope index.
    valid: list[tuple[int, str, str]] = field(default_factory=list)
    kind: str = ""


def _string(text: str) -> str:
    # json.dumps escapes a lone surrogate as \udXXX and every control character: ASCII out.
    return json.dumps(text)


def render(node: Any) -> str:
    if isinstance(node, Raw):
        return str(node)
    if isinstance(node, Pairs):
        return "{" + ",".join(f"{_string(k)}:{render(v)}" for k, v in node) + "}"
    if isinstance(node, dict):
        return "{" + ",".join(f"{_string(k)}:{render(v)}" for k, v in node.items()) + "}"
    if isinstance(node, list):
        return "[" + ",".join(render(v) for v in node) + "]"
    if isinstance(node, str):
        return _string(node)
    return json.dumps(node)


# Valid (type, name, value) templates; the name gets a unique label in front.
TEMPLATES: list[tuple[str, str, str]] = [
    ("A", "", "192.0.2.10"),
    ("AAAA", "", "2001:db8::10"),
    ("CNAME", "", "target.example.net"),
    ("TXT", "", "v=spf1 include:_spf.example.net -all"),
    ("TXT", "", '"quoted" "two\\"strings"'),
    ("MX", "", "10 mx1.example.com"),
    ("NS", "", "ns1.example.net"),
    ("PTR", "", "host10.example.com"),
    ("SRV", "_sip._tcp.", "10 5 5060 sip.example.com"),
    ("CAA", "", '0 issue "letsencrypt.org"'),
    ("URI", "_ftp._tcp.", '10 1 "ftp://ftp.example.com/pub/"'),
    ("TLSA", "_443._tcp.", "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6"),
    ("SSHFP", "", "4 2 123456789abcdef67890123456789abcdef67890123456789abcdef123456789"),
    ("DS", "", "2371 13 2 1f987cc6583e92df0890718c42c04b4a7e09a4d0ea53f3f76ee2ea8a7d9a6db4"),
    ("HTTPS", "", '1 . alpn="h3,h2" ipv4hint="192.0.2.10"'),
    ("SVCB", "_dns.", "1 dns.example.net alpn=dot port=853"),
]

FIELDS = ("zone", "name", "type", "action", "values", "ttl", "proxied", "comment", "tags", "version")
FIELDS += ("source", "id")

HOSTILE_TEXT = [
    "\ud800",
    "\udfff",
    "a\ud800b",
    "\udbff\udc00",  # a valid pair written as two escapes: json.loads joins it into U+10FFFF
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\u2028",
    "\ufeff",
    "\uffff",
    "\ufffe",
    "tab\there",
    "line\nbreak",
    "\r",
    "",
    " ",
    "é",
    "🙂",
    "x" * 300,
    "\\",
    '"',
    "\\000",
    "*",
    "@",
    ".",
    "xn--",
    "a" * 64,
]

HOSTILE_NUMBERS = [
    Raw("1e400"),
    Raw("-1e400"),
    Raw("1" + "0" * 5000),
    Raw("-" + "9" * 4400),
    Raw("1" + "0" * 300),
    Raw("-0"),
    Raw("-0.0"),
    Raw("5.0"),
    Raw("300.0"),
    Raw("1e-400"),
    Raw("9223372036854775807"),
    Raw("9223372036854775808"),
    Raw("9.3e18"),
    Raw("0.5"),
    Raw("1E2"),
]


def deep(rng: random.Random) -> Raw:
    depth = rng.choice([3, 50, 500, 990, 3000, 20000])
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
    return Raw(opener * depth + "1" + closer * depth)


class Generator:
    """Seeded: the same seed gives the same bodies."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.serial = 0

    def _label(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    def valid_change(self) -> tuple[Pairs, str, str]:
        type_, name_prefix, value = self.rng.choice(TEMPLATES)
        name = name_prefix + self._label("ok")
        change = Pairs(
            [("zone", ZONE), ("name", name), ("type", type_), ("action", "upsert"), ("values", [value])]
        )
        rng = self.rng
        if rng.random() < 0.3:
            change.append(("ttl", rng.choice([1, 60, 300, 86400])))
        if rng.random() < 0.2:
            change.append(("comment", rng.choice(["ok", "é 🙂 fine", "c" * 40])))
        if rng.random() < 0.2:
            change.append(("source", rng.choice(["ci", "🙂", "x" * 256])))
        if rng.random() < 0.2:
            change.append(("id", f"e-{self.serial}"))
        if rng.random() < 0.1:
            change = Pairs([*change[:3], ("action", "delete")])
        return change, name, type_

    def hostile_value(self) -> Any:
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            return rng.choice(HOSTILE_TEXT)
        if roll < 0.65:
            return rng.choice(HOSTILE_NUMBERS)
        if roll < 0.72:
            return deep(rng)
        if roll < 0.8:
            return rng.choice([None, True, False, 0, -1, 1.5, [], {}, [None], {"a": 1}])
        if roll < 0.9:
            return [rng.choice(HOSTILE_TEXT) for _ in range(rng.randint(1, 3))]
        return Pairs([(rng.choice(HOSTILE_TEXT), rng.choice(HOSTILE_TEXT))])

    def mutated_change(self) -> Pairs:
        """A valid template under a name of its own, then 1-3 hostile mutations of any field."""
        change, _, _ = self.valid_change()
        change = Pairs((k, self._label("m") if k == "name" else v) for k, v in change)
        rng = self.rng
        for _ in range(rng.randint(1, 3)):
            op = rng.random()
            if op < 0.45:  # a hostile value in a known field
                key = rng.choice(FIELDS)
                change = Pairs((k, v) for k, v in change if k != key)
                change.append((key, self.hostile_value()))
            elif op < 0.6:  # hostile text spliced into a string field
                strings = [i for i, (_, v) in enumerate(change) if isinstance(v, str)]
                if strings:
                    i = rng.choice(strings)
                    key, value = change[i]
                    at = rng.randint(0, len(value))
                    change[i] = (key, value[:at] + rng.choice(HOSTILE_TEXT) + value[at:])
            elif op < 0.7:  # ... or into one of the values, or a tag
                bad = rng.choice(HOSTILE_TEXT)
                if rng.random() < 0.5:
                    change.append(("tags", ["team:" + bad, bad]))
                else:
                    change = Pairs((k, v) for k, v in change if k != "values")
                    change.append(("values", [rng.choice(TEMPLATES)[2] + bad, bad]))
            elif op < 0.8:  # an unknown key, possibly hostile itself
                change.append((rng.choice([*HOSTILE_TEXT, "valeus", "changes"]), self.hostile_value()))
            elif op < 0.9:  # a key twice
                key, value = rng.choice(list(change))
                change.append((key, rng.choice([value, self.hostile_value()])))
            elif change:
                del change[rng.randrange(len(change))]
        return change

    def body(self) -> Body:
        rng = self.rng
        roll = rng.random()
        if roll < 0.15:
            change, name, type_ = self.valid_change()
            return Body(render(change), [(0, name, type_)], "valid")
        if roll < 0.45:
            return Body(render(self.mutated_change()), [], "mutated")
        if roll < 0.75:
            items: list[Any] = []
            valid: list[tuple[int, str, str]] = []
            for index in range(rng.randint(1, 8)):
                if rng.random() < 0.4:
                    change, name, type_ = self.valid_change()
                    items.append(change)
                    valid.append((index, name, type_))
                else:
                    items.append(self.mutated_change() if rng.random() < 0.85 else self.hostile_value())
            return Body(render({"changes": items}), valid, "envelope")
        if roll < 0.83:
            envelope = Pairs([("changes", [self.valid_change()[0]])])
            envelope.append((rng.choice(["changes", "zone", "\ud800", "x"]), self.hostile_value()))
            return Body(render(envelope), [], "bad envelope")
        if roll < 0.93:
            return Body(self.corrupt(render(self.valid_change()[0])), [], "corrupt text")
        return Body(render(self.hostile_value()), [], "junk")

    def corrupt(self, text: str) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            return text[: rng.randrange(len(text))]
        if roll < 0.45:
            return "\ufeff" + text
        if roll < 0.6:
            at = rng.randrange(len(text))
            return text[:at] + rng.choice(['"', "\\", "}", "]", ",", "\\ud800", "\\u0000", "NaN"]) + text[at:]
        if roll < 0.75:
            return rng.choice(["", " ", "null", "Infinity", "[", '"\\ud800"', "{}", "[]", "0", text * 2])
        # Duplicate a field textually: {"action":"delete", ...} in front of the object's own fields.
        return '{"action":"delete",' + text[1:]

    def bodies(self, count: int) -> Iterator[Body]:
        for _ in range(count):
            yield self.body()


# What SQS takes in a message body or attribute value (SendMessage reference).
_NOT_SQS = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def sqs_safe(text: str) -> bool:
    """Whether SQS would take ``text`` as a body or attribute value (and it is therefore valid UTF-8)."""
    return _NOT_SQS.search(text) is None


def _no_constant(name: str) -> None:
    raise ValueError(name)


def readable(text: str) -> bool:
    """Whether json.loads reads ``text`` (integers of any length, no NaN/Infinity): the contract's inputs.
    A body it cannot read (not JSON, or nested beyond the recursion limit) is one rejected event."""
    try:
        json.loads(text, parse_int=len, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return False
    return True
