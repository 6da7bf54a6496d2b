"""Looking for removed studies survives kill -9: a reconcile or a full run killed in its listing or in its asking
resumes where it stopped, asks nothing twice that it had settled, and marks what an unbroken one marks."""

from __future__ import annotations

import datetime as dt
import json
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from harvest.testing import CtgovSite, ReplayServer
from tests.conftest import rows, run_harvest_process, scalar
from tests.test_resilience import process_env, wait_for

GONE = ("NCT00517179", "NCT03418623", "NCT06714279")  # early, middle and last in NCT order
ID_PAGES = r"/api/v2/studies\?.*fields=NCTId"
ALONE = r"^/api/v2/studies/NCT\d{8}$"


def _finish(proc: Any) -> str:
    stderr = proc.communicate(timeout=60)[1]
    assert proc.returncode == 0, stderr
    return stderr


def _count(db: Path, sql: str) -> int:
    try:
        return int(scalar(db, sql) or 0)
    except sqlite3.Error:  # the column or table is not there yet
        return 0


def _night_1(server: ReplayServer, db: Path, site: CtgovSite) -> None:
    _finish(run_harvest_process(process_env(server, db), "run"))
    for nct in GONE:
        site.remove(nct)


def _marked(db: Path) -> list[tuple[str, str]]:
    return rows(db, "SELECT nct_id, removed_on FROM studies WHERE removed_on IS NOT NULL ORDER BY nct_id")


@pytest.mark.slow
def test_kill_9_during_the_listing_of_a_reconcile_resumes_from_its_page(tmp_path: Path) -> None:
    site = CtgovSite.from_dir(max_page_size=3)
    with ReplayServer(site) as server:
        db = tmp_path / "killed.db"
        _night_1(server, db, site)
        server.add_fault("delay", ID_PAGES, seconds=0.25, times=-1)
        proc = run_harvest_process(process_env(server, db), "reconcile")
        wait_for(lambda: _count(db, "SELECT count(*) FROM listed_studies") >= 9)  # three pages committed
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert rows(db, "SELECT command, outcome FROM runs ORDER BY id") == [("run", "ok"), ("reconcile", "running")]
        saved = json.loads(scalar(db, "SELECT cursor FROM harvest_state WHERE source = 'ctgov:reconcile'"))
        token = saved["source_cursor"]["page_token"]
        assert token and saved["began"] == dt.datetime.now(dt.UTC).date().isoformat()
        assert _marked(db) == []

        start = len(server.requests)
        stderr = _finish(run_harvest_process(process_env(server, db), "reconcile"))
        assert "harvest reconcile ctgov [resume] OK" in stderr and "3 removed" in stderr
        listing = [r for r in server.requests[start:] if "fields=NCTId" in r]
        assert f"pageToken={token}" in listing[0]  # picked up where it stopped, not from the start
        assert rows(db, "SELECT command, mode, outcome FROM runs ORDER BY id") == [
            ("run", "full", "ok"),
            ("reconcile", "full", "killed"),
            ("reconcile", "resume", "ok"),
        ]
        assert _marked(db) == [(nct, saved["began"]) for nct in GONE]
        assert scalar(db, "SELECT count(*) FROM listed_studies") == 0
        assert scalar(db, "SELECT cursor FROM harvest_state WHERE source = 'ctgov:reconcile'") is None


@pytest.mark.slow
@pytest.mark.parametrize("command", ["reconcile", "run"])
def test_kill_9_while_asking_for_the_missing_studies_asks_only_for_the_rest(tmp_path: Path, command: str) -> None:
    site = CtgovSite.from_dir()
    with ReplayServer(site) as server:
        db = tmp_path / "killed.db"
        _night_1(server, db, site)
        server.add_fault("delay", ALONE, seconds=0.4, times=-1)
        first = [command] if command == "reconcile" else ["run", "--full"]
        proc = run_harvest_process(process_env(server, db), *first)
        wait_for(lambda: _count(db, "SELECT count(*) FROM studies WHERE removed_on IS NOT NULL") >= 1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        settled = [nct for nct, _ in _marked(db)]
        assert settled and len(settled) < len(GONE)
        state = "ctgov:reconcile" if command == "reconcile" else "ctgov"
        assert json.loads(scalar(db, "SELECT cursor FROM harvest_state WHERE source = ?", (state,)))["sweep"] is True

        start = len(server.requests)
        stderr = _finish(run_harvest_process(process_env(server, db), command))  # a plain `run` resumes it too
        assert f"harvest {command} ctgov [resume] OK" in stderr
        assert not [r for r in server.requests[start:] if r.startswith("/api/v2/studies?")]  # no listing again
        asked = [r.rsplit("/", 1)[1] for r in server.requests[start:] if r.startswith("/api/v2/studies/")]
        assert asked == [nct for nct in GONE if nct not in settled]
        assert [nct for nct, _ in _marked(db)] == list(GONE)
        assert rows(db, "SELECT mode, outcome FROM runs WHERE id > 1 ORDER BY id") == [
            ("full", "killed"),
            ("resume", "ok"),
        ]
