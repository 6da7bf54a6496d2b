"""Full-text search over trials: the query behind ``harvest search`` (the index itself is ``store.fts``)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harvest.core.errors import QueryError
from harvest.store.fts import FTS_TABLE

# -- queries ----------------------------------------------------------------------------------------

# A double-quoted phrase, or a run of non-space characters.
_TERM = re.compile(r'"([^"]*)"|(\S+)')


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def plain_query(text: str) -> str:
    """Turn what a person typed into an FTS5 query that cannot be a syntax error.

    Every word is searched as a word (all must match, in any column): ``OR``, ``NOT``, ``-`` and ``:`` have
    no special meaning. A "double-quoted phrase" is searched as a phrase, and a trailing ``*`` makes a
    word a prefix (``immuno*``).
    """
    parts = []
    for phrase, word in _TERM.findall(text):
        term = phrase if phrase else word
        prefix = bool(word) and word.endswith("*")
        term = term.rstrip("*") if prefix else term
        if not any(ch.isalnum() for ch in term):
            continue  # punctuation alone has no tokens; FTS5 would match nothing
        parts.append(_quoted(term) + ("*" if prefix else ""))
    if not parts:
        raise QueryError(f"nothing to search for in {text!r} (give at least one word)")
    return " ".join(parts)


@dataclass(frozen=True)
class SearchFilters:
    """Exact-value filters applied to the matching studies (empty = any)."""

    statuses: Sequence[str] = field(default_factory=tuple)
    phases: Sequence[str] = field(default_factory=tuple)
    study_types: Sequence[str] = field(default_factory=tuple)

    def sql(self) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if self.statuses:
            clauses.append(f"s.overall_status IN ({','.join('?' * len(self.statuses))})")
            params.extend(self.statuses)
        if self.study_types:
            clauses.append(f"s.study_type IN ({','.join('?' * len(self.study_types))})")
            params.extend(self.study_types)
        if self.phases:
            marks = ",".join("?" * len(self.phases))
            clauses.append(f"EXISTS (SELECT 1 FROM json_each(s.phases) WHERE value IN ({marks}))")
            params.extend(self.phases)
        return "".join(f" AND {c}" for c in clauses), params


RESULT_COLUMNS = (
    "nct_id",
    "score",
    "overall_status",
    "phases",
    "study_type",
    "brief_title",
    "conditions",
    "lead_sponsor",
)


def search(
    conn: sqlite3.Connection,
    text: str,
    *,
    raw: bool = False,
    filters: SearchFilters | None = None,
    limit: int = 20,
) -> list[tuple[Any, ...]]:
    """Matching studies, best first; ``score`` is bm25 turned positive (higher is better).

    With ``raw`` the text is FTS5 query syntax (``"septic shock" OR sepsis``, ``brief_title: covid*``);
    a syntax error becomes a one-line ``QueryError``.
    """
    expression = text.strip() if raw else plain_query(text)
    if not expression:
        raise QueryError("empty search (give at least one word)")
    where, params = (filters or SearchFilters()).sql()
    sql = (
        "SELECT s.nct_id, round(-f.rank, 2) AS score, s.overall_status, "
        "(SELECT group_concat(value, '; ') FROM json_each(s.phases)) AS phases, s.study_type, s.brief_title, "
        "(SELECT group_concat(name, '; ') FROM (SELECT name FROM conditions c WHERE c.nct_id = s.nct_id "
        "ORDER BY position)) AS conditions, s.lead_sponsor "
        f"FROM {FTS_TABLE} f JOIN studies s ON s.rowid = f.rowid "
        f"WHERE {FTS_TABLE} MATCH ?{where} ORDER BY f.rank, s.nct_id LIMIT ?"
    )
    try:
        return conn.execute(sql, [expression, *params, limit]).fetchall()
    except sqlite3.OperationalError as exc:
        message = str(exc)
        if "no such table" in message and FTS_TABLE in message:
            raise QueryError("this file has no search index yet (run `harvest reindex` to build it)") from None
        if raw:
            raise QueryError(f"bad FTS5 query {text!r}: {message.removeprefix('fts5: ')}") from None
        raise
