"""Rows from a JSON document by declaration: a root path with ``[]`` at each array, columns by relative path.

A root such as ``outcomeMeasures[].classes[].categories[].measurements[]`` gives one row per measurement; a
column reads the measurement (``value``), or an enclosing element by its array's name
(``outcomeMeasures[].title``), or that element's index (``outcomeMeasures[]#``); ``.`` is the element itself
(arrays of strings). A root without a trailing ``[]`` gives one row when the object is there. Missing keys give
None, never an error: every module of the record is optional.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

Convert = Callable[[Any], Any]


def keep(value: Any) -> Any:
    return value


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def number(value: Any) -> float | None:
    """A number written as text ("12.5", "-3", "1e-3"), else None ("NA", "<0.001", "5%")."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace(",", "")
    return float(text) if _NUMBER.match(text) else None


def whole(value: Any) -> int | None:
    """A count written as text ("120"), else None."""
    parsed = number(value)
    return int(parsed) if parsed is not None and parsed.is_integer() else None


@dataclass(frozen=True)
class Rows:
    """One part of a table: rows from one root, with constant columns and an optional stable order."""

    table: str
    root: str
    columns: dict[str, str | tuple[str, Convert]]
    constants: dict[str, Any] = field(default_factory=dict)
    # Sort the rows by these columns: for lists the registry re-orders between releases (derived MeSH terms).
    sort_by: tuple[str, ...] = ()

    def levels(self) -> list[tuple[tuple[str, ...], str | None]]:
        """(path to the array or object, the array's name or None for an object) for each level of the root."""
        parts = self.root.split("[]")
        levels: list[tuple[tuple[str, ...], str | None]] = []
        for index, part in enumerate(parts):
            path = tuple(key for key in part.split(".") if key)
            if index < len(parts) - 1:
                levels.append((path, path[-1]))
            elif path:
                levels.append((path, None))
        return levels

    def column_paths(self) -> dict[str, tuple[str | None, tuple[str, ...], bool]]:
        """Column -> (array name it reads, or None for the row's element; key path; whether it is the index)."""
        out = {}
        for column, spec in self.columns.items():
            path = spec if isinstance(spec, str) else spec[0]
            out[column] = _column_path(path)
        return out


def _column_path(path: str) -> tuple[str | None, tuple[str, ...], bool]:
    if "[]" in path:
        level, _, rest = path.partition("[]")
        if rest == "#":
            return level, (), True
        return level, tuple(k for k in rest.split(".") if k), False
    return None, tuple(k for k in path.split(".") if k), False


def _at(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _compiled(part: Rows) -> tuple[list[tuple[tuple[str, ...], str | None]], Callable[..., dict[str, Any]]]:
    """The part's levels and a row builder made for it, computed once per declaration.

    The builder is generated source, one dict display per part (as ``dataclasses`` generates ``__init__``):
    a row table of a large record has thousands of rows, and a loop over column specs per row cost several
    times more than the lookups themselves.
    """
    cached = _PLANS.get(id(part))
    if cached is not None and cached[0] is part:
        return cached[1], cached[2]
    namespace: dict[str, Any] = {"_at": _at}
    entries = [f"{column!r}: {value!r}" for column, value in part.constants.items()]
    for n, (column, (level, path, is_index)) in enumerate(part.column_paths().items()):
        source = "element" if level is None else f"context[{level!r}][0]"
        if is_index:
            expression = f"context[{level!r}][1]"
        elif not path:
            expression = source
        elif len(path) == 1:
            expression = f"({source}.get({path[0]!r}) if {source}.__class__ is dict else None)"
        else:
            expression = f"_at({source}, {path!r})"
        spec = part.columns[column]
        if not isinstance(spec, str):
            namespace[f"_convert{n}"] = spec[1]
            expression = f"(_convert{n}(_v) if (_v := {expression}) is not None else None)"
        entries.append(f"{column!r}: {expression}")
    code = "def build(element, context):\n    return {" + ", ".join(entries) + "}\n"
    exec(compile(code, f"<rows {part.table} {part.root}>", "exec"), namespace)
    levels = part.levels()
    _PLANS[id(part)] = (part, levels, namespace["build"])
    return levels, namespace["build"]


_PLANS: dict[int, tuple[Rows, list[tuple[tuple[str, ...], str | None]], Callable[..., dict[str, Any]]]] = {}


def _walk(
    data: Any, levels: list[tuple[tuple[str, ...], str | None]], depth: int, context: dict[str, tuple[Any, int]]
) -> Iterator[Any]:
    """Each innermost element; ``context`` holds, while it is yielded, the enclosing element of every level."""
    path, name = levels[depth]
    found = _at(data, path)
    if name is None:
        if isinstance(found, dict):
            yield found
        return
    if not isinstance(found, list):
        return
    last = depth == len(levels) - 1
    for index, element in enumerate(found):
        context[name] = (element, index)
        if last:
            yield element
        else:
            yield from _walk(element, levels, depth + 1, context)


def extract(document: Any, part: Rows) -> list[dict[str, Any]]:
    """The rows one part declares, as dicts of column -> value (constants included), in document order."""
    levels, build = _compiled(part)
    context: dict[str, tuple[Any, int]] = {}
    rows = [build(element, context) for element in _walk(document, levels, 0, context)]
    if part.sort_by:
        rows.sort(key=lambda r: tuple("" if r.get(c) is None else str(r[c]) for c in part.sort_by))
    return rows


def tables(document: Any, parts: list[Rows]) -> dict[str, list[dict[str, Any]]]:
    """Every declared table's rows: parts of one table in declaration order, empty tables left out."""
    out: dict[str, list[dict[str, Any]]] = {}
    for part in parts:
        rows = extract(document, part)
        if rows:
            out.setdefault(part.table, []).extend(rows)
    return out
