"""Shared test fixtures: a replay server on 127.0.0.1, a database path, and a CLI runner wired to both.

Nothing here touches the internet: every source's base URL points at the replay server.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from harvest.cli import main
from harvest.config import Settings
from harvest.replay import FIXTURES, CtgovSite, ReplayServer, base_url_env
from harvest.runner import Harvester

ROOT = Path(__file__).resolve().parents[1]
STUDIES = FIXTURES / "ctgov" / "studies"

# Fast, deterministic networking for tests: no rate limit, tiny backoff, short timeouts.
TEST_ENV = {"HARVEST_BACKOFF": "0.01", "HARVEST_BACKOFF_CAP": "0.05", "HARVEST_TIMEOUT": "2", "HARVEST_RETRIES": "3"}


def load_study(nct: str) -> dict[str, Any]:
    path = STUDIES / f"{nct}.json"
    if not path.exists():
        path = STUDIES / f"{nct}.reconstructed.json"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def ctgov_site() -> CtgovSite:
    return CtgovSite.from_dir()


@pytest.fixture
def ctgov_server(ctgov_site: CtgovSite) -> Iterator[ReplayServer]:
    with ReplayServer(ctgov_site) as server:
        yield server


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "harvest.db"


@pytest.fixture
def env(ctgov_server: ReplayServer, db_path: Path) -> dict[str, str]:
    return {**TEST_ENV, **base_url_env({"ctgov": ctgov_server}), "HARVEST_DB": str(db_path)}


@pytest.fixture
def harvester(env: dict[str, str], db_path: Path) -> Iterator[Harvester]:
    h = Harvester(str(db_path), Settings(env=env))
    yield h
    h.close()


@dataclass
class Cli:
    env: dict[str, str]

    def __call__(self, *args: str) -> Result:
        runner = CliRunner()
        # Settings() reads os.environ; CliRunner's env= patches it for the duration of the call.
        clean = {k: None for k in os.environ if k.startswith("HARVEST_")}
        return runner.invoke(main, list(args), env={**clean, **self.env}, catch_exceptions=False)


@pytest.fixture
def cli(env: dict[str, str]) -> Cli:
    return Cli(env)


def run_harvest_process(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """Start `python -m harvest ...` as a real process (for kill -9 and lock tests)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HARVEST_")}
    full_env.update(env)
    return subprocess.Popen(
        [sys.executable, "-m", "harvest", *args],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def rows(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def scalar(db: Path, sql: str, params: tuple[Any, ...] = ()) -> Any:
    result = rows(db, sql, params)
    return result[0][0] if result else None


Rows = Callable[[str], list[tuple[Any, ...]]]
