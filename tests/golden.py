"""The golden dump: every fixture source harvested through the replay server, every table dumped as sorted text.

A restructuring must leave the file harvest writes byte for byte the same; ``tests/test_golden.py`` compares a
fresh dump with ``tests/golden/fixtures.dump``. What depends on the clock or the machine is left out or
normalised: timestamps, durations, run ids and pids, a run's since date (a watermark), when a page was found
gone, a page's Last-Modified (the replay server takes it from the fixture file's mtime), the replay server's
ports, and the fetch time inside stored records. Raw payloads are dumped as their SHA-256 (decompressed).

A deliberate change to what harvest stores updates the file, in the same commit, with
``python -m tests.golden`` (and the diff says what changed).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

from zstandard import ZstdError

from harvest.store.compression import decompress
from harvest.testing import base_url_env, default_sites, serve_fixtures

GOLDEN = Path(__file__).resolve().parent / "golden" / "fixtures.dump"
ROOT = Path(__file__).resolve().parents[1]

# Columns whose values come from the clock or the process, not from what the sources said.
CLOCK = re.compile(
    r"(_at|^fetched_at|^started_at|^finished_at|^duration_s|^pid|^watermark|^since|^run_id|^cursor_run_id|^changed_at"
    r"|_since|^last_modified)$"
)
# Views judged as of today (date('now')): their rows change with the calendar, so only their schema is dumped.
AS_OF_TODAY = {"results_compliance", "sponsor_compliance"}
_PORT = re.compile(r"(127\.0\.0\.1|localhost):\d+")
_FETCHED = re.compile(r'"fetched_at":"[^"]*"')

# What the harvest does, in order: every source once (the registry first), the registry again (nothing new), and
# an offline re-parse of everything.
COMMANDS = (
    ("run", "--source", "ctgov"),
    ("run", "--source", "veeva"),
    ("run", "--source", "inclinicaltrials"),
    ("run", "--source", "ichgcp"),
    ("run", "--source", "ctgov"),
    ("reparse",),
)


def harvest_fixtures(db: Path) -> list[int]:
    """Run ``COMMANDS`` as a user would (``python -m harvest``) against the replay server; their exit codes."""
    servers = serve_fixtures(default_sites())
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HARVEST_")}
        env.update(base_url_env(servers), HARVEST_DB=str(db), HARVEST_BACKOFF="0.01", HARVEST_RETRIES="1")
        codes = []
        for args in COMMANDS:
            done = subprocess.run(
                [sys.executable, "-m", "harvest", "--quiet", *args], env=env, cwd=ROOT, check=False, capture_output=True
            )
            codes.append(done.returncode)
        return codes
    finally:
        for server in servers.values():
            server.stop()


def _value(column: str, value: Any) -> str:
    if isinstance(value, bytes):
        with contextlib.suppress(zlib.error, ZstdError):  # not compressed: dumped as it is
            value = decompress(value)
        return "sha256:" + hashlib.sha256(value).hexdigest()
    if isinstance(value, str):
        value = _FETCHED.sub('"fetched_at":"-"', _PORT.sub(r"\1:PORT", value))
    return json.dumps(value, ensure_ascii=False)


def dump(db: Path) -> str:
    """Every table and view of the file, rows sorted, one line per row, clock columns left out."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        names = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' "
                "AND name NOT LIKE 'studies_fts_%' ORDER BY name"
            )
        ]
        out = []
        for name in names:
            if name in AS_OF_TODAY:
                out.append(f"## {name} (as of today: rows left out)")
                continue
            cursor = conn.execute(f'SELECT * FROM "{name}"')
            columns = [d[0] for d in cursor.description]
            keep = [i for i, column in enumerate(columns) if not CLOCK.search(column) and column != "id"]
            lines = sorted(
                "\t".join(f"{columns[i]}={_value(columns[i], row[i])}" for i in keep) for row in cursor.fetchall()
            )
            out.append(f"## {name} ({len(lines)} rows)")
            out.extend(lines)
        schema = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name"
        ).fetchall()
        out.append("## schema")
        out.extend(f"{kind} {name}: {' '.join(sql.split())}" for kind, name, sql in schema)
        out.append(f"## user_version {conn.execute('PRAGMA user_version').fetchone()[0]}")
        return "\n".join(out) + "\n"
    finally:
        conn.close()


def fresh_dump(folder: Path) -> tuple[list[int], str]:
    db = folder / "golden.db"
    codes = harvest_fixtures(db)
    return codes, dump(db)


if __name__ == "__main__":  # python -m tests.golden: write tests/golden/fixtures.dump anew
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        codes, text = fresh_dump(Path(folder))
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(text, encoding="utf-8")
    print(f"exit codes {codes}; wrote {GOLDEN} ({len(text.splitlines()):,} lines)")
