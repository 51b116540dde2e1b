"""What each handler's import pulls in (cold start, docs/benchmarks.md "imports"): a function imports
only what its own path needs. Timings are in bench/bench_imports.py; this checks the module sets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WATCHED = (
    "httpx",
    "aws_lambda_powertools.utilities.parameters",
    "dnsbatch.aggregator",
    "dnsbatch.batcher",
    "dnsbatch.fallback",
    "dnsbatch.events",
    "dnsbatch.cloudflare.client",
    "aws_lambda_powertools.utilities.batch",
    "dns.rdata",  # dnspython: on the first value parsed (dnsbatch.rdata_parsers), not at import
    "idna",  # on the first non-ASCII name (dnsbatch.names)
)


def _imported_after(function: str, watched: tuple[str, ...] = WATCHED) -> set[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(REPO / "layers" / "dnsbatch"), str(REPO / "functions" / function)]
        ),
        "AWS_LAMBDA_FUNCTION_NAME": f"dnsbatch-{function}",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": function,
    }
    code = f"import sys, json, app; print(json.dumps([m for m in {list(watched)!r} if m in sys.modules]))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout))


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("aggregator", {"dnsbatch.aggregator", "dnsbatch.events"}),
        # httpx imports idna itself; dnsbatch's own use of it stays lazy.
        ("batcher", {"dnsbatch.batcher", "dnsbatch.cloudflare.client", "httpx", "idna"}),
        ("fallback", {"dnsbatch.fallback", "dnsbatch.cloudflare.client", "httpx", "idna"}),
    ],
)
def test_a_handler_imports_only_its_own_path(function: str, expected: set[str]) -> None:
    # Powertools' parameters utility is imported when the token is first read from Secrets Manager, not
    # before; the aggregator never loads the HTTP client.
    assert _imported_after(function) == expected


# The producer kit (docs/producer-kit.md) ships in the layer but serves producers, not the functions.
KIT = ("dnsbatch.producer", "dnsbatch.zonefile", "dnsbatch.__main__", "dns.zone", "dns.zonefile")


@pytest.mark.parametrize("function", ["aggregator", "batcher", "fallback"])
def test_no_handler_loads_the_producer_kit(function: str) -> None:
    assert _imported_after(function, KIT) == set()
