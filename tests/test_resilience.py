"""Nightly runs that survive anything: kill -9 and resume, the lock, sanity checks, disk errors, cron output."""

from __future__ import annotations

import copy
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harvest.testing import CtgovSite, ReplayServer, base_url_env
from tests.conftest import ROOT, TEST_ENV, Cli, content, load_study, rows, run_harvest_process, scalar

N = 24


def slow_paged_server(page_size: int = 3, delay: float = 0.25) -> ReplayServer:
    site = CtgovSite.from_dir(max_page_size=page_size)
    server = ReplayServer(site).start()
    server.add_fault("delay", r"/api/v2/studies\?", seconds=delay, times=-1)
    return server


def process_env(server: ReplayServer, db: Path) -> dict[str, str]:
    return {**TEST_ENV, **base_url_env({"ctgov": server}), "HARVEST_DB": str(db), "HARVEST_TIMEOUT": "5"}


def _count_if_any(db: Path) -> int:
    try:
        return int(scalar(db, "SELECT count(*) FROM studies") or 0)
    except sqlite3.Error:  # not created yet, or its tables not yet
        return 0


def wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.parametrize("kill_after_pages", [2, 6])
def test_kill_9_mid_run_then_rerun_gives_the_same_database(tmp_path: Path, kill_after_pages: int) -> None:
    page_size = 3
    server = slow_paged_server(page_size)
    try:
        reference = tmp_path / "reference.db"
        done = run_harvest_process(process_env(server, reference), "run")
        assert done.wait(60) == 0, done.stderr.read() if done.stderr else ""

        killed_db = tmp_path / "killed.db"
        server.requests.clear()
        proc = run_harvest_process(process_env(server, killed_db), "run")
        wait_for(lambda: sum(r.startswith("/api/v2/studies?") for r in server.requests) >= kill_after_pages)
        # The next page is requested while this one is stored: wait until the pages before it are committed.
        wait_for(lambda: _count_if_any(killed_db) >= (kill_after_pages - 1) * page_size)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert rows(killed_db, "SELECT outcome FROM runs") == [("running",)]
        partial = scalar(killed_db, "SELECT count(*) FROM studies")
        assert 0 < partial < N
        # What the runner saved to resume from: CT.gov's position after the last committed page (its page token,
        # the page's number, the query), wrapped with how the run was asked for.
        saved = json.loads(scalar(killed_db, "SELECT cursor FROM harvest_state"))
        assert (saved["full"], saved["since"]) == (True, None)
        position = saved["source_cursor"]
        token = position["page_token"]
        assert isinstance(token, str) and token
        assert position["page"] * page_size == partial and position["total"] == N  # each page's studies committed

        server.requests.clear()
        resumed = run_harvest_process(process_env(server, killed_db), "run")
        assert resumed.wait(60) == 0
        stderr = resumed.stderr.read() if resumed.stderr else ""
        assert "[resume] OK" in stderr
        list_requests = [r for r in server.requests if r.startswith("/api/v2/studies?")]
        assert f"pageToken={token}" in list_requests[0]  # picked up where it stopped, not from the start
        assert rows(killed_db, "SELECT outcome, mode FROM runs ORDER BY id") == [("killed", "full"), ("ok", "resume")]
        assert scalar(killed_db, "SELECT cursor FROM harvest_state") is None
        assert content(killed_db) == content(reference)
    finally:
        server.stop()


@pytest.mark.slow
def test_second_run_exits_3_and_a_dead_runs_lock_is_taken_over(tmp_path: Path) -> None:
    server = slow_paged_server(delay=0.5)
    db = tmp_path / "h.db"
    try:
        first = run_harvest_process(process_env(server, db), "run")
        wait_for(lambda: any(r.startswith("/api/v2/studies?") for r in server.requests))
        second = subprocess.run(
            [sys.executable, "-m", "harvest", "run"],
            env={**os.environ, **process_env(server, db)},
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=30,
        )
        assert second.returncode == 3
        assert second.stderr.startswith("harvest: another run holds the lock since 20")
        assert f"pid {first.pid}" in second.stderr
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        server.clear_faults()
        third = subprocess.run(
            [sys.executable, "-m", "harvest", "-v", "run"],
            env={**os.environ, **process_env(server, db)},
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert third.returncode == 0, third.stderr
        assert f"took over a stale lock left by pid {first.pid}" in third.stderr
        assert scalar(db, "SELECT count(*) FROM studies") == N
    finally:
        server.stop()


def test_run_where_most_records_fail_is_not_applied(cli: Cli, db_path: Path, ctgov_site: CtgovSite) -> None:
    assert cli("run").exit_code == 0
    before = content(db_path)
    for nct in list(ctgov_site.studies)[:20]:
        broken = copy.deepcopy(ctgov_site.studies[nct])
        # a record without a usable NCT number cannot be stored (a bad value elsewhere is only left out)
        broken["protocolSection"]["identificationModule"]["nctId"] = nct.replace("NCT", "NTC")
        ctgov_site.studies[nct] = broken  # served in its place
    result = cli("run", "--full")
    assert result.exit_code == 3, result.stderr
    assert "20 of 24 records failed to parse; batch not applied" in result.stderr
    assert content(db_path) == before
    assert rows(db_path, "SELECT outcome FROM runs ORDER BY id") == [("ok",), ("failed",)]


def test_full_run_returning_zero_studies_fails(cli: Cli, db_path: Path, ctgov_site: CtgovSite) -> None:
    for nct in list(ctgov_site.studies):
        ctgov_site.remove(nct)
    result = cli("run")
    assert result.exit_code == 3
    assert "returned zero studies on a full run" in result.stderr
    assert scalar(db_path, "SELECT watermark FROM harvest_state") is None
    assert rows(db_path, "SELECT outcome FROM runs") == [("failed",)]


def test_much_emptier_record_is_refused_and_quarantined(cli: Cli, db_path: Path, ctgov_site: CtgovSite) -> None:
    assert cli("run").exit_code == 0
    before = rows(db_path, "SELECT * FROM studies WHERE nct_id = 'NCT03418623'")
    gutted = copy.deepcopy(load_study("NCT03418623"))
    keep = {"identificationModule", "statusModule"}
    gutted["protocolSection"] = {k: v for k, v in gutted["protocolSection"].items() if k in keep}
    ctgov_site.put(gutted)
    result = cli("run", "--full")
    assert result.exit_code == 1
    assert "failed ctgov" in result.stderr and "would lose" in result.stderr
    assert rows(db_path, "SELECT * FROM studies WHERE nct_id = 'NCT03418623'") == before
    assert rows(db_path, "SELECT url, error_type FROM quarantine") == [
        (f"{cli.env['HARVEST_CTGOV_URL']}/studies/NCT03418623", "_Degraded")
    ]


def test_missing_directory_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    result = cli("--db", str(tmp_path / "no" / "such" / "dir.db"), "run")
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1 and "does not exist" in result.stderr


@pytest.mark.slow
def test_disk_full_mid_run_is_surfaced_and_loses_nothing(tmp_path: Path, ctgov_server: ReplayServer) -> None:
    db = tmp_path / "h.db"
    env = {**os.environ, **process_env(ctgov_server, db)}
    ok = subprocess.run(
        [sys.executable, "-m", "harvest", "fetch", "NCT03418623"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    before = rows(db, "SELECT * FROM studies")

    def small_disk() -> None:  # the file-size limit makes every write past 256 KB fail, as a full disk does
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))

    full = subprocess.run(
        [sys.executable, "-m", "harvest", "run"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        preexec_fn=small_disk,
    )
    assert full.returncode == 3
    # One line: the store's DatabaseUnavailable, with SQLite's own words for the failed write.
    assert full.stderr == f"harvest: cannot write {db}: disk I/O error\n"
    assert rows(db, "SELECT * FROM studies") == before


@pytest.mark.slow
@pytest.mark.parametrize("args", [["fetch", "NCT02513394"], ["history", "NCT02210780"]], ids=["fetch", "history"])
def test_a_command_that_dies_of_a_full_disk_records_why(
    tmp_path: Path, ctgov_server: ReplayServer, args: list[str]
) -> None:
    """Issue 24, item 11: a fetch or history that died of a full disk left its `runs` row 'running', and the
    next command marked it 'killed', as if the process had died: the reason was known, and is kept."""
    db = tmp_path / "h.db"
    env = {**os.environ, **process_env(ctgov_server, db)}
    ok = subprocess.run([sys.executable, "-m", "harvest", "fetch", "NCT03418623"], env=env, capture_output=True,
                        text=True, cwd=ROOT, timeout=60)  # fmt: skip
    assert ok.returncode == 0, ok.stderr

    def small_disk() -> None:  # the file-size limit makes every write past 256 KB fail, as a full disk does
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))

    full = subprocess.run([sys.executable, "-m", "harvest", *args], env=env, capture_output=True, text=True,
                          cwd=ROOT, timeout=60, preexec_fn=small_disk)  # fmt: skip
    assert full.returncode == 3, full.stderr
    assert full.stderr.splitlines()[-1] == f"harvest: cannot write {db}: disk I/O error"
    listed = subprocess.run([sys.executable, "-m", "harvest", "runs", "--json"], env=env, capture_output=True,
                            text=True, cwd=ROOT, timeout=60)  # fmt: skip
    last = json.loads(listed.stdout.splitlines()[0])
    assert (last["command"], last["outcome"]) == (args[0], "failed")
    assert last["error"] == f"cannot write {db}: disk I/O error"


def test_quiet_prints_nothing_on_success_and_the_summary_on_failure(cli: Cli, ctgov_server: ReplayServer) -> None:
    ok = cli("--quiet", "run")
    assert ok.exit_code == 0 and ok.stderr == "" and ok.stdout == ""
    ctgov_server.add_fault("status", r"/api/v2/studies\?", status=500, times=-1)
    failed = cli("--quiet", "run", "--full")
    assert failed.exit_code == 3
    assert failed.stderr.startswith("harvest run ctgov [full] FAILED")


def test_log_json_emits_one_json_object_per_line(cli: Cli, ctgov_server: ReplayServer) -> None:
    ctgov_server.add_fault("status", r"/api/v2/studies\?", status=503, times=1)
    result = cli("--log-json", "-v", "run")
    assert result.exit_code == 0
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert any("retrying" in e.get("message", "") for e in events)
    summary = events[-1]
    assert summary["event"] == "summary" and summary["outcome"] == "ok"
    assert (summary["new"], summary["retries"]) == (N, 1)


def test_mirror_whose_sitemap_lists_no_study_pages_fails_the_run(tmp_path: Path) -> None:
    from harvest.testing import StaticSite

    site_dir = tmp_path / "site"
    site_dir.mkdir()
    (site_dir / "sitemap.xml").write_text(
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>https://ctv.veeva.com/about</loc></url></urlset>"
    )
    (site_dir / "routes.json").write_text(
        json.dumps({"/sitemap.xml": {"file": "sitemap.xml", "content_type": "application/xml"}})
    )
    db = tmp_path / "h.db"
    with ReplayServer(StaticSite(site_dir, origin="https://ctv.veeva.com")) as server:
        result = Cli({**TEST_ENV, "HARVEST_VEEVA_URL": server.url, "HARVEST_VEEVA_RPS": "0", "HARVEST_DB": str(db)})(
            "run", "--source", "veeva"
        )
    assert result.exit_code == 3
    assert "lists no study pages; nothing applied" in result.stderr
    assert rows(db, "SELECT source, outcome FROM runs") == [("veeva", "failed")]
    assert scalar(db, "SELECT watermark FROM harvest_state") is None


def test_a_resumed_run_keeps_the_watermark_of_the_run_it_completes(tmp_path: Path) -> None:
    import httpx

    site = CtgovSite.from_dir(max_page_size=10)
    with ReplayServer(site) as server:
        env = {**TEST_ENV, **base_url_env({"ctgov": server}), "HARVEST_DB": str(tmp_path / "h.db")}
        params = {"format": "json", "pageSize": "1000", "countTotal": "true"}
        first = httpx.get(f"{server.url}/api/v2/studies", params=params).json()
        # A run killed after its first page on 1 November left this behind; it is resumed weeks later.
        cursor = {
            "source_cursor": {"params": params, "page_token": first["nextPageToken"], "page": 1, "total": 24},
            "full": True,
            "since": None,
            "began": "2026-11-01",
        }
        db = tmp_path / "h.db"
        conn = sqlite3.connect(db)
        from harvest.store.tables import SCHEMA_SQL

        conn.executescript(SCHEMA_SQL)
        conn.execute("INSERT INTO harvest_state (source, cursor) VALUES ('ctgov', ?)", (json.dumps(cursor),))
        conn.commit()
        conn.close()
        result = Cli(env)("run")
    assert result.exit_code == 0, result.output
    assert "[resume] OK: 14 fetched" in result.stderr  # pages 2 and 3 only
    # studies updated since 1 November (minus the overlap) will be asked for again next time
    assert scalar(db, "SELECT watermark FROM harvest_state") == "2026-11-01"
