"""The benchmarks keep working: each runs on its quick inputs. bench_calls also asserts inside that the
three strategies reach the same records, so a planner or client change that breaks that fails here.
No timing is asserted (figures belong in `make bench`)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import bench

NAMES = sorted(
    m.name for m in pkgutil.iter_modules([str(Path(bench.__file__).parent)]) if m.name.startswith("bench_")
)


def test_every_benchmark_is_found() -> None:
    assert {"bench_calls", "bench_events", "bench_plan"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_benchmark_runs_on_quick_inputs_and_reports_figures(name: str) -> None:
    lines = importlib.import_module(f"bench.{name}").run(quick=True)
    assert lines and all(isinstance(line, str) and line for line in lines)
