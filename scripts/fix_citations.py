"""Point every citation of a document outside the repository at the repository section that holds the fact.

Old comments and docs cite background briefs that were never part of the repository ("architecture §4.2",
"api-notes §3", "aws-notes §3.3", "peers.md §1", "../shared/..."). The facts they cite now live in
docs/architecture.md (and docs/emulator.md, docs/chunking.md, ...). This script rewrites the citations
with an explicit mapping, old text → new reference, applied to every tracked text file.

It is idempotent (no new text contains an old one) and meant to be re-run after merging branches that
still carry old citations:

    python3 scripts/fix_citations.py          # rewrite, then list what is left
    python3 scripts/fix_citations.py --check  # rewrite nothing; exit 1 if any citation is left

A citation the mapping does not know is listed with its file and line, and the exit status is 1: add an
entry for it (most specific first) and run again. tests/unit/test_docs_links.py fails on the same
citations and checks that every docs/<file>.md#<section> reference resolves.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What counts as a citation of an outside document (the same pattern the link test uses).
OUTSIDE = re.compile(r"\.\./shared|architecture §|api-notes|aws-notes|peers\.md")

A = "docs/architecture.md"

# (old text, new text, files it applies to: a path prefix, or "" for every file). Applied in order, so the
# more specific entries come first. Markdown files under docs/ get relative links, everything else the
# repository path (which the link test resolves from the repository root).
MAPPING: list[tuple[str, str, str]] = [
    # --- Markdown under docs/ (relative links) ---
    (
        "Sources, as in `api-notes.md`:",
        "Sources, as in [architecture.md](architecture.md#cloudflare-facts-the-code-relies-on):",
        "docs/",
    ),
    (
        "(after PR #6208, peers.md §1)",
        "(after PR #6208, [architecture.md](architecture.md#external-dns-and-the-batch-api))",
        "docs/",
    ),
    ("(peers.md §1.7)", "([architecture.md](architecture.md#external-dns-and-the-batch-api))", "docs/"),
    ("(architecture §4.4)", "([fewest calls](architecture.md#fewest-calls))", "docs/"),
    ("(architecture §4.5)", "([safety](architecture.md#safety))", "docs/"),
    ("(peers.md, lesson 5)", "([lesson 5 from the peers](architecture.md#lessons-from-the-peers))", "docs/"),
    # --- specific phrasings in code ---
    (
        '(architecture §3.2; aws-notes §2 "create clients at module\nscope")',
        f"({A}#configuration,\n{A}#lambda-runtime-and-clients)",
        "",
    ),
    ("(architecture §4.2, convergence)", f"({A}#convergence)", ""),
    ("(architecture §4.1, §4.2)", f"({A}#nothing-lost-nothing-silent, {A}#convergence)", ""),
    (
        "The five guarantees of architecture §4,",
        f"The five guarantees of {A}#guarantees-and-where-they-are-proved,",
        "",
    ),
    ("(the change event, architecture §3.1)", "(the change event, docs/event-contract.md)", ""),
    ("(architecture §3.2 + the lead's list)", f"({A}#configuration)", ""),
    ('(architecture §3.3; README "Running locally")', f"({A}#the-local-stack)", ""),
    ("(api-notes §1, §2, §4)", f"({A}#cloudflare-facts-the-code-relies-on)", ""),
    ("(api-notes §2, §3)", f"({A}#records-and-listing, #per-type-and-zone-rules)", ""),
    ("(api-notes §3, §4)", f"({A}#per-type-and-zone-rules, docs/emulator.md)", ""),
    ("(api-notes §2, §4)", f"({A}#records-and-listing, #zone-lookup)", ""),
    (
        "Codes come from api-notes §1 (observed responses)",
        f"Codes come from {A}#errors-and-codes (observed)",
        "",
    ),
    (
        '(api-notes: "likely 404, not verified")',
        "(likely 404, not verified: docs/architecture.md#errors-and-codes)",
        "",
    ),
    ("(api-notes §3: others give 9004)", f"({A}#per-type-and-zone-rules: others give 9004)", ""),
    ("(peers.md §1.", f"({A}#external-dns-and-the-batch-api.", ""),
    ("(peers.md, lesson 5)", f"({A}#lessons-from-the-peers, lesson 5)", ""),
    ("(aws-notes §3.3)", f"({A}#what-lint-does-not-catch)", ""),
    # --- generic fallbacks, one per section of the old briefs ---
    ("architecture §3.1", "docs/event-contract.md", ""),
    ("architecture §3.2", f"{A}#configuration", ""),
    ("architecture §3.3", f"{A}#the-local-stack", ""),
    ("architecture §3.4", "docs/emulator.md", ""),
    ("architecture §4.1", f"{A}#nothing-lost-nothing-silent", ""),
    ("architecture §4.2", f"{A}#convergence", ""),
    ("architecture §4.3", f"{A}#isolation", ""),
    ("architecture §4.4", f"{A}#fewest-calls", ""),
    ("architecture §4.5", f"{A}#safety", ""),
    ("architecture §4", f"{A}#guarantees-and-where-they-are-proved", ""),
    ("architecture §2", f"{A}#the-flow", ""),
    ("api-notes §1", f"{A}#the-batch-endpoint", ""),
    ("api-notes §2", f"{A}#records-and-listing", ""),
    ("api-notes §3", f"{A}#per-type-and-zone-rules", ""),
    ("api-notes §4", f"{A}#zone-lookup", ""),
    ("api-notes §5", f"{A}#rate-limits", ""),
    ("aws-notes §1", f"{A}#aws-facts-the-code-relies-on", ""),
    ("aws-notes §2", f"{A}#lambda-runtime-and-clients", ""),
    ("aws-notes §3.3", f"{A}#what-lint-does-not-catch", ""),
    ("peers.md §1.7", f"{A}#external-dns-and-the-batch-api", ""),
    ("peers.md §1", f"{A}#external-dns-and-the-batch-api", ""),
    ("peers.md", f"{A}#peers", ""),
]

# Files that must keep the old texts: this script (its mapping) and the link test (its pattern).
SKIP = {"scripts/fix_citations.py", "tests/unit/test_docs_links.py"}


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line and line not in SKIP]


# ruff's line length: a rewritten comment or docstring line longer than this is re-wrapped.
LINE_LENGTH = 110


def rewrite(path: str, text: str) -> str:
    new = text
    for old, replacement, prefix in MAPPING:
        if path.startswith(prefix):
            new = new.replace(old, replacement)
    if new == text or not path.endswith(".py"):
        return new
    before = set(text.splitlines())
    lines = []
    for line in new.splitlines(keepends=True):
        body = line.rstrip("\n")
        if len(body) <= LINE_LENGTH or body in before:
            lines.append(line)
        else:
            lines.append(_wrap(body) + line[len(body) :])
    return "".join(lines)


def _wrap(line: str) -> str:
    """Break a too-long comment or docstring line at spaces, continuing with the same indentation."""
    indent = line[: len(line) - len(line.lstrip())]
    stripped = line.lstrip()
    if stripped.startswith("#"):
        prefix, content = indent + "# ", stripped.lstrip("#").lstrip()
    else:
        prefix, content = indent, stripped
    parts = textwrap.wrap(
        content, width=LINE_LENGTH - len(prefix), break_long_words=False, break_on_hyphens=False
    )
    return "\n".join(prefix + part for part in parts)


def leftovers(path: str, text: str) -> list[str]:
    return [
        f"{path}:{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), start=1)
        if OUTSIDE.search(line)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if citations are left")
    args = parser.parse_args(argv)
    left: list[str] = []
    for path in tracked_files():
        file = ROOT / path
        try:
            text = file.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        new = text if args.check else rewrite(path, text)
        if new != text:
            file.write_text(new, encoding="utf-8")
            print(f"rewrote {path}")
        left += leftovers(path, new)
    for line in left:
        print(f"unmapped citation: {line}", file=sys.stderr)
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
