"""Schemathesis fuzzing of the emulator against openapi-dns.json: no 5xx, always the envelope."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from devstack.emulator import EmulatorServer, ZoneSpec
from devstack.emulator.spec import SPEC_PATH

TOKEN = "fuzz-token-123456"
SCHEMA = schemathesis.openapi.from_dict(json.loads(SPEC_PATH.read_text()))
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    # Spec checks off: fuzz data is meant to break the spec; the rate limit is lifted for the volume.
    zones = [ZoneSpec("example.com", plan="pro")]
    with EmulatorServer(zones=zones, token=TOKEN, validate_requests=False, rate_limit=10**9) as emu:
        yield emu


@pytest.mark.slow
@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_fuzzed_requests_never_get_a_5xx_and_always_get_the_envelope(
    server: EmulatorServer, operation: Any, mode: schemathesis.GenerationMode
) -> None:
    # The real zone id, so bodies reach the record rules instead of stopping at a 404.
    path_parameters = {"zone_id": server.zone_id("example.com")} if "zone_id" in operation.path else None

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        response = case.call(
            base_url=server.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
        assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
        body = json.loads(response.content)
        assert {"success", "errors", "messages", "result"} <= set(body)
        assert body["success"] is (response.status_code < 400)

    check()


NEW_TYPES = ("CERT", "DNSKEY", "LOC", "NAPTR", "OPENPGPKEY")


def _record_body(case: Any) -> Any:
    body = case.body
    if isinstance(body, dict) and "posts" in body:
        posts = body.get("posts")
        return posts[0] if isinstance(posts, list) and posts else None
    return body


@pytest.mark.slow
@pytest.mark.parametrize(
    "label", ["POST /zones/{zone_id}/dns_records", "POST /zones/{zone_id}/dns_records/batch"]
)
def test_spec_conforming_bodies_of_the_five_newer_types_get_a_record_or_a_400(
    server: EmulatorServer, label: str
) -> None:
    """Bodies generated from openapi-dns.json's CERT, DNSKEY, LOC, NAPTR and OPENPGPKEY schemas: the
    emulator stores them or refuses them with a record-validation 400, never a 5xx. The generated name is
    replaced by a valid one, so the data checks are reached instead of the name check."""
    (operation,) = [op for op in OPERATIONS if op.label == label]
    strategy = operation.as_strategy(
        generation_mode=schemathesis.GenerationMode.POSITIVE,
        path_parameters={"zone_id": server.zone_id("example.com")},
    ).filter(lambda case: isinstance(body := _record_body(case), dict) and body.get("type") in NEW_TYPES)
    allowed = {9008, 9010, 9021, 9101, 9300, 9301, 81058, 81044}

    @given(case=strategy)
    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        _record_body(case)["name"] = "fuzz"
        response = case.call(
            base_url=server.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
        assert response.status_code < 500, (case.body, response.text[:300])
        body = json.loads(response.content)
        if response.status_code >= 400:
            assert {e["code"] for e in body["errors"]} <= allowed, body

    check()
