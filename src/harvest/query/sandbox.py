"""SQL from someone not trusted with the file (an LLM agent's, through ``harvest mcp``): one read-only statement,
at most so many rows, stopped after so many seconds.

Read-only is the store's doing, not a filter on the SQL's text: the connection is ``Store(readonly=True)``
(SQLite's read-only mode, ``query_only``, and an authorizer refusing ATTACH and PRAGMAs that set something).
Here the statement gets its time cap (SQLite's progress handler interrupts it), its row cap (a row past the cap
is read only to say there were more) and a cap on the length of any one value it builds.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from harvest.core.errors import QueryError
from harvest.store.sql import refuses_writes

MAX_VALUE_BYTES = 16 * 1024 * 1024  # no string or blob built larger (randomblob(1e9) is refused, not allocated)
_STEPS = 1000  # virtual-machine steps between two looks at the clock


@dataclass
class Answer:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    more: bool  # rows past the cap were left out


def run(conn: sqlite3.Connection, sql: str, *, max_rows: int, seconds: float) -> Answer:
    """Run ``sql`` on a read-only connection within the caps; a refusal or an error is a one-line ``QueryError``."""
    deadline = time.monotonic() + seconds
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), _STEPS)
    try:
        cursor = conn.execute(sql)
        if cursor.description is None:
            raise QueryError("the statement returns no rows (only SELECT and WITH ... SELECT read)")
        rows = cursor.fetchmany(max_rows + 1)
        return Answer([d[0] for d in cursor.description], rows[:max_rows], len(rows) > max_rows)
    except sqlite3.Error as exc:
        raise QueryError(_message(exc, seconds)) from None
    except (ValueError, OverflowError) as exc:
        raise QueryError(f"bad query: {exc}") from None
    finally:
        conn.set_progress_handler(None, 0)


def _message(exc: sqlite3.Error, seconds: float) -> str:
    text = str(exc)
    if refuses_writes(exc):
        return "the file is open read-only: a statement cannot write, set a PRAGMA, ATTACH or VACUUM"
    if "interrupted" in text:
        return f"the query ran longer than {seconds:g} s and was stopped (narrow it, or add a LIMIT)"
    if "one statement at a time" in text:
        return "one statement at a time, please"
    return f"SQL error: {text}"
