"""A file made by the previous version (schema 3) upgrades in place: the new tables and columns appear, and
`harvest reparse` (or the first `harvest run`) fills them from the stored payloads, with no network for the
rebuild, to exactly what a fresh harvest of the same payloads holds."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from harvest.core.schema import ROW_TABLES, Study
from harvest.store.columns import FIRST_COLUMNS, LOCATION_COLUMNS, STUDY_COLUMNS
from harvest.store.history_views import HISTORY_VIEWS
from harvest.store.tables import ADDED_COLUMNS, SCHEMA_VERSION
from tests.conftest import Cli, content, rows, scalar

OLD_FIELDS = FIRST_COLUMNS | {"nct_id"}


def downgrade_to_schema_3(db: Path) -> None:
    """What the previous release left on disk: no row tables, no new columns, records without new fields."""
    conn = sqlite3.connect(db)
    try:
        for view in [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'")]:
            conn.execute(f"DROP VIEW {view}")
        for table in ROW_TABLES:
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DROP TABLE harvest_meta")
        for index in [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL")
        ]:
            conn.execute(f"DROP INDEX {index}")
        for column in ADDED_COLUMNS["studies"]:  # schema 4's columns, and every later one
            conn.execute(f"ALTER TABLE studies DROP COLUMN {column}")
        for column in LOCATION_COLUMNS:
            conn.execute(f"ALTER TABLE locations DROP COLUMN {column}")
        for key, record in conn.execute("SELECT record_key, record FROM source_records").fetchall():
            data = {k: v for k, v in json.loads(record).items() if k in OLD_FIELDS}
            for location in data.get("locations", []):
                location.pop("latitude", None)
                location.pop("longitude", None)
            old = Study.model_validate(data)
            conn.execute(
                "UPDATE source_records SET record = ?, content_hash = ?, raw_fingerprint = 'old' WHERE record_key = ?",
                (old.model_dump_json(), old.content_hash(), key),
            )
        conn.execute("PRAGMA user_version = 3")
        conn.commit()
    finally:
        conn.close()


def test_downgrade_really_removes_what_schema_4_added(cli: Cli, db_path: Path) -> None:
    assert cli("run").exit_code == 0
    downgrade_to_schema_3(db_path)
    conn = sqlite3.connect(db_path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = {r[1] for r in conn.execute("PRAGMA table_info(studies)")}
    finally:
        conn.close()
    assert not tables & set(ROW_TABLES) and not columns & set(STUDY_COLUMNS)


@pytest.mark.parametrize("command", [("reparse",), ("run",)])
def test_an_old_file_upgrades_and_is_rebuilt_to_what_a_fresh_harvest_holds(
    cli: Cli, db_path: Path, command: tuple[str, ...]
) -> None:
    assert cli("run").exit_code == 0
    fresh = content(db_path)
    assert sum(len(fresh[table]) for table in ROW_TABLES) > 1000
    downgrade_to_schema_3(db_path)

    result = cli(*command)
    assert result.exit_code == 0, result.output
    if command == ("run",):
        assert "rebuilding every table from the stored payloads" in result.stderr
    upgraded = content(db_path)
    for table in fresh:
        if table == "source_records":
            continue  # the fingerprint and hash columns of the downgraded rows are rewritten as they are met
        assert upgraded[table] == fresh[table], table
    assert scalar(db_path, "PRAGMA user_version") == SCHEMA_VERSION
    assert scalar(db_path, "SELECT count(*) FROM harvest_meta") == 0
    assert scalar(db_path, "SELECT count(*) FROM changes") == 0  # nothing changed upstream


HISTORY_TABLES = ("study_versions", "version_changes", "history_queue")


def downgrade_to_schema_4(db: Path) -> None:
    """What schema 4 left on disk: no record-history tables or views, no compliance views, no runs.versions."""
    conn = sqlite3.connect(db)
    try:
        for view in (*HISTORY_VIEWS, "sponsor_compliance", "results_compliance"):
            conn.execute(f"DROP VIEW {view}")
        for table in HISTORY_TABLES:
            conn.execute(f"DROP TABLE {table}")
        conn.execute("ALTER TABLE runs DROP COLUMN versions")
        conn.execute("PRAGMA user_version = 4")
        conn.commit()
    finally:
        conn.close()


def test_a_schema_4_file_gains_the_history_tables_without_a_rebuild(cli: Cli, db_path: Path) -> None:
    assert cli("run").exit_code == 0
    before = content(db_path)
    downgrade_to_schema_4(db_path)
    assert scalar(db_path, "SELECT count(*) FROM sqlite_master WHERE name = 'study_versions'") == 0

    result = cli("history", "NCT02210780")  # opens the file for writing: the upgrade runs first
    assert result.exit_code == 0, result.output
    assert "rebuilding" not in result.stderr
    assert scalar(db_path, "PRAGMA user_version") == SCHEMA_VERSION
    # the history tables need no re-parse, but schema 6's QC tables (submissions) do: the file is marked for it
    assert scalar(db_path, "SELECT value FROM harvest_meta WHERE key = 'rebuild_from_payloads'") == "4"
    assert scalar(db_path, "SELECT count(*) FROM study_versions") == 6
    assert scalar(db_path, "SELECT versions FROM runs ORDER BY id DESC LIMIT 1") == 6
    assert scalar(db_path, "SELECT versions FROM runs ORDER BY id LIMIT 1") == 0  # a run from before the column
    assert scalar(db_path, "SELECT count(*) FROM completion_slips") == 2
    assert content(db_path) == before  # the rest of the file untouched


SCHEMA_6_RUN_COLUMNS = ("listed", "registry_total", "removed", "restored", "merged")


def downgrade_to_schema_5(db: Path) -> None:
    """What schema 5 left on disk: no studies.removed_on, no listed_studies, runs without the listing counts."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("DROP TABLE listed_studies")
        conn.execute("DROP INDEX studies_removed")
        conn.execute("ALTER TABLE studies DROP COLUMN removed_on")
        for column in SCHEMA_6_RUN_COLUMNS:
            conn.execute(f"ALTER TABLE runs DROP COLUMN {column}")
        conn.execute("PRAGMA user_version = 5")
        conn.commit()
    finally:
        conn.close()


def test_a_schema_5_file_gains_removed_on_and_the_listing_in_place(cli: Cli, db_path: Path) -> None:
    assert cli("run").exit_code == 0
    before = content(db_path)
    downgrade_to_schema_5(db_path)
    assert "removed_on" not in {r[1] for r in rows(db_path, "PRAGMA table_info(studies)")}

    result = cli("run")  # opens the file for writing: the upgrade runs first
    assert result.exit_code == 0, result.output
    # schema 6 also adds the QC row tables, which only a re-parse of the stored payloads fills
    assert "rebuilding" in result.stderr
    assert scalar(db_path, "PRAGMA user_version") == SCHEMA_VERSION
    assert scalar(db_path, "SELECT count(*) FROM studies WHERE removed_on IS NULL") == 24
    assert scalar(db_path, "SELECT count(*) FROM listed_studies") == 0
    assert scalar(db_path, "SELECT count(*) FROM sqlite_master WHERE name = 'studies_removed'") == 1
    counts = rows(db_path, f"SELECT {', '.join(SCHEMA_6_RUN_COLUMNS)} FROM runs ORDER BY id")
    # the old run's, the rebuild's and the incremental one's
    assert counts == [(0, None, 0, 0, 0)] * 3
    assert content(db_path) == before
