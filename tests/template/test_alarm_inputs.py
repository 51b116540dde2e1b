"""The alarms watch what the code actually emits: an alarm on a metric nobody publishes, or a metric filter
that matches no log line, stays quiet exactly when it is needed."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics

from devstack.emulator import EmulatorServer, ZoneSpec
from devstack.stack.template import load_template
from dnsbatch.cloudflare import AuthenticationError, CloudflareClient, RequestInfo
from dnsbatch.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = load_template(ROOT / "template.yaml").resources


def _json_equality(pattern: str) -> tuple[str, str]:
    """(field, value) of a metric filter pattern of the form ``{ $.field = "value" }``."""
    match = re.fullmatch(r'\{ *\$\.(\w+) *= *"([^"*]*)" *\}', pattern)
    assert match, f"not a simple JSON equality pattern: {pattern}"
    return match.group(1), match.group(2)


def test_the_auth_failure_metric_filter_matches_the_clients_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Both JSON formats a function's line can take in CloudWatch (Lambda's runtime handler for records that
    # propagate to the root logger, Powertools' for its own loggers) put a record's extra fields at the top
    # level of the line, so the pattern's $.field is the LogRecord's attribute of that name.
    caplog.set_level(logging.INFO, logger="dnsbatch.cloudflare")
    filters = [r["Properties"] for r in RESOURCES.values() if r["Type"] == "AWS::Logs::MetricFilter"]
    assert filters
    with (
        EmulatorServer([ZoneSpec("example.com")], token="the-right-token-0123456789") as emulator,
        CloudflareClient(emulator.base_url, "a-revoked-token-0123456789") as client,
        pytest.raises(AuthenticationError),
    ):
        client.zone_by_name("example.com")
    records = [r for r in caplog.records if r.name.startswith("dnsbatch.cloudflare")]
    assert records, "the client logged nothing"
    for props in filters:
        field, value = _json_equality(props["FilterPattern"])
        matching = [r for r in records if getattr(r, field, None) == value]
        assert len(matching) == 1, [vars(r) for r in records]  # one failed call, counted once
        assert matching[0].levelno == logging.ERROR


def _emf(runtime: Runtime, metrics: Metrics) -> dict[str, Any]:
    runtime.telemetry.publish()
    blob = metrics.serialize_metric_set()
    metrics.clear_metrics()
    return dict(blob)


def test_the_rate_limit_alarm_watches_the_metric_the_runtime_publishes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alarm = RESOURCES["CloudflareRateLimitAlarm"]["Properties"]
    watched = [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]
    for metric in watched:
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", metric["Dimensions"][0]["Value"])
        metrics = Metrics(namespace=metric["Namespace"])
        runtime = Runtime(metric["Dimensions"][0]["Value"], Logger(stream=io.StringIO()), metrics)
        runtime._count_request(RequestInfo("POST", "/zones/{zone_id}/dns_records/batch", 429, None, 0.1, 1))
        emf = _emf(runtime, metrics)
        (directive,) = emf["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == metric["Namespace"]
        assert emf[metric["MetricName"]] == [1.0]
        assert directive["Dimensions"] == [[d["Name"] for d in metric["Dimensions"]]]
        assert {d["Name"]: emf[d["Name"]] for d in metric["Dimensions"]} == {
            d["Name"]: d["Value"] for d in metric["Dimensions"]
        }
