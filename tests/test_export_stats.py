"""Views, indexes, `harvest export`, `harvest stats`, and bad input through `harvest query` and `--where`."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import tracemalloc
from pathlib import Path

import pytest

from harvest.core.errors import QueryError
from harvest.core.records import Failure, Unresolved
from harvest.query import export
from harvest.store import views
from harvest.store.database import Store
from tests.conftest import scalar
from tests.query_helpers import (
    assert_one_line_error,
    cli,
    fixture_studies,
    harvested_db,
    query,
    unchanged,
    writable_copy,
)


@pytest.fixture(scope="module")
def harvest_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return harvested_db(tmp_path_factory)


# -- views and indexes ------------------------------------------------------------------------------------


def test_study_overview_is_one_readable_line_per_trial(harvest_db: Path) -> None:
    rows = query(harvest_db, "SELECT * FROM study_overview")
    assert len(rows) == scalar(harvest_db, "SELECT count(*) FROM studies") == 24
    (row,) = query(
        harvest_db,
        "SELECT phases, conditions, interventions, countries FROM study_overview WHERE nct_id = 'NCT04267848'",
    )
    conditions = [
        n for (n,) in query(harvest_db, "SELECT name FROM conditions WHERE nct_id = 'NCT04267848' ORDER BY position")
    ]
    countries = sorted({c for (c,) in query(harvest_db, "SELECT country FROM locations WHERE nct_id = 'NCT04267848'")})
    assert row[0] == "PHASE3"
    assert row[1] == "; ".join(conditions) and len(conditions) == 6
    assert "Pembrolizumab" in row[2].split("; ")
    assert row[3] == "; ".join(countries) == "Guam; United States"


def test_recruiting_phase_and_country_views_agree_with_the_tables(harvest_db: Path) -> None:
    recruiting = query(harvest_db, "SELECT DISTINCT overall_status FROM recruiting_studies")
    assert recruiting == [("RECRUITING",)]
    assert scalar(harvest_db, "SELECT count(*) FROM recruiting_studies") == scalar(
        harvest_db, "SELECT count(*) FROM studies WHERE overall_status = 'RECRUITING'"
    )
    assert scalar(harvest_db, "SELECT count(*) FROM study_phases") == scalar(
        harvest_db, "SELECT sum(json_array_length(phases)) FROM studies"
    )
    assert scalar(harvest_db, "SELECT sum(sites) FROM study_countries") == scalar(
        harvest_db, "SELECT count(*) FROM locations WHERE country IS NOT NULL"
    )
    us = "nct_id = 'NCT04267848' AND country = 'United States'"
    assert query(harvest_db, f"SELECT sites, recruiting_sites FROM study_countries WHERE {us}") == query(
        harvest_db, f"SELECT count(*), count(CASE WHEN status = 'RECRUITING' THEN 1 END) FROM locations WHERE {us}"
    )
    assert scalar(harvest_db, f"SELECT sites FROM study_countries WHERE {us}") > 1000


@pytest.mark.parametrize(
    ("sql", "index"),
    [
        ("SELECT nct_id FROM studies WHERE overall_status = 'RECRUITING'", "studies_overall_status"),
        ("SELECT nct_id FROM studies WHERE last_update_posted >= '2024-01-01'", "studies_last_update_posted"),
        ("SELECT nct_id FROM studies WHERE lead_sponsor = 'Sangath'", "studies_lead_sponsor"),
        ("SELECT DISTINCT nct_id FROM locations WHERE country = 'Spain'", "locations_country"),
        ("SELECT nct_id FROM conditions WHERE name = 'Coronary Artery Disease'", "conditions_name"),
        ("SELECT nct_id FROM interventions WHERE name = 'Pembrolizumab'", "interventions_name"),
    ],
)
def test_filters_people_use_are_indexed(harvest_db: Path, sql: str, index: str) -> None:
    plan = " ".join(row[-1] for row in query(harvest_db, f"EXPLAIN QUERY PLAN {sql}"))
    assert index in plan, plan
    assert index in views.INDEX_NAMES


# -- export ------------------------------------------------------------------------------------------------


def test_export_csv_has_every_study_and_column(harvest_db: Path) -> None:
    result = cli(harvest_db, "export", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    columns = [r[1] for r in query(harvest_db, "PRAGMA table_xinfo(studies)")]  # AACT's generated ones too
    assert rows[0] == columns
    assert len(rows) - 1 == scalar(harvest_db, "SELECT count(*) FROM studies")
    assert {r[0] for r in rows[1:]} == {n for (n,) in query(harvest_db, "SELECT nct_id FROM studies")}
    assert "exported 24 rows of studies" in result.stderr


def test_export_jsonl_with_where_decodes_json_columns(harvest_db: Path) -> None:
    where = "overall_status = 'RECRUITING' AND study_type = 'INTERVENTIONAL'"
    result = cli(harvest_db, "export", "--format", "jsonl", "--where", where)
    items = [json.loads(line) for line in result.stdout.splitlines()]
    expected = query(harvest_db, f"SELECT nct_id, phases FROM studies WHERE {where}")
    assert len(items) == len(expected) == 4
    assert {(i["nct_id"], json.dumps(i["phases"])) for i in items} == {(n, p) for n, p in expected}
    assert all(isinstance(i["phases"], list) and isinstance(i["sources"], list) for i in items)


def test_export_a_view_to_a_file(harvest_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "overview.csv"
    result = cli(
        harvest_db, "export", "--table", "study_overview", "--where", "countries LIKE '%Spain%'", "-o", str(target)
    )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    # The trials with a site in Spain, from the fixture JSON (contactsLocationsModule.locations[].country).
    in_spain = {
        nct
        for nct, study in fixture_studies().items()
        for site in study["protocolSection"].get("contactsLocationsModule", {}).get("locations", [])
        if site.get("country") == "Spain"
    }
    assert in_spain == {"NCT02513394", "NCT03475563"}  # both real records
    assert {r["nct_id"] for r in rows} == in_spain
    assert result.stdout == ""
    assert [p.name for p in tmp_path.iterdir()] == ["overview.csv"]  # no partial file left behind


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--where", "no_such_column = 1"], ["bad --where for studies", "no such column: no_such_column"]),
        (["--where", "1; DROP TABLE studies"], ["--where must be one SQL condition"]),
        (["--where", "overall_status = "], ["bad --where", "syntax error"]),
        (["--table", "no_such_table"], ["no table or view named 'no_such_table'", "study_overview"]),
        (["--table", "studies_fts"], ["no table or view named 'studies_fts'"]),
    ],
)
def test_export_bad_input_is_one_line_exit_2_and_writes_nothing(
    harvest_db: Path, tmp_path: Path, args: list[str], fragments: list[str]
) -> None:
    check = unchanged(harvest_db)
    target = tmp_path / "out.csv"
    assert_one_line_error(cli(harvest_db, "export", *args, "-o", str(target)), 2, *fragments)
    assert list(tmp_path.iterdir()) == []
    check()


def test_export_where_cannot_write_even_with_a_subquery_trick(harvest_db: Path) -> None:
    check = unchanged(harvest_db)
    # A condition is one expression: there is no way to smuggle a second statement into it.
    result = cli(harvest_db, "export", "--where", "1) ; DELETE FROM studies; SELECT (1")
    assert result.exit_code == 2
    check()


def test_export_streams_in_flat_memory(tmp_path: Path) -> None:
    db = tmp_path / "big.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE studies (nct_id TEXT PRIMARY KEY, phases TEXT, brief_summary TEXT)")
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
        "INSERT INTO studies SELECT printf('NCT%08d', i), '[\"PHASE2\"]', printf('%.2000c', 'x') FROM n"
    )
    conn.commit()

    class Sink(io.TextIOBase):
        written = 0

        def write(self, text: str) -> int:
            self.written += len(text)
            return len(text)

    for fmt in export.FORMATS:
        sink = Sink()
        tracemalloc.start()
        count = export.export(conn, sink, fmt=fmt)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert count == 20000
        assert sink.written > 40_000_000  # 40 MB went through...
        assert peak < 2_000_000, peak  # ...in well under 2 MB
    conn.close()


def test_export_rejects_an_unknown_format(harvest_db: Path) -> None:
    conn = sqlite3.connect(harvest_db)
    try:
        with pytest.raises(QueryError, match="unknown export format"):
            export.export(conn, io.StringIO(), fmt="xml")
    finally:
        conn.close()


# -- stats ---------------------------------------------------------------------------------------------


def test_stats_json_equals_sql_counts(harvest_db: Path) -> None:
    result = cli(harvest_db, "stats", "--json")
    assert result.exit_code == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["studies"] == scalar(harvest_db, "SELECT count(*) FROM studies") == 24
    assert stats["search_index"] == 24
    assert stats["by_status"] == dict(query(harvest_db, "SELECT overall_status, count(*) FROM studies GROUP BY 1"))
    assert stats["by_type"] == dict(query(harvest_db, "SELECT study_type, count(*) FROM studies GROUP BY 1"))
    phases = dict(query(harvest_db, "SELECT value, count(*) FROM studies, json_each(studies.phases) GROUP BY 1"))
    phases["(none)"] = scalar(harvest_db, "SELECT count(*) FROM studies WHERE phases IS NULL")
    assert stats["by_phase"] == phases
    assert list(stats["by_status"].values()) == sorted(stats["by_status"].values(), reverse=True)
    oldest, newest = query(harvest_db, "SELECT min(last_update_posted), max(last_update_posted) FROM studies")[0]
    assert stats["last_update_posted"] == {"oldest": oldest, "newest": newest}
    ctgov = stats["sources"]["ctgov"]
    assert ctgov["records"] == scalar(harvest_db, "SELECT count(*) FROM source_records WHERE source = 'ctgov'")
    assert ctgov["last_run"]["id"] == scalar(harvest_db, "SELECT max(id) FROM runs")
    assert ctgov["last_run"]["outcome"] == "ok" and ctgov["last_run"]["new"] == 24
    assert ctgov["watermark"] == scalar(harvest_db, "SELECT watermark FROM harvest_state WHERE source = 'ctgov'")
    assert stats["unresolved"] == stats["quarantined"] == 0


def test_stats_counts_the_backlog(harvest_db: Path, tmp_path: Path) -> None:
    db = writable_copy(harvest_db, tmp_path)
    store = Store(db)
    try:
        with store.transaction():
            failure = Failure("https://example.org/a", QueryError("broken"), b"<html>")
            store.pages.quarantine("veeva", failure, None)
            store.pages.quarantine("veeva", Failure("https://example.org/b", QueryError("broken"), b"<p>"), None)
            store.pages.save_unresolved("ichgcp", Unresolved("https://example.org/c", "A title", "no NCT", b"<html>"))
    finally:
        store.close()
    stats = json.loads(cli(db, "stats", "--json").stdout)
    assert stats["quarantined"] == 2 and stats["unresolved"] == 1
    assert stats["sources"]["veeva"]["quarantined"] == 2
    assert stats["sources"]["ichgcp"]["unresolved"] == 1
    assert stats["sources"]["veeva"]["last_run"] is None


def test_stats_text_for_people(harvest_db: Path) -> None:
    result = cli(harvest_db, "stats")
    text = result.stdout
    assert result.exit_code == 0
    assert text.startswith(f"{harvest_db}: 24 studies\n")
    assert "ctgov: 24 records of 24 studies; last run #1 run full" in text
    recruiting = scalar(harvest_db, "SELECT count(*) FROM studies WHERE overall_status = 'RECRUITING'")
    assert any(line.split() == ["RECRUITING", str(recruiting)] for line in text.splitlines())
    assert "needs attention: 0 quarantined" in text
    assert "search index" not in text  # only mentioned when it is off


# -- bad input through harvest query ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("SELEC nct_id FROM studies", "syntax error"),
        ("SELECT no_such_column FROM studies", "no such column: no_such_column"),
        ("DELETE FROM studies", "read-only"),
        ("DROP TABLE studies", "read-only"),
        ("UPDATE studies SET brief_title = 'x'", "read-only"),
        ("INSERT INTO studies_fts (studies_fts) VALUES ('delete-all')", "read-only"),
        ("SELECT 1; DROP TABLE studies", "one statement at a time"),
        ("SELECT rowid FROM studies_fts WHERE studies_fts MATCH 'septic AND ('", "fts5: syntax error"),
    ],
)
def test_query_bad_input_is_one_line_exit_2_and_file_untouched(harvest_db: Path, sql: str, fragment: str) -> None:
    check = unchanged(harvest_db)
    assert_one_line_error(cli(harvest_db, "query", sql), 2, fragment)
    check()
