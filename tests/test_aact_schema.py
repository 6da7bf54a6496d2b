"""Every table of AACT's ctgov schema that holds the registry's data is on harvest's file, with all its columns.

AACT's tables and columns are read from its own schema (fixtures/aact/ctgov_columns.json, from AACT's
db/structure.sql); the file is a fresh one made by harvest. Left out: AACT's own bookkeeping.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from harvest.store.database import Store
from harvest.testing import FIXTURES

AACT_TABLES: dict[str, list[str]] = json.loads((FIXTURES / "aact" / "ctgov_columns.json").read_text(encoding="utf-8"))

# AACT's tables that hold no data of the registry's records: its saved searches, its copy of raw records, its
# copy of the MeSH thesaurus (loaded from NLM's files).
BOOKKEEPING = {"search_results", "study_searches", "study_records", "mesh_terms", "mesh_headings"}
ELSEWHERE: dict[str, str] = {}
# Columns of AACT's loader, not of the record: when it wrote the row.
LOADER_COLUMNS = {("reported_event_totals", "created_at"), ("reported_event_totals", "updated_at")}


@pytest.fixture(scope="module")
def columns(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    path = tmp_path_factory.mktemp("aact") / "harvest.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    try:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")]
        return {name: {row[1] for row in conn.execute(f"PRAGMA table_xinfo([{name}])")} for name in names}
    finally:
        conn.close()


def test_aacts_tables_are_the_ones_this_test_knows() -> None:
    data = set(AACT_TABLES) - BOOKKEEPING - set(ELSEWHERE)
    assert len(data) == 46 and "studies" in data and "calculated_values" in data


@pytest.mark.parametrize("table", sorted(set(AACT_TABLES) - BOOKKEEPING - set(ELSEWHERE)))
def test_every_aact_data_table_is_on_the_file_with_every_column(columns: dict[str, set[str]], table: str) -> None:
    assert table in columns, f"no table or view {table}"
    missing = [c for c in AACT_TABLES[table] if c not in columns[table] and (table, c) not in LOADER_COLUMNS]
    assert missing == []


def test_harvests_own_names_still_work(columns: dict[str, set[str]]) -> None:
    """AACT's names are added, harvest's kept: the columns a query written for harvest reads are all there."""
    assert {"phases", "organization", "first_submitted", "lead_sponsor", "number_of_facilities"} <= columns["studies"]
    assert {"term", "mesh_id", "mesh_type"} <= columns["browse_conditions"]
    assert {"role", "class"} <= columns["sponsors"]
    assert {"keyword"} <= columns["keywords"]
    assert {"outcome_position", "param_value", "position"} <= columns["outcome_measurements"]
    assert {"term", "vocabulary", "position"} <= columns["reported_events"]
    assert {"locations", "contacts", "identifiers", "study_phases", "study_countries"} <= set(columns)


def test_an_aact_query_of_a_table_in_harvests_shape_is_a_view_and_harvests_stored_table_is_a_table(
    tmp_path: Path,
) -> None:
    path = tmp_path / "harvest.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    try:
        kinds = dict(conn.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')").fetchall())
    finally:
        conn.close()
    for view in (
        "facilities",
        "designs",
        "eligibilities",
        "calculated_values",
        "outcome_measurements",
        "reported_events",
    ):
        assert kinds[view] == "view", view
    for table in (
        "documents",
        "provided_documents",
        "location_contacts",
        "outcome_measurement_values",
        "id_information",
    ):
        assert kinds[table] == "table", table
