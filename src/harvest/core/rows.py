"""Row models for the tables that hang off a study: one pydantic model per table, one instance per row.

A study field typed ``list[SomeRow]`` is a table of its own, named after the field, keyed by
(``nct_id``, ``position``) with one column per model field; the store builds its DDL and its writes from the
model, so adding a table is a model and a field, not SQL. Values are what the registry wrote: measurement
values stay text (``"NA"`` included) with a ``_num`` twin wherever the text is a plain number.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict


class TableRow(BaseModel):
    """One row of a child table of ``studies``."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def column_type(annotation: Any) -> str:
    """The SQLite type of a row model's field: numbers as numbers, flags as 0/1, lists as JSON text."""
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
    if annotation is bool or annotation is int:
        return "INTEGER"
    if annotation is float:
        return "REAL"
    return "TEXT"


def columns_of(model: type[TableRow]) -> dict[str, str]:
    """Column name -> SQLite type, in declaration order."""
    hints = typing.get_type_hints(model)
    return {name: column_type(hints[name]) for name in model.model_fields}


def row_model(annotation: Any) -> type[TableRow] | None:
    """The row model of a ``list[SomeRow]`` annotation, else None."""
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        if isinstance(item, type) and issubclass(item, TableRow):
            return item
    return None
