"""Helpers for the query tests: a real harvest of the fixtures, file fingerprints, and the CLI."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from harvest.cli import main
from harvest.config import Settings
from harvest.replay import CtgovSite, ReplayServer, base_url_env
from harvest.runner import Harvester, RunReport

SEPSIS_TRIALS = {"NCT04067674", "NCT02803346"}  # "Septic shock" in both titles, in no other fixture


def harvest(db_path: Path, site: CtgovSite | None = None, *, full: bool = False) -> RunReport:
    """Run `harvest run` for ClinicalTrials.gov against the replay server over ``site`` (default: the fixtures)."""
    with ReplayServer(site or CtgovSite.from_dir()) as server:
        settings = Settings(env={**base_url_env({"ctgov": server}), "HARVEST_BACKOFF": "0.01"})
        harvester = Harvester(str(db_path), settings)
        try:
            report = harvester.run("ctgov", full=full)
        finally:
            harvester.close()
    assert report.outcome == "ok", report.summary()
    return report


def harvested_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file harvested from the fixtures, named harvest.db (Datasette serves it as /harvest).

    Test modules build one in a module-scoped fixture; tests must not write to it (see ``writable_copy``).
    """
    path = tmp_path_factory.mktemp("harvest") / "harvest.db"
    harvest(path)
    return path


def writable_copy(source: Path, folder: Path) -> Path:
    """A private copy of a harvested file, for tests that change it."""
    target = folder / "harvest.db"
    with sqlite3.connect(source) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    shutil.copy(source, target)
    return target


def fingerprint(path: Path) -> tuple[str, int, int]:
    """The file's bytes (hash), size and mtime: a command that claims not to write must leave all three."""
    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data), path.stat().st_mtime_ns


def counts(path: Path, tables: Sequence[str] = ("studies", "conditions", "locations", "source_records")) -> dict:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        conn.close()


def query(path: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def cli(path: Path, *args: str) -> Result:
    """`harvest --db PATH ARGS...`, in process, stdout and stderr kept apart."""
    return CliRunner().invoke(main, ["--db", str(path), *args], catch_exceptions=False)


def assert_one_line_error(result: Result, code: int, *fragments: str) -> None:
    """A rejected command: the exit code, one line on stderr naming the problem, nothing on stdout."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("harvest: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert result.stdout == ""


def unchanged(path: Path) -> Callable[[], None]:
    """Snapshot the file now; the returned check asserts its bytes, mtime and row counts are the same."""
    before, rows = fingerprint(path), counts(path)

    def check() -> None:
        assert fingerprint(path) == before
        assert counts(path) == rows

    return check
