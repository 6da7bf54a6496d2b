"""``runs`` (one row per command that fetched or re-parsed) and ``harvest_state`` (per source: the watermark
of the last completed run, and the cursor that resumes an unfinished one)."""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import TYPE_CHECKING, Any

from harvest.core.dates import utcnow

if TYPE_CHECKING:
    from harvest.store.handle import Handle


class Runs:
    """Reads and writes of ``runs`` and ``harvest_state``."""

    def __init__(self, store: Handle) -> None:
        self._store = store
        self._conn = store.conn

    def start(self, source: str, command: str, mode: str, since: str | None = None) -> int:
        with self._store.transaction():
            cursor = self._conn.execute(
                "INSERT INTO runs (source, command, mode, since, started_at, outcome, pid) VALUES (?,?,?,?,?,?,?)",
                (source, command, mode, since, utcnow(), "running", os.getpid()),
            )
        return int(cursor.lastrowid or 0)

    def finish(
        self,
        run_id: int,
        *,
        outcome: str,
        counts: dict[str, Any],
        error: str | None = None,
        watermark: str | None = None,
    ) -> None:
        started = self._conn.execute("SELECT started_at FROM runs WHERE id = ?", (run_id,)).fetchone()
        finished = utcnow()
        duration = None
        if started:
            start = dt.datetime.fromisoformat(started[0].replace("Z", "+00:00"))
            duration = round((dt.datetime.now(dt.UTC) - start).total_seconds(), 3)
        values = dict(
            counts, outcome=outcome, error=error, watermark=watermark, finished_at=finished, duration_s=duration
        )
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._store.transaction():
            self._conn.execute(f"UPDATE runs SET {sets} WHERE id = ?", [*values.values(), run_id])

    def mark_abandoned(self) -> int:
        """Runs left 'running' by a killed process are marked 'killed' (the lock proves no one else is running)."""
        with self._store.transaction():
            cursor = self._conn.execute(
                "UPDATE runs SET outcome = 'killed', error = 'process died before the run finished' "
                "WHERE outcome = 'running'"
            )
        return cursor.rowcount

    def last(self, limit: int = 20, source: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM runs"
        params: list[Any] = []
        if source:
            # A one-off fetch names every source it used ("ctgov,veeva"); a reparse of all sources says "all".
            sql += " WHERE source = 'all' OR instr(',' || source || ',', ',' || ? || ',') > 0"
            params.append(source)
        cursor = self._conn.execute(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def state(self, source: str) -> dict[str, Any]:
        row = self._conn.execute(
            "SELECT watermark, cursor, cursor_run_id FROM harvest_state WHERE source = ?", (source,)
        ).fetchone()
        if not row:
            return {"watermark": None, "cursor": None, "cursor_run_id": None}
        return {"watermark": row[0], "cursor": json.loads(row[1]) if row[1] else None, "cursor_run_id": row[2]}

    def set_cursor(self, source: str, cursor: dict[str, Any] | None, run_id: int | None) -> None:
        self._conn.execute(
            "INSERT INTO harvest_state (source, cursor, cursor_run_id, updated_at) VALUES (?,?,?,?) "
            "ON CONFLICT(source) DO UPDATE SET cursor=excluded.cursor, cursor_run_id=excluded.cursor_run_id, "
            "updated_at=excluded.updated_at",
            (source, json.dumps(cursor) if cursor else None, run_id if cursor else None, utcnow()),
        )

    def set_watermark(self, source: str, watermark: str) -> None:
        with self._store.transaction():
            self._conn.execute(
                "INSERT INTO harvest_state (source, watermark, updated_at) VALUES (?,?,?) "
                "ON CONFLICT(source) DO UPDATE SET watermark=excluded.watermark, cursor=NULL, "
                "cursor_run_id=NULL, updated_at=excluded.updated_at",
                (source, watermark, utcnow()),
            )

    def meta(self, key: str) -> str | None:
        """A ``harvest_meta`` value (bookkeeping about the file itself), or None."""
        row = self._conn.execute("SELECT value FROM harvest_meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a ``harvest_meta`` value (in the caller's transaction)."""
        self._conn.execute("INSERT OR REPLACE INTO harvest_meta (key, value) VALUES (?, ?)", [key, value])

    def unset_meta(self, key: str) -> None:
        """Remove a ``harvest_meta`` value (in the caller's transaction)."""
        self._conn.execute("DELETE FROM harvest_meta WHERE key = ?", [key])

    def forget_meta(self, key: str) -> None:
        with self._store.transaction():
            self.unset_meta(key)
