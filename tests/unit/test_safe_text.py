"""safe_text: what dnsbatch writes about an input always encodes, in UTF-8 and in SQS's character set."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dnsbatch.safe_text import encodable, escape, first_surrogate, json_log_line, show, sqs_safe


@given(st.text(alphabet=st.characters(codec=None)))
def test_escape_always_gives_text_sqs_and_utf8_take(text: str) -> None:
    escaped = escape(text)
    assert sqs_safe(escaped)
    escaped.encode("utf-8")


@given(st.text(alphabet=st.characters(exclude_categories=("Cc", "Cs"))))
def test_escape_leaves_ordinary_text_alone(text: str) -> None:
    if not any(c in text for c in "\ufffe\uffff\u2028\u2029"):
        assert escape(text) == text


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("a\ud800b", "a\\ud800b"),
        ("\x00\x7f\x85", "\\u0000\\u007f\\u0085"),
        ("\uffff", "\\uffff"),
        ("é🙂", "é🙂"),
    ],
)
def test_escape_writes_the_code_point(text: str, escaped: str) -> None:
    assert escape(text) == escaped


def test_first_surrogate_and_encodable() -> None:
    assert first_surrogate("ab\udfffc") == 2 and first_surrogate("🙂") is None
    assert not encodable("\ud800") and encodable("🙂")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("\ud800", '"\\ud800"'),
        ([[[1]]], "[[[1]]]"),
        ("x" * 200, '"' + "x" * 76 + "..."),
    ],
)
def test_show_never_raises_and_stays_short(value: object, shown: str) -> None:
    assert show(value) == shown


def test_show_describes_what_json_cannot_write() -> None:
    assert show(10**5000) == "an integer of about 5001 digits"
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    assert show(deep) == "a list"


def test_a_log_line_with_a_lone_surrogate_still_encodes_and_reads_back() -> None:
    line = json_log_line({"reason": "a\ud800b", "comment": "é🙂", "n": 1})
    line.encode("utf-8")
    assert line == '{"reason":"a\\ud800b","comment":"é🙂","n":1}'
    assert json.loads(line)["reason"] == "a\ud800b"
