"""`harvest publish`: the file copied into a real PostgreSQL server, table by table equal to the file.

The server is the session's own (``conftest.postgres``: Debian's binaries, initdb'd into /tmp); every test
publishes into a fresh database of it. "Equal" is ``pg_helpers.differences``: every table and view of the file
against its copy, row for row, PostgreSQL's dates, flags, lists and JSON read back as the file writes them.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from harvest.store.tables import PAYLOADS_KEY
from harvest.testing import CtgovSite, ReplayServer
from tests.conftest import Cli, load_study, rows
from tests.pg_helpers import PostgresServer, connect, differences, published_columns
from tests.query_helpers import assert_one_line_error, writable_copy
from tests.query_helpers import cli as harvest_cli

REMOVED = "NCT03418623"  # real records (fixtures/ctgov/studies), as tests/test_removals.py uses them
MERGED, INTO = "NCT06171568", "NCT03475563"
EDITED = "NCT04207047"


def publish(db: Path, url: str, *args: str) -> str:
    """`harvest publish URL` on the file; its summary line (stderr).

    The file's times are to the second and a publish sends what was written at or after its position (a write
    in the same second may have come after the snapshot), so a second goes by first: between a night and the
    publish after it, as in real life, a write of that night is not in the same second as the position."""
    time.sleep(1.05)
    result = harvest_cli(db, "publish", url, *args)
    assert result.exit_code == 0, result.output
    return result.stderr.strip().splitlines()[-1]


def sent(summary: str) -> tuple[int, int]:
    """(trials sent, trials removed) from the summary line."""
    words = summary.split(": ", 1)[1].split(", ")
    return int(words[0].split()[0].replace(",", "")), int(words[1].split()[0].replace(",", ""))


def test_the_first_publish_copies_every_table_and_view_with_postgresql_types(
    published_demo: Any, demo_file: Path
) -> None:
    pg = published_demo
    assert differences(demo_file, pg) == {}
    schemas = dict(pg.execute("SELECT table_name, table_schema FROM information_schema.tables").fetchall())
    assert schemas["studies"] == schemas["study_overview"] == schemas["results_compliance"] == "ctgov"
    assert schemas["runs"] == schemas["pages"] == schemas["harvest_meta"] == "harvest"
    studies = published_columns(pg, "ctgov", "studies")
    assert {name: studies[name] for name in ("first_posted", "start_date", "healthy_volunteers", "phases",
            "provenance", "updated_at", "enrollment", "latitude" if "latitude" in studies else "enrollment")} == {
        "first_posted": "date",  # the registry posts on a day
        "start_date": "text",  # may be known to the month or year: text, with start_date_type beside it
        "healthy_volunteers": "boolean",
        "phases": "ARRAY",
        "provenance": "jsonb",
        "updated_at": "timestamp with time zone",
        "enrollment": "bigint",
    }  # fmt: skip
    assert "raw" not in published_columns(pg, "ctgov", "source_records")  # payloads stay in the file
    assert published_columns(pg, "ctgov", "locations")["latitude"] == "double precision"
    assert published_columns(pg, "ctgov", "results_compliance")["due_date"] == "date"
    # the tables of AACT's shape, sponsors and watches (an empty table is published with its types too)
    typed = {
        ("pending_results", "event_date"): "date",  # the API's format "date"
        ("submissions", "release_date"): "date",
        ("submissions", "unrelease_date_unknown"): "boolean",
        ("calculated_values", "nlm_download_date"): "date",  # NULL in the file: typed as AACT types it
        ("reported_events", "default_vocab"): "text",
        ("sponsor_organisations", "curated"): "boolean",
        ("watches", "created_at"): "timestamp with time zone",
        ("watches", "nct_ids"): "ARRAY",
        ("watches", "filters"): "jsonb",
        ("watch_entries", "detail"): "jsonb",
        ("watch_matches", "state"): "jsonb",
    }
    assert {key: published_columns(pg, "ctgov", key[0])[key[1]] for key in typed} == typed


def test_the_copy_answers_sql_as_the_file_does(published_demo: Any, demo_file: Path) -> None:
    """What PostgreSQL users write (= ANY on a list, a boolean as a condition, date arithmetic) gives the file's
    answers to the same questions asked in SQLite."""
    pg = published_demo
    phase2 = pg.execute("SELECT nct_id FROM studies WHERE 'PHASE2' = ANY(phases) ORDER BY 1").fetchall()
    assert phase2 == rows(demo_file, "SELECT DISTINCT nct_id FROM study_phases WHERE phase = 'PHASE2' ORDER BY 1")
    assert phase2, "the fixtures hold phase 2 trials"
    healthy = pg.execute("SELECT count(*) FROM studies WHERE healthy_volunteers").fetchone()
    assert healthy == rows(demo_file, "SELECT count(*) FROM studies WHERE healthy_volunteers = 1")[0]
    days = pg.execute(
        "SELECT nct_id, results_first_posted - results_first_submitted FROM studies "
        "WHERE results_first_posted IS NOT NULL ORDER BY 1"
    ).fetchall()
    assert days and days == rows(
        demo_file,
        "SELECT nct_id, CAST(julianday(results_first_posted) - julianday(results_first_submitted) AS INTEGER) "
        "FROM studies WHERE results_first_posted IS NOT NULL ORDER BY 1",
    )


def test_a_second_night_sends_only_what_changed_and_the_copy_equals_the_file(
    cli: Cli, ctgov_site: CtgovSite, ctgov_server: ReplayServer, db_path: Path, postgres: PostgresServer
) -> None:
    url = postgres.database()
    assert cli("run").exit_code == 0
    first = publish(db_path, url)
    assert "(full," in first and sent(first) == (24, 0)
    # a watch added after the publish: its rows name trials no night touches, and a report later writes more
    assert cli("watch", "add", "big", "--where", "enrollment >= 100").exit_code == 0
    (db_path.parent / "night1").mkdir()
    night_one = writable_copy(db_path, db_path.parent / "night1")

    edited = copy.deepcopy(load_study(EDITED))
    edited["protocolSection"]["statusModule"]["overallStatus"] = "TERMINATED"
    edited["protocolSection"]["statusModule"]["whyStopped"] = "Sponsor decision"
    ctgov_site.put(edited)
    ctgov_site.remove(REMOVED)
    ctgov_site.merge(MERGED, INTO)
    assert cli("run", "--full").exit_code == 0
    assert cli("watch", "report").exit_code == 0

    second = publish(db_path, url)
    assert "(incremental," in second
    pg = connect(url)
    assert differences(db_path, pg) == {}
    # the edited trial, the one marked removed, the one merged (gone from the file) and the one it went into
    assert sent(second) == (3, 1), second
    assert trials_that_differ(night_one, db_path) == {EDITED, REMOVED, MERGED, INTO}
    assert pg.execute("SELECT overall_status, removed_on FROM studies WHERE nct_id = %s", [EDITED]).fetchone() == (
        "TERMINATED",
        None,
    )
    assert pg.execute("SELECT count(*) FROM studies WHERE nct_id = %s", [MERGED]).fetchone() == (0,)
    assert pg.execute("SELECT nct_id FROM nct_aliases WHERE alias = %s", [MERGED]).fetchone() == (INTO,)
    # the watch's tables are copied whole: rows of trials no night touched, and the report's entries
    watched = rows(db_path, "SELECT count(*), count(DISTINCT nct_id) FROM watch_matches")[0]
    assert (
        watched[1] > 4
        and pg.execute("SELECT count(*), count(DISTINCT nct_id) FROM watch_matches").fetchone() == watched
    )
    assert pg.execute("SELECT count(*) FROM watch_entries").fetchone()[0] > 0

    third = publish(db_path, url)  # nothing happened since: nothing sent, the copy still equal
    assert sent(third) == (0, 0) and differences(db_path, pg) == {}
    position = json.loads(rows(db_path, "SELECT value FROM harvest_meta WHERE key LIKE 'published %'")[0][0])
    assert pg.execute("SELECT position FROM harvest.publish_state").fetchone() == (position["position"],)


def trials_that_differ(before: Path, after: Path) -> set[str]:
    """Trials with a row that differs between two files, in any table keyed by nct_id (found without harvest's
    own bookkeeping of what it touched)."""
    found: set[str] = set()
    for db in (before, after):
        other = after if db == before else before
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        conn.execute(f"ATTACH 'file:{other}?mode=ro' AS other")
        try:
            tables = [
                name
                for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                if "nct_id" in {row[1] for row in conn.execute(f'PRAGMA table_info("{name}")')}
                and name not in ("pages", "history_queue", "listed_studies")
            ]
            for table in tables:
                found |= {n for (n,) in conn.execute(f"SELECT nct_id FROM (SELECT * FROM main.{table} EXCEPT "
                                                     f"SELECT * FROM other.{table})")}  # fmt: skip
        finally:
            conn.close()
    return found


def test_a_record_history_fetched_later_is_published(cli: Cli, db_path: Path, postgres: PostgresServer) -> None:
    url = postgres.database()
    assert cli("run").exit_code == 0
    publish(db_path, url)
    assert cli("history", "NCT02210780").exit_code == 0
    assert sent(publish(db_path, url)) == (1, 0)
    pg = connect(url)
    assert differences(db_path, pg) == {}
    assert pg.execute("SELECT count(*) FROM study_versions WHERE nct_id = 'NCT02210780'").fetchone()[0] > 1


def test_a_reparse_sends_every_trial_again(cli: Cli, db_path: Path, postgres: PostgresServer) -> None:
    """A reparse rewrites versions with their old fetch times: after one, the next publish sends everything."""
    url = postgres.database()
    assert cli("run").exit_code == 0
    publish(db_path, url)
    assert cli("reparse").exit_code == 0
    assert sent(publish(db_path, url)) == (24, 0)
    assert differences(db_path, connect(url)) == {}


def test_the_json_an_older_file_kept_beside_its_payloads_is_dropped_from_the_copy_too(
    cli: Cli, db_path: Path, postgres: PostgresServer
) -> None:
    """A file from before schema 8 keeps each registry record's JSON beside its payload until the next run drops
    it, in place and without a time of its own: the publish after that run sends every trial again."""
    url = postgres.database()
    assert cli("run").exit_code == 0
    with sqlite3.connect(db_path) as conn:  # what an upgrade from schema 7 leaves (tests/test_upgrade.py)
        conn.execute("UPDATE source_records SET record = json_object('nct_id', nct_id) WHERE source = 'ctgov'")
        conn.execute("INSERT INTO harvest_meta (key, value) VALUES (?, '7')", [PAYLOADS_KEY])
    conn.close()
    publish(db_path, url)
    assert connect(url).execute("SELECT count(*) FROM ctgov.source_records WHERE record IS NOT NULL").fetchone()[0]
    assert cli("run").exit_code == 0
    assert rows(db_path, "SELECT count(*) FROM source_records WHERE source = 'ctgov' AND record IS NOT NULL") == [(0,)]
    assert sent(publish(db_path, url)) == (24, 0)
    assert differences(db_path, connect(url)) == {}


def test_a_value_that_does_not_fit_widens_its_column_and_is_kept(
    demo_file: Path, tmp_path: Path, postgres: PostgresServer
) -> None:
    """A posting date known only to the month (a mirror could show one) turns the column of days into text,
    and every value stays what the file says."""
    db = writable_copy(demo_file, tmp_path)
    url = postgres.database()
    publish(db, url)
    assert published_columns(connect(url), "ctgov", "studies")["first_posted"] == "date"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE studies SET first_posted = '2020-02', "
            "updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+1 hour') WHERE nct_id = 'NCT04268537'"
        )
    conn.close()
    summary = publish(db, url)
    assert "widened ctgov.studies.first_posted day -> text" in summary
    pg = connect(url)
    assert published_columns(pg, "ctgov", "studies")["first_posted"] == "text"
    assert differences(db, pg) == {}


def test_publishing_another_file_replaces_the_first_ones_trials(
    demo_file: Path, cli: Cli, db_path: Path, tmp_path: Path, postgres: PostgresServer
) -> None:
    url = postgres.database()
    (tmp_path / "demo").mkdir()
    publish(writable_copy(demo_file, tmp_path / "demo"), url)
    assert cli("run").exit_code == 0  # the registry's 24 trials only, in another file
    summary = publish(db_path, url)
    assert "(full," in summary
    pg = connect(url)
    assert differences(db_path, pg) == {}
    assert pg.execute("SELECT count(*) FROM studies").fetchone() == (24,)


def test_bad_urls_and_unreachable_servers_are_one_line_errors(demo_file: Path, tmp_path: Path) -> None:
    db = writable_copy(demo_file, tmp_path)
    assert_one_line_error(harvest_cli(db, "publish", "mysql://host/db"), 2, "not a PostgreSQL URL")
    closed = harvest_cli(db, "publish", "postgresql://harvest@127.0.0.1:9/trials")
    assert_one_line_error(closed, 3, "cannot connect to postgresql://127.0.0.1:9/trials")
    missing = harvest_cli(tmp_path / "none.db", "publish", "postgresql://harvest@127.0.0.1:9/trials")
    assert_one_line_error(missing, 3, "does not exist")


@pytest.mark.parametrize("option", ["--set-search-path"])
def test_set_search_path_makes_aact_names_work_without_a_prefix(
    demo_file: Path, tmp_path: Path, postgres: PostgresServer, option: str
) -> None:
    import psycopg

    url = postgres.database()
    publish(writable_copy(demo_file, tmp_path), url, option)
    with psycopg.connect(url) as plain:  # a new session, no options: the database's default search_path
        assert (
            plain.execute("SELECT count(*) FROM studies").fetchone()[0]
            == rows(demo_file, "SELECT count(*) FROM studies")[0][0]
        )


def test_one_publish_at_a_time_writes_to_a_database(demo_file: Path, tmp_path: Path, postgres: PostgresServer) -> None:
    """Another session holding the publish lock (as a running publish does): refused, exit 3, nothing written."""
    import psycopg

    url = postgres.database()
    db = writable_copy(demo_file, tmp_path)
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtext('harvest publish'))")
        refused = harvest_cli(db, "publish", url)
        assert_one_line_error(refused, 3, "another harvest publish is writing to postgresql://127.0.0.1")
        assert other.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'ctgov'").fetchone() == (0,)
