"""Columns and tables generated from the schema: the study fields added after the first release and every
row table (``core.rows``), so a new field or table in the schema is a column or table in the file, with
no SQL to write by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import typing
from collections.abc import Callable
from typing import Any

from harvest.core.rows import column_type, columns_of
from harvest.core.schema import ROW_TABLES, PartialDate, Study

# The fields of the first release (up to ``has_results``), written by ``studies.study_row`` by hand (their DDL
# is in ``tables``); every field declared after them is a column generated here.
_FIELDS = list(Study.model_fields)
FIRST_COLUMNS = frozenset([*_FIELDS[: _FIELDS.index("has_results") + 1], "unmapped", "provenance"])

# Values AACT calls calculated: derived from the record, never stated by a source.
CALCULATED = {
    "number_of_arms": "INTEGER",
    "number_of_facilities": "INTEGER",
    "has_us_facility": "INTEGER",
    "has_single_facility": "INTEGER",
    "months_to_report_results": "INTEGER",
}

# What the registry derived for search (derivedSection), on the studies row so that the search index
# (``store.fts``, whose columns must be studies columns) can weigh it below the record's own words:
# the MeSH terms of the conditions and interventions, with the record's words the registry found them as
# (``browse_leaves.as_found``), and the broader MeSH terms above them. Text joined with ``'; '``; the row tables
# ``browse_conditions``, ``browse_interventions`` and ``browse_leaves`` hold the same as rows.
SEARCH_COLUMNS = {"mesh_terms": "TEXT", "mesh_ancestors": "TEXT"}
MESH_SEPARATOR = "; "

_HINTS = typing.get_type_hints(Study)
LATER_FIELDS = [name for name in Study.model_fields if name not in FIRST_COLUMNS and name not in ROW_TABLES]


def _later_columns() -> dict[str, str]:
    columns: dict[str, str] = {}
    for name in LATER_FIELDS:
        hint = _HINTS[name]
        if PartialDate in typing.get_args(hint):
            columns[name] = "TEXT"
            columns[f"{name}_type"] = "TEXT"
        else:
            columns[name] = column_type(hint)
    return columns


# Columns ``studies`` gained after the first release, and location columns likewise.
STUDY_COLUMNS = {**_later_columns(), **CALCULATED, **SEARCH_COLUMNS}
LOCATION_COLUMNS = {"latitude": "REAL", "longitude": "REAL"}

ROW_COLUMNS = {table: columns_of(model) for table, model in ROW_TABLES.items()}


def row_tables_sql() -> str:
    """CREATE TABLE statements of every row table."""
    statements = []
    for table, columns in ROW_COLUMNS.items():
        declared = ", ".join(f"{name} {kind}" for name, kind in columns.items())
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {table} (nct_id TEXT NOT NULL REFERENCES studies(nct_id), "
            f"position INTEGER NOT NULL, {declared}, PRIMARY KEY (nct_id, position));"
        )
    return "\n".join(statements)


ROW_INSERTS = {
    table: f"INSERT INTO {table} (nct_id, position, {', '.join(columns)}) "
    f"VALUES ({', '.join('?' * (len(columns) + 2))})"
    for table, columns in ROW_COLUMNS.items()
}


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False) if value else None
    return value


def _row_getter(table: str) -> Callable[[Any], tuple[Any, ...]]:
    """A fast reader of one row model's values, in column order (lists become JSON text)."""
    names = list(ROW_COLUMNS[table])
    read = operator.attrgetter(*names) if len(names) > 1 else (lambda item: (getattr(item, names[0]),))
    listed = [i for i, name in enumerate(names) if _is_list(_ROW_HINTS[table][name])]
    if not listed:
        return read

    def read_with_json(item: Any) -> tuple[Any, ...]:
        values = list(read(item))
        for i in listed:
            values[i] = _cell(values[i])
        return tuple(values)

    return read_with_json


def _is_list(hint: Any) -> bool:
    return (
        hint is list
        or typing.get_origin(hint) is list
        or any(typing.get_origin(arg) is list for arg in typing.get_args(hint))
    )


_ROW_HINTS = {table: typing.get_type_hints(model) for table, model in ROW_TABLES.items()}
_GETTERS = {table: _row_getter(table) for table in ROW_COLUMNS}


def row_table_rows(study: Study) -> dict[str, list[tuple[Any, ...]]]:
    """Each row table's rows of one study, as tuples in ``ROW_INSERTS`` order."""
    nct = study.nct_id
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table, read in _GETTERS.items():
        items = getattr(study, table)
        out[table] = [(nct, i, *read(item)) for i, item in enumerate(items)] if items else []
    return out


def later_values(study: Study) -> dict[str, Any]:
    """The values of ``STUDY_COLUMNS`` for one study."""
    row: dict[str, Any] = {}
    for name in LATER_FIELDS:
        value = getattr(study, name)
        if isinstance(value, PartialDate) or (value is None and f"{name}_type" in STUDY_COLUMNS):
            row[name] = value.value if value else None
            row[f"{name}_type"] = value.type if value else None
        else:
            row[name] = _cell(value)
    row.update(calculated(study))
    row.update(mesh_text(study))
    return row


def _joined(terms: list[str | None]) -> str | None:
    unique = list(dict.fromkeys(term for term in terms if term))
    return MESH_SEPARATOR.join(unique) or None


def mesh_text(study: Study) -> dict[str, str | None]:
    """The ``SEARCH_COLUMNS`` of one study: each term once, conditions before interventions, in stored order."""
    browsed = [*study.browse_conditions, *study.browse_interventions]
    return {
        "mesh_terms": _joined(
            [t.term for t in browsed if t.mesh_type == "mesh"] + [leaf.as_found for leaf in study.browse_leaves]
        ),
        "mesh_ancestors": _joined([t.term for t in browsed if t.mesh_type == "ancestor"]),
    }


def _mesh_sql(parts: list[str]) -> str:
    """``mesh_text`` in SQL over the row tables, for a file upgraded from before these columns existed."""
    union = " UNION ALL ".join(parts)
    return (
        f"(SELECT group_concat(term, '{MESH_SEPARATOR}') FROM (SELECT term, min(k) AS k FROM ({union}) "
        "WHERE term IS NOT NULL AND term != '' GROUP BY term ORDER BY k))"
    )


def _browsed(table: str, kind: str, offset: int) -> str:
    return f"SELECT term, {offset} + position AS k FROM {table} WHERE nct_id = studies.nct_id AND mesh_type = '{kind}'"


_BEYOND = 1 << 32  # positions are list indexes: a second table's rows sort after every row of the first
FILL_SEARCH_COLUMNS = (
    "UPDATE studies SET mesh_terms = "
    + _mesh_sql(
        [
            _browsed("browse_conditions", "mesh", 0),
            _browsed("browse_interventions", "mesh", _BEYOND),
            f"SELECT as_found, {2 * _BEYOND} + position FROM browse_leaves WHERE nct_id = studies.nct_id",
        ]
    )
    + ", mesh_ancestors = "
    + _mesh_sql([_browsed("browse_conditions", "ancestor", 0), _browsed("browse_interventions", "ancestor", _BEYOND)])
)


def calculated(study: Study) -> dict[str, Any]:
    """AACT's calculated values that follow from the record alone (never from today's date)."""
    facilities = len(study.locations)
    return {
        "number_of_arms": len(study.design_groups) or None,
        "number_of_facilities": facilities or None,
        "has_us_facility": any(loc.country == "United States" for loc in study.locations) if facilities else None,
        "has_single_facility": facilities == 1 if facilities else None,
        "months_to_report_results": _months_between(
            study.primary_completion_date.value if study.primary_completion_date else None,
            study.results_first_submitted,
        ),
    }


def _months_between(start: str | None, end: str | None) -> int | None:
    if not start or not end or len(start) < 7 or len(end) < 7:
        return None
    a, b = dt.date.fromisoformat((start + "-01")[:10]), dt.date.fromisoformat((end + "-01")[:10])
    return (b.year - a.year) * 12 + (b.month - a.month)
