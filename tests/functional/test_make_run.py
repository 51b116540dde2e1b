"""`make run` end to end: `python -m devstack.stack run` in a subprocess, from the repo root, with the
project's interpreter, on the embedded sample stream (and on a small file of our own)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devstack.stack.pipeline import LOCAL_TOKEN, REPO

# The sample run is shared by this module's tests; under `pytest -n 2 --dist loadgroup` it happens once.
pytestmark = pytest.mark.xdist_group("make_run")
# Generous: the sample run takes ~15 s on a quiet machine; the runner's own drain timeout comes first.
SUBPROCESS_TIMEOUT = 240
DLQS = ("IngestDeadLetterQueue", "ChangeSetDeadLetterQueue", "FallbackDeadLetterQueue")


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None
    report_text: str
    logs_text: str

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.logs_text.splitlines() if line.strip()]


def run_cli(tmp: Path, *args: str) -> Run:
    report, logs = tmp / "r.json", tmp / "logs.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "devstack.stack",
            "run",
            "--report",
            str(report),
            "--logs",
            str(logs),
            "--timeout",
            "120",
            *args,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    report_text = report.read_text() if report.exists() else ""
    return Run(
        returncode=proc.returncode,
        stdout=proc.stdout,
        stderr=proc.stderr,
        report=json.loads(report_text) if report_text else None,
        report_text=report_text,
        logs_text=logs.read_text() if logs.exists() else "",
    )


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One `make run` on the default sample stream, shared by the tests that read its results."""
    return run_cli(tmp_path_factory.mktemp("make-run"))


def report_of(run: Run) -> dict[str, Any]:
    assert run.report is not None, run.stderr[-3000:]
    return run.report


def test_make_run_exits_zero_and_reports_ok(sample_run: Run) -> None:
    assert sample_run.returncode == 0, sample_run.stderr[-3000:]
    report = report_of(sample_run)
    assert report["ok"] is True
    assert "result             OK" in sample_run.stdout


def test_make_run_outcomes_add_up_to_the_events_in(sample_run: Run) -> None:
    report = report_of(sample_run)

    assert report["events_in"] > report["messages_in"] > 0  # the sample holds an envelope of several
    assert sum(report["outcomes"].values()) == report["outcomes_total"] == report["events_in"]
    assert report["adds_up"] is True


def test_make_run_drains_and_leaves_nothing_on_a_dead_letter_queue(sample_run: Run) -> None:
    report = report_of(sample_run)

    assert report["drained"] is True
    assert report["dead_letter_queues"] == dict.fromkeys(DLQS, 0)


def test_make_run_fails_exactly_the_record_cloudflare_refuses_with_its_code(sample_run: Run) -> None:
    report = report_of(sample_run)

    assert report["outcomes"]["failed"] == 1
    with_code = [r for r in report["rejections"] if r["cf_code"]]
    assert len(with_code) == 1
    (refused,) = with_code
    assert refused["stage"] == "fallback"
    assert "cf-reject" in refused["record_set"]
    assert refused["cf_code"].isdigit()
    assert refused["cf_code"] in refused["reason"]
    # Its chunk was bisected: only its own name went to the fallback, its siblings were applied as batches.
    assert report["chunks"]["rejected"] >= 1
    assert report["fallback_names"] == report["fallbacks"] == 1
    individual = {k: v for k, v in report["per_window"][0]["cloudflare_calls"].items() if "batch" not in k}
    assert individual.get("POST /zones/{zone_id}/dns_records", 0) == 1


def test_make_run_second_window_costs_one_batch_call(sample_run: Run) -> None:
    report = report_of(sample_run)

    # Planned from what the Ledger knows of the zone (docs/record-knowledge.md): window 2 does not change
    # the name the fallback wrote in window 1, so no read.
    assert len(report["per_window"]) == 2
    assert report["per_window"][1]["cloudflare_calls"] == {"POST /zones/{zone_id}/dns_records/batch": 1}


def test_make_run_logs_one_outcome_line_for_every_event(sample_run: Run) -> None:
    report = report_of(sample_run)
    lines = sample_run.log_lines()

    outcome_lines = [line for line in lines if "outcome" in line]
    events = [(line["message_id"], line["event_index"]) for line in outcome_lines]
    assert len(events) == len(set(events)) == report["events_in"]
    assert all(line["message"] == f"outcome {line['outcome']}" for line in outcome_lines)


def test_make_run_never_writes_the_token_to_the_report_logs_or_console(sample_run: Run) -> None:
    # The emulator's token is not a secret, but a token that leaks here would leak in Lambda too.
    assert sample_run.logs_text, "the run wrote no function logs"
    assert LOCAL_TOKEN not in sample_run.report_text
    assert LOCAL_TOKEN not in sample_run.logs_text
    assert LOCAL_TOKEN not in sample_run.stdout
    assert LOCAL_TOKEN not in sample_run.stderr


SMALL_STREAM = """\
# two versions of one record set in one window: the higher wins, the lower is superseded
{"zone": "example.com", "name": "a", "type": "A", "action": "upsert", "values": ["192.0.2.1"], "version": 1}
{"zone": "example.com", "name": "a", "type": "A", "action": "upsert", "values": ["192.0.2.2"], "version": 2}
{"zone": "example.com", "name": "b", "type": "TXT", "action": "upsert", "values": ["hello"], "version": 1}
---
{"zone": "example.com", "name": "b", "type": "TXT", "action": "delete", "version": 2}
"""


def test_make_run_with_a_small_events_file_applies_it(tmp_path: Path) -> None:
    events = tmp_path / "small.jsonl"
    events.write_text(SMALL_STREAM)

    run = run_cli(tmp_path, "--events", str(events), "--reject-names", "")

    assert run.returncode == 0, run.stderr[-3000:]
    report = report_of(run)
    assert (report["events_in"], report["messages_in"], report["windows"]) == (4, 4, 2)
    assert report["outcomes"] == {
        "applied": 3,
        "unchanged": 0,
        "superseded": 1,
        "rejected": 0,
        "failed": 0,
        "held": 0,
    }
    assert report["rejections"] == []
    assert LOCAL_TOKEN not in run.logs_text


def test_make_run_with_a_missing_events_file_fails_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-events.jsonl"

    run = run_cli(tmp_path, "--events", str(missing))

    assert run.returncode != 0
    assert str(missing) in run.stderr
    assert run.report is None


def test_make_run_with_a_missing_events_file_prints_an_error_not_a_traceback(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "--events", str(tmp_path / "no-such-events.jsonl"))

    assert run.returncode != 0
    assert "Traceback" not in run.stderr


def test_the_churn_sample_costs_one_read_then_one_batch_per_window(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "--events", str(REPO / "events" / "stream-churn.jsonl"))

    assert run.returncode == 0, run.stderr[-3000:]
    report = report_of(run)
    assert report["outcomes"]["applied"] + report["outcomes"]["superseded"] == report["events_in"] == 53
    assert report["outcomes"]["superseded"] == 10  # nine heartbeats collapsed into the tenth, one late event
    # The first window reads the zone; the others plan from what the Ledger knows of it
    # (docs/record-knowledge.md): one batch call each, no read.
    first, *others = report["per_window"]
    calls = {k: v for k, v in first["cloudflare_calls"].items() if k != "GET /zones"}
    assert calls == {"GET /zones/{zone_id}/dns_records": 1, "POST /zones/{zone_id}/dns_records/batch": 1}
    assert others
    for window in others:
        calls = {k: v for k, v in window["cloudflare_calls"].items() if k != "GET /zones"}
        assert calls == {"POST /zones/{zone_id}/dns_records/batch": 1}
