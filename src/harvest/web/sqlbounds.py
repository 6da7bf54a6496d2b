"""What one SQL statement may allocate and compute on the connections `harvest serve` reads through.

Datasette's time limit (``sql_time_limit_ms``) is a progress handler, which SQLite calls between the steps of a
statement, never inside one; and one function call is one step. A huge ``zeroblob``, ``printf`` width or
``replace`` ran 23 s and took 5.9 GB from the SQL box, and three at once stalled every page. So, per connection:

- no string or blob longer than ``MAX_VALUE``: a statement building one fails at once with SQLite's own
  "string or blob too big" (the longest value a harvest file holds, a big trial's record, is a few MB);
- the memory of all of SQLite in the process is capped (``MAX_HEAP``): many such statements at once fail
  rather than take the machine;
- ``replace``, ``instr`` and ``trim`` (``ltrim``, ``rtrim``) compare every position of one argument with the
  other, so a single call on two long texts takes time in proportion to the product of their lengths (100,000
  characters trimmed of a set of 100,000: 23 s in one step). Those calls are refused, as "string or blob too
  big", past a budget no query over the file comes near; below it SQLite's own function computes the answer.
  ``printf`` (``format``) that stops at the length cap says so, instead of giving NULL.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any

MAX_VALUE = 64 * 1024 * 1024  # bytes: one string or blob
MAX_HEAP = 1024 * 1024 * 1024  # bytes: everything SQLite holds in the serving process
# Products of argument lengths, each about a tenth of a second in one step at worst (measured with SQLite
# 3.40: replace/instr compare some 10^11 characters a second, trim some 4·10^8).
SEARCH_BUDGET = 10**10
TRIM_BUDGET = 4 * 10**7

_builtin = threading.local()  # per thread: a connection of its own whose functions are SQLite's, not these


def _helper() -> sqlite3.Connection:
    conn = getattr(_builtin, "conn", None)
    if conn is None:
        conn = _builtin.conn = sqlite3.connect(":memory:")
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE)
    return conn


def _length(value: Any) -> int:
    return 0 if value is None else len(value) if isinstance(value, str | bytes) else len(str(value))


def _sqlite(name: str, args: tuple[Any, ...]) -> Any:
    """SQLite's own ``name(args)``; past the length cap an OverflowError, which sqlite3 reports as SQLite's
    "string or blob too big" (any other error would read "user-defined function raised exception")."""
    placeholders = ", ".join("?" * len(args))
    try:
        return _helper().execute(f"SELECT {name}({placeholders})", args).fetchone()[0]
    except sqlite3.DataError as exc:
        raise OverflowError(str(exc)) from None


def _guarded(name: str, budget: int) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        if len(args) > 1 and _length(args[0]) * max(_length(a) for a in args[1:2]) > budget:
            raise OverflowError(f"{name} over {_length(args[0]):,} by {_length(args[1]):,} characters")
        return _sqlite(name, args)

    return call


def _printf(*args: Any) -> Any:
    result = _sqlite("printf", args)
    if result is None and args and args[0] is not None:  # SQLite's printf gives NULL past the length cap
        raise OverflowError("printf result over the length cap")
    return result


def bound(conn: sqlite3.Connection) -> None:
    """Apply the caps above to one of serve's connections."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE)
    conn.execute(f"PRAGMA hard_heap_limit = {MAX_HEAP:d}")
    for name, budget, counts in (
        ("replace", SEARCH_BUDGET, (3,)),
        ("instr", SEARCH_BUDGET, (2,)),
        ("trim", TRIM_BUDGET, (1, 2)),
        ("ltrim", TRIM_BUDGET, (1, 2)),
        ("rtrim", TRIM_BUDGET, (1, 2)),
    ):
        for count in counts:
            conn.create_function(name, count, _guarded(name, budget), deterministic=True)
    for name in ("printf", "format"):
        conn.create_function(name, -1, _printf, deterministic=True)
