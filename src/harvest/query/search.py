"""Full-text search over trials: the query behind ``harvest search`` and the web search page.

The index is ``store.fts``; what a typed query means (words, phrases, NCT numbers, synonyms) is
``query.fts_query``; the filters and their counts are ``query.search_filters``. ``harvest search`` and the canned
query ``search_studies`` run the same ranking, filters and columns; the canned query takes the typed text apart
in SQL (Datasette binds it as ``:q``), ``harvest search`` in Python, to the same FTS5 expression.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from harvest.core.errors import QueryError
from harvest.core.records import MIRROR_ONLY
from harvest.query.fts_query import Query, parse, query_sql
from harvest.query.search_filters import FILTER_SQL, PARAMETERS, SearchFilters, counts_sql, facet_counts
from harvest.query.synonyms import NONE, Synonyms
from harvest.store.fts import FTS_COLUMNS, FTS_TABLE, index_is_current

__all__ = [
    "RESULT_COLUMNS",
    "SearchFilters",
    "SearchResult",
    "canned_search",
    "counts",
    "facet_counts",
    "search",
    "search_studies_sql",
]

_PHASES = "(SELECT group_concat(value, '; ') FROM json_each(s.phases))"
_CONDITIONS = (
    "(SELECT group_concat(name, '; ') FROM (SELECT name FROM conditions c WHERE c.nct_id = s.nct_id ORDER BY position))"
)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def note_sql(registry: str | None) -> str:
    """The note of a trial no registry record backs (NULL otherwise, and always without a registry name)."""
    if not registry:
        return "NULL"
    return (
        f"CASE WHEN NOT EXISTS (SELECT 1 FROM json_each(s.sources) WHERE value = {_literal(registry)})"
        f" THEN {_literal(MIRROR_ONLY)} END"
    )


def _ranked(select: str, match: str) -> str:
    """Studies matching the FTS5 expression ``match`` (SQL) and the filters, best first: every search's ranking."""
    return (
        f"SELECT {select} FROM {FTS_TABLE} f JOIN studies s ON s.rowid = f.rowid "
        f"WHERE {FTS_TABLE} MATCH {match} AND {FILTER_SQL} ORDER BY f.rank"
    )


def _snippet_sql() -> str:
    """Where the words were found: the snippet of the first column (title first) that shows them, marked
    **like this**. The index holds conditions, interventions and keywords under official_title, and aliases and
    secondary IDs under nct_id, text the studies row does not have there, so FTS5 cannot cut a snippet from it:
    a match found only there shows the conditions. Control characters mark the words while the column is chosen
    (text never holds them)."""
    order = [
        "brief_title",
        "acronym",
        "official_title",
        "brief_summary",
        "lead_sponsor",
        "detailed_description",
        "mesh_terms",
        "mesh_ancestors",
        "nct_id",
    ]
    cut = "snippet({table}, {column}, char(2), char(3), '…', 12)"
    tries = [
        f"CASE WHEN instr({cut.format(table=FTS_TABLE, column=i)}, char(2)) > 0 "
        f"THEN {cut.format(table=FTS_TABLE, column=i)} END"
        for i in (FTS_COLUMNS.index(name) for name in order)
    ]
    return f"replace(replace(coalesce({', '.join(tries)}, {_CONDITIONS}), char(2), '**'), char(3), '**')"


def _holds(expression: str) -> str:
    """The hit ``s`` matches the FTS5 ``expression`` (SQL)."""
    return f"EXISTS (SELECT 1 FROM {FTS_TABLE} x WHERE x.{FTS_TABLE} MATCH {expression} AND x.rowid = s.rowid)"


_NAME = """'"' || m.name || '"'"""  # a synonym as an FTS5 phrase (names hold no double quote)
# Which synonyms of the typed words found a hit the words themselves would not have ("covid → 2019-ncov"), from
# the CTE ``matched`` of query_sql; ``_synonyms_found`` says the same for ``harvest search``.
_SYNONYMS_SQL = (
    "(SELECT group_concat(label, '; ') FROM (SELECT m.term || ' → ' || m.name AS label FROM matched m"
    f" WHERE {_holds(_NAME)}"
    f" AND NOT {_holds('m.q')} ORDER BY m.n, m.name))"
)


def search_studies_sql(synonyms: Synonyms = NONE, registry: str | None = None) -> str:
    """The canned query ``search_studies``: ``harvest search`` in SQL, with the filters' parameters, every
    match best first; ``synonyms`` says which synonyms of the words a hit holds, ``note`` a mirror-only trial."""
    select = (
        f"s.nct_id, s.title, s.overall_status, {_PHASES} AS phases, {_CONDITIONS} AS conditions, "
        f"{_snippet_sql()} AS snippet, round(-f.rank, 2) AS score, {_SYNONYMS_SQL} AS synonyms, "
        f"{note_sql(registry)} AS note"
    )
    return query_sql(synonyms) + "\n" + _ranked(select, "(SELECT fts FROM expression)")


def counts_studies_sql(synonyms: Synonyms = NONE, active: Collection[str] = PARAMETERS) -> str:
    """The search page's filter counts, for the same parameters as ``search_studies_sql`` (``active``: those
    that hold a value)."""
    return counts_sql(query_sql(synonyms), "(SELECT fts FROM expression)", active)


def canned_search(synonyms: Synonyms = NONE, registry: str | None = None) -> dict[str, Any]:
    """The canned query ``search_studies`` in Datasette's metadata. A table's ?_search lists matches unranked;
    this is `harvest search` (same words, same filters, same studies, same order: best first), with a snippet."""
    return {
        "title": "Search trials, best match first",
        "description": (
            "The studies `harvest search WORDS` finds, in its order: every word must match (in titles, "
            "acronym, summaries, conditions, interventions, keywords, lead sponsor, NCT number and other IDs, "
            "or the MeSH terms the registry derived), stemmed, with their synonyms (British and American "
            'spellings, the names of COVID-19); "double quotes" make a phrase and a trailing * a prefix; NCT '
            "numbers alone find those trials. Filters (values joined with |): status, phase, type, country, "
            "results (yes/no), sponsor (class), age (CHILD, ADULT, OLDER_ADULT), sex, start_from, start_to, "
            "completion_from, completion_to (YYYY[-MM[-DD]]). The snippet marks the words **like this**."
        ),
        "sql": search_studies_sql(synonyms, registry),
        "params": ["q", *PARAMETERS],
    }


RESULT_COLUMNS = (
    "nct_id",
    "score",
    "overall_status",
    "phases",
    "study_type",
    "brief_title",
    "conditions",
    "lead_sponsor",
    "synonyms",  # which synonyms of the typed words the trial holds, e.g. "covid → 2019-ncov"
    "note",  # "mirror only: …" for a trial no registry record backs
    "total",  # how many trials matched in all (the same on every row)
)


@dataclass
class SearchResult:
    """The hits kept (best first), how many matched in all, and the query as it was understood."""

    rows: list[tuple[Any, ...]]
    total: int
    query: Query | None = None  # None for raw FTS5 syntax
    columns: Sequence[str] = field(default=RESULT_COLUMNS)


def _expression(text: str, raw: bool, synonyms: Synonyms) -> tuple[str, Query | None]:
    if raw:
        if not text.strip():
            raise QueryError("empty search (give at least one word)")
        return text.strip(), None
    query = parse(text, synonyms)
    return query.expression, query


def _run(conn: sqlite3.Connection, sql: str, params: dict[str, Any], text: str, raw: bool) -> list[tuple[Any, ...]]:
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        message = str(exc)
        if "no such table" in message and FTS_TABLE in message:
            raise QueryError("this file has no search index yet (run `harvest reindex` to build it)") from None
        if raw:
            raise QueryError(f"bad FTS5 query {text!r}: {message.removeprefix('fts5: ')}") from None
        raise


def _check_index(conn: sqlite3.Connection) -> None:
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (FTS_TABLE,)).fetchone():
        raise QueryError("this file has no search index yet (run `harvest reindex` to build it)")
    if not index_is_current(conn):
        raise QueryError("this file's search index is an older harvest's (run `harvest reindex` to rebuild it)")


def _synonyms_found(conn: sqlite3.Connection, query: Query | None, nct_ids: list[str]) -> dict[str, str]:
    """Per hit, the synonyms of the typed words that found it where the words themselves would not have (as
    ``_SYNONYMS_SQL`` says them)."""
    if query is None or not nct_ids or not any(query.expansions):
        return {}
    marks = ",".join("?" * len(nct_ids))
    sql = (
        f"SELECT s.nct_id FROM {FTS_TABLE} f JOIN studies s ON s.rowid = f.rowid"
        f" WHERE {FTS_TABLE} MATCH ? AND s.nct_id IN ({marks})"
    )

    def holding(expression: str) -> set[str]:
        return {nct for (nct,) in conn.execute(sql, [expression, *nct_ids])}

    found: dict[str, list[str]] = {}
    for term, names in zip(query.terms, query.expansions, strict=True):
        if not names:
            continue
        itself = holding(term.quoted())
        for name in names:
            for nct in sorted(holding('"' + name + '"') - itself):
                found.setdefault(nct, []).append(f"{term.text} → {name}")
    return {nct: "; ".join(labels) for nct, labels in found.items()}


def search(
    conn: sqlite3.Connection,
    text: str,
    *,
    raw: bool = False,
    filters: SearchFilters | None = None,
    limit: int | None = 20,
    synonyms: Synonyms = NONE,
    registry: str | None = None,
) -> SearchResult:
    """Matching studies, best first (at most ``limit``; None for all), and how many matched in all.

    ``score`` is bm25 turned positive (higher is better). With ``raw`` the text is FTS5 query syntax
    (``"septic shock" OR sepsis``, ``brief_title: covid*``); a syntax error becomes a one-line ``QueryError``.
    """
    expression, query = _expression(text, raw, synonyms)
    _check_index(conn)
    params: dict[str, Any] = {"fts": expression, **(filters or SearchFilters()).params()}
    select = (
        f"s.nct_id, round(-f.rank, 2) AS score, s.overall_status, {_PHASES} AS phases, s.study_type, s.brief_title, "
        f"{_CONDITIONS} AS conditions, s.lead_sponsor, {note_sql(registry)} AS note"
    )
    sql = _ranked(select, ":fts")
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = limit
    found = _run(conn, sql, params, text, raw)
    total = len(found)
    if limit is not None and total >= limit:
        count = f"SELECT count(*) FROM {FTS_TABLE} f JOIN studies s ON s.rowid = f.rowid WHERE {FTS_TABLE} MATCH :fts"
        total = _run(conn, f"{count} AND {FILTER_SQL}", params, text, raw)[0][0]
    matched = _synonyms_found(conn, query, [row[0] for row in found])
    rows = [(*row[:8], matched.get(row[0]), row[8], total) for row in found]
    return SearchResult(rows, total, query)


def counts(
    conn: sqlite3.Connection,
    text: str,
    *,
    raw: bool = False,
    filters: SearchFilters | None = None,
    synonyms: Synonyms = NONE,
) -> tuple[int, dict[str, list[tuple[str, int]]]]:
    """How many trials match in all, and per filter each value's count (most first; see ``search_filters``)."""
    expression, _ = _expression(text, raw, synonyms)
    _check_index(conn)
    params: dict[str, Any] = {"fts": expression, **(filters or SearchFilters()).params()}
    active = [name for name in PARAMETERS if params[name]]
    sql = counts_sql("WITH expression(fts) AS (SELECT :fts)", "(SELECT fts FROM expression)", active)
    return facet_counts(_run(conn, sql, params, text, raw), active)
