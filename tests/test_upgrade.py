"""A file made by an earlier version (schema 3 to 7) upgrades in place: the new tables and columns appear, and
`harvest reparse` (or the first `harvest run`) fills them from the stored payloads, with no network for the
rebuild, to exactly what a fresh harvest of the same payloads holds. Records schema 5 stored (real ones, in
tests/golden/schema5/) read into today's shape before the rebuild."""

from __future__ import annotations

import json
import sqlite3
import zlib
from pathlib import Path
from typing import Any

import pytest

from harvest.core.aact import number
from harvest.core.config import Settings
from harvest.core.schema import ROW_TABLES, Study, content_hash
from harvest.core.stored import load_record
from harvest.net.http import HttpClient
from harvest.pipeline.payloads import fetched_at
from harvest.sources.base import Page
from harvest.sources.ctgov import ClinicalTrialsGov
from harvest.store.aact import GENERATED
from harvest.store.columns import CALCULATED, FIRST_COLUMNS, LOCATION_COLUMNS, STUDY_COLUMNS
from harvest.store.compression import ZSTD_MAGIC, decompress
from harvest.store.tables import (
    ADDED_COLUMNS,
    CHILD_TABLES,
    FORMER_ROW_TABLES,
    REBUILD_KEY,
    REWRITTEN_KEY,
    SCHEMA_VERSION,
)
from tests.conftest import CONTENT, Cli, content, load_study, parse_ctgov, rows, scalar

OLD_FIELDS = FIRST_COLUMNS | {"nct_id"}
SCHEMA5 = Path(__file__).resolve().parent / "golden" / "schema5"


def _drop_schema_6_columns(conn: sqlite3.Connection) -> None:
    """The generated columns schema 6 gave the tables of earlier schemas, and contacts' new columns."""
    for table in ("studies", "conditions", "keywords", "interventions", "locations", "sponsors", "contacts"):
        for column in GENERATED[table]:
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    for column in ("phone_ext", "kind"):
        conn.execute(f"ALTER TABLE contacts DROP COLUMN {column}")


def _drop_views_and_indexes(conn: sqlite3.Connection) -> None:
    for view in [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'")]:
        conn.execute(f"DROP VIEW {view}")
    for index in [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL")]:
        conn.execute(f"DROP INDEX {index}")


# What schema 6 declared for source_records: every record's JSON stored beside its payload.
SCHEMA_6_SOURCE_RECORDS = """CREATE TABLE source_records (
    source TEXT NOT NULL, record_key TEXT NOT NULL, url TEXT NOT NULL, nct_id TEXT NOT NULL,
    fetched_at TEXT NOT NULL, content_hash TEXT NOT NULL, record TEXT NOT NULL, raw BLOB,
    content_type TEXT, first_fetched_at TEXT, changed_at TEXT, run_id INTEGER, raw_fingerprint TEXT,
    PRIMARY KEY (source, record_key))"""


WATCH_TABLES = ("watch_entries", "watch_matches", "watches")


def downgrade_to_schema_7(db: Path) -> None:
    """What schemas 6 and 7 left on disk (7 only added the watch tables): each registry record's JSON beside its
    payload (today's parse of it, which is what they stored), payloads compressed with zlib, source_records as
    schema 6 declared it, the tables keyed by (nct_id, position) with rowids (and an index beside each for the
    key), every field of a trial listed in its provenance."""
    settings = Settings(env={})
    source = ClinicalTrialsGov(HttpClient(settings.http()), settings)
    conn = sqlite3.connect(db)
    try:
        # schema 6 listed every field of a trial one record made (and hashed that list into merge_hash)
        listed = conn.execute(
            "SELECT s.nct_id, json_object(min(p.key), json_group_array(v.field)) FROM studies s, "
            "json_each(s.provenance) p JOIN (SELECT nct_id, field FROM field_provenance ORDER BY nct_id, field) v "
            "ON v.nct_id = s.nct_id WHERE p.value = '*' GROUP BY s.nct_id"
        ).fetchall()
        conn.executemany("UPDATE studies SET provenance = ?, merge_hash = 'schema 6' WHERE nct_id = ?",
                         [(text, nct) for nct, text in listed])  # fmt: skip
        _drop_views_and_indexes(conn)
        stored = conn.execute(
            "SELECT source, record_key, url, nct_id, fetched_at, content_hash, record, raw, content_type, "
            "first_fetched_at, changed_at, run_id, raw_fingerprint FROM source_records"
        ).fetchall()
        conn.execute("DROP TABLE source_records")
        conn.execute(SCHEMA_6_SOURCE_RECORDS)
        for row in stored:
            values = list(row)
            payload = decompress(values[7])
            if values[6] is None:
                page = Page(values[2], payload, fetched_at(values[4]), values[8])
                values[6] = source.parse(page).model_copy(update={"nct_id": values[3]}).model_dump_json()
            values[7] = zlib.compress(payload, 1)  # as schema 6 compressed payloads
            conn.execute(f"INSERT INTO source_records VALUES ({','.join('?' * len(values))})", values)
        keyed = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql LIKE '%WITHOUT ROWID'")
        for table, sql in keyed.fetchall():
            conn.execute(f"ALTER TABLE {table} RENAME TO {table}_new")
            conn.execute(sql.removesuffix(" WITHOUT ROWID").replace(f"TABLE {table}_new", f"TABLE {table}"))
            columns = ", ".join(r[1] for r in conn.execute(f"PRAGMA table_info({table}_new)"))
            conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table}_new")
            conn.execute(f"DROP TABLE {table}_new")
        conn.execute("PRAGMA user_version = 7")
        conn.commit()
    finally:
        conn.close()


def downgrade_to_schema_6(db: Path) -> None:
    """Schema 7 without the watch tables."""
    downgrade_to_schema_7(db)
    conn = sqlite3.connect(db)
    try:
        for table in WATCH_TABLES:
            conn.execute(f"DROP TABLE {table}")
        conn.execute("PRAGMA user_version = 6")
        conn.commit()
    finally:
        conn.close()


def downgrade_to_schema_3(db: Path) -> None:
    """What the previous release left on disk: no row tables, no new columns, records without new fields."""
    downgrade_to_schema_6(db)
    conn = sqlite3.connect(db)
    try:
        _drop_views_and_indexes(conn)
        for table in ROW_TABLES:
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DROP TABLE harvest_meta")
        _drop_schema_6_columns(conn)
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
    # the one-time work is done and forgotten; what stays is when it rewrote rows (a published copy takes them all)
    assert rows(db_path, "SELECT key FROM harvest_meta") == [(REWRITTEN_KEY,)]
    assert scalar(db_path, "SELECT count(*) FROM changes") == 0  # nothing changed upstream


# -- schema 5: real records of harvest 5, and a file in its shape ---------------------------------------------

# What schema 6 added to a record: fields, and fields of rows; and the row lists it renamed.
NEW_FIELDS = {
    "expanded_access_nctid", "expanded_access_status_for_nctid", "expanded_access_type_individual",
    "expanded_access_type_intermediate", "expanded_access_type_treatment", "responsible_party_old_name_title",
    "responsible_party_old_organization", "baseline_type_units_analyzed", "participant_flow_units_analyzed",
    "retractions", "documents", "removed_countries", "id_information", "submissions", "pending_results",
}  # fmt: skip
NEW_ROW_FIELDS = {
    "contacts": {"phone_ext", "kind"},
    "design_group_interventions": {"design_group_position", "intervention_position"},
    "milestones": {"milestone_description", "result_group_position"},
    "drop_withdrawals": {"drop_withdraw_comment", "count_units", "result_group_position"},
    "baseline_counts": {"result_group_position"},
    "baseline_measurements": {
        "dispersion_lower_limit_raw", "dispersion_upper_limit_raw", "calculate_percentage", "number_analyzed",
        "number_analyzed_units", "result_group_position",
    },
    "outcome_counts": {"result_group_position"},
    "outcome_measurement_values": {"dispersion_lower_limit_raw", "dispersion_upper_limit_raw", "result_group_position"},
    "reported_event_stats": {"result_group_position"},
}  # fmt: skip
RENAMED = {
    "provided_documents": "documents",
    "location_contacts": "facility_contacts",
    "outcome_measurement_values": "outcome_measurements",
    "reported_event_stats": "reported_events",
}


def to_schema_5(record: dict[str, Any]) -> dict[str, Any]:
    """A record of today as schema 5 stored it (checked against harvest 5's own records below)."""
    old = {key: value for key, value in record.items() if key not in NEW_FIELDS}
    for table, fields in NEW_ROW_FIELDS.items():
        old[table] = [{k: v for k, v in row.items() if k not in fields} for row in old.get(table, [])]
    # schema 5 had no row for a baseline measure, class or category without values
    old["baseline_measurements"] = [r for r in old["baseline_measurements"] if r["ctgov_group_code"] is not None]
    for term in old["browse_conditions"] + old["browse_interventions"]:
        term["mesh_type"] = term["mesh_type"].removeprefix("mesh-").replace("list", "mesh")
    for outcome in old["design_outcomes"]:
        outcome["outcome_type"] = outcome["outcome_type"].upper()
    for analysis in old["outcome_analyses"]:
        analysis["param_value_num"] = number(analysis["param_value_raw"])
        for name in ("param_value", "dispersion_value", "p_value", "ci_lower_limit", "ci_upper_limit"):
            analysis[name] = analysis.pop(f"{name}_raw")
        analysis.pop("p_value_modifier")
        percent = analysis["ci_percent"]
        analysis["ci_percent"] = None if percent is None else f"{percent:g}"
    for new, former in RENAMED.items():
        old[former] = old.pop(new)
    return old


def _without_fetch(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "provenance": {**record["provenance"], "url": None, "fetched_at": None}}


@pytest.mark.parametrize("nct", ["NCT02210780", "NCT03630471", "NCT03475563"])
def test_a_record_harvest_5_stored_reads_as_todays_parse_of_its_payload(source: ClinicalTrialsGov, nct: str) -> None:
    """tests/golden/schema5/: records harvest 5 stored (commit 3cb0492) for fixtures/ctgov/studies payloads."""
    stored = (SCHEMA5 / f"{nct}.json").read_text(encoding="utf-8")
    with pytest.raises(ValueError):  # it is not today's shape...
        Study.model_validate_json(stored)
    upgraded = load_record(stored)  # ... and reads into it
    fresh = parse_ctgov(source, load_study(nct))
    as_stored = _without_fetch(json.loads(stored))
    # what schema 5 held, today's parse holds, and the upgraded record holds, the same
    assert _without_fetch(to_schema_5(fresh.model_dump(mode="json"))) == as_stored
    assert _without_fetch(to_schema_5(upgraded.model_dump(mode="json"))) == as_stored
    # the numbers schema 6 reads from an analysis's text, the upgrade reads the same way
    assert upgraded.outcome_analyses == [
        a.model_copy(update={"param_value": a.param_value if a.param_value_raw else None})
        for a in fresh.outcome_analyses
    ]
    assert upgraded.design_outcomes == fresh.design_outcomes and upgraded.browse_conditions == fresh.browse_conditions


SCHEMA_6_RUN_COLUMNS = ("listed", "registry_total", "removed", "restored", "merged")


def downgrade_to_schema_5(db: Path) -> None:
    """A file in schema 5's shape: its row tables under their old names, no schema 6 tables or columns, records as
    schema 5 stored them (``to_schema_5``)."""
    downgrade_to_schema_6(db)
    conn = sqlite3.connect(db)
    try:
        _drop_views_and_indexes(conn)
        for table in (
            "documents",
            "retractions",
            "removed_countries",
            "id_information",
            "submissions",
            "pending_results",
            "sponsor_organisations",
            "listed_studies",
        ):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("ALTER TABLE studies DROP COLUMN removed_on")
        for column in SCHEMA_6_RUN_COLUMNS:
            conn.execute(f"ALTER TABLE runs DROP COLUMN {column}")
        for new, former in RENAMED.items():
            conn.execute(f"ALTER TABLE {new} RENAME TO {former}")
        _drop_schema_6_columns(conn)
        added = [name for name in Study.model_fields if name in NEW_FIELDS and name not in ROW_TABLES]
        for column in [*added, *(c for c in CALCULATED if c not in _SCHEMA_5_CALCULATED)]:
            conn.execute(f"ALTER TABLE studies DROP COLUMN {column}")
        for table in ("source_records", "study_versions"):
            for key, record in conn.execute(f"SELECT rowid, record FROM {table}").fetchall():
                old = to_schema_5(json.loads(record))
                digest = content_hash({k: v for k, v in old.items() if k != "provenance"})  # not today's hash
                text = json.dumps(old, ensure_ascii=False)
                conn.execute(f"UPDATE {table} SET record = ?, content_hash = ? WHERE rowid = ?", (text, digest, key))
        conn.execute("PRAGMA user_version = 5")
        conn.commit()
    finally:
        conn.close()


_SCHEMA_5_CALCULATED = {
    "number_of_arms", "number_of_facilities", "has_us_facility", "has_single_facility", "months_to_report_results",
}  # fmt: skip


def named_content(db: Path) -> dict[str, list[dict[str, Any]]]:
    """``content`` with each row as column -> value: an upgraded table adds its new columns last."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        queries = {t: sql for t, sql in CONTENT.items() if t != "changes"}
        queries.update({t: f"SELECT * FROM {t} ORDER BY nct_id, position" for t in GENERATED if t not in queries})
        out = {}
        for table, sql in queries.items():
            cursor = conn.execute(sql)
            out[table] = [{k: r[k] for k in r.keys() if not k.endswith("_at") and k != "raw"} for r in cursor]  # noqa: SIM118
        return out
    finally:
        conn.close()


@pytest.mark.parametrize("command", [("reparse",), ("run",)])
def test_a_schema_5_file_upgrades_and_is_rebuilt_to_what_a_fresh_harvest_holds(
    cli: Cli, db_path: Path, command: tuple[str, ...]
) -> None:
    assert cli("run").exit_code == 0
    fresh = named_content(db_path)
    downgrade_to_schema_5(db_path)
    tables = {name for (name,) in rows(db_path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert set(FORMER_ROW_TABLES) <= tables and "provided_documents" not in tables
    assert scalar(db_path, "SELECT count(*) FROM reported_events") > 4000  # schema 5's table of that name
    # before any rebuild, what the file holds reads: the stored records are brought to today's shape
    shown = cli("show", "NCT02210780")
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["design_outcomes"][0]["outcome_type"] == "primary"

    result = cli(*command)
    assert result.exit_code == 0, result.output
    assert scalar(db_path, "PRAGMA user_version") == SCHEMA_VERSION
    assert scalar(db_path, "SELECT count(*) FROM harvest_meta WHERE key = ?", (REBUILD_KEY,)) == 0
    assert scalar(db_path, "SELECT count(*) FROM changes") == 0  # nothing changed upstream
    upgraded = named_content(db_path)
    for table in fresh:
        if table != "source_records":  # the downgraded records' hashes are rewritten as they are met
            assert upgraded[table] == fresh[table], table
    # AACT's names are views now, over the renamed tables
    kinds = dict(rows(db_path, "SELECT name, type FROM sqlite_master WHERE name IN ('reported_events', 'documents')"))
    assert kinds == {"reported_events": "view", "documents": "table"}


HISTORY_TABLES = ("study_versions", "version_changes", "history_queue")


def test_a_schema_4_file_gains_the_history_tables_and_is_rebuilt(cli: Cli, db_path: Path) -> None:
    assert cli("run").exit_code == 0
    before = named_content(db_path)
    downgrade_to_schema_5(db_path)
    conn = sqlite3.connect(db_path)
    for table in HISTORY_TABLES:
        conn.execute(f"DROP TABLE {table}")
    conn.execute("ALTER TABLE runs DROP COLUMN versions")
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()
    assert scalar(db_path, "SELECT count(*) FROM sqlite_master WHERE name = 'study_versions'") == 0

    result = cli("history", "NCT02210780")  # opens the file for writing: the upgrade runs first
    assert result.exit_code == 0, result.output
    assert scalar(db_path, "PRAGMA user_version") == SCHEMA_VERSION
    assert rows(db_path, "SELECT value FROM harvest_meta WHERE key = ?", (REBUILD_KEY,)) == [("4",)]
    assert scalar(db_path, "SELECT count(*) FROM study_versions") == 6
    assert scalar(db_path, "SELECT versions FROM runs ORDER BY id DESC LIMIT 1") == 6
    assert scalar(db_path, "SELECT versions FROM runs ORDER BY id LIMIT 1") == 0  # a run from before the column
    assert scalar(db_path, "SELECT count(*) FROM completion_slips") == 2
    assert cli("reparse").exit_code == 0
    after = named_content(db_path)
    assert {t: v for t, v in after.items() if t != "source_records"} == {
        t: v for t, v in before.items() if t != "source_records"
    }


def test_a_schema_5_file_gains_removed_on_and_the_listing_in_place(cli: Cli, db_path: Path) -> None:
    assert cli("run").exit_code == 0
    before = named_content(db_path)
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
    after = named_content(db_path)  # the downgraded records' hashes are rewritten as they are met
    assert {t: v for t, v in after.items() if t != "source_records"} == {
        t: v for t, v in before.items() if t != "source_records"
    }


# -- schemas 6 and 7: records stored beside their payloads, tables with rowids ----------------------------------------


FIELDS = "SELECT nct_id, field, source, url FROM field_provenance ORDER BY 1, 2"


def _keyed_tables(db: Path) -> dict[str, bool]:
    """Each table keyed by (nct_id, position): whether it is WITHOUT ROWID."""
    found = rows(db, "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql LIKE '%(nct_id, position)%'")
    return {name: sql.upper().endswith("WITHOUT ROWID") for name, sql in found}


def _watches(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {table: rows(db, f"SELECT * FROM {table} ORDER BY 1, 2") for table in WATCH_TABLES}


@pytest.mark.parametrize("old", [6, 7])
def test_a_schema_6_or_7_file_upgrades_in_place_and_drops_the_json_its_payloads_give(
    cli: Cli, db_path: Path, old: int
) -> None:
    assert cli("run").exit_code == 0
    if old == 7:  # a watch schema 7 stored stays as it was
        assert cli("watch", "add", "mine", "--nct", "NCT03630471").exit_code == 0
    watched = _watches(db_path)
    fresh, fresh_named, fresh_fields = content(db_path), named_content(db_path), rows(db_path, FIELDS)
    # payloads are stored as Zstandard frames; schema 6 compressed them with zlib, and those read as they are
    assert scalar(db_path, "SELECT count(*) FROM source_records WHERE substr(raw, 1, 4) != ?", (ZSTD_MAGIC,)) == 0
    assert all(_keyed_tables(db_path).values()) and len(_keyed_tables(db_path)) == len(CHILD_TABLES) + len(ROW_TABLES)
    (downgrade_to_schema_7 if old == 7 else downgrade_to_schema_6)(db_path)
    assert scalar(db_path, "PRAGMA user_version") == old
    assert not any(_keyed_tables(db_path).values())
    assert scalar(db_path, "SELECT count(*) FROM studies WHERE provenance LIKE '%\"*\"%'") == 0
    assert scalar(db_path, "SELECT count(*) FROM source_records WHERE record IS NULL") == 0
    assert scalar(db_path, "SELECT count(*) FROM source_records WHERE substr(raw, 1, 4) = ?", (ZSTD_MAGIC,)) == 0
    # one payload that no longer parses: its record keeps its JSON (and still reads)
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE source_records SET raw = ? WHERE nct_id = 'NCT02210780'", (zlib.compress(b"{broken"),))
    conn.commit()
    conn.close()
    shown_before = json.loads(cli("show", "--provenance", "NCT02210780").stdout)  # read-only: not upgraded

    result = cli("run")
    assert result.exit_code == 0, result.output
    assert "rebuilding" not in result.stderr  # the rows are copied in place, not parsed again
    assert scalar(db_path, "PRAGMA user_version") == SCHEMA_VERSION == 8
    assert all(_keyed_tables(db_path).values())
    assert _watches(db_path) == watched
    assert bool(watched["watches"]) == (old == 7)
    # the one-time work is done and forgotten; what stays is when it rewrote rows (a published copy takes them all)
    assert rows(db_path, "SELECT key FROM harvest_meta") == [(REWRITTEN_KEY,)]
    assert rows(db_path, "SELECT nct_id FROM source_records WHERE record IS NOT NULL") == [("NCT02210780",)]
    assert scalar(db_path, "SELECT count(*) FROM source_records WHERE substr(raw, 1, 4) = ?", (ZSTD_MAGIC,)) == 0
    assert scalar(db_path, "SELECT count(*) FROM changes") == 0
    upgraded = content(db_path)
    for table in fresh:
        if table not in ("source_records", "studies"):
            assert upgraded[table] == fresh[table], table
    # the rows schema 6 wrote keep their lists of fields (and merge hashes) until their trial is written again;
    # what the lists say is what a fresh file says
    kept = ("provenance", "merge_hash")
    assert [{k: v for k, v in r.items() if k not in kept} for r in named_content(db_path)["studies"]] == [
        {k: v for k, v in r.items() if k not in kept} for r in fresh_named["studies"]
    ]
    assert rows(db_path, FIELDS) == fresh_fields
    # what reads the records reads the same: the one kept whole, and those read back from their payloads
    assert json.loads(cli("show", "--provenance", "NCT02210780").stdout) == shown_before
    shown = json.loads(cli("show", "--provenance", "NCT03630471").stdout)
    assert shown["field_sources"]["brief_title"]["source"] == "ctgov" and shown["design_outcomes"]
