"""`harvest run --all`: every source in turn under one lock, a failing source not stopping the others, the exit
code the worst of them. Each test serves every fixture site on 127.0.0.1 and runs `python -m harvest` as cron does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harvest.testing import ReplayServer, base_url_env, default_sites, serve_fixtures
from tests.conftest import ROOT, TEST_ENV, rows, run_harvest_process, scalar
from tests.golden import dump
from tests.test_resilience import wait_for

SOURCES = ["ctgov", "veeva", "inclinicaltrials", "ichgcp"]  # the registry first, then the default precedence


@pytest.fixture
def servers() -> Iterator[dict[str, ReplayServer]]:
    served = serve_fixtures(default_sites())
    yield served
    for server in served.values():
        server.stop()


def harvest(servers: dict[str, ReplayServer], db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVEST_")}
    env.update({**TEST_ENV, **base_url_env(servers), "HARVEST_DB": str(db)})
    return subprocess.run(
        [sys.executable, "-m", "harvest", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def without_runs(text: str) -> str:
    """A dump without its ``runs`` section: one process's requests and bytes differ from four processes'
    (robots.txt of a host is read once per process)."""
    kept, skipping = [], False
    for line in text.splitlines():
        if line.startswith("## "):
            skipping = line.startswith("## runs ")
        if not skipping:
            kept.append(line)
    return "\n".join(kept)


RUN_FIELDS = "source, command, mode, outcome, fetched, new, changed, unchanged, failed, gone, unresolved, listed"


def test_run_all_writes_what_one_run_per_source_writes(servers: dict[str, ReplayServer], tmp_path: Path) -> None:
    one_by_one = tmp_path / "one-by-one.db"
    codes = [harvest(servers, one_by_one, "--quiet", "run", "--source", name).returncode for name in SOURCES]
    assert codes == [0, 1, 0, 0]  # veeva's fixtures hold two dead links and a page that lost its layout

    together = tmp_path / "together.db"
    done = harvest(servers, together, "run", "--all")
    assert done.returncode == 1, done.stderr  # the worst of them
    summaries = [line for line in done.stderr.splitlines() if line.startswith("harvest run ")]
    assert [line.split()[2] for line in summaries[:4]] == SOURCES  # one summary line per source, in turn
    assert summaries[-1] == "harvest run --all: ctgov OK, veeva PARTIAL, inclinicaltrials OK, ichgcp OK; exit 1"
    assert without_runs(dump(together)) == without_runs(dump(one_by_one))
    listing = f"SELECT {RUN_FIELDS} FROM runs ORDER BY id"
    assert rows(together, listing) == rows(one_by_one, listing)


def test_a_failing_source_does_not_stop_the_others_and_the_exit_code_is_the_worst(
    servers: dict[str, ReplayServer], tmp_path: Path
) -> None:
    db = tmp_path / "h.db"
    servers["veeva"].add_fault("status", r"^/sitemap", times=-1, status=503)  # veeva's sitemap is down tonight
    done = harvest(servers, db, "--quiet", "run", "--all")
    assert done.returncode == 3
    assert rows(db, "SELECT source, outcome FROM runs ORDER BY id") == [
        ("ctgov", "ok"),
        ("veeva", "failed"),
        ("inclinicaltrials", "ok"),
        ("ichgcp", "ok"),
    ]
    # --quiet: only what went wrong, and the line that says what the exit code is made of.
    lines = done.stderr.splitlines()
    assert len(lines) == 2, done.stderr
    assert lines[0].startswith("harvest run veeva [full] FAILED") and "HTTP 503 after 4 attempts" in lines[0]
    assert lines[1] == "harvest run --all: ctgov OK, veeva FAILED, inclinicaltrials OK, ichgcp OK; exit 3"
    assert scalar(db, "SELECT count(DISTINCT source) FROM source_records") == 3

    # For a log collector: one summary event per source, then one for the command.
    logged = [json.loads(line) for line in harvest(servers, db, "--log-json", "run", "--all").stderr.splitlines()]
    summaries = [event for event in logged if event.get("event") == "summary"]
    assert [event.get("source") for event in summaries] == [*SOURCES, None]
    assert summaries[-1]["outcomes"]["veeva"] == "failed" and summaries[-1]["exit"] == 3

    # The next night veeva is back; its failure last night cost it nothing.
    servers["veeva"].clear_faults()
    assert harvest(servers, db, "--quiet", "run", "--all").returncode == 1  # veeva's fixture trouble, new to it
    assert scalar(db, "SELECT count(DISTINCT source) FROM source_records") == 4


def test_each_source_takes_the_options_that_apply_to_it(servers: dict[str, ReplayServer], tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    assert harvest(servers, db, "--quiet", "run", "--all").returncode == 1
    done = harvest(servers, db, "run", "--all", "--full", "--max-pages", "1")  # not refused: each takes its own
    assert done.returncode == 0, done.stderr
    found = rows(db, "SELECT source, mode, fetched FROM runs WHERE id > 4 ORDER BY id")
    assert found[0] == ("ctgov", "full", 24)  # --full went to the registry, --max-pages did not
    assert [source for source, _, _ in found[1:]] == SOURCES[1:]
    assert all(fetched <= 1 for _, _, fetched in found[1:])  # --max-pages 1 bounds each mirror

    wrong = harvest(servers, db, "run", "--all", "--source", "veeva")
    assert wrong.returncode == 2 and "--all harvests every source; leave out --source" in wrong.stderr
    assert harvest(servers, db, "run", "--source", "veeva", "--full").returncode == 2  # alone, still refused


@pytest.mark.slow
def test_one_lock_covers_every_source(servers: dict[str, ReplayServer], tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    servers["ichgcp"].add_fault("delay", r"^/clinical-trials-registry/", seconds=1.0, times=-1)
    env = {**TEST_ENV, **base_url_env(servers), "HARVEST_DB": str(db)}
    proc = run_harvest_process(env, "run", "--all")
    try:
        # Between sources too: ctgov and veeva are done, ichgcp is under way, and the lock is still held.
        wait_for(lambda: _finished(db) >= 3)
        second = harvest(servers, db, "run", "--source", "ctgov")
        assert second.returncode == 3
        assert "another run holds the lock" in second.stderr and "harvest run --all" in second.stderr
    finally:
        assert proc.wait(120) == 1
    assert [row[0] for row in rows(db, "SELECT source FROM runs ORDER BY id")] == SOURCES


def _finished(db: Path) -> int:
    try:
        return int(scalar(db, "SELECT count(*) FROM runs WHERE outcome != 'running'") or 0)
    except Exception:  # the file is not there yet
        return 0
