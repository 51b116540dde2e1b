"""A batcher container paces every Cloudflare call, zone lookups and reads included, whatever zone it is
for: with ten zones in an invocation, nothing else keeps it under its share of the per-user rate limit
(template.yaml's rate budget; bench/bench_zones.py measures it)."""

from __future__ import annotations

import pytest
from aws_lambda_powertools import Logger, Metrics

from devstack.emulator import EmulatorServer, ZoneSpec
from dnsbatch.runtime import Runtime

TOKEN = "pacing-test-token"


@pytest.mark.parametrize(("function", "variable"), [("batcher", "BATCH_CHANGE_INTERVAL"), ("fallback", None)])
def test_every_call_of_a_container_starts_an_interval_after_the_one_before(
    monkeypatch: pytest.MonkeyPatch, function: str, variable: str | None
) -> None:
    zones = [ZoneSpec(f"pace{i}.example", plan="pro") for i in range(3)]
    with EmulatorServer(zones, token=TOKEN, validate_requests=False) as emu:
        monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
        monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", emu.base_url)
        monkeypatch.setenv("ZONES", ",".join(z.name for z in zones))
        monkeypatch.setenv("BATCH_CHANGE_INTERVAL", "0.7")
        monkeypatch.setenv("FALLBACK_REQUEST_INTERVAL", "3")
        runtime = Runtime(function, Logger(service=f"pacing-{function}"), Metrics(namespace="test"))
        now = [100.0]
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            waits.append(round(seconds, 6))
            now[0] += seconds

        runtime.clock = lambda: now[0]
        runtime.sleep = sleep
        try:
            for zone in zones:  # a lookup and a read per zone, back to back, as ZoneBatches does
                found = runtime.client.zone_by_name(zone.name)
                runtime.client.list_records(found.id)
        finally:
            runtime.close()
    interval = 0.7 if variable else 3.0
    # six calls, no time passing but the waits: every call after the first waits a whole interval
    assert waits == [pytest.approx(interval)] * 5
