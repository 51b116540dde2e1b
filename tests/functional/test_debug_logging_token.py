"""The Cloudflare token never reaches a log at DEBUG, the level the dev stage deploys with.

Each function runs its real handler with the token read from Secrets Manager (moto's server), the root logger
configured as Lambda's Python runtime configures it for ``LogFormat: JSON`` and ``ApplicationLogLevel: DEBUG``
(the root at DEBUG, one handler formatting every record as JSON with all its attributes), and Powertools at
DEBUG. Everything the process prints is then scanned for the token and for any 20 consecutive characters of
it: the runtime handler's output, the functions' Powertools lines and metrics, stdout and stderr (where
``logging`` reports a record it failed to format, arguments included), and what the functions wrote to
RejectedQueue.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import threading
import traceback
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics

from devstack.emulator import ZoneSpec
from devstack.emulator.faults import FaultConfig
from devstack.stack.aws import create_stack
from devstack.stack.pipeline import REPO, LocalPipeline, PipelineOptions
from dnsbatch.logsafety import NOISY_LOGGERS
from dnsbatch.runtime import Runtime

# Shaped like a real Cloudflare API token (40 characters from the bearer-token alphabet); every character
# survives JSON and repr escaping unchanged, so a plain substring search finds it in any of the outputs.
TOKEN = "Vq7Rk2Lm9Xw4Tz8Nc3Hb6Jd1Fg5Ps0Ya2Ue7Wr4"
WINDOW = 20

# moto's server, the emulator and the test's own boto3 calls (creating the stack and its secret, publishing,
# polling) log to the same root logger; in Lambda they are other machines. The runtime handler's output is
# what is logged while a function runs: its cold start (the handler module's import) and its invocations.
_running = threading.local()


@contextlib.contextmanager
def function_running() -> Iterator[None]:
    _running.depth = getattr(_running, "depth", 0) + 1
    try:
        yield
    finally:
        _running.depth -= 1


class FunctionRecordsOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(_running, "depth", 0) > 0


class ObservedPipeline(LocalPipeline):
    """The local pipeline, marking each function's cold start and invocations as the function's own time."""

    def _load(self, logical: str, env: Mapping[str, str]) -> ModuleType:
        with function_running():
            return super()._load(logical, env)

    def invoke(self, logical: str, event: dict[str, Any], context: Any) -> object:
        with function_running():
            return super().invoke(logical, event, context)


# The LogRecord attributes Lambda's JSON formatter leaves out; it adds every other attribute as a field.
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "aws_request_id", "tenant_id"}


def leaks(text: str, token: str = TOKEN) -> list[int]:
    """Where in the token each run of ``WINDOW`` consecutive characters starts that occurs in ``text`` (the
    offsets, so that a failure report does not print the token itself)."""
    return [i for i in range(len(token) - WINDOW + 1) if token[i : i + WINDOW] in text]


class LambdaJsonFormatter(logging.Formatter):
    """The shape of Lambda's JSON application log line: timestamp, level, message, logger, the exception's
    type, message and stack when there is one, then every other attribute of the record."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": self.formatTime(record),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        if record.exc_info and record.exc_info[1] is not None:
            line["errorType"] = type(record.exc_info[1]).__name__
            line["errorMessage"] = str(record.exc_info[1])
            line["stackTrace"] = traceback.format_tb(record.exc_info[2])
        line.update((k, v) for k, v in vars(record).items() if k not in _RESERVED and k not in line)
        return json.dumps(line, default=repr)


@pytest.fixture
def lambda_root_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The root logger as Lambda's runtime leaves it before importing the handler (JSON format, DEBUG)."""
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", "DEBUG")
    root = logging.getLogger()
    # Start from the libraries' own defaults (no level: they inherit the root's), so that what quiets them
    # is the function's runtime and not an earlier test of this process.
    noisy = {name: logging.getLogger(name) for name in NOISY_LOGGERS}
    saved = root.level, {name: logger.level for name, logger in noisy.items()}
    for logger in noisy.values():
        logger.setLevel(logging.NOTSET)
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(LambdaJsonFormatter())
    handler.addFilter(FunctionRecordsOnly())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield sink
    root.removeHandler(handler)
    root.setLevel(saved[0])
    for name, level in saved[1].items():
        noisy[name].setLevel(level)


def test_no_function_logs_the_token_at_debug(
    moto_endpoint: str, lambda_root_logging: io.StringIO, capfd: pytest.CaptureFixture[str]
) -> None:
    functions_out = io.StringIO()
    options = PipelineOptions(
        zones=(ZoneSpec("example.com", plan="free"),),
        token=TOKEN,
        moto_endpoint=moto_endpoint,
        parameters={"LogLevel": "DEBUG"},
        env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "DEBUG"},
        log_stream=functions_out,
    )
    bodies = [
        json.dumps({"zone": "example.com", "name": n, "type": "A", "action": "upsert", "values": [v]})
        for n, v in (("www", "192.0.2.10"), ("api", "192.0.2.11"), ("cf-reject-me", "192.0.2.12"))
    ] + ['{"zone": "example.com", "name": "typo", "type": "A", "action": "upsert", "valeus": ["192.0.2.1"]}']
    with ObservedPipeline(options) as pipeline:
        assert pipeline.stack.secret_name is not None
        assert all("CLOUDFLARE_API_TOKEN" not in env for env in pipeline.env.values()), "read from the secret"
        assert pipeline.emulator is not None
        # Cloudflare refuses one record: its chunk rolls back and the fallback replays the chunk one by one.
        pipeline.emulator.set_faults(FaultConfig(reject_name_pattern=r"^cf-reject"))
        pipeline.publish(bodies)
        assert pipeline.drain(timeout=120).idle
        outcomes = pipeline.outcome_counts()
        rejected = json.dumps(pipeline.read_queue("RejectedQueue"))
        calls = pipeline.cloudflare_calls()
    captured = capfd.readouterr()

    # GIVEN every function ran, with the token, at DEBUG
    assert sum(outcomes.values()) == 4 and outcomes["applied"] == 2 and outcomes["rejected"] >= 1, outcomes
    assert calls.get("POST /zones/{zone_id}/dns_records/batch", 0) >= 1  # the batcher, authenticated
    assert calls.get("POST /zones/{zone_id}/dns_records", 0) >= 1  # the fallback, authenticated
    runtime_out = lambda_root_logging.getvalue()
    powertools_lines = [json.loads(line) for line in functions_out.getvalue().splitlines() if line.strip()]
    assert {line.get("service") for line in powertools_lines} >= {"aggregator", "batcher", "fallback"}
    runtime_lines = [json.loads(line) for line in runtime_out.splitlines()]
    # the client's per-request DEBUG lines reached the runtime handler: DEBUG was in force
    assert any(line["level"] == "DEBUG" and line["logger"] == "dnsbatch.cloudflare" for line in runtime_lines)
    # THEN no output holds the token or any 20 characters of it
    outputs = {
        "Lambda runtime handler": runtime_out,
        "functions' Powertools logs and metrics": functions_out.getvalue(),
        "stdout": captured.out,
        "stderr": captured.err,
        "RejectedQueue messages": rejected,
    }
    assert {name: leaks(text) for name, text in outputs.items() if leaks(text)} == {}
    # AND no logger of the HTTP or AWS SDK stacks was left able to log below WARNING
    assert [
        name for name in NOISY_LOGGERS if logging.getLogger(name).getEffectiveLevel() < logging.WARNING
    ] == []


def test_without_the_runtimes_guard_botocore_would_log_the_token(
    moto_endpoint: str, lambda_root_logging: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The harness above can fail: with the SDK loggers back at their defaults after the runtime is built,
    # reading the secret at DEBUG puts the token in the runtime handler's output (botocore logs the body).
    stack = create_stack(
        moto_endpoint, REPO / "template.yaml", "debug-unguarded", {"Zones": "x"}, token=TOKEN
    )
    env = {**stack.function_env("BatcherFunction"), **stack.aws_env()}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with function_running():
        runtime = Runtime("batcher", Logger(service="debug-unguarded", stream=io.StringIO()), Metrics())
        for name in NOISY_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)
        try:
            assert runtime._token() == TOKEN
        finally:
            runtime.close()
    leaked_by = {
        json.loads(line)["logger"] for line in lambda_root_logging.getvalue().splitlines() if leaks(line)
    }
    assert leaked_by == {"botocore.parsers"}, "botocore no longer logs response bodies at DEBUG?"


def test_the_scan_finds_any_twenty_characters_of_the_token() -> None:
    assert leaks(f"x{TOKEN[7:27]}y") == [7]
    # pieces of at most 19 characters are not a leak by this rule
    assert leaks(" ".join((TOKEN[:19], TOKEN[19:21], TOKEN[21:]))) == []
    assert len(leaks(TOKEN)) == len(TOKEN) - WINDOW + 1
