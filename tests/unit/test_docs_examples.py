"""The event examples in README.md and docs/event-contract.md are part of the contract: each must parse."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dnsbatch.events import parse_message
from dnsbatch.model import EventRef

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "docs" / "event-contract.md"]


def _examples(path: Path) -> list[str]:
    """Every JSON object inside a ```json block: one per line, or one spanning the whole block."""
    found: list[str] = []
    for block in re.findall(r"```json\n(.*?)```", path.read_text(), flags=re.S):
        lines = [line for line in block.splitlines() if line.strip()]
        if all(line.lstrip().startswith("{") and line.rstrip().endswith("}") for line in lines):
            found.extend(lines)
        else:
            found.append(block)
    return found


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_documented_example_event_is_accepted(path: Path) -> None:
    examples = _examples(path)
    assert len(examples) >= 5, f"no examples found in {path.name}"
    for text in examples:
        json.loads(text)  # a broken example should fail here, with the JSON error
        result = parse_message(text, EventRef("doc", 1), zones={"example.com"})
        assert result.rejections == (), (text, [r.reason for r in result.rejections])
        assert result.changes
