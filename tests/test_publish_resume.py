"""A publish killed with SIGKILL in the middle of a batch, then run again: the database a complete publish gives.

The publish runs as its own process (`python -m harvest publish`, one trial per transaction). The test holds a row
the publisher must write next (in PostgreSQL, from another session), waits until the publisher is blocked on it,
with batches committed before and one batch half-written, and kills it. Nothing of the half-written batch is
seen: each trial in the database holds all its rows, as the file has them, or none.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from harvest.publish.catalog import relations
from harvest.store.kinds import PAYLOADS
from tests.conftest import run_harvest_process
from tests.pg_helpers import PostgresServer, connect, copy_rows, differences, file_rows
from tests.query_helpers import writable_copy
from tests.test_publish import publish

WAIT = 30.0


def wait_for(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.005)
    raise AssertionError(f"gave up waiting for {what}")


def blocked_publisher(watcher: Any) -> bool:
    row = watcher.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'harvest publish' AND wait_event_type = 'Lock'"
    ).fetchone()
    return bool(row[0])


def kill(process: Any) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=WAIT)
    assert process.returncode == -signal.SIGKILL


def trials_whole_or_absent(db: Path, pg: Any) -> tuple[set[str], set[str]]:
    """(trials the copy holds, trials it lacks); asserts each held trial has exactly the file's rows in every
    table and view refreshed by trial, and each lacking one has none."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    by_study = [r for r in relations(conn) if r.by_study]
    columns = {
        r.name: [row[1] for row in conn.execute(f'PRAGMA table_xinfo("{r.name}")') if row[1] not in PAYLOADS]
        for r in by_study
    }
    conn.close()
    held = {nct for (nct,) in pg.execute("SELECT nct_id FROM harvest.publish_studies")}
    everyone = {nct for (nct,) in sqlite3.connect(f"file:{db}?mode=ro", uri=True).execute("SELECT nct_id FROM studies")}
    for relation in by_study:
        names = columns[relation.name]
        parsed = [
            c for c, kind in pg.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s AND "
                "table_name = %s", [relation.schema, relation.name]).fetchall() if kind in ("ARRAY", "jsonb")
        ]  # fmt: skip
        at = names.index("nct_id")
        mine = [row for row in file_rows(db, relation.name, names, parsed) if row[at] in held]
        theirs = copy_rows(pg, relation.schema, relation.name, names)
        assert theirs == mine, relation.name
    return held, everyone - held


def test_a_first_publish_killed_mid_batch_resumes_to_the_database_one_publish_gives(
    demo_file: Path, tmp_path: Path, postgres: PostgresServer
) -> None:
    db = writable_copy(demo_file, tmp_path)
    url = postgres.database()
    process = run_harvest_process({"HARVEST_DB": str(db)}, "publish", url, "--batch", "1")
    watcher = connect(url)

    def first_batch_committed() -> bool:
        try:
            return bool(watcher.execute("SELECT pending_cursor FROM harvest.publish_state").fetchone())
        except psycopg.errors.UndefinedTable:
            return False

    wait_for(first_batch_committed, "the first batch")
    holder = psycopg.connect(url)  # holds the state row: the next batch cannot commit
    holder.execute("SELECT * FROM harvest.publish_state FOR UPDATE")
    wait_for(lambda: blocked_publisher(watcher), "the publisher to wait inside a batch")
    kill(process)
    holder.rollback()
    holder.close()

    held, lacking = trials_whole_or_absent(db, watcher)
    assert held and lacking, (held, lacking)  # killed half way: some trials sent, some not
    assert watcher.execute("SELECT position, pending_cursor FROM harvest.publish_state").fetchone() == (
        None,
        max(held),
    )

    summary = publish(db, url, "--batch", "1")
    assert "(full," in summary  # still the first publish: it has never completed
    assert f"{len(lacking)} trials sent" in summary  # only those the killed one had not sent
    assert differences(db, watcher) == {}
    assert_same_database(watcher, connect(one_go(db, tmp_path, postgres)))


def test_an_incremental_publish_killed_mid_batch_keeps_each_trial_old_or_new(
    demo_file: Path, tmp_path: Path, postgres: PostgresServer
) -> None:
    db = writable_copy(demo_file, tmp_path)
    url = postgres.database()
    publish(db, url)
    with sqlite3.connect(db) as conn:  # every trial changed since (a new title, written now)
        conn.execute(
            "UPDATE studies SET brief_title = brief_title || ' (revised)', "
            "updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
        )
    conn.close()
    time.sleep(1.05)  # the killed publish begins a second later: what it sent counts as sent as of then
    ncts = sorted(n for (n,) in sqlite3.connect(db).execute("SELECT nct_id FROM studies"))
    middle = ncts[len(ncts) // 2]
    watcher = connect(url)
    holder = psycopg.connect(url)
    holder.execute("SELECT 1 FROM ctgov.studies WHERE nct_id = %s FOR UPDATE", [middle])
    process = run_harvest_process({"HARVEST_DB": str(db)}, "publish", url, "--batch", "1")
    wait_for(lambda: blocked_publisher(watcher), "the publisher to reach the held trial")
    kill(process)
    holder.rollback()
    holder.close()

    titles = dict(watcher.execute("SELECT nct_id, brief_title FROM ctgov.studies").fetchall())
    revised = {nct for nct, title in titles.items() if title and title.endswith(" (revised)")}
    assert revised == {n for n in ncts if n < middle and titles[n]}  # NCT order: those before it, not it
    assert watcher.execute("SELECT pending_cursor FROM harvest.publish_state").fetchone() == (max(revised),)

    summary = publish(db, url, "--batch", "1")
    assert f"{len([n for n in ncts if n >= middle])} trials sent" in summary
    assert differences(db, watcher) == {}
    assert_same_database(watcher, connect(one_go(db, tmp_path, postgres)))


def one_go(db: Path, tmp_path: Path, postgres: PostgresServer) -> str:
    """The same file published to a fresh database in one uninterrupted publish; its URL."""
    folder = tmp_path / "one-go"
    folder.mkdir()
    url = postgres.database()
    publish(writable_copy(db, folder), url)
    return url


def assert_same_database(resumed: Any, whole: Any) -> None:
    """Both databases have the same tables, columns, types and rows (the publish state's times aside)."""
    listing = (
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema IN ('ctgov', 'harvest') ORDER BY 1, 2, ordinal_position"
    )
    assert resumed.execute(listing).fetchall() == whole.execute(listing).fetchall()
    tables = resumed.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('ctgov', 'harvest') "
        "AND table_name NOT IN ('publish_state', 'harvest_meta')"
    ).fetchall()
    assert len(tables) > 50
    for schema, table in tables:
        query = f'SELECT * FROM "{schema}"."{table}"'
        assert sorted(map(repr, resumed.execute(query))) == sorted(map(repr, whole.execute(query))), table
