"""The shortcuts of dnsbatch.rdata_parsers give exactly what the full path (dnspython, dnsbatch.txt) gives.

Each shortcut either returns the value the full path returns or declines (None), and the full path then
reads the text: so for any text, value or refusal (with its message) must be the same with the shortcuts
on and off. Inputs are mostly the spellings the shortcuts take, bent in every way that matters to them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from strategies_events import hostnames

from dnsbatch import rdata_parsers
from dnsbatch.model import RecordValue

_NEVER = re.compile(r"(?!)")


@contextmanager
def _shortcuts_off() -> Iterator[None]:
    shortcuts, plain_txt = rdata_parsers._SHORTCUTS, rdata_parsers._PLAIN_TXT
    rdata_parsers._SHORTCUTS, rdata_parsers._PLAIN_TXT = {}, _NEVER
    try:
        yield
    finally:
        rdata_parsers._SHORTCUTS, rdata_parsers._PLAIN_TXT = shortcuts, plain_txt


@contextmanager
def _tokenizer_off() -> Iterator[None]:
    """dnspython's own tokenizer and rdata classes for everything (no shortcut needs more than this)."""
    simple = rdata_parsers._SIMPLE
    rdata_parsers._SIMPLE = _NEVER
    try:
        with _shortcuts_off():
            yield
    finally:
        rdata_parsers._SIMPLE = simple


def _outcome(type_: str, text: str) -> RecordValue | str:
    try:
        return rdata_parsers._parse(type_, text)
    except rdata_parsers.Invalid as exc:
        return f"refused: {exc}"


def _assert_same(type_: str, text: str) -> RecordValue | str:
    fast = _outcome(type_, text)
    with _shortcuts_off():
        full = _outcome(type_, text)
    with _tokenizer_off():
        dnspython = _outcome(type_, text)
    assert fast == full == dnspython
    return fast


# Labels a shortcut takes, and the ones it must leave to dnspython (escapes, '*', '@', '/', non-ASCII,
# empty labels, labels over 63 characters).
_label = st.one_of(
    st.text(alphabet="abcXYZ019-_", min_size=1, max_size=8),
    st.sampled_from(
        ["0", "00", "255", "-", "_", "x" * 63, "x" * 64, "a\\065", "*", "@", "a/b", "é", "xn--bcher-kva"]
    ),
    st.just(""),
)


@st.composite
def _odd_hosts(draw: st.DrawFn) -> str:
    labels = draw(st.lists(_label, min_size=1, max_size=6))
    text = ".".join(labels) + draw(st.sampled_from(["", ".", ".."]))
    if draw(st.booleans()):
        # Near the length limits: 253 characters (+ the final dot) is the longest name either side takes.
        text = ".".join(["a" * 63] * 3 + ["b" * draw(st.integers(58, 63))]) + draw(st.sampled_from(["", "."]))
    return text


_hosts = st.one_of(
    hostnames(), _odd_hosts(), st.sampled_from([".", "@", "192.0.2.1", "1.2.3", "10", "1e3.com"])
)
_numbers = st.one_of(
    st.integers(0, 70000).map(str),
    st.sampled_from(
        ["0", "00010", "000010", "65535", "65536", "99999", "+1", "-1", "1_0", "0x10", "١٠", "１０"]
    ),
)
_space = st.sampled_from([" ", "  ", "\t", " \t "])


@st.composite
def _spaced(draw: st.DrawFn, parts: list[str]) -> str:
    text = draw(_space).join(parts)
    if draw(st.booleans()):
        text = draw(st.sampled_from(["", " ", "\t"])) + text + draw(st.sampled_from(["", " ", "\t"]))
    return text


def _join(*strategies: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*strategies).flatmap(lambda parts: _spaced(list(parts)))


@given(st.sampled_from(["CNAME", "NS", "PTR"]), st.one_of(_hosts, _join(_hosts, _hosts)))
@example("CNAME", "192.0.2.1")
@example("CNAME", "host.example.com.")
@example("NS", "")
def test_host_name_shortcut_equals_dnspython(type_: str, text: str) -> None:
    _assert_same(type_, text)


@given(st.one_of(_join(_numbers, _hosts), _join(_numbers), _join(_numbers, _hosts, _hosts)))
@example("10 mx.example.com")
@example("0010 MX.Example.COM.")
@example("65536 mx.example.com")
@example("10 .")
def test_mx_shortcut_equals_dnspython(text: str) -> None:
    _assert_same("MX", text)


@given(st.one_of(_join(_numbers, _numbers, _numbers, _hosts), _join(_numbers, _numbers, _hosts)))
@example("10 5 5060 sip.example.com")
@example("10 5 05060 Sip.Example.com.")
@example("0 0 0 .")
@example("1 2 65536 t.example.com")
def test_srv_shortcut_equals_dnspython(text: str) -> None:
    _assert_same("SRV", text)


@given(
    st.one_of(
        st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=300),
        st.text(alphabet=' a"\\;()é\t', min_size=1, max_size=20),
        st.integers(250, 260).map(lambda n: "x" * n),
    )
)
@example("token-0123456789abcdef")
@example(" leading and trailing ")
@example('"quoted"')
@example("x" * 255)
@example("x" * 256)
def test_bare_txt_shortcut_equals_the_txt_reader(text: str) -> None:
    _assert_same("TXT", text)


_v6_group = st.one_of(
    st.integers(0, 0xFFFF).map(lambda n: f"{n:x}"),
    st.sampled_from(["0", "0000", "00ab", "ABCD", "12345", "g"]),
)


@given(
    st.one_of(
        st.ip_addresses(v=6).flatmap(lambda a: st.sampled_from([str(a), a.exploded, a.exploded.upper()])),
        st.lists(_v6_group, min_size=1, max_size=9).map(":".join),
        st.tuples(st.lists(_v6_group, max_size=4), st.lists(_v6_group, max_size=4)).map(
            lambda t: ":".join(t[0]) + "::" + ":".join(t[1])
        ),
        st.sampled_from(
            ["::", "::1", "::ffff:192.0.2.1", "64:ff9b::192.0.2.1", "fe80::1%eth0", ":::", "1::2::3"]
        ),
    )
)
def test_aaaa_equals_dnspython(text: str) -> None:
    _assert_same("AAAA", text)


@given(
    st.one_of(
        st.ip_addresses(v=4).map(str),
        st.lists(st.sampled_from(["0", "1", "01", "255", "256", "00", "1a", ""]), min_size=1, max_size=5).map(
            ".".join
        ),
    )
)
def test_a_equals_dnspython(text: str) -> None:
    _assert_same("A", text)


@pytest.mark.parametrize(
    ("type_", "text", "expected"),
    [
        ("CNAME", "Target.Example.NET.", RecordValue(content="target.example.net")),
        ("MX", "010\tMail.Example.com", RecordValue(content="mail.example.com", priority=10)),
        ("TXT", "v=spf1 -all", RecordValue(content='"v=spf1 -all"')),
        ("AAAA", "2001:DB8:0:0::1", RecordValue(content="2001:db8::1")),
    ],
)
def test_the_shortcuts_answer_the_common_spellings_themselves(
    type_: str, text: str, expected: RecordValue
) -> None:
    # The equality tests above would pass with shortcuts that never answer: these must answer.
    tokens = rdata_parsers._TOKEN.findall(text)
    if type_ in rdata_parsers._SHORTCUTS:
        assert rdata_parsers._SHORTCUTS[type_](tokens) == expected
    elif type_ == "TXT":
        assert rdata_parsers._PLAIN_TXT.fullmatch(text)
    assert _assert_same(type_, text) == expected
