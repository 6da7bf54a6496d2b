"""The command line as a Unix tool: pipes, options in any place, one JSON document, refused settings, and
files that are not what `--db` promises. Every test runs `python -m harvest` as a real process."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harvest.core.records import SourceRecord
from harvest.core.schema import Study
from harvest.sources.base import Batch
from harvest.store.database import Store
from tests.conftest import ROOT, apply

NCTS = ["NCT00000001", "NCT00000002", "NCT00000003"]
FETCHED = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
# Each study carries 100 KB of text, so `show` and `export` of them fill a pipe's buffer (64 KB on Linux).
LONG_TEXT = "word " * 20_000
MANY_ROWS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) SELECT i FROM n"


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three mirror records, written as a run writes them."""
    db = tmp_path_factory.mktemp("unix") / "harvest.db"
    store = Store(db)
    for nct in NCTS:
        url = f"https://veeva.example/study/{nct}"
        study = Study(
            nct_id=nct,
            brief_title=f"Trial {nct}",
            detailed_description=LONG_TEXT,
            provenance={"source": "veeva", "url": url, "fetched_at": FETCHED},
        )
        record = SourceRecord("veeva", f"/study/{nct}", url, study, b"<html></html>", "text/html")
        apply(store, Batch(records=[record]), source="veeva", run_id=None)
    store.close()
    return db


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVEST_")}
    env.update(extra or {})
    return env


def harvest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harvest", *args],
        env=_env(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# -- 8. pipes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["query", MANY_ROWS],
        ["query", MANY_ROWS, "--csv"],
        ["query", MANY_ROWS, "--table"],
        ["show", *NCTS],
        ["export", "--format", "jsonl"],
        ["export", "--format", "csv"],
    ],
    ids=["query-json", "query-csv", "query-table", "show", "export-jsonl", "export-csv"],
)
def test_a_reader_that_leaves_early_ends_the_command_quietly(small_db: Path, args: list[str]) -> None:
    """`harvest query … | head -1`: the reader takes one line and closes the pipe; harvest stops, exit 0, silent."""
    process = subprocess.Popen(
        [sys.executable, "-m", "harvest", "--db", str(small_db), *args],
        env=_env(),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 0, stderr
    assert first and stderr == ""
