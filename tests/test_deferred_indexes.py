"""A first load into an empty file sets the readers' indexes aside and builds them when it ends
(``store.deferred_indexes``): every index is there after the load, a load killed midway leaves the mark (and
``harvest stats`` says so), the run that resumes it builds them at its end, and any other run builds them first.

The registry is the replay server over the real records of fixtures/ctgov (``CtgovSite.from_dir``), and, for the
kill, the 96 renumbered copies of tests/test_parse_workers.py, slowed down so the run is killed after a page.
"""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import pytest

from harvest.store.deferred_indexes import DEFERRED, DEFERRED_KEY, KEPT
from harvest.store.views import INDEXES
from harvest.testing import ReplayServer
from tests.conftest import Cli, content, run_harvest_process, scalar
from tests.test_parse_workers import PAGE, built_site, env_for, harvest
from tests.test_resilience import _count_if_any, wait_for


def index_names(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    finally:
        conn.close()


def marked(db: Path) -> bool:
    return scalar(db, "SELECT count(*) FROM harvest_meta WHERE key = ?", (DEFERRED_KEY,)) == 1


def test_a_first_load_ends_with_every_index_and_no_mark(cli: Cli, db_path: Path) -> None:
    result = cli("-v", "run")
    assert result.exit_code == 0, result.output
    assert "the readers' indexes are built when it ends" in result.output
    assert f"built the {len(DEFERRED)} indexes set aside" in result.output
    assert set(INDEXES) <= index_names(db_path)
    assert not marked(db_path)
    # A trial found by condition is found through the index again (the plan says so, not the answer alone).
    conn = sqlite3.connect(db_path)
    plan = conn.execute("EXPLAIN QUERY PLAN SELECT nct_id FROM conditions WHERE name = 'Asthma'").fetchall()
    conn.close()
    assert any("conditions_name" in str(step) for step in plan)
    # The next run finds a file that is not empty: nothing is set aside.
    again = cli("-v", "run", "--full")
    assert again.exit_code == 0, again.output
    assert "set aside" not in again.output and "built when it ends" not in again.output
    assert set(INDEXES) <= index_names(db_path)


def _killed_first_load(tmp_path: Path, server: ReplayServer) -> Path:
    server.add_fault("delay", r"/api/v2/studies\?", seconds=0.5, times=-1)
    killed = tmp_path / "killed.db"
    process = run_harvest_process(env_for(server, killed, 2), "run")
    wait_for(lambda: _count_if_any(killed) >= PAGE, timeout=60)  # the first page committed
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    server.clear_faults()
    assert marked(killed)
    stats = run_harvest_process(env_for(server, killed, 2), "stats")
    said, _ = stats.communicate(timeout=60)
    assert stats.returncode == 0
    assert "indexes: set aside since" in said and "by a first load that has not finished" in said
    assert not index_names(killed) & set(DEFERRED)
    assert index_names(killed) >= KEPT  # what the load's own statements read stays
    return killed


@pytest.mark.slow
@pytest.mark.parametrize("then", ["resume", "another run"])
def test_a_killed_first_load_leaves_the_mark_and_the_next_run_builds_them(tmp_path: Path, then: str) -> None:
    server = ReplayServer(built_site(max_page_size=PAGE)).start()
    try:
        reference = tmp_path / "reference.db"
        harvest(server, reference, 0)
        killed = _killed_first_load(tmp_path, server)
        if then == "resume":
            log = harvest(server, killed, 2)
            assert "[resume] OK" in log
            assert "built when it ends" not in log  # the load goes on without them, as it began
        else:
            log = harvest(server, killed, 2, "--full")  # --full discards the position: not a resumption
            assert log.index("built the") < log.index("[full]")  # before anything is fetched
        assert f"built the {len(DEFERRED)} indexes set aside" in log
        assert set(INDEXES) <= index_names(killed)
        assert not marked(killed)
        stats = run_harvest_process(env_for(server, killed, 2), "stats", "--json")
        said, _ = stats.communicate(timeout=60)
        assert json.loads(said)["indexes_set_aside_since"] is None
        assert content(killed) == content(reference)
    finally:
        server.stop()
