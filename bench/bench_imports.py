"""Cold start: each handler's import time beside ``import boto3``, only the layer's requirements installed.

In Lambda a function sees the runtime's Python, the layer (``layers/dnsbatch/requirements.txt`` and the
``dnsbatch`` package) and boto3; nothing from the development virtualenv (moto, pytest, ...). So the bench
builds that environment in ``.venv-layer/`` (cached; rebuilt when the requirements, the boto3 pin or the
Python version change) from the pinned files, with pip's configured indexes and the development lock as
constraints, and times each import in a fresh interpreter of it, with a Lambda-like environment:
``PYTHONPATH`` = the layer + the function's folder, ``AWS_LAMBDA_FUNCTION_NAME`` and the Powertools
variables set, nothing else inherited. Targets are interleaved run by run (so a busy moment of the
machine hits all of them alike) and each figure is the median of the runs.

Every handler needs boto3 (SQS, DynamoDB) on every path, so boto3 stays a module-level import and the
ratio is the handler's whole import over boto3's: what the handler adds on top of the one library it
cannot do without. Run: ``python -m bench imports``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAYER = REPO / "layers" / "dnsbatch"
REQUIREMENTS = LAYER / "requirements.txt"
LOCK = REPO / "requirements-dev.lock"
VENV = REPO / ".venv-layer"
FUNCTIONS = ("aggregator", "batcher", "fallback")
#: The issue's target: each handler's import within this factor of ``import boto3``.
TARGET_RATIO = 1.5
RUNS = 11
QUICK_RUNS = 3

_TIMER = (
    "import time as _t; _s, _c = _t.perf_counter(), _t.process_time(); {statement};"
    " print(_t.perf_counter() - _s, _t.process_time() - _c)"
)


@dataclass(frozen=True)
class Target:
    label: str
    statement: str
    function: str | None = None  # the function whose folder goes on sys.path (as Lambda's task root)


TARGETS = (
    Target("import boto3", "import boto3"),
    *(Target(f"functions/{f}/app.py", "import app", f) for f in FUNCTIONS),
)


def boto3_pin() -> str:
    """boto3's pinned version: Lambda provides boto3, so the layer does not list it; the lock pins it."""
    match = re.search(r"^boto3==(\S+)", LOCK.read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no boto3 pin in {LOCK.relative_to(REPO)}")
    return match.group(1)


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_layer_venv(venv: Path = VENV, python: str = sys.executable) -> Path:
    """The layer's virtualenv, built once per (requirements, boto3 pin, Python) and reused.

    A lock file beside it serialises builders (two test workers, or a test and ``make bench``).
    """
    pins = [*_requirement_lines(REQUIREMENTS), f"boto3=={boto3_pin()}"]
    key = hashlib.sha256("\n".join([*pins, sys.version]).encode()).hexdigest()
    stamp = venv / ".installed"
    with open(f"{venv}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text().strip() == key:
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        # Transitive versions follow the development lock (what the tests ran with); pip's own configuration
        # says where packages come from.
        subprocess.run(
            [
                *(str(_python(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
                *("-r", str(REQUIREMENTS), f"boto3=={boto3_pin()}", "-c", str(LOCK)),
            ],
            check=True,
        )
        stamp.write_text(key + "\n")
    return venv


def _requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def installed(venv: Path = VENV) -> str:
    """``name==version`` of every package in the layer's virtualenv (pip itself aside)."""
    out = subprocess.run(
        [str(_python(venv)), "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return ", ".join(p for p in out if not p.lower().startswith(("pip==", "setuptools==")))


def lambda_env(function: str | None, source: Path = REPO) -> dict[str, str]:
    """What Lambda's environment holds that an import can see; nothing of this shell's environment."""
    layer = source / "layers" / "dnsbatch"
    path = [str(layer)] + ([str(source / "functions" / function)] if function else [])
    name = f"dnsbatch-{function or 'reference'}"
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONPATH": os.pathsep.join(path),
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": function or "reference",
        "POWERTOOLS_METRICS_NAMESPACE": "dnsbatch",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def time_import(venv: Path, target: Target, source: Path = REPO) -> tuple[float, float]:
    """(wall, CPU) seconds one fresh interpreter of ``venv`` spends in ``target``'s import statement."""
    result = subprocess.run(
        [str(_python(venv)), "-c", _TIMER.format(statement=target.statement)],
        env=lambda_env(target.function, source),
        cwd=str(source),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{target.label} failed to import in the layer's venv:\n{result.stderr}")
    wall, cpu = result.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def measure(venv: Path, runs: int, source: Path = REPO) -> dict[str, list[tuple[float, float]]]:
    """``runs`` timings per target, interleaved target by target; one warm-up round first (pyc files)."""
    for target in TARGETS:
        time_import(venv, target, source)
    times: dict[str, list[tuple[float, float]]] = {t.label: [] for t in TARGETS}
    for _ in range(runs):
        for target in TARGETS:
            times[target.label].append(time_import(venv, target, source))
    return times


def report(times: dict[str, list[tuple[float, float]]], runs: int) -> list[str]:
    """Median wall and CPU time per import, each beside boto3's median in the same run."""
    wall_ref = statistics.median(w for w, _ in times[TARGETS[0].label])
    cpu_ref = statistics.median(c for _, c in times[TARGETS[0].label])
    lines = [
        f"  {'import':28} {'wall':>8} {'x boto3':>8} {'cpu':>8} {'x boto3':>8}  (target <= {TARGET_RATIO}x)"
    ]
    for target in TARGETS:
        wall = statistics.median(w for w, _ in times[target.label])
        cpu = statistics.median(c for _, c in times[target.label])
        worst = max(wall / wall_ref, cpu / cpu_ref)
        verdict = "reference" if target is TARGETS[0] else ("ok" if worst <= TARGET_RATIO else "OVER")
        lines.append(
            f"  {target.label:28} {wall * 1000:6.1f}ms {wall / wall_ref:7.2f}x"
            f" {cpu * 1000:6.1f}ms {cpu / cpu_ref:7.2f}x  {verdict}"
        )
    lines.append(
        f"  (medians of {runs} fresh interpreters per import, interleaved; wall = perf_counter,"
        " cpu = process_time, which a busy machine disturbs less)"
    )
    return lines


def run(quick: bool = False) -> list[str]:
    runs = QUICK_RUNS if quick else RUNS
    venv = ensure_layer_venv()
    version = subprocess.run(
        [str(_python(venv)), "-c", "import platform; print(platform.python_version())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    lines = [
        f"imports: fresh python {version} of {VENV.relative_to(REPO)}/ holding only the layer's requirements"
        f" + boto3 (as in Lambda): {installed(venv)}",
    ]
    return lines + report(measure(venv, runs), runs)
