"""Isolation (docs/bisection.md): a record Cloudflare refuses costs O(log B) batch calls to find and the
individual calls of its own name, and blocks nothing else; over real sockets (moto, the emulator) through
the real handlers."""

from __future__ import annotations

import json
import math

import pytest
from integration_helpers import PipelineFactory, change, rrset
from type_switches import SWITCHES

from devstack.emulator import FaultConfig, ZoneSpec
from devstack.stack.pipeline import LocalPipeline

BATCH = "POST /zones/{zone_id}/dns_records/batch"
LIST = "GET /zones/{zone_id}/dns_records"
WRITES = (
    "POST /zones/{zone_id}/dns_records",
    "PUT /zones/{zone_id}/dns_records/{dns_record_id}",
    "PATCH /zones/{zone_id}/dns_records/{dns_record_id}",
    "DELETE /zones/{zone_id}/dns_records/{dns_record_id}",
)
B = 200


def publish_enveloped(p: LocalPipeline, bodies: list[str], per_message: int = 20) -> None:
    """Pack change bodies into {"changes": [...]} envelopes (fewer SQS messages for the local stack)."""
    changes = [json.loads(b) for b in bodies]
    p.publish(
        [json.dumps({"changes": changes[i : i + per_message]}) for i in range(0, len(changes), per_message)]
    )


def individual_writes(calls: dict[str, int]) -> int:
    return sum(v for k, v in calls.items() if k in WRITES)


@pytest.mark.parametrize("refused", [1, 2, 10])
def test_refused_names_in_a_chunk_of_200_cost_log_batch_calls_and_their_own_writes_only(
    make_pipeline: PipelineFactory, refused: int
) -> None:
    # GIVEN one chunk of 200 new names, `refused` of them spread over it refused by Cloudflare (and time
    # budgets that a loaded machine cannot exhaust: a fallback cut short by its deadline would re-read)
    p = make_pipeline(zones=(ZoneSpec("example.com", plan="pro"),), context_time_scale=0.2)
    assert p.emulator is not None
    bad = {round((i + 0.5) * B / refused) for i in range(refused)}
    names = [f"bad{i:03d}" if i in bad else f"h{i:03d}" for i in range(B)]
    p.emulator.set_faults(FaultConfig(reject_name_pattern="^bad"))
    publish_enveloped(p, [change(n, [f"192.0.2.{i % 250}"]) for i, n in enumerate(names)])
    assert p.drain(180).idle
    calls = p.emulator.counters()
    # THEN every good record is applied by batches, each refused one is rejected once with its code
    assert p.outcome_counts() == {"applied": B - refused, "failed": refused}
    assert all(rrset(p, n) for n in names if not n.startswith("bad"))
    parked = p.read_queue("RejectedQueue")
    assert len(parked) == refused and all(m["MessageAttributes"]["cf_code"] for m in parked)
    # AND isolating them took O(k log B) batch calls, where per-record replay would take ~2 per record
    assert calls[BATCH] <= refused * (2 * math.ceil(math.log2(B / refused)) + 1) + 1
    if refused == 1:
        assert calls[BATCH] <= 2 * math.ceil(math.log2(B)) + 1
    # AND the fallback spent one read and one (refused) write per refused name, nothing on the others
    assert individual_writes(calls) == refused
    fallback_calls = p.modules["FallbackFunction"].runtime.telemetry.counters
    assert fallback_calls[f"cloudflare {LIST}"] == refused


@SWITCHES
def test_a_type_switch_whose_chunk_is_rolled_back_ends_as_the_new_type(
    make_pipeline: PipelineFactory,
    old_type: str,
    old_values: list[str],
    new_type: str,
    new_values: list[str],
) -> None:
    p = make_pipeline()
    assert p.emulator is not None
    p.publish([change("sw", old_values, type_=old_type, version=1)])
    assert p.drain(120).idle
    # WHEN the switch shares its chunk with a record Cloudflare refuses, so the chunk is rolled back
    p.emulator.set_faults(FaultConfig(reject_name_pattern="^refused"))
    p.publish(
        [
            change("sw", None, type_=old_type, version=2),
            change("sw", new_values, type_=new_type, version=2),
            change("refused", ["192.0.2.99"]),
        ]
    )
    assert p.drain(120).idle
    # THEN the name holds the new type only, and only the refused record failed
    assert rrset(p, "sw", old_type) == []
    assert rrset(p, "sw", new_type) == sorted(new_values)
    counts = p.outcome_counts()
    assert counts["failed"] == 1 and counts["applied"] == 3


def test_a_type_switch_on_a_refused_name_goes_to_the_fallback_whole_and_only_the_refused_set_fails(
    make_pipeline: PipelineFactory,
) -> None:
    # GIVEN a CNAME, then a window switching it to A on a name whose A records Cloudflare refuses
    p = make_pipeline()
    assert p.emulator is not None
    p.publish([change("refused-sw", ["old.example.net"], type_="CNAME", version=1)])
    assert p.drain(120).idle
    p.emulator.set_faults(FaultConfig(reject_name_pattern="^refused"))
    p.publish(
        [
            change("refused-sw", None, type_="CNAME", version=2),
            change("refused-sw", ["192.0.2.7"], type_="A", version=2),
            change("fine", ["192.0.2.8"]),
        ]
    )
    assert p.drain(120).idle
    # THEN both record sets of the name went to the fallback in one message: the CNAME delete went first
    # (deletes are never refused by name), the A create was refused and failed with Cloudflare's code
    assert rrset(p, "refused-sw", "CNAME") == []
    assert rrset(p, "refused-sw", "A") == []
    assert rrset(p, "fine") == ["192.0.2.8"]
    finals = {(o.key.name, o.key.type): o.outcome.value for o in p.outcomes if o.key is not None}
    assert finals[("refused-sw.example.com", "A")] == "failed"
    assert finals[("refused-sw.example.com", "CNAME")] == "applied"
    assert p.emulator.counters()[LIST] == 2 + 1  # two windows' zone reads, one read of the name
