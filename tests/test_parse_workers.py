"""Parsing in worker processes while the run writes (HARVEST_WORKERS, ``pipeline.parsing``) makes the same file as
parsing in the run's own process, records the same changes, and resumes the same after kill -9, which leaves no
fork server or worker behind.

The registry is the replay server over 96 studies built from the real records of fixtures/ctgov: each of the 24
renumbered four times as new NCT numbers (as bench/ctgov_server.py builds its synthetic registry), so that a page
holds enough studies to be sent to the workers (``parsing.MIN_SENT``).
"""

from __future__ import annotations

import copy
import json
import signal
from pathlib import Path
from typing import Any

import pytest

from harvest.pipeline.parsing import MIN_SENT
from harvest.testing import CtgovSite, ReplayServer, base_url_env
from harvest.testing.processes import descendants
from tests.conftest import TEST_ENV, content, rows, run_harvest_process, scalar
from tests.test_resilience import _count_if_any, wait_for

COPIES = 4
PAGE = 40


def built_site(max_page_size: int = 1000) -> CtgovSite:
    """Every fixture study four times over, under NCT numbers no fixture uses (NCT9…)."""
    real = CtgovSite.from_dir()
    site = CtgovSite(max_page_size=max_page_size)
    for copy_number in range(COPIES):
        for index, study in enumerate(sorted(real.studies.values(), key=_nct)):
            built = copy.deepcopy(study)
            ident = built["protocolSection"]["identificationModule"]
            ident["nctId"] = f"NCT9{copy_number:03d}{index:04d}"
            ident.pop("nctIdAliases", None)  # an alias shared by four studies would be nonsense
            site.put(built)
    return site


def _nct(study: dict[str, Any]) -> str:
    return study["protocolSection"]["identificationModule"]["nctId"]


def env_for(server: ReplayServer, db: Path, workers: int) -> dict[str, str]:
    return {**TEST_ENV, **base_url_env({"ctgov": server}), "HARVEST_DB": str(db), "HARVEST_WORKERS": str(workers)}


def harvest(server: ReplayServer, db: Path, workers: int, *args: str) -> str:
    done = run_harvest_process(env_for(server, db, workers), "-v", "run", *args)
    _, stderr = done.communicate(timeout=120)
    assert done.returncode == 0, stderr
    return stderr


def _changes(db: Path) -> list[tuple[Any, ...]]:
    return rows(db, "SELECT nct_id, field, old, new FROM changes ORDER BY nct_id, field")


@pytest.mark.slow
def test_workers_make_the_same_file_and_the_same_changes_as_parsing_here(tmp_path: Path) -> None:
    site = built_site()
    assert len(site.studies) == 96 >= 2 * MIN_SENT
    with ReplayServer(site) as server:
        here, there = tmp_path / "here.db", tmp_path / "workers.db"
        harvest(server, here, 0)
        log = harvest(server, there, 2)
        assert "parsing in 2 worker processes" in log
        assert content(there) == content(here)
        # A new release: 40 studies changed (their enrollment), every one restamped.
        site.version_holder = "2026-11-27"
        for nct in sorted(site.studies)[:40]:
            changed = copy.deepcopy(site.studies[nct])
            changed["protocolSection"]["designModule"]["enrollmentInfo"]["count"] = 4321
            site.put(changed)
        harvest(server, here, 0, "--full")
        harvest(server, there, 2, "--full")
        assert content(there) == content(here)
        assert len(_changes(there)) == 40 and _changes(there) == _changes(here)
        assert scalar(there, "SELECT changed, unchanged FROM runs ORDER BY id DESC LIMIT 1") == 40


@pytest.mark.slow
def test_kill_9_while_workers_parse_then_the_run_resumes_to_the_same_file(tmp_path: Path) -> None:
    server = ReplayServer(built_site(max_page_size=PAGE)).start()
    try:
        reference = tmp_path / "reference.db"
        harvest(server, reference, 0)
        server.add_fault("delay", r"/api/v2/studies\?", seconds=0.5, times=-1)
        killed = tmp_path / "killed.db"
        process = run_harvest_process(env_for(server, killed, 2), "run")
        wait_for(lambda: _count_if_any(killed) >= PAGE, timeout=60)  # the first page committed
        helpers = descendants(process.pid)
        assert len(helpers) >= 3  # the fork server and its two workers (and multiprocessing's resource tracker)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in helpers), timeout=10)  # none left behind
        assert rows(killed, "SELECT outcome FROM runs") == [("running",)]
        partial = scalar(killed, "SELECT count(*) FROM studies")
        position = json.loads(scalar(killed, "SELECT cursor FROM harvest_state"))["source_cursor"]
        assert partial == position["page"] * PAGE < 96  # whole pages, each committed with its cursor
        log = harvest(server, killed, 2)
        assert "[resume] OK" in log
        assert content(killed) == content(reference)
    finally:
        server.stop()
