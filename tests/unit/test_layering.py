"""Imports go down the layers, never up (CONTRIBUTING.md#the-map-of-the-code).

Each module of the library is given a layer; a module may import from its own layer and the ones below.
The handlers sit on top of the library, the local stack and the benchmarks beside them; the library never
imports them. The test reads the imports with ``ast`` (no import is executed), so an import inside a
function or under ``TYPE_CHECKING`` counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "layers/dnsbatch"

# Bottom to top. The order is the contract CONTRIBUTING.md describes; a new module must be placed here.
LAYERS: list[tuple[str, set[str]]] = [
    ("model", {"dnsbatch", "dnsbatch.model", "dnsbatch.limits", "dnsbatch.schema", "dnsbatch.safe_text"}),
    ("cloudflare", {"dnsbatch.cloudflare"}),
    (
        "dns data",
        {"dnsbatch.names", "dnsbatch.txt", "dnsbatch.rdata_parsers", "dnsbatch.rdata", "dnsbatch.ownership"},
    ),
    (
        "core",
        {
            "dnsbatch.events",
            "dnsbatch.coalesce",
            "dnsbatch.plan",
            "dnsbatch.chunk",
            "dnsbatch.guard",
            "dnsbatch.config",
        },
    ),
    (
        "aws edge",
        {
            "dnsbatch.ledger",
            "dnsbatch.queues",
            "dnsbatch.telemetry",
            "dnsbatch.redelivery",
            "dnsbatch.logsafety",
            "dnsbatch.sqs_partial",
        },
    ),
    (
        "stages",
        {
            "dnsbatch.outcomes",
            "dnsbatch.zones",
            "dnsbatch.aggregator",
            "dnsbatch.batcher",
            "dnsbatch.fallback",
        },
    ),
    ("runtime", {"dnsbatch.runtime"}),
    # The producer kit: used by producers and the CLI, never by the handlers (tests/unit/test_producer.py
    # checks that no handler loads it).
    ("producer kit", {"dnsbatch.producer", "dnsbatch.zonefile", "dnsbatch.__main__"}),
    ("handlers", {"functions"}),
]
# Listed as a whole: every module inside them is in the package's layer.
PACKAGES = {"dnsbatch.cloudflare", "dnsbatch.schema", "functions"}
# Beside the handlers: may use the whole library, and the library may not use them.
TOOLS = {"devstack", "bench"}


def _layer_of(module: str) -> int:
    """The layer index of a module: the longest listed name that is the module or a package holding it."""
    best, index = "", -1
    for number, (_, names) in enumerate(LAYERS):
        for name in names:
            inside = name in PACKAGES and module.startswith(name + ".")
            if (module == name or inside) and len(name) > len(best):
                best, index = name, number
    if index < 0:
        raise LookupError(module)
    return index


def _module_name(path: Path) -> str:
    if path.is_relative_to(LIBRARY):
        parts = path.relative_to(LIBRARY).with_suffix("").parts
    else:
        parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, source: str | None = None) -> set[str]:
    """Every first-party module the file imports (``from pkg import mod`` resolves to ``pkg.mod``)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    text = path.read_text(encoding="utf-8") if source is None else source
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.add(target)
            # `from dnsbatch import queues` imports the module dnsbatch.queues
            found.update(
                f"{target}.{alias.name}" for alias in node.names if _is_module(f"{target}.{alias.name}")
            )
    return {name for name in found if name.split(".")[0] in {"dnsbatch", "functions", *TOOLS}}


def _is_module(name: str) -> bool:
    parts = name.split(".")
    base = LIBRARY if parts[0] == "dnsbatch" else ROOT
    path = base.joinpath(*parts)
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


LIBRARY_FILES = sorted((LIBRARY / "dnsbatch").rglob("*.py"))
HANDLER_FILES = sorted((ROOT / "functions").rglob("*.py"))


def upward_imports(path: Path, source: str | None = None) -> list[str]:
    module = _module_name(path)
    own = _layer_of(module)
    bad = []
    for name in sorted(imports_of(path, source)):
        if name.split(".")[0] in TOOLS:
            bad.append(f"{module} imports {name}: the library and handlers never import the dev tools")
        elif _layer_of(name) > own:
            bad.append(f"{module} ({LAYERS[own][0]}) imports {name} ({LAYERS[_layer_of(name)][0]})")
    return bad


@pytest.mark.parametrize("path", LIBRARY_FILES + HANDLER_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_from_a_layer_above_it(path: Path) -> None:
    assert upward_imports(path) == []


def test_every_library_module_has_a_layer() -> None:
    unplaced = []
    for path in LIBRARY_FILES:
        try:
            _layer_of(_module_name(path))
        except LookupError:
            unplaced.append(_module_name(path))
    assert unplaced == [], "place these modules in LAYERS (and in CONTRIBUTING.md's map)"


def test_handlers_only_wire_the_runtime_and_a_stage() -> None:
    for path in HANDLER_FILES:
        assert "dnsbatch.runtime" in imports_of(path), path


@pytest.mark.parametrize(
    ("module", "line", "expected"),
    [
        (
            "dnsbatch/model.py",
            "from dnsbatch.batcher import ZoneBatches",
            "imports dnsbatch.batcher (stages)",
        ),
        ("dnsbatch/plan.py", "from dnsbatch import ledger", "imports dnsbatch.ledger (aws edge)"),
        (
            "dnsbatch/cloudflare/client.py",
            "from ..rdata import to_value",
            "imports dnsbatch.rdata (dns data)",
        ),
        ("dnsbatch/batcher.py", "import devstack.emulator", "never import the dev tools"),
    ],
)
def test_the_check_catches_an_upward_import(module: str, line: str, expected: str) -> None:
    path = LIBRARY / module
    (problem,) = upward_imports(path, path.read_text(encoding="utf-8") + f"\n{line}\n")
    assert problem.endswith(expected), problem
