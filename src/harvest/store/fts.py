"""The full-text index of trials: an SQLite FTS5 table over ``studies``, kept in step with every write.

``studies_fts`` is an *external-content* FTS5 table (``content="studies"``): it stores only the index, not a
second copy of the text, and Datasette and sqlite-utils recognise it as the search index of ``studies`` with
no configuration (search box, ``?_search=``, ``sqlite-utils search``). Its rowid is the study row's rowid
(upserts keep it).

Every column of the index is a column of ``studies``, so ``SELECT *``, ``count(*)``, ``highlight()`` and
``sqlite-utils tables --counts`` work on it. Conditions, intervention names and keywords live in child
tables, so they are indexed under ``official_title``: searching "septic" finds a trial whose condition is
septic shock, and the words count like those of the official title. Likewise ``nct_id`` indexes the NCT
number with the trial's former NCT numbers (aliases) and secondary IDs (``identifiers``). (Columns named
``conditions`` etc. would not exist in ``studies``, and every tool that reads the index through its content
table would fail.) FTS5's own ``'rebuild'`` would drop that extra text: use ``harvest reindex``.

What the registry derived for search, the MeSH terms of the conditions and interventions (with the words of
the record it found them as) and the broader MeSH terms above them, is in columns of its own
(``mesh_terms``, ``mesh_ancestors``, kept on the studies row by ``store.columns``), weighted below the
record's own words: "neoplasms" finds every trial under Neoplasms, as ClinicalTrials.gov's condition search
does, and ranks those that say it themselves first.

The store keeps the index in step explicitly, in the same transaction as the study rows: it takes
``indexed_documents`` before a batch changes them (FTS5 removes a document by being given its old text) and
calls ``update_index`` once the rows and children are written, which rewrites only the studies whose text
changed; ``unindex_studies`` before a study row is deleted. Triggers cannot do this cheaply: a study's
document is only complete after its last child row is inserted, so a trigger per child row would re-index
the whole study each time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

FTS_TABLE = "studies_fts"

# Indexed columns and their bm25 weights: a word in the title says more about a trial than one in its
# 5,000-word description. official_title also carries conditions, interventions and keywords; nct_id the
# aliases and secondary IDs. The registry's MeSH terms weigh less than any of the record's own words.
FTS_WEIGHTS: dict[str, float] = {
    "brief_title": 10.0,
    "official_title": 5.0,
    "acronym": 8.0,
    "brief_summary": 2.0,
    "detailed_description": 1.0,
    "lead_sponsor": 2.0,
    "nct_id": 10.0,
    "mesh_terms": 0.25,
    "mesh_ancestors": 0.1,
}
FTS_COLUMNS = tuple(FTS_WEIGHTS)

# Porter stemming so "trials" finds "trial"; remove_diacritics so "lariboisiere" finds "Lariboisière".
CREATE_FTS = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5({', '.join(FTS_COLUMNS)}, "
    'content="studies", tokenize="porter unicode61 remove_diacritics 2")'
)


def _joined(table: str, column: str) -> str:
    return (
        f"coalesce((SELECT group_concat({column}, char(10)) FROM "
        f"(SELECT {column} FROM {table} WHERE nct_id = s.nct_id ORDER BY position)), '')"
    )


# The one definition of a study's document. Indexing and unindexing both read it from the database, so the
# text removed from the index is always exactly the text that was added.
_DOCUMENT = ", ".join(
    [
        "s.brief_title",
        " || char(10) || ".join(
            [
                "coalesce(s.official_title, '')",
                _joined("conditions", "name"),
                _joined("interventions", "name"),
                _joined("keywords", "keyword"),
            ]
        ),
        "s.acronym",
        "s.brief_summary",
        "s.detailed_description",
        "s.lead_sponsor",
        " || char(10) || ".join(
            [
                "s.nct_id",
                "coalesce((SELECT group_concat(value, char(10)) FROM json_each(s.nct_aliases)), '')",
                _joined("identifiers", "value"),
            ]
        ),
        "s.mesh_terms",
        "s.mesh_ancestors",
    ]
)
_COLUMNS = ", ".join(FTS_COLUMNS)
_MARKS = ", ".join("?" * (len(FTS_COLUMNS) + 1))
_DOCUMENTS_OF = f"SELECT s.nct_id, s.rowid, {_DOCUMENT} FROM studies s WHERE s.nct_id IN ({{marks}})"
# Only rows that are in the index are removed: 'delete' of a row never added would skew bm25's statistics.
_INDEXED = f" AND EXISTS (SELECT 1 FROM {FTS_TABLE}_docsize d WHERE d.id = s.rowid)"
# Index writes for a whole page of studies go in at the end, as executemany of single-row VALUES: FTS5
# writes its pending terms to disk as a new index segment at every statement savepoint, so a write per
# study between the store's own statements, or an INSERT ... SELECT, costs a segment per study
# (measured: 169 µs a study, against 53 µs batched).
_ADD = f"INSERT INTO {FTS_TABLE} (rowid, {_COLUMNS}) VALUES ({_MARKS})"
_REMOVE = f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, {_COLUMNS}) VALUES ('delete', {_MARKS})"
_CHUNK = 500

Document = tuple[Any, ...]  # (rowid, *indexed columns)


def index_is_current(conn: sqlite3.Connection) -> bool:
    """Whether the file's index has this harvest's columns (a file upgraded read-only still has an older one)."""
    return tuple(row[1] for row in conn.execute(f"PRAGMA table_info({FTS_TABLE})")) == FTS_COLUMNS


def install_index(conn: sqlite3.Connection) -> None:
    """Create the search index if it is missing or has other columns (an older harvest's), and fill it from
    the studies already in the file."""
    if index_is_current(conn):
        return
    conn.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    conn.execute(CREATE_FTS)
    rebuild(conn)


def _documents(conn: sqlite3.Connection, nct_ids: Sequence[str], *, indexed: bool) -> dict[str, Document]:
    found: dict[str, Document] = {}
    ids = list(dict.fromkeys(nct_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        sql = _DOCUMENTS_OF.format(marks=",".join("?" * len(chunk))) + (_INDEXED if indexed else "")
        found.update((row[0], tuple(row[1:])) for row in conn.execute(sql, chunk))
    return found


def indexed_documents(conn: sqlite3.Connection, nct_ids: Sequence[str]) -> dict[str, Document]:
    """What the index holds for these studies; take it before their rows change (FTS5 removes by old text)."""
    return _documents(conn, nct_ids, indexed=True)


def update_index(conn: sqlite3.Connection, before: Mapping[str, Document], nct_ids: Sequence[str]) -> int:
    """Bring the index in step with these studies' rows, given ``indexed_documents`` from before the write.

    A study whose indexed text did not change (a new status, dates, sites) is not touched: most updates
    cost two reads. Returns how many studies were (re)indexed.
    """
    after = _documents(conn, nct_ids, indexed=False)
    stale = [old for nct, old in before.items() if after.get(nct) != old]
    fresh = [new for nct, new in after.items() if before.get(nct) != new]
    conn.executemany(_REMOVE, stale)
    conn.executemany(_ADD, fresh)
    return len(fresh)


def unindex_studies(conn: sqlite3.Connection, nct_ids: Sequence[str]) -> None:
    """Remove studies from the index now (before their rows are deleted)."""
    conn.executemany(_REMOVE, _documents(conn, nct_ids, indexed=True).values())


def rebuild(conn: sqlite3.Connection) -> int:
    """Rebuild the whole index from ``studies`` and its children; returns the number of studies indexed."""
    # The weights become the table's default ranking, so ORDER BY rank (sqlite-utils' search) uses them too.
    weights = ", ".join(str(w) for w in FTS_WEIGHTS.values())
    conn.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rank) VALUES ('rank', 'bm25({weights})')")
    conn.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('delete-all')")
    conn.execute(f"INSERT INTO {FTS_TABLE} (rowid, {_COLUMNS}) SELECT s.rowid, {_DOCUMENT} FROM studies s")
    return indexed_count(conn)


def indexed_count(conn: sqlite3.Connection) -> int:
    """How many studies the index holds (should equal the number of rows in ``studies``)."""
    return conn.execute(f"SELECT count(*) FROM {FTS_TABLE}_docsize").fetchone()[0]


def verify_index(conn: sqlite3.Connection) -> list[str]:
    """Differences between the index and one built afresh from the tables (empty when in step).

    Compares every (term, study, column, offset) entry and every document's size, so a missed or stale
    update shows up. Builds a temporary index: for tests and diagnosis, not for every run.
    """
    check, words, fresh = "temp.harvest_fts_check", "temp.harvest_fts_words", "temp.harvest_fts_fresh"
    for name in (words, fresh, check):
        conn.execute(f"DROP TABLE IF EXISTS {name}")
    tokenizer = "porter unicode61 remove_diacritics 2"
    conn.execute(f"CREATE VIRTUAL TABLE {check} USING fts5({_COLUMNS}, content='', tokenize='{tokenizer}')")
    conn.execute(f"INSERT INTO {check} (rowid, {_COLUMNS}) SELECT s.rowid, {_DOCUMENT} FROM studies s")
    conn.execute(f"CREATE VIRTUAL TABLE {words} USING fts5vocab(main, {FTS_TABLE}, instance)")
    conn.execute(f"CREATE VIRTUAL TABLE {fresh} USING fts5vocab(temp, harvest_fts_check, instance)")
    problems = []
    try:
        for label, first, second in (("stale", words, fresh), ("missing", fresh, words)):
            for term, doc, col in conn.execute(
                f"SELECT term, doc, col FROM (SELECT * FROM {first} EXCEPT SELECT * FROM {second}) LIMIT 20"
            ):
                problems.append(f"{label} entry: {term!r} in {col} of rowid {doc}")
        sizes = f"SELECT id, sz FROM main.{FTS_TABLE}_docsize EXCEPT SELECT id, sz FROM temp.harvest_fts_check_docsize"
        problems.extend(f"document size differs for rowid {rowid}" for rowid, _ in conn.execute(sizes))
        extra = f"SELECT id FROM temp.harvest_fts_check_docsize EXCEPT SELECT id FROM main.{FTS_TABLE}_docsize"
        problems.extend(f"rowid {rowid} is not indexed" for (rowid,) in conn.execute(extra))
    finally:
        for name in (words, fresh, check):
            conn.execute(f"DROP TABLE IF EXISTS {name}")
    return problems
