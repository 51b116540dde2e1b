"""The quick paths of dnsbatch.events agree with the full ones they stand in for.

``_plainly_valid`` may only say yes where the checks that name every problem find none, and the shared
decoders must read every body exactly as ``json.loads`` with the per-integer hook does.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from strategies_events import change_objects

from dnsbatch import events
from dnsbatch.model import EventRef
from dnsbatch.safe_text import escape

_HUNDRED, _HUNDRED_AND_ONE = ["1"] * 100, ["1"] * 101
# Per field, values on both sides of each rule its check applies.
_ODD_VALUES: dict[str, list[Any]] = {
    "zone": ["example.com", "", "x" * 254, "x" * 255, "a\x7f", "a\u2028", "é.com", 5],
    "name": ["www", "@", "a" * 254, "a" * 255, "a\x9f", "a\u2029", None, ["www"]],
    "type": ["A", "MX", "a", "SPF", "", 1, None],
    "action": ["upsert", "delete", "UPSERT", "", None, ["upsert"], {"a": 1}, 1],
    "values": [
        *([], ["192.0.2.1", "x"], [""], ["x" * 16_384], ["x" * 16_385], [1], [None], _HUNDRED),
        *(_HUNDRED_AND_ONE, None, "192.0.2.1", {}, 0),
    ],
    "ttl": [1, 0, 2, 59, 60, 300, 86_400, 86_401, 1.0, 300.0, True, False, "300", None],
    "proxied": [True, False, 0, 1, "true", None],
    "comment": ["", "ok", "c" * 500, "c" * 501, "a\nb", "a\rb", "a\tb", "\x85", "\u2028", 1],
    "tags": [
        *([], ["a:b"], ["t:"], [":v"], ["a b:c"], ["x" * 32 + ":v"], ["x" * 33 + ":v"], ["a:" + "v" * 100]),
        *(["a:" + "v" * 101], ["a:\n"], [1], ["a:b"] * 20, ["a:b"] * 21, None, "a:b", {}),
    ],
    "version": [0, 5, -1, 2**63 - 1, 2**63, 7.0, 7.5, True, "5", None],
    "source": ["ci", "", "s" * 256, "s" * 257, 1, None],
    "id": ["e-1", "", "i" * 256, "i" * 257, 1, None],
    "allow_mass_change": [True, False, 1, "yes", None],
}
_ODD = {key: st.sampled_from(values) for key, values in _ODD_VALUES.items()}


@st.composite
def _nearly_valid(draw: st.DrawFn) -> dict[str, Any]:
    """A change object that is valid or off in one or two fields by a little (the cases a quick test could
    get wrong), sometimes with an unknown key or without a required one."""
    obj: dict[str, Any] = {"zone": "example.com", "name": "www", "type": "A"}
    obj["action"] = draw(st.sampled_from(["upsert", "delete"]))
    if obj["action"] == "upsert":
        obj["values"] = ["192.0.2.1"]
    elif draw(st.booleans()):
        obj["values"] = []
    for key in draw(st.lists(st.sampled_from(sorted(_ODD)), unique=True, max_size=4)):
        obj[key] = draw(_ODD[key])
    if draw(st.integers(0, 9)) == 0:
        obj[draw(st.sampled_from(["Zone", "value", "changes", ""]))] = 1
    if draw(st.integers(0, 9)) == 0:
        del obj[draw(st.sampled_from(sorted(obj)))]
    return obj


def _full_errors(obj: dict[str, Any]) -> list[events.Problem]:
    plainly_valid = events._plainly_valid
    events._plainly_valid = lambda obj: False  # type: ignore[assignment]
    try:
        return events._change_errors(obj, "")
    finally:
        events._plainly_valid = plainly_valid


@given(st.one_of(_nearly_valid(), change_objects()))
@example({"zone": "example.com", "name": "www", "type": "A", "action": "upsert"})
@example({"zone": "example.com", "name": "www", "type": "A", "action": "delete", "values": None})
@example({"zone": "example.com", "name": "www", "type": "A", "action": "upsert", "values": [], "ttl": 300})
def test_a_change_is_plainly_valid_only_when_the_full_checks_find_nothing(obj: dict[str, Any]) -> None:
    full = _full_errors(obj)
    if events._plainly_valid(obj):
        assert full == []
    assert events._change_errors(obj, "") == full


@pytest.mark.parametrize("action", ["upsert", "delete"])
@pytest.mark.parametrize(
    ("key", "value"), [(key, value) for key, values in _ODD_VALUES.items() for value in values]
)
def test_every_single_odd_field_is_judged_as_the_full_checks_judge_it(
    action: str, key: str, value: Any
) -> None:
    obj: dict[str, Any] = {"zone": "example.com", "name": "www", "type": "A", "action": action}
    if action == "upsert":
        obj["values"] = ["192.0.2.1"]
    obj[key] = value
    full = _full_errors(obj)
    if events._plainly_valid(obj):
        assert full == []
    elif full == []:
        # Valid, but only the full checks take it: an integral float (JSON Schema's integer) such as 300.0.
        assert isinstance(value, float)


def test_the_common_change_is_plainly_valid() -> None:
    # The property above would hold for a quick test that never says yes: this one must.
    obj = {
        "zone": "example.com",
        "name": "www",
        "type": "MX",
        "action": "upsert",
        "values": ["10 mx.example.com"],
        "ttl": 300,
        "proxied": False,
        "comment": "c",
        "tags": ["team:dns"],
        "version": 7,
        "source": "ci",
        "id": "e-1",
        "allow_mass_change": False,
    }
    assert events._plainly_valid(obj)
    assert events._plainly_valid({"zone": "example.com", "name": "www", "type": "A", "action": "delete"})


def _hooked(body: str | bytes) -> Any:
    return json.loads(
        body,
        parse_constant=events._reject_constant,
        parse_int=events._parse_int,
        object_pairs_hook=events.json_object,
    )


def _read(decode: Any, body: str | bytes) -> tuple[str, Any]:
    try:
        obj = decode(body)
    except ValueError as exc:
        return "error", str(exc)
    # _HugeInt has no equality: compare what it shows.
    return "ok", json.dumps(obj, default=str)


_json = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False),
        st.text(max_size=5),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    st.one_of(
        _json.map(json.dumps),
        st.text(alphabet='{}[]":,0123456789-.eE tfnaNI\ufeff', max_size=30),
        st.sampled_from(['{"a": 1, "a": 2}', "NaN", "[Infinity]", "\ufeff{}", "-0", "1e400", "[01]"]),
    )
)
def test_the_shared_decoders_read_bodies_as_json_loads_with_the_hook(body: str) -> None:
    assert _read(events._decode, body) == _read(_hooked, body)
    assert _read(events._decode, body.encode()) == _read(_hooked, body.encode())


def test_an_integer_too_long_for_int_is_still_one_bad_field_not_a_bad_body() -> None:
    limit = sys.get_int_max_str_digits() or 4300
    for digits in (limit, limit + 1, 5 * limit):
        body = json.dumps({"zone": "example.com", "name": "www", "type": "A", "action": "delete"})
        body = body[:-1] + f', "version": {"9" * digits}}}'
        assert _read(events._decode, body) == _read(_hooked, body)
        result = events.parse_message(body, EventRef(message_id="m", sent_timestamp=1), zones={"example.com"})
        assert not result.changes
        assert result.rejections[0].field == "version"


@given(st.text(max_size=20))
@example("ci")
@example("a\x7fb")
@example("\ud800")
@example("é\u2028")
def test_a_source_or_id_is_shown_as_escape_shows_it(text: str) -> None:
    assert events._ref_text(text) == escape(text)


def test_zones_given_as_any_collection_are_normalised_alike() -> None:
    body = json.dumps({"zone": "example.com", "name": "www", "type": "A", "action": "delete"})
    ref = EventRef(message_id="m", sent_timestamp=1)
    for zones in (frozenset({"Example.COM."}), ["Example.COM."], {"example.com"}, ("example.com.",)):
        assert len(events.parse_message(body, ref, zones=zones).changes) == 1
    assert not events.parse_message(body, ref, zones=frozenset({"example.org"})).changes
