"""A real PostgreSQL server for the tests, started from Debian's binaries, and the file compared with a copy of it.

The server is initdb'd into a fresh folder under /tmp and listens on 127.0.0.1 (a free port) and on a unix
socket in that folder; PostgreSQL refuses to run as root, so as root (here and in CI) it runs as the
``postgres`` system user (``runuser``). ``conftest.py`` starts one per test session; each test gets a database of
its own. Without the binaries (``apt-get install postgresql``; ``.ci/run`` does it) the tests that need it skip.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from harvest.store.kinds import PAYLOADS


def pg_bin() -> Path | None:
    """Debian's PostgreSQL binaries (the newest version installed), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """One throw-away cluster: ``start()``, ``database()`` for a fresh empty database, ``stop()``."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="harvest-pg-", dir="/tmp"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> PostgresServer:
        if self.as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "harvest", "--auth=trust", "--no-locale", "-E", "UTF8",
                  "--no-sync")  # fmt: skip
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=40"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"), "-w", "start")
        return self

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://harvest@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)


def connect(url: str) -> Any:
    """A connection reading the published schemas first, as an AACT user's session does."""
    import psycopg

    return psycopg.connect(url, autocommit=True, options="-c search_path=ctgov,harvest,public")


# -- comparing a copy with the file ----------------------------------------------------------------------------


def sqlite_values(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """PostgreSQL's values as SQLite gives them: dates and timestamps as the file's ISO text, flags as 0/1,
    lists and JSON as JSON values (compare with ``json.loads`` of the file's text)."""
    return [tuple(_as_sqlite(value) for value in row) for row in rows]


def _as_sqlite(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _file_value(value: Any, parsed: bool) -> Any:
    if parsed and isinstance(value, str):
        return json.loads(value)
    return value


# The file's identity and publish positions: harvest_meta rows a publish writes into the file (the position after
# the copy is made, so the copy holds the one before).
PUBLISH_MARKS = "key = 'file_id' OR key LIKE 'published %'"


def file_rows(db: Path, relation: str, columns: Sequence[str], parsed: Sequence[str] = ()) -> list[tuple[Any, ...]]:
    """A relation's rows in the file, the ``parsed`` columns as JSON values, sorted."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        names = ", ".join(f'"{c}"' for c in columns)
        where = f" WHERE NOT ({PUBLISH_MARKS})" if relation == "harvest_meta" else ""
        rows = conn.execute(f'SELECT {names} FROM "{relation}"{where}').fetchall()
    finally:
        conn.close()
    flags = [c in parsed for c in columns]
    return sorted((tuple(_file_value(v, p) for v, p in zip(row, flags, strict=True)) for row in rows), key=repr)


def copy_rows(pg: Any, schema: str, relation: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    names = ", ".join(f'"{c}"' for c in columns)
    where = f" WHERE NOT ({PUBLISH_MARKS})" if relation == "harvest_meta" else ""
    rows = pg.execute(f'SELECT {names} FROM "{schema}"."{relation}"{where}').fetchall()
    return sorted(sqlite_values(rows), key=repr)


def published_columns(pg: Any, schema: str, relation: str) -> dict[str, str]:
    """column -> PostgreSQL type of a published table."""
    rows = pg.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
        "ORDER BY ordinal_position",
        [schema, relation],
    ).fetchall()
    return dict(rows)


def differences(db: Path, pg: Any) -> dict[str, str]:
    """Every table and view of the file against its copy: {relation: what differs}; {} when all are equal."""
    from harvest.publish.catalog import relations

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        found = relations(conn)
        columns = {
            r.name: [row[1] for row in conn.execute(f'PRAGMA table_xinfo("{r.name}")') if row[1] not in PAYLOADS]
            for r in found
        }
    finally:
        conn.close()
    out: dict[str, str] = {}
    for relation in found:
        types = published_columns(pg, relation.schema, relation.name)
        if list(types) != columns[relation.name]:
            out[relation.name] = f"columns {list(types)} != {columns[relation.name]}"
            continue
        parsed = [c for c, kind in types.items() if kind in ("ARRAY", "jsonb")]
        mine = file_rows(db, relation.name, columns[relation.name], parsed)
        theirs = copy_rows(pg, relation.schema, relation.name, columns[relation.name])
        if mine != theirs:
            extra = [row for row in theirs if row not in mine][:2]
            lacking = [row for row in mine if row not in theirs][:2]
            out[relation.name] = f"{len(mine)} rows in the file, {len(theirs)} in the copy; " \
                                 f"copy only: {extra}; file only: {lacking}"  # fmt: skip
    return out
