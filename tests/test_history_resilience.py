"""Record history survives kill -9: what was committed stays, and the next command fetches only what is missing."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from harvest.testing import CtgovSite, ReplayServer
from tests.conftest import rows, run_harvest_process, scalar
from tests.test_resilience import process_env, wait_for

TRIALS = ("NCT02210780", "NCT01126879", "NCT00763412")
VERSION_URL = r"/api/int/studies/NCT\d{8}/history/\d+"


def history_content(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The history tables without the clock and the run (when and by which command a version was fetched)."""
    return {
        "study_versions": rows(
            db,
            "SELECT nct_id, version, version_date, overall_status, content_hash, raw, url FROM study_versions "
            "ORDER BY nct_id, version",
        ),
        "version_changes": rows(db, "SELECT * FROM version_changes ORDER BY nct_id, version, field"),
        "history_queue": rows(db, "SELECT nct_id FROM history_queue"),
    }


def _versions_if_any(db: Path) -> int:
    try:
        return int(scalar(db, "SELECT count(*) FROM study_versions") or 0)
    except sqlite3.Error:
        return 0


def _finish(proc: Any) -> str:
    assert proc.wait(60) == 0, proc.stderr.read() if proc.stderr else ""
    return proc.stderr.read() if proc.stderr else ""


@pytest.mark.slow
def test_kill_9_during_harvest_history_then_again_fetches_only_the_rest(tmp_path: Path) -> None:
    with ReplayServer(CtgovSite.from_dir()) as server:
        reference = tmp_path / "reference.db"
        _finish(run_harvest_process(process_env(server, reference), "history", *TRIALS))

        server.add_fault("delay", VERSION_URL, seconds=0.3, times=-1)
        db = tmp_path / "killed.db"
        proc = run_harvest_process(process_env(server, db), "history", *TRIALS)
        wait_for(lambda: _versions_if_any(db) >= 7)  # inside the second trial
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        kept = scalar(db, "SELECT count(*) FROM study_versions")
        assert 7 <= kept < 15
        assert rows(db, "SELECT command, outcome FROM runs") == [("history", "running")]

        server.clear_faults()
        server.requests.clear()
        stderr = _finish(run_harvest_process(process_env(server, db), "history", *TRIALS))
        assert f"{15 - kept} versions" in stderr
        version_requests = [r for r in server.requests if "/history/" in r]
        assert len(version_requests) == 15 - kept  # nothing fetched twice
        assert len([r for r in server.requests if r.endswith("?history=true")]) == 3
        assert rows(db, "SELECT outcome FROM runs ORDER BY id") == [("killed",), ("ok",)]
        assert history_content(db) == history_content(reference)


@pytest.mark.slow
def test_kill_9_during_the_history_of_a_run_leaves_the_trials_queued(tmp_path: Path) -> None:
    with ReplayServer(CtgovSite.from_dir()) as server:
        reference = tmp_path / "reference.db"
        _finish(run_harvest_process(process_env(server, reference), "run", "--history"))
        assert scalar(reference, "SELECT count(*) FROM study_versions") == 36

        server.add_fault("delay", VERSION_URL, seconds=0.15, times=-1)
        db = tmp_path / "killed.db"
        proc = run_harvest_process(process_env(server, db), "run", "--history")
        wait_for(lambda: _versions_if_any(db) >= 8)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert scalar(db, "SELECT count(*) FROM studies") == 24  # the batches were committed
        queued = scalar(db, "SELECT count(*) FROM history_queue")
        assert 0 < queued < 24

        server.clear_faults()
        server.requests.clear()
        _finish(run_harvest_process(process_env(server, db), "run", "--history"))
        # the killed run never finished, so this one is a full run again: every record is unchanged, nothing new
        # is queued, and the history of what the killed run left queued is fetched
        assert len([r for r in server.requests if r.endswith("?history=true")]) == queued
        assert history_content(db) == history_content(reference)
        assert scalar(db, "SELECT count(*) FROM history_queue") == 0
