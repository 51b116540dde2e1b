"""The synthetic stream for volume runs: deterministic, valid, and with the outcome mix it promises."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from devstack.stack.__main__ import parse_generate, read_windows
from devstack.stack.generate import generate, write
from dnsbatch.coalesce import coalesce
from dnsbatch.events import parse_message
from dnsbatch.model import EventRef


def test_same_arguments_same_stream() -> None:
    assert list(generate(50, windows=3)) == list(generate(50, windows=3))


def test_windows_messages_and_envelopes(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    with path.open("w") as out:
        count = write(out, 40, windows=3, changes_per_message=5, zone="example.org")
    windows = read_windows(path)
    assert count == 600
    assert [len(w) for w in windows] == [40, 40, 40]
    assert all(len(json.loads(b)["changes"]) == 5 for w in windows for b in w)


def test_every_event_is_valid_and_a_window_holds_one_change_per_record_set() -> None:
    lines = list(generate(300, windows=3))
    windows: list[list[str]] = [[]]
    for line in lines:
        if line == "---":
            windows.append([])
        else:
            windows[-1].append(line)
    for number, bodies in enumerate(windows):
        changes = []
        for i, body in enumerate(bodies):
            result = parse_message(body, EventRef(f"m{number}-{i}", 1), zones=["example.com"])
            assert result.rejections == ()
            changes.extend(result.changes)
        assert len(changes) == 300
        assert coalesce(changes).superseded == ()
    kinds = {json.loads(b)["action"] for b in windows[1]}
    versions = {json.loads(b)["version"] for b in windows[1]}
    assert kinds == {"upsert", "delete"} and {0, 1, 2} <= versions


def test_stdout_header_says_how_to_reproduce() -> None:
    out = io.StringIO()
    write(out, 2, windows=1, changes_per_message=1, zone="example.com")
    assert (
        out.getvalue()
        .splitlines()[0]
        .startswith("# generated: python -m devstack.stack generate --messages 2")
    )


def test_generate_spec() -> None:
    assert parse_generate("3000") == (3000, 1, 1)
    assert parse_generate("2500x4") == (2500, 4, 1)
    assert parse_generate("250X4x10") == (250, 4, 10)
    for bad in ("", "x", "0", "3000x", "1x2x3x4", "-5"):
        with pytest.raises(SystemExit, match="MESSAGES"):
            parse_generate(bad)
