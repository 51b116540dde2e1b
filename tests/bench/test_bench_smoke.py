"""The benchmarks keep working and keep reporting figures a reader can trust, on their quick inputs.

Each benchmark's lines are parsed: every figure must have its unit, and the figures must agree with each
other (a ratio is the quotient of the figures it compares, budgets are calls / 4 per second, counts add up,
dnsbatch needs fewer calls than the strategies it is compared with). bench_calls and bench_bisect also
assert inside that the strategies reach the same records. No timing is asserted: speed belongs in
`make bench` (docs/benchmarks.md).
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

import bench

NAMES = sorted(
    m.name for m in pkgutil.iter_modules([str(Path(bench.__file__).parent)]) if m.name.startswith("bench_")
)
BUDGET_PER_S = 4.0  # Cloudflare's 1,200 requests per 300 s


@cache
def lines_of(name: str) -> tuple[str, ...]:
    return tuple(importlib.import_module(f"bench.{name}").run(quick=True))


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _rounded(text: str) -> tuple[float, float]:
    """The interval a figure printed with that many decimals stands for."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    half = 0.5 * 10**-decimals
    value = _num(text)
    return value - half, value + half


def _ratio_fits(ratio: str, numerator: str, denominator: str) -> bool:
    """Whether a printed ratio is numerator / denominator, allowing for the rounding of all three."""
    r_lo, r_hi = _rounded(ratio)
    n_lo, n_hi = _rounded(numerator)
    d_lo, d_hi = _rounded(denominator)
    if d_lo <= 0:
        return True  # a denominator printed as 0.0 bounds nothing
    return n_lo / d_hi <= r_hi and n_hi / d_lo >= r_lo


def _seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.,]+) (s|min|h)", text)
    assert match, f"a duration without a unit: {text!r}"
    return _num(match[1]) * {"s": 1, "min": 60, "h": 3600}[match[2]]


def check_calls(lines: tuple[str, ...]) -> None:
    row = re.compile(
        r"^  (dnsbatch|ext-dns batch|ext-dns per-record) +(\d[\d,]*) +([\d.]+)x +([\d.]+)s +([\d.]+)x +"
        r"([\d.]+ (?:s|min))$"
    )
    rows = {m[1]: m for m in (row.match(line) for line in lines) if m}
    assert set(rows) == {"dnsbatch", "ext-dns batch", "ext-dns per-record"}, lines
    ours = rows["dnsbatch"]
    assert (ours[3], ours[5]) == ("1.0", "1.0")
    for m in rows.values():
        calls = int(m[2].replace(",", ""))
        assert _ratio_fits(m[3], m[2], ours[2]), m[0]
        assert _ratio_fits(m[5], m[4], ours[4]) or _rounded(ours[4])[0] <= 0, m[0]
        budget = _seconds(m[6])
        assert abs(budget - calls / BUDGET_PER_S) <= 0.051 * (60 if m[6].endswith("min") else 1), m[0]
    calls = [int(rows[s][2].replace(",", "")) for s in ("dnsbatch", "ext-dns batch", "ext-dns per-record")]
    assert calls == sorted(calls) and calls[0] < calls[2]
    # each strategy's per-endpoint counts add up to its calls
    for strategy, total in zip(("dnsbatch", "ext-dns batch", "ext-dns per-record"), calls, strict=True):
        (detail,) = [line for line in lines if line.startswith(f"    {strategy}: ")]
        counts = [int(n) for n in re.findall(r" (\d+)(?:,|$)", detail)]
        assert sum(counts) == total, detail


def check_events(lines: tuple[str, ...]) -> None:
    row = re.compile(
        r"^ +([\d,]+) events: +([\d,]+) events/s \( *([\d.]+) ms\); json\.loads alone +([\d,]+) events/s "
        r"\( *([\d.]+) ms\); ratio +([\d.]+)x; winners (\d+), superseded (\d+), rejected (\d+)$"
    )
    matches = [m for m in (row.match(line) for line in lines) if m]
    assert matches, lines
    for m in matches:
        events = int(m[1].replace(",", ""))
        assert int(m[7]) + int(m[8]) + int(m[9]) == events  # every event ends somewhere
        for rate, millis in ((m[2], m[3]), (m[4], m[5])):
            lo, hi = _rounded(millis)
            if lo > 0:
                assert events / (hi / 1000) * 0.999 <= _num(rate) <= events / (lo / 1000) * 1.001, m[0]
        assert _ratio_fits(m[6], m[3], m[5]), m[0]


def check_plan(lines: tuple[str, ...]) -> None:
    head = re.match(
        r"^plan: zone of ([\d,]+) records, ([\d,]+) changed record sets -> ([\d,]+) operations, (\d+) chunks "
        r"of <= (\d+) \((\d+) planned, (\d+) unchanged, (\d+) rejected\)$",
        lines[0],
    )
    assert head, lines[0]
    changed, operations, chunks, size = (int(head[i].replace(",", "")) for i in (2, 3, 4, 5))
    assert int(head[6]) + int(head[7]) + int(head[8]) == changed
    assert chunks == math.ceil(operations / size)
    reference = re.search(r"reference \(.*\): ([\d.]+) ms$", lines[1])
    assert reference, lines[1]
    timed = [re.match(r"^plan: (.+): ([\d.]+) ms \(([\d.]+)x reference\)$", line) for line in lines[2:]]
    assert timed and all(timed), lines[2:]
    for m in timed:
        assert m is not None and _ratio_fits(m[3], m[2], reference[1]), m


def check_bisect(lines: tuple[str, ...]) -> None:
    row = re.compile(
        r"^\| ([\d,]+) \| (\d+) \| \*\*(\d+)\*\* \((\d+); bound (\d+)\) "
        r"\| ([\d,]+) \(([\d.]+) min of budget\) \| (\d+)x "
        r"\| ([^|]+) \| ([^|]+) \| ([\d.]+ s) \| ([\d.]+ s) \|$"
    )
    matches = [m for m in (row.match(line) for line in lines) if m]
    assert matches, lines
    for m in matches:
        size, k, ours, batch, bound, theirs = (int(m[i].replace(",", "")) for i in (1, 2, 3, 4, 5, 6))
        assert batch <= ours and batch <= bound == k * (2 * math.ceil(math.log2(size / k)) + 1) + 1
        assert ours < theirs
        assert abs(_num(m[7]) - theirs / BUDGET_PER_S / 60) <= 0.051
        assert abs(int(m[8]) - theirs / ours) <= 0.5
        # paced: batch calls 0.8 s apart, other calls 2 s apart (what the deployed intervals add)
        paced = m[9].strip()
        expected = (batch - 1) * 0.8 + (ours - batch) * 2.0
        assert abs(_seconds(paced) - expected) <= (30 if "min" in paced else 0.5)
        assert _seconds(m[10].strip()) > _seconds(m[9].strip())
        _seconds(m[11])
        _seconds(m[12])


def check_imports(lines: tuple[str, ...]) -> None:
    assert lines[0].startswith("imports: fresh python ") and " boto3==" in lines[0], lines[0]
    row = re.compile(
        r"^  (import boto3|functions/\w+/app\.py) +([\d.]+)ms +([\d.]+)x +([\d.]+)ms +([\d.]+)x  "
        r"(reference|ok|OVER)$"
    )
    rows = [m for m in (row.match(line) for line in lines) if m]
    names = [m[1] for m in rows]
    assert names == [
        "import boto3",
        *(f"functions/{f}/app.py" for f in ("aggregator", "batcher", "fallback")),
    ]
    reference = rows[0]
    assert (reference[3], reference[5], reference[6]) == ("1.00", "1.00", "reference")
    for m in rows[1:]:
        assert _ratio_fits(m[3], m[2], reference[2]), m[0]
        assert _ratio_fits(m[5], m[4], reference[4]), m[0]
        worst = max(_num(m[3]), _num(m[5]))
        if worst < 1.49:
            assert m[6] == "ok", m[0]
        elif worst > 1.51:
            assert m[6] == "OVER", m[0]
    assert re.match(r"^  \(medians of \d+ fresh interpreters per import", lines[-1]), lines[-1]


def check_zones(lines: tuple[str, ...]) -> None:
    head = re.match(
        r"^zones: reference: the allowance, ([\d,]+) requests / (\d+) s per user = (\d+) calls/min: at most "
        r"(\d+) zones/min at 2 calls per zone-window, (\d+) at 1 \(the theoretical maximum\)$",
        lines[0],
    )
    assert head, lines[0]
    per_minute = _num(head[1]) / _num(head[2]) * 60
    assert abs(_num(head[3]) - per_minute) <= 0.5
    assert abs(_num(head[4]) - per_minute / 2) <= 0.5 and abs(_num(head[5]) - per_minute) <= 0.5
    row = re.compile(
        r"^  ([12]) calls?/window, (.+?) +(\d+) +([\d.]+)x  (calls per window|pacing|concurrency) +"
        r"((?:(?:calls per window|pacing|concurrency) \d+(?:, )?)+) +([\d,]+)/([\d,]+) +(\d+)s  (.+)$"
    )
    rows = [m for m in (row.match(line) for line in lines) if m]
    assert rows, lines
    for m in rows:
        calls, zones, ratio = int(m[1]), int(m[3]), m[4]
        bounds = {k: int(v) for k, v in re.findall(r"(calls per window|pacing|concurrency) (\d+)", m[6])}
        # the binding setting is the lowest bound, and no run passes above it
        assert m[5] == min(bounds, key=lambda k: bounds[k]), m[0]
        assert zones <= bounds[m[5]] + 1, m[0]
        # zones per minute against the theoretical maximum of its calls per window, in the same run
        assert abs(_num(ratio) - zones * calls / per_minute) <= 0.006, m[0]
        assert _num(ratio) <= 1.0
        # the passing run stayed within the limiter's window, and the run above it did not pass
        assert _num(m[7]) <= _num(m[8])
        assert m[10] == "-" or re.fullmatch(
            r"\d+: (\d+ x 429|backlog \(lag \d+ s\))(, backlog \(lag \d+ s\))?", m[10]
        )
    assert {m[1] for m in rows} == {"1", "2"}, "both 1 and 2 calls per window are reported"


def check_knowledge(lines: tuple[str, ...]) -> None:
    head = re.match(r"^knowledge: zone of [\d,]+ A records .*, (\d+) windows of (\d+) changed", lines[0])
    assert head, lines[0]
    windows = int(head[1])
    row = re.compile(
        r"^  (read every window \(interval 0\)|knowledge \(interval 600 s\)) +(\d+) +(\d+) +(\d+) "
        r"+([\d.]+) +([\d.]+)x +(\d+)$"
    )
    rows = [m for m in (row.match(line) for line in lines) if m]
    assert [m[1].split()[0] for m in rows] == ["read", "knowledge"], lines
    read, known = rows
    for m in rows:
        calls, reads, batches = int(m[2]), int(m[3]), int(m[4])
        assert calls == reads + batches, m[0]
        assert abs(_num(m[5]) - calls / windows) <= 0.006, m[0]
        assert _ratio_fits(m[6], m[5], read[5]), m[0]
        assert abs(int(m[7]) - 240 / _num(m[5])) <= 1, m[0]  # 1,200 calls per 5 minutes, a window a minute
    # reading every window costs a read per window; knowledge reads at most once per 10 windows (600 s)
    assert int(read[3]) == windows and int(known[3]) <= math.ceil(windows / 10)
    assert int(read[4]) == int(known[4]) and int(known[2]) < int(read[2])


CHECKS: dict[str, Callable[[tuple[str, ...]], None]] = {
    "bench_knowledge": check_knowledge,
    "bench_calls": check_calls,
    "bench_events": check_events,
    "bench_plan": check_plan,
    "bench_bisect": check_bisect,
    "bench_imports": check_imports,
    "bench_zones": check_zones,
}


def test_every_benchmark_is_found_and_has_a_check() -> None:
    assert set(NAMES) == set(CHECKS)


@pytest.mark.parametrize("name", NAMES)
def test_benchmark_figures_have_units_and_agree_with_each_other(name: str) -> None:
    CHECKS[name](lines_of(name))


@pytest.mark.parametrize(
    ("name", "line", "broken"),
    [
        ("bench_calls", "  dnsbatch ", lambda s: s.replace("1.0x", "2.0x", 1)),
        ("bench_events", " events: ", lambda s: s.replace(" ms)", ")", 1)),
        ("bench_plan", "plan: plan_zone:", lambda s: re.sub(r"\(([\d.]+)x", "(99.0x", s)),
        ("bench_imports", "  functions/batcher/", lambda s: re.sub(r" ([\d.]+)x", " 9.99x", s, count=1)),
        ("bench_zones", "  2 calls/window", lambda s: s.replace("calls per window ", "pacing ", 1)),
        ("bench_knowledge", "  knowledge (interval", lambda s: re.sub(r" ([\d.]+)x", " 1.00x", s, count=1)),
    ],
)
def test_the_checks_refuse_a_figure_that_lost_its_unit_or_its_sense(
    name: str, line: str, broken: Callable[[str], str]
) -> None:
    lines = lines_of(name)
    spoiled = tuple(broken(x) if x.startswith(line) or line in x else x for x in lines)
    assert spoiled != lines
    with pytest.raises(AssertionError):
        CHECKS[name](spoiled)
