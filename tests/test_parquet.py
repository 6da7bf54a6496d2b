"""`harvest export --format parquet`: every table and view of the demo file as Parquet, read back by two engines
(pyarrow, and DuckDB as a warehouse reads it) to the rows the SQLite file holds, with Parquet's types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harvest.publish.catalog import relations
from harvest.store.kinds import PAYLOADS
from tests.pg_helpers import file_rows, sqlite_values
from tests.query_helpers import assert_one_line_error, cli, query, writable_copy

pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed (pip install 'harvest[parquet]')")
duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed (make test installs it)")


@pytest.fixture(scope="module")
def exported(demo_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("parquet") / "out"
    result = cli(demo_file, "export", "--format", "parquet", "-o", str(folder))
    assert result.exit_code == 0, result.output
    assert "exported 27 rows of studies to" in result.stderr
    return folder


def relation_columns(db: Path) -> dict[str, list[str]]:
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {
            r.name: [row[1] for row in conn.execute(f'PRAGMA table_xinfo("{r.name}")') if row[1] not in PAYLOADS]
            for r in relations(conn)
        }
    finally:
        conn.close()


def lists_of(schema: Any) -> list[str]:
    """The list columns of an Arrow schema (the file holds them as JSON text)."""
    return [field.name for field in schema if str(field.type).startswith("list")]


def test_every_table_and_view_reads_back_to_the_files_rows_with_pyarrow_and_duckdb(
    demo_file: Path, exported: Path
) -> None:
    columns = relation_columns(demo_file)
    assert sorted(path.stem for path in exported.glob("*.parquet")) == sorted(columns)
    assert not list(exported.glob(".*"))  # no partial file left behind
    for name, names in columns.items():
        path = exported / f"{name}.parquet"
        table = pq.read_table(path)
        assert table.column_names == names, name
        expected = file_rows(demo_file, name, names, lists_of(table.schema))
        by_pyarrow = sorted(sqlite_values([tuple(row.values()) for row in table.to_pylist()]), key=repr)
        by_duckdb = sorted(sqlite_values(duckdb.sql(f"SELECT * FROM read_parquet('{path}')").fetchall()), key=repr)
        assert by_pyarrow == expected, name
        assert by_duckdb == expected, name


def test_columns_have_parquets_types(exported: Path) -> None:
    schema = pq.read_schema(exported / "studies.parquet")
    types = {name: str(schema.field(name).type) for name in schema.names}
    assert {name: types[name] for name in ("nct_id", "enrollment", "healthy_volunteers", "first_posted",
            "start_date", "start_date_type", "phases", "updated_at", "provenance")} == {
        "nct_id": "string",
        "enrollment": "int64",
        "healthy_volunteers": "bool",
        "first_posted": "date32[day]",  # the registry posts on a day
        "start_date": "string",  # may be known to the month or year: text, with its _type beside it
        "start_date_type": "string",
        "phases": "list<element: string>",
        "updated_at": "timestamp[ms, tz=UTC]",
        "provenance": "string",  # JSON text
    }  # fmt: skip
    assert "raw" not in pq.read_schema(exported / "source_records.parquet").names
    assert str(pq.read_schema(exported / "locations.parquet").field("latitude").type) == "double"


def test_a_warehouse_query_on_the_parquet_files_answers_as_the_file_does(demo_file: Path, exported: Path) -> None:
    """DuckDB over the Parquet files (a list searched as a list, dates as dates) gives the SQLite file's answers."""
    studies, locations = exported / "studies.parquet", exported / "locations.parquet"
    found = duckdb.sql(
        f"SELECT s.nct_id, count(*) FROM '{studies}' s JOIN '{locations}' l USING (nct_id) "
        "WHERE list_contains(s.phases, 'PHASE2') AND s.first_posted >= DATE '2015-01-01' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert found and found == query(
        demo_file,
        "SELECT s.nct_id, count(*) FROM studies s JOIN locations l USING (nct_id) "
        "WHERE EXISTS (SELECT 1 FROM json_each(s.phases) WHERE value = 'PHASE2') AND s.first_posted >= '2015-01-01' "
        "GROUP BY 1 ORDER BY 1",
    )


def test_rows_stream_in_row_groups(demo_file: Path, tmp_path: Path) -> None:
    """The writer holds one row group at a time: a table of 1,683 sites in groups of 500 is four of them."""
    import sqlite3

    from harvest.publish.parquet import write_table

    conn = sqlite3.connect(f"file:{demo_file}?mode=ro", uri=True)
    try:
        count = write_table(conn, "locations", tmp_path / "locations.parquet", row_group_rows=500)
    finally:
        conn.close()
    metadata = pq.ParquetFile(tmp_path / "locations.parquet").metadata
    assert (count, metadata.num_rows) == (1683, 1683)
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [500, 500, 500, 183]


def test_one_table_with_a_condition(demo_file: Path, tmp_path: Path) -> None:
    result = cli(demo_file, "export", "--format", "parquet", "--table", "studies", "--where",
                 "overall_status = 'RECRUITING'", "-o", str(tmp_path))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [path.name for path in tmp_path.iterdir()] == ["studies.parquet"]
    found = pq.read_table(tmp_path / "studies.parquet", columns=["nct_id"]).column("nct_id").to_pylist()
    recruiting = query(demo_file, "SELECT nct_id FROM studies WHERE overall_status = 'RECRUITING' ORDER BY 1")
    assert recruiting and sorted(found) == [row[0] for row in recruiting]


def test_bad_parquet_exports_are_one_line_errors_and_write_nothing(demo_file: Path, tmp_path: Path) -> None:
    assert_one_line_error(cli(demo_file, "export", "--format", "parquet"), 2, "give a folder with -o")
    folder = tmp_path / "out"
    assert_one_line_error(
        cli(demo_file, "export", "--format", "parquet", "--table", "nope", "-o", str(folder)), 2, "no table or view"
    )
    assert_one_line_error(
        cli(demo_file, "export", "--format", "parquet", "--where", "1", "-o", str(folder)), 2, "--where needs --table"
    )
    bad = cli(demo_file, "export", "--format", "parquet", "--table", "studies", "--where", "x = 1", "-o", str(folder))
    assert_one_line_error(bad, 2, "bad --where")
    assert not folder.exists()
    (tmp_path / "file").write_text("x")
    assert_one_line_error(cli(demo_file, "export", "--format", "parquet", "-o", str(tmp_path / "file")), 2, "is a file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_the_watch_tables_and_aacts_tables_export_typed(demo_file: Path, tmp_path: Path) -> None:
    """A file with watches (added, then reported on) exports its watch tables, lists as lists, and AACT's
    tables with their days and flags typed."""
    db = writable_copy(demo_file, tmp_path)
    assert cli(db, "watch", "add", "covid", "--search", "covid", "--status", "RECRUITING").exit_code == 0
    assert (
        cli(db, "watch", "add", "listed", "--nct", "NCT02210780,NCT02513394", "--fields", "status,dates").exit_code == 0
    )
    assert cli(db, "watch", "report", "--since", "2000-01-01").exit_code in (0, 1)
    folder = tmp_path / "out"
    for table in ("watches", "watch_matches", "pending_results", "submissions", "calculated_values"):
        assert cli(db, "export", "--format", "parquet", "--table", table, "-o", str(folder)).exit_code == 0
    watches = pq.read_table(folder / "watches.parquet")
    assert str(watches.schema.field("nct_ids").type) == "list<element: string>"
    assert str(watches.schema.field("created_at").type) == "timestamp[ms, tz=UTC]"
    listed = {row["name"]: row["nct_ids"] for row in watches.to_pylist()}
    assert listed == {"covid": None, "listed": ["NCT02210780", "NCT02513394"]}
    matches = duckdb.sql(f"SELECT watch, nct_id FROM read_parquet('{folder / 'watch_matches.parquet'}')").fetchall()
    assert sorted(matches) == query(db, "SELECT watch, nct_id FROM watch_matches ORDER BY 1, 2") and matches
    types = {
        ("pending_results", "event_date"): "date32[day]",
        ("submissions", "release_date"): "date32[day]",
        ("calculated_values", "has_us_facility"): "bool",
    }
    found = {key: str(pq.read_schema(folder / f"{key[0]}.parquet").field(key[1]).type) for key in types}
    assert found == types
