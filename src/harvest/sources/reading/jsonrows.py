"""Rows from a JSON document by declaration: a root path with ``[]`` at each array, columns by relative path.

A root such as ``outcomeMeasures[].classes[].categories[].measurements[]`` gives one row per measurement; a
column reads the measurement (``value``), or an enclosing element by its array's name
(``outcomeMeasures[].title``), or that element's index (``outcomeMeasures[]#``); ``.`` is the element itself
(arrays of strings). A root without a trailing ``[]`` gives one row when the object is there. Missing keys give
None, never an error: every module of the record is optional. With ``keep_empty``, an element whose inner array
is missing or empty still gives one row, its inner columns None (a baseline measure with no values yet).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harvest.core.aact import number, whole

__all__ = ["Rows", "extract", "number", "tables", "value_at", "whole"]

Convert = Callable[[Any], Any]


@dataclass(frozen=True)
class Rows:
    """One part of a table: rows from one root, with constant columns and an optional stable order."""

    table: str
    root: str
    columns: dict[str, str | tuple[str, Convert]]
    constants: dict[str, Any] = field(default_factory=dict)
    # Sort the rows by these columns: for lists the registry re-orders between releases (derived MeSH terms).
    sort_by: tuple[str, ...] = ()
    # An element whose inner arrays are empty gives one row (the outermost array must still have elements).
    keep_empty: bool = False

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


def value_at(data: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` in nested JSON objects; None where a key is missing or a step is not an object."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _getter(source: str, path: tuple[str, ...]) -> str:
    """``value_at`` written out step by step: the generated code runs for every cell, and a call per cell cost
    more than the lookups themselves. Each step's value is checked before the next reads it, as there."""
    if not path:
        return source
    expression = f"({source}.get({path[0]!r}) if {source}.__class__ is dict else None)"
    for key in path[1:]:
        expression = f"(_w.get({key!r}) if (_w := {expression}).__class__ is dict else None)"
    return expression


def _compiled(part: Rows) -> Callable[[Any], list[dict[str, Any]]]:
    """A function made for one part that returns its rows: generated source, nested loops and one dict display
    per row (as ``dataclasses`` generates ``__init__``). A results record has thousands of rows, and walking
    the column specs for each of them cost several times more than the lookups themselves.
    """
    cached = _PLANS.get(id(part))
    if cached is not None and cached[0] is part:
        return cached[1]
    namespace: dict[str, Any] = {"_EMPTY": ((None, None),)}
    levels = part.levels()
    variable = {name: (f"e{depth}", f"i{depth}") for depth, (_, name) in enumerate(levels) if name}
    innermost = f"e{len(levels) - 1}"
    entries = [f"{column!r}: {value!r}" for column, value in part.constants.items()]
    for n, (column, (level, path, is_index)) in enumerate(part.column_paths().items()):
        if is_index:
            expression = variable[level][1]
        else:
            expression = _getter(innermost if level is None else variable[level][0], path)
        spec = part.columns[column]
        if not isinstance(spec, str):
            namespace[f"_convert{n}"] = spec[1]
            expression = f"(_convert{n}(_v) if (_v := {expression}) is not None else None)"
        entries.append(f"{column!r}: {expression}")
    lines = ["def rows_of(document):", "    out = []"]
    parent, indent, outer_array = "document", "    ", True
    for depth, (path, name) in enumerate(levels):
        lines.append(f"{indent}x{depth} = {_getter(parent, path)}")
        if name is None:
            lines.append(f"{indent}if x{depth}.__class__ is dict:")
            lines.append(f"{indent}    e{depth} = x{depth}")
        elif part.keep_empty and not outer_array:
            # an inner array that is missing or empty: one pass with the element (and its index) None
            lines.append(f"{indent}if True:")
            lines.append(
                f"{indent}  for i{depth}, e{depth} in (enumerate(x{depth}) if x{depth}.__class__ is list and x{depth} "
                "else _EMPTY):"
            )
        else:
            lines.append(f"{indent}if x{depth}.__class__ is list:")
            lines.append(f"{indent}  for i{depth}, e{depth} in enumerate(x{depth}):")
        if name is not None:
            outer_array = False
        indent += "    "
        parent = f"e{depth}"
    lines.append(f"{indent}out.append({{{', '.join(entries)}}})")
    lines.append("    return out")
    code = "\n".join(lines) + "\n"
    exec(compile(code, f"<rows {part.table} {part.root}>", "exec"), namespace)
    _PLANS[id(part)] = (part, namespace["rows_of"])
    return namespace["rows_of"]


_PLANS: dict[int, tuple[Rows, Callable[[Any], list[dict[str, Any]]]]] = {}


def extract(document: Any, part: Rows) -> list[dict[str, Any]]:
    """The rows one part declares, as dicts of column -> value (constants included), in document order."""
    rows = _compiled(part)(document)
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
