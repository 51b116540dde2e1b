"""What RejectedQueue keeps for a rejected event: something an operator can fix and re-publish."""

from __future__ import annotations

import json

from dnsbatch.aggregator import parked_body
from dnsbatch.events import parse_message
from dnsbatch.model import EventRef

GOOD = {"zone": "example.com", "name": "a", "type": "A", "action": "upsert", "values": ["192.0.2.1"]}
BAD = {"zone": "example.com", "name": "b", "type": "A", "action": "upsert", "values": ["192.0.2.300"]}


def rejections_of(body: str):  # type: ignore[no-untyped-def]
    return parse_message(body, EventRef("m", 1), zones={"example.com"}).rejections


def test_a_rejected_change_of_an_envelope_is_parked_alone() -> None:
    body = json.dumps({"changes": [GOOD, BAD, GOOD]})
    (rejection,) = rejections_of(body)
    assert json.loads(parked_body(body, rejection)) == BAD


def test_a_rejected_single_change_or_envelope_is_parked_as_it_arrived() -> None:
    single = json.dumps(BAD)
    (rejection,) = rejections_of(single)
    assert parked_body(single, rejection) == single
    envelope_error = json.dumps({"changes": [GOOD, GOOD], "zone": "example.com"})
    (rejection,) = rejections_of(envelope_error)
    assert parked_body(envelope_error, rejection) == envelope_error
    not_json = "{nope"
    (rejection,) = rejections_of(not_json)
    assert parked_body(not_json, rejection) == not_json
