"""``python -m bench [--quick] [NAME ...]``: run the benchmarks and print their figures.

Each ``bench/bench_<name>.py`` module exposes ``run(quick: bool = False) -> list[str]``; every figure is
reported beside a reference measured in the same run, so ratios hold across machines.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import platform
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="small inputs (a smoke run, not figures to quote)"
    )
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    args = parser.parse_args(argv)
    available = sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("bench_")
    )
    names = args.names or available
    unknown = set(names) - set(available)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}; available: {', '.join(available)}")
    print(f"# python {platform.python_version()} on {platform.machine()}, {time.strftime('%Y-%m-%d %H:%M')}")
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"\n## {name}")
        started = time.perf_counter()
        for line in module.run(quick=args.quick):
            print(line, flush=True)
        print(f"({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
