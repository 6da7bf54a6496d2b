"""Full-text search over trials: the query behind ``harvest search`` (the index itself is ``store.fts``)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harvest.core.errors import QueryError
from harvest.store.fts import FTS_COLUMNS, FTS_TABLE

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


def _ranked(select: str, expression: str, where: str = "") -> str:
    """Studies matching the FTS5 ``expression`` (SQL), best first: the one ranking of every search."""
    return (
        f"SELECT {select} FROM {FTS_TABLE} f JOIN studies s ON s.rowid = f.rowid "
        f"WHERE {FTS_TABLE} MATCH {expression}{where} ORDER BY f.rank, s.nct_id"
    )


_PHASES = "(SELECT group_concat(value, '; ') FROM json_each(s.phases))"
_CONDITIONS = (
    "(SELECT group_concat(name, '; ') FROM (SELECT name FROM conditions c WHERE c.nct_id = s.nct_id ORDER BY position))"
)
_RESULT_SELECT = (
    f"s.nct_id, round(-f.rank, 2) AS score, s.overall_status, {_PHASES} AS phases, s.study_type, s.brief_title, "
    f"{_CONDITIONS} AS conditions, s.lead_sponsor"
)

# ``plain_query`` in SQL, for a search that has only SQL (Datasette's canned query): what a person typed, as
# :q, becomes the same FTS5 expression. Whitespace is spaces, tabs and line breaks; a "phrase" runs to the next
# double quote; any other run of non-spaces is a word, a trailing * making it a prefix. Terms with no token
# (punctuation) are kept, and FTS5 ignores them, as plain_query leaves them out: the same studies match.
PLAIN_QUERY_SQL = """WITH RECURSIVE
  typed(text) AS (SELECT replace(replace(replace(replace(replace(coalesce(:q, ''),
      char(9), ' '), char(10), ' '), char(11), ' '), char(12), ' '), char(13), ' ')),
  scan(n, rest) AS (
    SELECT 0, ltrim(text, ' ') FROM typed
    UNION ALL
    SELECT n + 1, ltrim(CASE
        WHEN substr(rest, 1, 1) = '"' AND instr(substr(rest, 2), '"') > 0
          THEN substr(rest, instr(substr(rest, 2), '"') + 2)
        WHEN instr(rest, ' ') > 0 THEN substr(rest, instr(rest, ' '))
        ELSE '' END, ' ')
    FROM scan WHERE rest != ''
  ),
  pieces(n, quoted, closing, word) AS (
    SELECT n, substr(rest, 1, 1) = '"' AND instr(substr(rest, 2), '"') > 0, instr(substr(rest, 2), '"'),
      CASE WHEN instr(rest, ' ') > 0 THEN substr(rest, 1, instr(rest, ' ') - 1) ELSE rest END
    FROM scan WHERE rest != ''
  ),
  terms(n, term, prefix) AS (
    SELECT n, CASE WHEN quoted THEN substr((SELECT rest FROM scan WHERE scan.n = pieces.n), 2, closing - 1)
        ELSE rtrim(word, '*') END,
      NOT quoted AND substr(word, -1) = '*'
    FROM pieces
  ),
  expression(fts) AS (
    SELECT coalesce(group_concat('"' || replace(term, '"', '""') || '"' || CASE WHEN prefix THEN '*' ELSE '' END,
      ' '), '""')
    FROM (SELECT term, prefix FROM terms WHERE term != '' ORDER BY n)
  )"""


def _snippet_sql() -> str:
    """Where the words were found: the snippet of the first column (title first) that shows them, marked
    **like this**. The index holds conditions, interventions and keywords under official_title, text the
    studies row does not have there, so FTS5 cannot cut a snippet from it: a match found only there shows the
    conditions. Control characters mark the words while the column is chosen (text never holds them)."""
    order = ["brief_title", "acronym", "official_title", "brief_summary", "lead_sponsor", "detailed_description"]
    cut = "snippet({table}, {column}, char(2), char(3), '…', 12)"
    tries = [
        f"CASE WHEN instr({cut.format(table=FTS_TABLE, column=i)}, char(2)) > 0 "
        f"THEN {cut.format(table=FTS_TABLE, column=i)} END"
        for i in (FTS_COLUMNS.index(name) for name in order)
    ]
    return f"replace(replace(coalesce({', '.join(tries)}, {_CONDITIONS}), char(2), '**'), char(3), '**')"


# The canned query ``search_studies`` (Datasette metadata): ``harvest search`` in SQL, every match, best first.
SEARCH_STUDIES_SQL = (
    PLAIN_QUERY_SQL
    + "\n"
    + _ranked(
        f"s.nct_id, s.brief_title AS title, s.overall_status, {_PHASES} AS phases, {_CONDITIONS} AS conditions, "
        f"{_snippet_sql()} AS snippet, round(-f.rank, 2) AS score",
        "(SELECT fts FROM expression)",
    )
)

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
    sql = _ranked(_RESULT_SELECT, "?", where) + " LIMIT ?"
    try:
        return conn.execute(sql, [expression, *params, limit]).fetchall()
    except sqlite3.OperationalError as exc:
        message = str(exc)
        if "no such table" in message and FTS_TABLE in message:
            raise QueryError("this file has no search index yet (run `harvest reindex` to build it)") from None
        if raw:
            raise QueryError(f"bad FTS5 query {text!r}: {message.removeprefix('fts5: ')}") from None
        raise
