"""Columns and tables generated from the schema: the study fields added after the first release and every
row table (``core.rows``), so a new field or table in the schema is a column or table in the file, with
no SQL to write by hand.
"""

from __future__ import annotations

import json
import operator
import typing
from collections.abc import Callable
from typing import Any

from harvest.core.aact import US_TERRITORIES, age_parts, as_date, months_of
from harvest.core.rows import column_type, columns_of
from harvest.core.schema import ROW_TABLES, PartialDate, Study
from harvest.store.aact import GENERATED

# The fields of the first release (up to ``has_results``), written by ``studies.study_row`` by hand (their DDL
# is in ``tables``); every field declared after them is a column generated here.
_FIELDS = list(Study.model_fields)
FIRST_COLUMNS = frozenset([*_FIELDS[: _FIELDS.index("has_results") + 1], "unmapped", "provenance"])

# Values AACT calls calculated: derived from the record, never stated by a source, computed as AACT's
# app/models/calculated_value.rb (and study.rb for the arms and groups) computes them; AACT's calculated_values
# view reads them (store.aact_views).
CALCULATED = {
    "number_of_arms": "INTEGER",
    "number_of_facilities": "INTEGER",
    "has_us_facility": "INTEGER",
    "has_single_facility": "INTEGER",
    "months_to_report_results": "INTEGER",
    "number_of_groups": "INTEGER",
    "actual_duration": "INTEGER",
    "registered_in_calendar_year": "INTEGER",
    "were_results_reported": "INTEGER",
    "minimum_age_num": "INTEGER",
    "minimum_age_unit": "TEXT",
    "maximum_age_num": "INTEGER",
    "maximum_age_unit": "TEXT",
    "number_of_primary_outcomes_to_measure": "INTEGER",
    "number_of_secondary_outcomes_to_measure": "INTEGER",
    "number_of_other_outcomes_to_measure": "INTEGER",
    "number_of_sae_subjects": "INTEGER",
    "number_of_nsae_subjects": "INTEGER",
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
    """CREATE TABLE statements of every row table, AACT's generated columns (``store.aact``) included."""
    statements = []
    for table, columns in ROW_COLUMNS.items():
        declared = ", ".join(f"{name} {kind}" for name, kind in {**columns, **GENERATED.get(table, {})}.items())
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


# (field, the column of its date type, or None for a field that is not a date with a type)
_LATER = [(name, f"{name}_type" if f"{name}_type" in STUDY_COLUMNS else None) for name in LATER_FIELDS]


def later_values(study: Study) -> dict[str, Any]:
    """The values of ``STUDY_COLUMNS`` for one study."""
    row: dict[str, Any] = {}
    for name, type_column in _LATER:
        value = getattr(study, name)
        if type_column is not None:
            row[name] = value.value if value else None
            row[type_column] = value.type if value else None
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
            [t.term for t in browsed if t.mesh_type == "mesh-list"] + [leaf.as_found for leaf in study.browse_leaves]
        ),
        "mesh_ancestors": _joined([t.term for t in browsed if t.mesh_type == "mesh-ancestor"]),
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
            _browsed("browse_conditions", "mesh-list", 0),
            _browsed("browse_interventions", "mesh-list", _BEYOND),
            f"SELECT as_found, {2 * _BEYOND} + position FROM browse_leaves WHERE nct_id = studies.nct_id",
        ]
    )
    + ", mesh_ancestors = "
    + _mesh_sql(
        [_browsed("browse_conditions", "mesh-ancestor", 0), _browsed("browse_interventions", "mesh-ancestor", _BEYOND)]
    )
)


def calculated(study: Study) -> dict[str, Any]:
    """AACT's calculated values that follow from the record alone (never from today's date).

    As app/models/calculated_value.rb: months and durations are days over 30 between AACT's dates (a date
    known to the month is its last day), counts are NULL when there is nothing to count, except the number of
    facilities (0).
    """
    interventional = study.study_type == "INTERVENTIONAL"  # AACT's study.rb: arms for these, groups otherwise
    arms = len(study.design_groups) or None
    sites = len(study.locations)
    kinds = [outcome.outcome_type for outcome in study.design_outcomes]
    start, completion = study.start_date, study.primary_completion_date
    minimum, maximum = age_parts(study.minimum_age), age_parts(study.maximum_age)
    submitted = as_date(study.first_submitted)
    return {
        "number_of_arms": arms if interventional else None,
        "number_of_groups": None if interventional else arms,
        "number_of_facilities": sites,
        "has_us_facility": any(loc.country in US_TERRITORIES for loc in study.locations) if sites else None,
        "has_single_facility": sites == 1 if sites else None,
        "months_to_report_results": months_of(completion.value if completion else None, study.results_first_submitted),
        "actual_duration": (
            months_of(start.value, completion.value)
            if start and completion and "ESTIMATED" not in (start.type, completion.type)
            else None
        ),
        "registered_in_calendar_year": submitted.year if submitted else None,
        "were_results_reported": bool(study.outcomes),
        "minimum_age_num": minimum[0],
        "minimum_age_unit": minimum[1],
        "maximum_age_num": maximum[0],
        "maximum_age_unit": maximum[1],
        "number_of_primary_outcomes_to_measure": kinds.count("primary") or None,
        "number_of_secondary_outcomes_to_measure": kinds.count("secondary") or None,
        "number_of_other_outcomes_to_measure": kinds.count("other") or None,
        **_subjects(study),
    }


def _subjects(study: Study) -> dict[str, int | None]:
    """Participants affected summed over the event terms, serious and other (calculated_value.rb sums
    reported_events.subjects_affected: one participant with two events counts twice)."""
    sums: dict[str, int | None] = {"serious": None, "other": None}
    for event in study.reported_event_stats:
        if event.event_type in sums:
            sums[event.event_type] = (sums[event.event_type] or 0) + (event.subjects_affected or 0)
    return {"number_of_sae_subjects": sums["serious"], "number_of_nsae_subjects": sums["other"]}
