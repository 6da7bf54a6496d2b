"""The shape of the code: modules small enough to read whole, and the store importing no site or merge code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "harvest"
MAX_LINES = 450
MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("module", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_module_is_over_450_lines(module: Path) -> None:
    lines = len(module.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module.relative_to(PACKAGE)} has {lines} lines; split it by what each part does"


def _imports(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_store_only_stores() -> None:
    """store/ never imports the site modules or the merge: deciding what to write is the pipeline's."""
    offending = {
        str(module.relative_to(PACKAGE)): sorted(name for name in _imports(module) if name.startswith(forbidden))
        for module in (PACKAGE / "store").rglob("*.py")
        for forbidden in [("harvest.sources", "harvest.merge", "harvest.pipeline")]
    }
    assert {path: names for path, names in offending.items() if names} == {}
