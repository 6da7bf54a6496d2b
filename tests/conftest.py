"""Shared test fixtures: a replay server on 127.0.0.1, a database path, and a CLI runner wired to both.

Nothing here touches the internet: every source's base URL points at the replay server.
"""

from __future__ import annotations

import datetime as dt
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
from harvest.core.config import Settings
from harvest.core.schema import ROW_TABLES, Study
from harvest.net.http import HttpClient
from harvest.pipeline.apply import ApplyResult, BatchWriter
from harvest.pipeline.payloads import payload_parser, sources_for_reading
from harvest.sources.base import Batch, Page
from harvest.sources.ctgov import ClinicalTrialsGov
from harvest.store.database import Store
from harvest.testing import FIXTURES, CtgovSite, ReplayServer, base_url_env
from tests.pg_helpers import PostgresServer, pg_bin
from tests.pg_helpers import connect as pg_connect
from tests.query_helpers import demo_harvest, writable_copy

ROOT = Path(__file__).resolve().parents[1]
STUDIES = FIXTURES / "ctgov" / "studies"

# Fast, deterministic networking for tests: no rate limit, tiny backoff, short timeouts.
TEST_ENV = {"HARVEST_BACKOFF": "0.01", "HARVEST_BACKOFF_CAP": "0.05", "HARVEST_TIMEOUT": "2", "HARVEST_RETRIES": "3"}


# When every recorded page was fetched (Page.fetched_at), for tests that build pages themselves.
FETCHED = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
# The default source precedence, spelled out: merge and cross-site tests pass it explicitly.
PRECEDENCE = ["ctgov", "veeva", "inclinicaltrials", "ichgcp"]


def load_study(nct: str) -> dict[str, Any]:
    """A real API v2 record from fixtures/ctgov/studies (``NCT….json``); never a reconstructed one."""
    return json.loads((STUDIES / f"{nct}.json").read_text(encoding="utf-8"))


def load_reconstructed_study(nct: str) -> dict[str, Any]:
    """A hand-built record (``NCT….reconstructed.json``, see fixtures/ctgov/RECONSTRUCTED.md), for the trials
    whose mirror pages are fixtures: only there does a test compare a mirror's page with the registry's record."""
    return json.loads((STUDIES / f"{nct}.reconstructed.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def source() -> ClinicalTrialsGov:
    """The ClinicalTrials.gov source, with default settings (nothing read from the caller's environment)."""
    settings = Settings(env={})
    return ClinicalTrialsGov(HttpClient(settings.http()), settings)


def open_store(path: Path | str) -> Store:
    """The file opened for writing as a command opens it: reading back the records kept as their payload alone."""
    return Store(path, parse_payload=payload_parser(sources_for_reading(Settings(env={}))))


def parse_ctgov(source: ClinicalTrialsGov, raw: dict[str, Any]) -> Study:
    """Parse one API v2 study object as if fetched from /studies/X."""
    return source.parse(Page("https://clinicaltrials.gov/api/v2/studies/X", json.dumps(raw).encode(), FETCHED))


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


# Content columns: everything but the clock (when a row was fetched or written differs between two runs).
CONTENT = {
    "studies": "SELECT * FROM studies ORDER BY nct_id",
    "conditions": "SELECT * FROM conditions ORDER BY nct_id, position",
    "keywords": "SELECT * FROM keywords ORDER BY nct_id, position",
    "interventions": "SELECT * FROM interventions ORDER BY nct_id, position",
    "locations": "SELECT * FROM locations ORDER BY nct_id, position",
    "sponsors": "SELECT * FROM sponsors ORDER BY nct_id, position",
    "contacts": "SELECT * FROM contacts ORDER BY nct_id, position",
    "identifiers": "SELECT * FROM identifiers ORDER BY nct_id, position",
    "source_records": "SELECT source, record_key, url, nct_id, content_hash, raw FROM source_records ORDER BY 1, 2",
    "conflicts": "SELECT * FROM conflicts ORDER BY 1, 2, 3",
    "changes": "SELECT count(*) FROM changes",
    **{table: f"SELECT * FROM {table} ORDER BY nct_id, position" for table in ROW_TABLES},
}
CLOCK_COLUMNS = {"first_seen_at", "updated_at", "created_at"}  # created_at: AACT's name for first_seen_at


def content(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """What the database holds, table by table, without the clock columns: equal for two equal harvests."""
    conn = sqlite3.connect(db)
    try:
        snapshot = {}
        for table, sql in CONTENT.items():
            cursor = conn.execute(sql)
            keep = [i for i, d in enumerate(cursor.description) if d[0] not in CLOCK_COLUMNS]
            snapshot[table] = [tuple(row[i] for i in keep) for row in cursor]
        return snapshot
    finally:
        conn.close()


def apply(store: Store, batch: Batch, *, source: str, run_id: int | None = None) -> ApplyResult:
    """Write one batch as a run does (records, merged studies, failures), merging in the default precedence."""
    return BatchWriter(store, PRECEDENCE).apply(batch, source=source, run_id=run_id)


# -- PostgreSQL (tests/pg_helpers.py): one server per session, a database per test ---------------------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the session's own (Debian's binaries, as the postgres user when run as root)."""
    bin_dir = pg_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql; .ci/run does)")
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'harvest[pg]'; make test does)")
    server = PostgresServer(bin_dir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The file `make demo` harvests from the fixtures (every source, and three record histories), built once per
    session; tests must not write to it (``writable_copy``)."""
    return demo_harvest(tmp_path_factory.mktemp("demo") / "harvest.db")


@pytest.fixture(scope="session")
def published_demo(demo_file: Path, publish_to_postgres: Callable[[Path], Any]) -> Any:
    """The demo file published to a fresh PostgreSQL database: a psycopg connection reading ctgov first."""
    return publish_to_postgres(demo_file)


@pytest.fixture(scope="session")
def publish_to_postgres(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[Path], Any]]:
    """``publish(path)``: a copy of the file at ``path`` published (`harvest publish`) to a fresh database; returns
    a psycopg connection to it reading ``ctgov`` (then ``harvest``) first, as AACT users' sessions do."""
    from harvest.publish.publisher import publish as publish_file

    opened: list[Any] = []

    def publish(path: Path) -> Any:
        copy = writable_copy(path, tmp_path_factory.mktemp("published"))
        url = postgres.database()
        publish_file(str(copy), url)
        conn = pg_connect(url)
        opened.append(conn)
        return conn

    yield publish
    for conn in opened:
        conn.close()
