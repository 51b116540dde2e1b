"""`python -m devstack.emulator` starts, prints how to use it, and serves."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx


def test_cli_serves_the_zones_it_was_given() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack.emulator",
            "--port",
            "0",
            "--zone",
            "example.com=free",
            "--zone",
            "shop.example=pro",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if line.startswith("export CLOUDFLARE_API_BASE_URL="):
                break
        match = re.search(r"export CLOUDFLARE_API_BASE_URL=(\S+)", "".join(lines))
        assert match, lines
        base_url = match.group(1)
        resp = httpx.get(f"{base_url}/zones", headers={"Authorization": "Bearer local-dev-token"}, timeout=5)
        assert sorted(z["name"] for z in resp.json()["result"]) == ["example.com", "shop.example"]
        assert any("id=" in line and "shop.example (pro)" in line for line in lines)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
