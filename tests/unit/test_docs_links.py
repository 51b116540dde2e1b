"""Every reference inside the repository resolves, and nothing cites a document outside it.

- every relative Markdown link in every tracked ``.md`` file points at a file that exists and, with a
  ``#fragment``, at a heading of that file (GitHub's anchor rules);
- every ``docs/<file>.md#<section>`` reference anywhere (code comments, docstrings, YAML, Markdown) names
  an existing file and heading, read from the repository root;
- no tracked file cites the background briefs that are not in the repository (the old citations were
  rewritten to docs/ sections once; this keeps them from coming back).

The checker is a plain function of a directory and a file list, so the tests below also run it on a small
tree with broken links, to show it fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import unicodedata
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Citations of documents outside the repository (the old background briefs), written so that this file does
# not itself match a plain search for them.
OUTSIDE = re.compile(r"\.\./shared|architecture\s§|api-note[s]|aws-note[s]|peers\.md")
# This file's own examples of broken references are not references.
OUTSIDE_ALLOWED = {"tests/unit/test_docs_links.py"}

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
# [text](target) or ![alt](target), target up to the first space or closing parenthesis.
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
INLINE_CODE = re.compile(r"`[^`\n]*`")
DOCS_REF = re.compile(r"(?<![\w./-])(docs/[\w./-]+?\.md)(?:#([\w-]+))?")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text lowercased, punctuation dropped, spaces → '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images keep their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.lower()
    kept = [
        ch
        for ch in text
        if ch in " -_" or unicodedata.category(ch)[0] in "LN" or unicodedata.category(ch) == "Mn"
    ]
    return "".join(kept).replace(" ", "-")


def _outside_fences(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the lines not inside a fenced code block."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


@cache
def anchors(path: Path) -> frozenset[str]:
    """Every anchor GitHub gives the headings of a Markdown file (duplicates get -1, -2, ...)."""
    seen: dict[str, int] = {}
    out = set()
    for _, line in _outside_fences(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return frozenset(out)


def _check_target(root: Path, source: str, number: int, file: Path, fragment: str | None) -> str | None:
    where = f"{source}:{number}"
    try:
        shown = file.resolve().relative_to(root.resolve())
    except ValueError:
        return f"{where}: {os.path.relpath(file, root)} is outside the repository"
    if not file.exists():
        return f"{where}: {shown} does not exist"
    if fragment and file.suffix == ".md" and fragment not in anchors(file.resolve()):
        return f"{where}: {shown} has no heading #{fragment}"
    return None


def problems(root: Path, files: list[str]) -> list[str]:
    """Every broken link, broken docs/ reference and outside citation in ``files`` (paths under root)."""
    found = []
    for name in files:
        path = root / name
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        if name not in OUTSIDE_ALLOWED:
            found += [
                f"{name}:{number}: cites a document outside the repository: {line.strip()}"
                for number, line in enumerate(text.splitlines(), start=1)
                if OUTSIDE.search(line)
            ]
        lines = _outside_fences(text) if name.endswith(".md") else list(enumerate(text.splitlines(), 1))
        for number, line in lines:
            if name.endswith(".md"):
                for target in LINK.findall(INLINE_CODE.sub("", line)):
                    if re.match(r"^[a-z][a-z0-9+.-]*:", target, flags=re.IGNORECASE):
                        continue  # https:, mailto:, ...
                    file_part, _, fragment = target.partition("#")
                    file = path.parent / file_part if file_part else path
                    problem = _check_target(root, name, number, file, fragment or None)
                    if problem:
                        found.append(problem)
            if name in OUTSIDE_ALLOWED:
                continue
            for ref, fragment in DOCS_REF.findall(line):
                problem = _check_target(root, name, number, root / ref, fragment or None)
                if problem:
                    found.append(problem)
    return list(dict.fromkeys(found))  # a README link is also a docs/ reference: report it once


def tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line]


def test_every_link_and_docs_reference_in_the_repository_resolves() -> None:
    files = tracked()
    assert any(f.endswith(".md") for f in files)
    assert problems(ROOT, files) == []


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("The flow", "the-flow"),
        ("Retries, time budget, redelivery", "retries-time-budget-redelivery"),
        ("Diff rules (what counts as a difference)", "diff-rules-what-counts-as-a-difference"),
        ("The `calls` bench: external-dns's way", "the-calls-bench-external-dnss-way"),
        ("Ledger → DynamoDB", "ledger--dynamodb"),
        ("See [the notes](x.md) here", "see-the-notes-here"),
        ("snake_case_name", "snake_case_name"),
    ],
)
def test_slugs_follow_githubs_rules(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def _tree(tmp_path: Path, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return sorted(files)


GOOD_DOC = "# Title\n\n## A section\n\n## A section\n\n```\n# not a heading\n```\n"


def test_the_checker_accepts_a_tree_whose_references_resolve(tmp_path: Path) -> None:
    files = _tree(
        tmp_path,
        {
            "docs/a.md": GOOD_DOC
            + "[self](#a-section-1) [up](../README.md#readme) [web](https://x.test/y)\n",
            "README.md": "# Readme\n[a](docs/a.md#a-section) `[not a link](nowhere.md)`\n",
            "code.py": "# see docs/a.md#title and docs/a.md\n",
        },
    )
    assert problems(tmp_path, files) == []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"README.md": "[gone](docs/missing.md)\n"}, "README.md:1: docs/missing.md does not exist"),
        ({"README.md": "[x](docs/a.md#no-such-section)\n"}, "README.md:1: docs/a.md has no heading"),
        ({"docs/b.md": "[x](a.md#not-a-heading)\n"}, "docs/b.md:1: docs/a.md has no heading #not-a-heading"),
        ({"docs/b.md": "# B\n[x](#elsewhere)\n"}, "docs/b.md:2: docs/b.md has no heading #elsewhere"),
        ({"code.py": "# see docs/a.md#missing\n"}, "code.py:1: docs/a.md has no heading #missing"),
        ({"t.yaml": "Url: docs/nothere.md#x\n"}, "t.yaml:1: docs/nothere.md does not exist"),
        ({"code.py": "# (api" + "-notes §3)\n"}, "code.py:1: cites a document outside the repository"),
        (
            {"docs/c.md": "see .." + "/shared/docs/x.md\n"},
            "docs/c.md:1: cites a document outside the repository",
        ),
        ({"README.md": "[x](../outside.md)\n"}, "README.md:1: ../outside.md is outside the repository"),
    ],
)
def test_the_checker_fails_on_a_broken_reference(
    tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    names = _tree(tmp_path, {"docs/a.md": GOOD_DOC, **files})
    found = problems(tmp_path, names)
    assert len(found) == 1 and found[0].startswith(expected), found
