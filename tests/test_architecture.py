"""The layering rules, read from the imports with `ast`, so a shortcut across layers fails the suite.

Data flows one way: core ← net ← sources → merge; store knows only core; pipeline is the one place
that calls sources, merge and store together. Imports under `if TYPE_CHECKING:` are type hints, not
dependencies, and are ignored.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "harvest"
MAX_LINES = 450

# layer -> layers it must never import (besides itself, every layer may import core)
FORBIDDEN = {
    "core": {"net", "sources", "merge", "store", "query", "pipeline", "web", "cli", "testing", "publish", "mcp"},
    "net": {"sources", "merge", "store", "query", "pipeline", "web", "cli", "testing", "publish", "mcp"},
    "sources": {"merge", "store", "query", "pipeline", "web", "cli", "testing", "publish", "mcp"},
    "merge": {"net", "sources", "store", "query", "pipeline", "web", "cli", "testing", "publish", "mcp"},
    "store": {"net", "sources", "merge", "query", "pipeline", "web", "cli", "testing", "publish", "mcp"},
    "query": {"net", "sources", "merge", "pipeline", "web", "cli", "testing", "publish", "mcp"},
    "pipeline": {"web", "cli", "testing", "publish", "mcp"},
    # the site reads; it never fetches
    "web": {"net", "sources", "merge", "store", "pipeline", "cli", "testing", "publish", "mcp"},
    # the file handed to PostgreSQL and Parquet: read through the store (opened read-only) and query, never fetched
    "publish": {"net", "sources", "merge", "pipeline", "web", "cli", "testing", "mcp"},
    # the MCP server for agents: reads through query and the store opened read-only, never fetches or writes
    "mcp": {"net", "sources", "merge", "pipeline", "web", "cli", "testing", "publish"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(path: Path, name: str, *, type_hints: bool = False) -> set[str]:
    """Every harvest module this file imports when it runs (and, with ``type_hints``, for type checking)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node) and not type_hints:
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("harvest"))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if not target.startswith("harvest"):
                    continue
                found.add(target)
                # `from harvest.x import y` may import the submodule y
                found.update(f"{target}.{a.name}" for a in node.names)
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    visit([child])

    visit(tree.body)
    return found


def graph(*, type_hints: bool = False) -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in files.items():
        found = runtime_imports(path, name, type_hints=type_hints)
        edges[name] = {t for t in found if t in files and t != name}
    return edges


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle in the import graph, as the list of modules around it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def package_init_edges_removed(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """Drop the edges from a package `__init__` to its own submodules: re-exporting is allowed."""
    return {
        src: {dst for dst in dsts if not (dst.startswith(src + ".") and _is_init(src))} for src, dsts in edges.items()
    }


def _is_init(module: str) -> bool:
    rel = Path(*module.split(".")[1:]) if "." in module else Path()
    return (PACKAGE / rel / "__init__.py").exists()


@pytest.mark.parametrize("type_hints", [False, True], ids=["at-run-time", "with-type-hints"])
def test_no_import_cycles(type_hints: bool) -> None:
    cycle = find_cycle(package_init_edges_removed(graph(type_hints=type_hints)))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("upper", sorted(FORBIDDEN))
def test_layer_imports_only_what_is_below_it(upper: str) -> None:
    bad = sorted(
        f"{src} imports {dst}"
        for src, dsts in graph().items()
        if layer(src) == upper
        for dst in dsts
        if layer(dst) in FORBIDDEN[upper]
    )
    assert not bad, "\n".join(bad)


def test_store_and_merge_never_import_each_other() -> None:
    edges = graph()
    crossing = [
        (s, d)
        for s, ds in edges.items()
        for d in ds
        if {layer(s), layer(d)} == {"store", "merge"} or (layer(s) == "store" and layer(d) == "sources")
    ]
    assert crossing == []


def test_no_module_over_450_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_checks_see_a_planted_cycle() -> None:
    """The detector is not vacuous: a cycle added by hand to the real graph is found."""
    edges = graph()
    assert edges["harvest.pipeline.apply"], "the graph must hold real edges"
    planted = {k: set(v) for k, v in edges.items()}
    planted["harvest.core.schema"].add("harvest.store.database")
    planted["harvest.store.database"].add("harvest.core.schema")
    assert find_cycle(package_init_edges_removed(planted)) is not None
