"""The published JSON Schema and the hand validator in dnsbatch.events agree on what is well-formed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from strategies_events import change_objects, event_bodies

from dnsbatch.events import MAX_CHANGES_PER_MESSAGE, MAX_VALUES_PER_SET, structural_errors
from dnsbatch.rdata import SUPPORTED_TYPES
from dnsbatch.schema import SCHEMA_FILE, load_change_event_schema

SCHEMA = load_change_event_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
CHANGE = SCHEMA["$defs"]["change"]


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_file_lives_where_layout_md_says() -> None:
    path = Path(__file__).parents[2] / "layers/dnsbatch/dnsbatch/schema" / SCHEMA_FILE
    assert json.loads(path.read_text()) == SCHEMA


def test_schema_limits_match_the_code() -> None:
    assert set(CHANGE["properties"]["type"]["enum"]) == SUPPORTED_TYPES
    assert CHANGE["properties"]["values"]["maxItems"] == MAX_VALUES_PER_SET
    assert SCHEMA["$defs"]["envelope"]["properties"]["changes"]["maxItems"] == MAX_CHANGES_PER_MESSAGE


def test_schema_rejects_unknown_fields() -> None:
    assert CHANGE["additionalProperties"] is False
    assert SCHEMA["$defs"]["envelope"]["additionalProperties"] is False


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
