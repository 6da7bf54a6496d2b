"""The tables of the file (DDL) and how an older file is brought up to date.

Every table is documented in README's schema section and in the Datasette metadata (``query.datasette``);
a test checks that each table and column of a fresh file is described there.
"""

from __future__ import annotations

from sqlite_utils import Database

from harvest.core.schema import ROW_TABLES
from harvest.store import views
from harvest.store.aact import GENERATED
from harvest.store.columns import FILL_SEARCH_COLUMNS, LOCATION_COLUMNS, SEARCH_COLUMNS, STUDY_COLUMNS, row_tables_sql
from harvest.store.removals import LISTED_STUDIES_SQL, REMOVED_INDEX_SQL
from harvest.store.watches import WATCHES_SQL

# 2: search index, views and indexes (harvest.store.views); child tables reference studies
# 3: source_records.raw_fingerprint
# 4: the whole CT.gov record: row tables (arms, outcomes, MeSH, references, results...), new studies columns;
#    pages.etag, pages.last_modified, pages.gone_since; runs.not_modified, runs.gone, runs.still_failing
# 5: views results_compliance and sponsor_compliance; record history: study_versions, version_changes,
#    history_queue (new tables only) and runs.versions
# 6: row tables submissions and pending_results (results in the registry's QC, filled from the stored payloads);
#    sponsor_organisations (sponsor names as organisations, curated rows kept through every rebuild);
#    studies the registry no longer shows: studies.removed_on, listed_studies (a full listing under way);
#    runs.listed, registry_total, removed, restored, merged;
#    AACT's schema (store.aact, store.aact_views): generated columns, ids, AACT-named views; new row tables
#    (documents from availIpds, retractions, removed_countries, id_information) and columns; renamed row tables
#    (documents -> provided_documents, facility_contacts -> location_contacts, outcome_measurements ->
#    outcome_measurement_values, reported_events -> reported_event_stats: AACT's names are views now); numbers
#    of outcome_analyses as numbers, the text beside them; contacts.phone_ext and contacts.kind;
#    search: studies.mesh_terms and studies.mesh_ancestors (filled from the MeSH row tables on upgrade); the
#    search index gains nct_id (with aliases and secondary IDs), mesh_terms and mesh_ancestors (rebuilt)
# 7: watches, watch_matches, watch_entries (harvest watch; new tables only, nothing rebuilt)
# 8: half the file. source_records.record may be NULL: a record that is what its source's parser makes of its
#    payload alone (the registry's) keeps the payload and not its JSON beside it (PAYLOADS_KEY: the next run
#    drops the JSON an older harvest kept); the tables keyed by (nct_id, position) are WITHOUT ROWID (the key
#    is the table's B-tree, not a second index beside it), copied over in place; studies.provenance names the
#    one record that supplied every field with "*" (older rows keep their lists: field_provenance reads both)
SCHEMA_VERSION = 8
# Files made before schema 6 hold row tables in an older shape, which only a re-parse of their stored payloads
# can fill anew: their row tables are dropped and created again, and the file is marked for that re-parse.
REBUILD_BELOW = 6
# Row tables of earlier schemas whose names are now AACT's views (or another table): dropped on upgrade.
FORMER_ROW_TABLES = ("facility_contacts", "outcome_measurements", "reported_events")

# A file upgraded from an older schema holds studies whose new tables are empty until their stored payloads
# are parsed again: this key in harvest_meta says so, and the next run (or `harvest reparse`) does it.
REBUILD_KEY = "rebuild_from_payloads"
# A file upgraded from before schema 8 holds the JSON of records that their payloads give again: this key in
# harvest_meta says so, and the next command that opens it to write drops that JSON (``pipeline.payloads``).
PAYLOADS_KEY = "records_beside_payloads"
# When rows were last rewritten in place without a time of their own (that JSON dropped): a copy of the file
# kept up to date by what was written since (``store.touched``) must take every trial again.
REWRITTEN_KEY = "rows_rewritten_at"
# The tables keyed by (nct_id, position) besides the row tables of ``core.schema``: like those, WITHOUT ROWID.
CHILD_TABLES = ("conditions", "keywords", "interventions", "locations", "sponsors", "contacts", "identifiers")
_OLD_COPY = "__rowid"  # suffix of a table being copied into its WITHOUT ROWID successor during the upgrade

# Columns added after a table was first created. ``CREATE TABLE IF NOT EXISTS`` leaves an older file's table as
# it was, so each is added in place when missing.
ADDED_COLUMNS: dict[str, dict[str, str]] = {
    "source_records": {"raw_fingerprint": "TEXT"},
    "studies": {**STUDY_COLUMNS, "removed_on": "TEXT"},
    "locations": LOCATION_COLUMNS,
    "contacts": {"phone_ext": "TEXT", "kind": "TEXT"},
    "pages": {"etag": "TEXT", "last_modified": "TEXT", "gone_since": "TEXT"},
    "runs": {
        "not_modified": "INTEGER DEFAULT 0",
        "gone": "INTEGER DEFAULT 0",
        "still_failing": "INTEGER DEFAULT 0",
        "versions": "INTEGER DEFAULT 0",
        "listed": "INTEGER DEFAULT 0",
        "registry_total": "INTEGER",
        "removed": "INTEGER DEFAULT 0",
        "restored": "INTEGER DEFAULT 0",
        "merged": "INTEGER DEFAULT 0",
    },
}


def install(db: Database) -> None:
    """Create what is missing and upgrade what is old, unless the file is already at ``SCHEMA_VERSION``."""
    found = db.execute("PRAGMA user_version").fetchone()[0]
    if found >= SCHEMA_VERSION:
        return
    with db.atomic():
        had_studies = found > 0 and db.execute("SELECT 1 FROM sqlite_master WHERE name = 'studies'").fetchone()
        if found and found < REBUILD_BELOW:
            _drop_row_tables(db)
        rowid_tables = _set_aside_rowid_tables(db) if had_studies else []
        db.executescript(SCHEMA_SQL)
        db.executescript(row_tables_sql())
        db.executescript(LISTED_STUDIES_SQL)
        db.executescript(WATCHES_SQL)
        added = set()
        for table, wanted in [*ADDED_COLUMNS.items(), *GENERATED.items()]:
            present = {row[1] for row in db.execute(f"PRAGMA table_xinfo({table})")}
            for name, kind in wanted.items():
                if name not in present:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
                    added.add(name)
        db.executescript(REMOVED_INDEX_SQL)  # on a column an older file has only now
        _copy_rowid_tables(db, rowid_tables)
        if had_studies and found < 8:
            _record_may_be_null(db)
            if db.execute("SELECT 1 FROM source_records LIMIT 1").fetchone():
                db.execute("INSERT OR REPLACE INTO harvest_meta (key, value) VALUES (?, ?)", [PAYLOADS_KEY, str(found)])
        if had_studies and added & set(SEARCH_COLUMNS):
            db.execute(FILL_SEARCH_COLUMNS)  # before the search index is rebuilt from them (views.install)
        if had_studies and found < REBUILD_BELOW and db.execute("SELECT 1 FROM studies LIMIT 1").fetchone():
            db.execute("INSERT OR REPLACE INTO harvest_meta (key, value) VALUES (?, ?)", [REBUILD_KEY, str(found)])
        views.install(db.conn)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _set_aside_rowid_tables(db: Database) -> list[str]:
    """Rename the tables keyed by (nct_id, position) that an older harvest made with rowids, so that their WITHOUT
    ROWID successors can be created under their names; views go first (they are made again) and the old tables'
    indexes with them (``views.install`` makes them again on the new tables)."""
    found = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'view')").fetchall())
    keyed = [t for t in (*CHILD_TABLES, *ROW_TABLES) if t in found and "WITHOUT ROWID" not in found[t].upper()]
    if not keyed:
        return []
    for name in [n for n, sql in found.items() if sql and sql.upper().startswith("CREATE VIEW")]:
        db.execute(f"DROP VIEW {name}")
    for table in keyed:
        indexes = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", [table]
        )
        for (index,) in indexes.fetchall():
            db.execute(f"DROP INDEX {index}")
        db.execute(f"ALTER TABLE {table} RENAME TO {table}{_OLD_COPY}")
    return keyed


def _copy_rowid_tables(db: Database, tables: list[str]) -> None:
    """Fill each WITHOUT ROWID table from the copy set aside, column by column (what both have), in key order."""
    for table in tables:
        old = {row[1] for row in db.execute(f"PRAGMA table_info({table}{_OLD_COPY})")}
        columns = ", ".join(row[1] for row in db.execute(f"PRAGMA table_info({table})") if row[1] in old)
        db.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table}{_OLD_COPY} ORDER BY nct_id, position"
        )
        db.execute(f"DROP TABLE {table}{_OLD_COPY}")


def _record_may_be_null(db: Database) -> None:
    """Lift ``source_records.record``'s NOT NULL in place, the way SQLite documents for dropping such a constraint
    (the table's stored rows do not change: only its definition in the schema)."""
    sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'source_records'").fetchone()[0]
    relaxed = sql.replace("record TEXT NOT NULL", "record TEXT")
    if relaxed == sql:
        return
    version = db.execute("PRAGMA schema_version").fetchone()[0]
    db.execute("PRAGMA writable_schema = ON")
    try:
        db.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'source_records'", [relaxed])
        db.execute(f"PRAGMA schema_version = {version + 1}")
    finally:
        db.execute("PRAGMA writable_schema = OFF")


def _drop_row_tables(db: Database) -> None:
    """An older file's row tables and the views over them: they are made anew, in today's shape, and filled
    again from the stored payloads (``REBUILD_KEY``)."""
    found = dict(db.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')").fetchall())
    for name, kind in found.items():
        if kind == "view":
            db.execute(f"DROP VIEW {name}")
    for name in (*ROW_TABLES, *FORMER_ROW_TABLES):
        if found.get(name) == "table":
            db.execute(f"DROP TABLE {name}")


SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS studies (
    nct_id TEXT PRIMARY KEY,
    title TEXT, brief_title TEXT, official_title TEXT, acronym TEXT,
    overall_status TEXT, last_known_status TEXT, why_stopped TEXT, status_verified_date TEXT,
    study_type TEXT, phases TEXT,
    start_date TEXT, start_date_type TEXT,
    primary_completion_date TEXT, primary_completion_date_type TEXT,
    completion_date TEXT, completion_date_type TEXT,
    first_posted TEXT, first_posted_type TEXT,
    last_update_posted TEXT, last_update_posted_type TEXT,
    enrollment INTEGER, enrollment_type TEXT,
    allocation TEXT, intervention_model TEXT, primary_purpose TEXT, masking TEXT,
    sex TEXT, minimum_age TEXT, maximum_age TEXT, healthy_volunteers INTEGER, eligibility_criteria TEXT,
    brief_summary TEXT, detailed_description TEXT,
    lead_sponsor TEXT, lead_sponsor_class TEXT,
    has_results INTEGER,
    nct_aliases TEXT, unmapped TEXT, sources TEXT, provenance TEXT,
    content_hash TEXT, merge_hash TEXT, first_seen_at TEXT, updated_at TEXT
);
CREATE TABLE IF NOT EXISTS conditions (
    nct_id TEXT NOT NULL REFERENCES studies(nct_id),
    position INTEGER NOT NULL, name TEXT,
    PRIMARY KEY (nct_id, position)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS keywords (
    nct_id TEXT NOT NULL REFERENCES studies(nct_id),
    position INTEGER NOT NULL, keyword TEXT,
    PRIMARY KEY (nct_id, position)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS interventions (
    nct_id TEXT NOT NULL REFERENCES studies(nct_id),
    position INTEGER NOT NULL, type TEXT, name TEXT,
    description TEXT, PRIMARY KEY (nct_id, position)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS locations (
    nct_id TEXT NOT NULL REFERENCES studies(nct_id),
    position INTEGER NOT NULL, facility TEXT, city TEXT,
    state TEXT, zip TEXT, country TEXT, status TEXT, PRIMARY KEY (nct_id, position)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sponsors (
    nct_id TEXT NOT NULL REFERENCES studies(nct_id),
    position INTEGER NOT NULL, role TEXT, name TEXT,
    class TEXT, PRIMARY KEY (nct_id, position)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS contacts (
    nct_id TEXT NOT NULL REFERENCES studies(nct_id),
    position INTEGER NOT NULL, role TEXT, name TEXT,
    affiliation TEXT, phone TEXT, email TEXT, PRIMARY KEY (nct_id, position)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS identifiers (
    nct_id TEXT NOT NULL REFERENCES studies(nct_id),
    position INTEGER NOT NULL, scheme TEXT,
    value TEXT, domain TEXT, PRIMARY KEY (nct_id, position)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS nct_aliases (alias TEXT PRIMARY KEY, nct_id TEXT NOT NULL REFERENCES studies(nct_id));
CREATE TABLE IF NOT EXISTS source_records (
    source TEXT NOT NULL, record_key TEXT NOT NULL, url TEXT NOT NULL, nct_id TEXT NOT NULL,
    fetched_at TEXT NOT NULL, content_hash TEXT NOT NULL,
    content_type TEXT, first_fetched_at TEXT, changed_at TEXT, run_id INTEGER, raw_fingerprint TEXT,
    record TEXT, raw BLOB, PRIMARY KEY (source, record_key));
CREATE INDEX IF NOT EXISTS source_records_nct ON source_records (nct_id);
CREATE TABLE IF NOT EXISTS conflicts (
    nct_id TEXT NOT NULL REFERENCES studies(nct_id),
    field TEXT NOT NULL, source TEXT NOT NULL, value TEXT,
    PRIMARY KEY (nct_id, field, source));
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY, nct_id TEXT NOT NULL REFERENCES studies(nct_id),
    run_id INTEGER,
    field TEXT NOT NULL, old TEXT, new TEXT, changed_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS changes_nct ON changes (nct_id);
CREATE INDEX IF NOT EXISTS changes_at ON changes (changed_at);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, source TEXT, command TEXT, mode TEXT, since TEXT,
    started_at TEXT, finished_at TEXT, duration_s REAL, outcome TEXT,
    fetched INTEGER DEFAULT 0, new INTEGER DEFAULT 0, changed INTEGER DEFAULT 0, unchanged INTEGER DEFAULT 0,
    failed INTEGER DEFAULT 0, skipped_robots INTEGER DEFAULT 0, unresolved INTEGER DEFAULT 0,
    requests INTEGER DEFAULT 0, retries INTEGER DEFAULT 0, throttled INTEGER DEFAULT 0, bytes INTEGER DEFAULT 0,
    watermark TEXT, error TEXT, pid INTEGER,
    not_modified INTEGER DEFAULT 0, gone INTEGER DEFAULT 0, still_failing INTEGER DEFAULT 0,
    versions INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS harvest_state (source TEXT PRIMARY KEY, watermark TEXT, cursor TEXT,
    cursor_run_id INTEGER, updated_at TEXT);
CREATE TABLE IF NOT EXISTS harvest_meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS pages (source TEXT NOT NULL, url TEXT NOT NULL, lastmod TEXT, first_seen_at TEXT,
    last_fetched_at TEXT, last_outcome TEXT, nct_id TEXT, etag TEXT, last_modified TEXT, gone_since TEXT,
    PRIMARY KEY (source, url));
CREATE TABLE IF NOT EXISTS quarantine (source TEXT NOT NULL, url TEXT NOT NULL, run_id INTEGER, error_type TEXT,
    error TEXT, raw BLOB, content_type TEXT, quarantined_at TEXT, PRIMARY KEY (source, url));
CREATE TABLE IF NOT EXISTS unresolved (source TEXT NOT NULL, url TEXT NOT NULL, title TEXT, reason TEXT,
    candidates TEXT, raw BLOB, content_type TEXT, seen_at TEXT, PRIMARY KEY (source, url));
CREATE TABLE IF NOT EXISTS study_versions (
    nct_id TEXT NOT NULL, version INTEGER NOT NULL, version_date TEXT NOT NULL, overall_status TEXT,
    content_hash TEXT NOT NULL, record TEXT NOT NULL, raw BLOB, url TEXT, fetched_at TEXT, run_id INTEGER,
    PRIMARY KEY (nct_id, version));
CREATE TABLE IF NOT EXISTS version_changes (
    nct_id TEXT NOT NULL, version INTEGER NOT NULL, version_date TEXT NOT NULL,
    field TEXT NOT NULL, old TEXT, new TEXT, PRIMARY KEY (nct_id, version, field));
CREATE INDEX IF NOT EXISTS version_changes_field ON version_changes (field, nct_id);
CREATE TABLE IF NOT EXISTS history_queue (nct_id TEXT PRIMARY KEY, queued_at TEXT NOT NULL, run_id INTEGER);
CREATE TABLE IF NOT EXISTS sponsor_organisations (
    name TEXT PRIMARY KEY, sponsor_key TEXT NOT NULL, organisation TEXT NOT NULL, parent TEXT,
    curated INTEGER NOT NULL DEFAULT 0, updated_at TEXT);
CREATE INDEX IF NOT EXISTS sponsor_organisations_key ON sponsor_organisations (sponsor_key);
CREATE INDEX IF NOT EXISTS sponsor_organisations_organisation ON sponsor_organisations (organisation);
"""
