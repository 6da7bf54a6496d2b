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


def _walk(
    data: Any, levels: list[tuple[tuple[str, ...], str | None]], context: dict[str, tuple[Any, int]]
) -> Iterator[tuple[Any, dict[str, tuple[Any, int]]]]:
    (path, name), rest = levels[0], levels[1:]
    found = _at(data, path)
    if name is None:
        if isinstance(found, dict):
            yield found, context
        return
    if not isinstance(found, list):
        return
    for index, element in enumerate(found):
        inner = {**context, name: (element, index)}
        if rest:
            yield from _walk(element, rest, inner)
        else:
            yield element, inner


def extract(document: Any, part: Rows) -> list[dict[str, Any]]:
    """The rows one part declares, as dicts of column -> value (constants included), in document order."""
    paths = part.column_paths()
    converters = {c: (spec[1] if not isinstance(spec, str) else keep) for c, spec in part.columns.items()}
    rows = []
    for element, context in _walk(document, part.levels(), {}):
        row: dict[str, Any] = dict(part.constants)
        for column, (level, path, is_index) in paths.items():
            if level is None:
                value = element if not path else _at(element, path)
            elif is_index:
                value = context[level][1]
            else:
                value = _at(context[level][0], path) if path else context[level][0]
            row[column] = converters[column](value) if value is not None else None
        rows.append(row)
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
