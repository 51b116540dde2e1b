"""`make run EVENTS=events/example.zone`: a zone file as the events source, imported through the producer
kit's import-zone and published as one window (`python -m devstack.stack run` in a subprocess, as
tests/functional/test_make_run.py does)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.stack.pipeline import REPO

pytestmark = pytest.mark.xdist_group("make_run")
SUBPROCESS_TIMEOUT = 240


def run_zone(tmp: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, object] | None]:
    report = tmp / "r.json"
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "devstack.stack", "run", "--report", str(report)),
            *("--logs", str(tmp / "logs.jsonl"), "--timeout", "120", "--reject-names", "", *args),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    return proc, json.loads(report.read_text()) if report.exists() else None


def test_make_run_applies_the_example_zone_file_in_one_batch(tmp_path: Path) -> None:
    proc, report = run_zone(tmp_path, "--events", str(REPO / "events" / "example.zone"))

    assert proc.returncode == 0, proc.stderr[-3000:]
    assert report is not None
    # 21 record sets, one per accepted type, in one envelope; SOA and the apex NS skipped.
    assert (report["events_in"], report["messages_in"], report["windows"]) == (21, 1, 1)
    assert report["outcomes"] == {
        "applied": 21,
        "unchanged": 0,
        "superseded": 0,
        "rejected": 0,
        "failed": 0,
        "held": 0,
    }
    assert report["per_window"][0]["cloudflare_calls"] == {  # type: ignore[index]
        "GET /zones": 1,
        "GET /zones/{zone_id}/dns_records": 1,
        "POST /zones/{zone_id}/dns_records/batch": 1,
    }
    assert "skipped 2 apex NS records" in proc.stderr


def test_make_run_reads_a_zone_file_of_any_name_with_zone_file(tmp_path: Path) -> None:
    export = tmp_path / "example.org.txt"  # what Cloudflare's export downloads as
    export.write_text(
        ";; Domain:     example.org.\n"
        "example.org.\t3600\tIN\tSOA\tada.ns.cloudflare.com. dns.cloudflare.com. 1 10000 2400 604800 3600\n"
        "www.example.org.\t1\tIN\tA\t1.1.1.1 ; front door cf_tags=cf-proxied:true\n"
        "mail.example.org.\t300\tIN\tA\t192.0.2.25 ; cf_tags=cf-proxied:false\n"
    )

    proc, report = run_zone(tmp_path, "--events", str(export), "--zone-file")

    assert proc.returncode == 0, proc.stderr[-3000:]
    assert report is not None
    assert report["events_in"] == 2
    assert report["outcomes"]["applied"] == 2  # type: ignore[index]


def test_make_run_names_a_zone_file_it_cannot_read(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zone"
    bad.write_text("$ORIGIN example.com.\na IN A 1.2.3\n")

    proc, report = run_zone(tmp_path, "--events", str(bad))

    assert proc.returncode != 0 and report is None
    assert "bad.zone: not a zone file dnspython can read" in proc.stderr
    assert "Traceback" not in proc.stderr
