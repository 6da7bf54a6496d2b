"""An open SQLite file and its transactions: what every part of the store is built on.

The parts (records, studies, runs, pages) take a handle rather than the ``Store`` façade, so that the
façade depends on its parts and never the other way round.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlite_utils import Database

from harvest.core.errors import DatabaseUnavailable


class Handle:
    """One open file: the sqlite-utils database, its connection, and a name for error messages."""

    def __init__(self, path: str, db: Database) -> None:
        self.path = path
        self.db = db
        self.conn = db.conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic write; a failed write (disk full, read-only file) is one line naming the file."""
        try:
            with self.db.atomic():
                yield
        except sqlite3.OperationalError as exc:
            raise DatabaseUnavailable(f"cannot write {self.path}: {exc}") from None
