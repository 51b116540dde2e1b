"""The published JSON Schema and the hand validator in dnsbatch.events agree on what is well-formed."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies_events import change_objects, event_bodies

from dnsbatch.events import MAX_CHANGES_PER_MESSAGE, MAX_VALUES_PER_SET, structural_errors
from dnsbatch.rdata import SUPPORTED_TYPES
from dnsbatch.schema import load_change_event_schema

SCHEMA = load_change_event_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
CHANGE = SCHEMA["$defs"]["change"]


def test_schema_is_a_valid_schema_of_the_dialect_it_declares() -> None:
    # validator_for reads the schema's own $schema: a schema declaring another draft (or none) would be
    # checked by a different validator than the one these tests and producers use.
    assert jsonschema.validators.validator_for(SCHEMA, default=None) is jsonschema.Draft202012Validator
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def _delete(type_: str) -> dict[str, Any]:
    return {"zone": "example.com", "name": "www", "type": type_, "action": "delete"}


def _both_accept(body: Any) -> bool:
    """Whether the schema and the hand validator accept ``body``; fails if they disagree."""
    by_schema, problems = VALIDATOR.is_valid(body), structural_errors(body)
    assert by_schema == (problems == []), problems
    return by_schema


@pytest.mark.parametrize("type_", sorted(SUPPORTED_TYPES))
def test_every_type_the_parsers_support_is_accepted(type_: str) -> None:
    assert _both_accept(_delete(type_))


@settings(max_examples=200)
@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=10))
def test_a_type_the_parsers_do_not_support_is_refused(type_: str) -> None:
    assert _both_accept(_delete(type_)) is (type_ in SUPPORTED_TYPES)


def test_values_up_to_the_code_limit_are_accepted_and_one_more_is_refused() -> None:
    body = {**_delete("A"), "action": "upsert"}
    assert _both_accept({**body, "values": ["192.0.2.1"] * MAX_VALUES_PER_SET})
    assert not _both_accept({**body, "values": ["192.0.2.1"] * (MAX_VALUES_PER_SET + 1)})


def test_an_envelope_up_to_the_code_limit_is_accepted_and_one_more_change_is_refused() -> None:
    assert _both_accept({"changes": [_delete("A")] * MAX_CHANGES_PER_MESSAGE})
    assert not _both_accept({"changes": [_delete("A")] * (MAX_CHANGES_PER_MESSAGE + 1)})


_unknown_field = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
    lambda f: f not in CHANGE["properties"] and f != "changes"
)


@settings(max_examples=200)
@given(change_objects(), _unknown_field, st.one_of(st.none(), st.integers(), st.text(max_size=5)))
def test_an_unknown_field_is_refused_by_both_and_named(obj: dict[str, Any], field: str, value: Any) -> None:
    body = {**obj, field: value}
    assert not _both_accept(body)
    assert field in {f for f, _ in structural_errors(body)}


@settings(max_examples=100)
@given(st.lists(change_objects(), min_size=1, max_size=2), _unknown_field)
def test_an_envelope_with_an_unknown_key_is_refused_by_both(changes: list[Any], field: str) -> None:
    assert not _both_accept({"changes": changes, field: 1})


EXAMPLES: list[tuple[Any, bool]] = [
    ({"zone": "example.com", "name": "www", "type": "A", "action": "upsert", "values": ["192.0.2.1"]}, True),
    ({"zone": "example.com", "name": "www", "type": "A", "action": "delete"}, True),
    ({"zone": "example.com", "name": "www", "type": "A", "action": "delete", "values": []}, True),
    ({"zone": "example.com", "name": "www", "type": "A", "action": "delete", "values": ["x"]}, False),
    ({"zone": "example.com", "name": "www", "type": "A", "action": "upsert"}, False),
    (
        {"zone": "example.com", "name": "www", "type": "A", "action": "upsert", "values": ["x"], "ttl": True},
        False,
    ),
    (
        {"zone": "example.com", "name": "www", "type": "A", "action": "upsert", "values": ["x"], "ttl": 30},
        False,
    ),
    (
        {
            "zone": "example.com",
            "name": "www",
            "type": "A",
            "action": "upsert",
            "values": ["x"],
            "comment": "a\n",
        },
        False,
    ),
    (
        {
            "zone": "example.com",
            "name": "www",
            "type": "A",
            "action": "upsert",
            "values": ["x"],
            "tags": ["a:b\n"],
        },
        False,
    ),
    (
        {"zone": "example.com", "name": "www", "type": "A", "action": "upsert", "values": ["x"], "extra": 1},
        False,
    ),
    ({"changes": [{"zone": "example.com", "name": "@", "type": "TXT", "action": "delete"}]}, True),
    ({"changes": []}, False),
    ([], False),
    ("text", False),
]


@pytest.mark.parametrize(("body", "valid"), EXAMPLES)
def test_schema_and_hand_validator_agree_on_examples(body: Any, valid: bool) -> None:
    assert VALIDATOR.is_valid(body) is valid
    assert (structural_errors(body) == []) is valid


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(event_bodies)
def test_schema_and_hand_validator_agree_on_generated_bodies(body: Any) -> None:
    problems = structural_errors(body)
    assert VALIDATOR.is_valid(body) == (problems == []), problems


@settings(max_examples=300)
@given(change_objects())
def test_every_hand_validator_problem_names_a_field(obj: dict[str, Any]) -> None:
    for field, reason in structural_errors(obj):
        assert field and reason
        assert field == "body" or field.split("[")[0].split(".")[0] in {*obj, *CHANGE["properties"]}
