"""The SQLite file: opening it (read-only for queries, read-write for runs), its transactions, and its parts.

The store writes the rows it is given and reads back what it holds; deciding what to write (what changed,
what a merge gives, what is worse than what is stored) is the pipeline's. Its verbs are grouped by what they
keep: ``records`` (what each source said), ``aliases``, ``studies`` (merged rows, their children, conflicts and
changes), ``runs`` (runs, cursor, watermark), ``pages`` (mirror pages, quarantine, unresolved pages),
``versions`` (the registry's past versions of trials, what each changed, the trials whose history is due),
``organisations`` (sponsor names as organisations, automatic and curated), ``removals`` (trials the
registry no longer shows, and what a full listing of it has listed), ``watches`` (saved searches and what
their reports have said) and ``indexes`` (the readers' indexes, set aside while a first load fills the file).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from harvest.core.errors import DatabaseUnavailable
from harvest.core.records import PayloadParser
from harvest.store import tables
from harvest.store.deferred_indexes import DeferredIndexes
from harvest.store.handle import Handle
from harvest.store.organisations import SponsorOrganisations
from harvest.store.pages import Pages
from harvest.store.records import Aliases, SourceRecords
from harvest.store.removals import Removals
from harvest.store.runs import Runs
from harvest.store.studies import Studies
from harvest.store.versions import StudyVersions
from harvest.store.watches import Watches

log = logging.getLogger("harvest.store")


class Store:
    """The harvest database. Open read-only for queries; read-write for runs."""

    def __init__(self, path: str | Path, *, readonly: bool = False, parse_payload: PayloadParser | None = None) -> None:
        """``parse_payload`` reads back the records kept as their payload alone (``store.records``)."""
        self.path = str(path)
        self.readonly = readonly
        self.immutable = False  # read as a snapshot: its folder will not take WAL mode's -shm file
        refuse_directory(self.path)
        try:
            if readonly:
                self.db, self.immutable = _open_readonly(self.path)
            else:
                self.db = _open_for_writing(self.path)
        except sqlite3.DatabaseError as exc:
            if exc.sqlite_errorcode == sqlite3.SQLITE_NOTADB:
                raise DatabaseUnavailable(f"{self.path} is not a harvest database") from None
            raise DatabaseUnavailable(f"cannot open {self.path}: {exc}") from None
        self.conn = self.db.conn
        handle = Handle(self.path, self.db)
        self.transaction = handle.transaction
        self.records = SourceRecords(handle, parse_payload)
        self.aliases = Aliases(handle)
        self.studies = Studies(handle, self.aliases)
        self.runs = Runs(handle)
        self.pages = Pages(handle)
        self.versions = StudyVersions(handle)
        self.organisations = SponsorOrganisations(handle)
        self.removals = Removals(handle)
        self.watches = Watches(handle)
        self.indexes = DeferredIndexes(handle, self.runs)

    def close(self) -> None:
        self.db.close()


def refuse_directory(path: str) -> None:
    """``--db`` naming a folder: say so (SQLite would say "disk I/O error"), before any file is created beside it."""
    if Path(path).is_dir():
        raise DatabaseUnavailable(f"{path} is a directory")


def refuse_foreign(path: str) -> None:
    """``--db`` naming another program's SQLite file (tables, none of them ``studies``), or a file that is not
    SQLite: refused before anything is written to it or beside it. A run would otherwise add harvest's tables
    to it and switch it to WAL. An empty file, or SQLite with no tables yet, is a new harvest file."""
    file = Path(path)
    if not file.is_file() or file.stat().st_size == 0:
        return
    try:
        conn = sqlite3.connect(file.resolve().as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error:
        return  # cannot look: opening it for writing says why
    try:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        if exc.sqlite_errorcode == sqlite3.SQLITE_NOTADB:
            raise DatabaseUnavailable(f"{path} is not a harvest database") from None
        return
    finally:
        conn.close()
    if tables and "studies" not in tables:
        raise DatabaseUnavailable(f"{path} is not a harvest database")


# What SQLite says when a WAL file's readers cannot create or open its -shm index: the folder is not writable
# (READONLY_DIRECTORY), or the file system is read-only (CANTOPEN).
_NO_WAL_INDEX = frozenset(
    {sqlite3.SQLITE_READONLY_DIRECTORY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY_CANTINIT}
)
PAGE_SIZE = 16384
_STUDIES = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'studies'"


def _open_readonly(path: str) -> tuple[Database, bool]:
    """The file opened read-only, and whether as an immutable snapshot.

    In WAL mode even a reader needs the ``-shm`` file beside the database, and creates it when it is missing.
    A reader who may read the file but not write its folder (or a read-only file system) would get "attempt
    to write a readonly database" from every read; such a file is opened ``immutable`` instead, saying so:
    SQLite then reads the file alone, without locks, so what a run writes meanwhile is not seen."""
    if not Path(path).exists():
        raise DatabaseUnavailable(f"{path} does not exist (run `harvest run` or `harvest fetch` first)")
    # as_uri() escapes what a URI would read as a query or fragment ("trials?v=1.db", "#", "%").
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
    immutable = False
    try:
        # A file that is not SQLite fails here (SQLITE_NOTADB); one that is SQLite but not ours has no studies.
        ours = conn.execute(_STUDIES).fetchone() is not None
    except sqlite3.OperationalError as exc:
        conn.close()
        if exc.sqlite_errorcode not in _NO_WAL_INDEX:
            raise
        log.warning(
            "%s: its WAL index (%s-shm) cannot be created or opened (%s): read as an immutable snapshot, "
            "so what a run is writing now is not seen",
            path,
            Path(path).name,
            exc,
        )
        conn = sqlite3.connect(uri + "&immutable=1", uri=True, check_same_thread=False)
        immutable = True
        ours = conn.execute(_STUDIES).fetchone() is not None
    if not ours:
        conn.close()
        raise DatabaseUnavailable(f"{path} is not a harvest database")
    # Read-only means read-only: no ATTACH (which would create files) and no writes at all.
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    conn.execute("PRAGMA query_only = ON")
    db = Database(conn)  # before the authorizer: sqlite-utils sets a PRAGMA of its own
    conn.set_authorizer(_reads_only)
    return db, immutable


# PRAGMAs whose argument only says what to read; any other PRAGMA given a value would set something.
_READING_PRAGMAS = frozenset(
    {
        "foreign_key_check",
        "foreign_key_list",
        "index_info",
        "index_list",
        "index_xinfo",
        "integrity_check",
        "quick_check",
        "table_info",
        "table_list",
        "table_xinfo",
    }
)


def _reads_only(action: int, arg1: str | None, arg2: str | None, schema: str | None, trigger: str | None) -> int:
    """Refuse, before it runs, what a read-only file would otherwise fail on with an unrelated error: setting a
    PRAGMA (``journal_mode=DELETE`` fails as "disk I/O error") and ATTACH or VACUUM. Both then fail as
    "not authorized", which ``refuses_writes`` recognises. (Other writes already fail as read-only ones.)"""
    if action == sqlite3.SQLITE_ATTACH:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and arg2 is not None and (arg1 or "").lower() not in _READING_PRAGMAS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _open_for_writing(path: str) -> Database:
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise DatabaseUnavailable(f"cannot create {path}: directory {parent} does not exist")
    refuse_foreign(path)
    db = Database(path)
    db.conn.execute("PRAGMA busy_timeout = 10000")
    # Pages of 16 KB for a new file (an existing one keeps its own; SQLite ignores this then): a full load
    # writes a quarter as many pages, with fewer system calls, into a file of the same size.
    db.conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    if db.journal_mode != "wal":
        db.enable_wal()
    db.conn.execute("PRAGMA synchronous = NORMAL")
    tables.install(db)
    return db
