"""What a watch is and which trials it matches.

A watch follows trials: those a search finds (``harvest search``'s words and filters), those a SQL condition
over ``studies`` keeps, those named by NCT number, or all three at once (a trial must satisfy each criterion
given). Its report (``query.watch_report``) says which trials newly match, which stopped matching, and how the
fields it watches changed, read from ``changes``. The compliance watch (``query.watch_compliance``) follows
the trials a results-reporting standard holds to report instead.

Which changes count is a list of ``changes.field`` names; ``FIELD_GROUPS`` names the usual sets, and the default
is all of them: status, dates, enrollment, sites, outcomes, results posted.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harvest.core.errors import InputError, QueryError
from harvest.core.schema import STUDY_FIELDS
from harvest.query.fts_query import parse
from harvest.query.search_filters import FILTER_SQL, SearchFilters
from harvest.query.synonyms import NONE, Synonyms
from harvest.store.fts import FTS_TABLE
from harvest.store.removals import REMOVED
from harvest.store.sql import chunks, refuses_writes, select_in

# The usual sets of fields, named as a user thinks of them; each is the ``changes.field`` names harvest records.
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "status": ("overall_status", "why_stopped", REMOVED),
    "dates": ("start_date", "primary_completion_date", "completion_date"),
    "enrollment": ("enrollment", "enrollment_type"),
    "sites": ("locations",),
    "outcomes": ("design_outcomes",),
    "results": ("has_results", "results_first_posted"),
}
DEFAULT_FIELDS: tuple[str, ...] = tuple(name for names in FIELD_GROUPS.values() for name in names)
ALL_FIELDS = "all"  # every field harvest records a change of
KNOWN_FIELDS = frozenset({*STUDY_FIELDS, REMOVED})

# The options of `harvest search` (and `harvest watch add`) that set each of SearchFilters' fields.
FILTER_OPTIONS = {
    "statuses": "status",
    "phases": "phase",
    "study_types": "type",
    "countries": "country",
    "results": "results",
    "sponsor_classes": "sponsor-class",
    "age_groups": "age-group",
    "sexes": "sex",
    "start_from": "start-from",
    "start_to": "start-to",
    "completion_from": "completion-from",
    "completion_to": "completion-to",
}
COMPLIANCE = "compliance"  # the name of the built-in compliance watch
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_name(name: str) -> str:
    """A watch's name: letters, digits, '.', '_' and '-' (it is part of its feed's address), at most 64."""
    if not NAME.match(name or "") or name.endswith((".atom", ".")):
        raise InputError(
            f"{name!r} is not a watch name (letters, digits, '.', '_' and '-', starting with a letter or digit; "
            "at most 64)"
        )
    return name


def expand_fields(given: Iterable[str]) -> tuple[str, ...]:
    """``--fields`` as ``changes.field`` names: group names expand, field names stay, ``all`` is every field;
    values may be given comma-separated. Nothing given: the default groups."""
    names = [part.strip() for value in given for part in value.split(",") if part.strip()]
    if not names:
        return DEFAULT_FIELDS
    if ALL_FIELDS in names:
        return (ALL_FIELDS,)
    found: list[str] = []
    for name in names:
        if name in FIELD_GROUPS:
            found.extend(FIELD_GROUPS[name])
        elif name in KNOWN_FIELDS:
            found.append(name)
        else:
            groups = ", ".join(FIELD_GROUPS)
            raise InputError(
                f"--fields {name!r}: not a group ({groups}, {ALL_FIELDS}) nor a field harvest records changes of "
                "(a `harvest changes` field, e.g. overall_status, enrollment, locations)"
            )
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class Watch:
    """A watch's definition and where its last report stopped (the columns of ``watches``)."""

    name: str
    search: str | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)  # SearchFilters' fields that hold a value
    where_sql: str | None = None
    nct_ids: tuple[str, ...] = ()
    compliance: Mapping[str, Any] | None = None  # {"standard": ..., "sponsor": ...} for a compliance watch
    fields: tuple[str, ...] = DEFAULT_FIELDS
    created_at: str = ""
    created_change_id: int = 0
    reported_at: str | None = None
    change_cursor: int = 0
    as_of: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Watch:
        return cls(
            name=row["name"],
            search=row["search"],
            filters=row["filters"] or {},
            where_sql=row["where_sql"],
            nct_ids=tuple(row["nct_ids"] or ()),
            compliance=row["compliance"],
            fields=tuple(row["fields"] or DEFAULT_FIELDS),
            created_at=row["created_at"],
            created_change_id=row["created_change_id"],
            reported_at=row["reported_at"],
            change_cursor=row["change_cursor"],
            as_of=row["as_of"],
        )

    def row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "search": self.search,
            "filters": dict(self.filters) or None,
            "where_sql": self.where_sql,
            "nct_ids": list(self.nct_ids) or None,
            "compliance": dict(self.compliance) if self.compliance is not None else None,
            "fields": None if self.compliance is not None else list(self.fields),
            "created_at": self.created_at,
            "created_change_id": self.created_change_id,
            "reported_at": self.reported_at,
            "change_cursor": self.change_cursor,
            "as_of": self.as_of,
        }

    @property
    def is_compliance(self) -> bool:
        return self.compliance is not None

    def search_filters(self) -> SearchFilters:
        return SearchFilters(**{k: tuple(v) if isinstance(v, list) else v for k, v in self.filters.items()})

    def since(self) -> str:
        """When its last report was made (its creation, before any)."""
        return self.reported_at or self.created_at

    def describe(self) -> str:
        """What it follows, in a line: ``search "septic shock", status RECRUITING; where enrollment > 100``."""
        if self.compliance is not None:
            standard = "WHO" if self.compliance.get("standard") == "who" else "FDAAA 801"
            sponsor = self.compliance.get("sponsor")
            return f"results reporting ({standard})" + (f", sponsors matching {sponsor!r}" if sponsor else "")
        parts = []
        if self.search or self.filters:
            chosen = [
                f"--{FILTER_OPTIONS.get(name, name)} {value_}"
                for name, value in self.filters.items()
                for value_ in (value if isinstance(value, list | tuple) else [value])
            ]
            parts.append(" ".join(([f"search {self.search!r}"] if self.search else []) + chosen))
        if self.where_sql:
            parts.append(f"where {self.where_sql}")
        if self.nct_ids:
            parts.append("trials " + " ".join(self.nct_ids))
        return "; ".join(parts)

    def watched(self, field_name: str) -> bool:
        return self.fields == (ALL_FIELDS,) or field_name in self.fields


def filters_given(filters: SearchFilters) -> dict[str, Any]:
    """The filters that hold a value, as ``watches.filters`` keeps them (checked: a bad date is bad input)."""
    filters.params()
    kept: dict[str, Any] = {}
    for name, value in vars(filters).items():
        if value:
            kept[name] = list(value) if isinstance(value, list | tuple) else value
    return kept


def check_where(conn: sqlite3.Connection, where: str) -> int:
    """A ``--where`` condition, tried on the (read-only) connection: how many trials it keeps, or bad input."""
    if not where.strip():
        raise QueryError("--where is empty")
    return len(_where_matches(conn, where))


def _where_matches(conn: sqlite3.Connection, where: str) -> set[str]:
    try:
        return {nct for (nct,) in conn.execute(f"SELECT nct_id FROM studies WHERE ({where})")}
    except (sqlite3.Error, ValueError) as exc:
        text = str(exc)
        if isinstance(exc, sqlite3.Error) and refuses_writes(exc):
            text = "a watch's condition only reads"
        elif "one statement at a time" in text:
            text = "one SQL condition, not statements"
        raise QueryError(f"bad --where {where!r}: {text}") from None


def _search_matches(conn: sqlite3.Connection, watch: Watch, synonyms: Synonyms) -> set[str]:
    params: dict[str, Any] = dict(watch.search_filters().params())
    sql = f"SELECT s.nct_id FROM studies s WHERE {FILTER_SQL}"
    if watch.search:
        params["fts"] = parse(watch.search, synonyms).expression
        sql = (
            f"SELECT s.nct_id FROM {FTS_TABLE} f JOIN studies s ON s.rowid = f.rowid "
            f"WHERE {FTS_TABLE} MATCH :fts AND {FILTER_SQL}"
        )
    try:
        return {nct for (nct,) in conn.execute(sql, params)}
    except sqlite3.OperationalError as exc:
        if FTS_TABLE in str(exc):
            raise QueryError("this file has no search index yet (run `harvest reindex` to build it)") from None
        raise


def _named(conn: sqlite3.Connection, nct_ids: Sequence[str]) -> set[str]:
    """The trials named, under their current number when one has become another's alias."""
    sql = (
        "SELECT nct_id FROM studies WHERE nct_id IN ({marks}) "
        "UNION SELECT a.nct_id FROM nct_aliases a JOIN studies s USING (nct_id) WHERE a.alias IN ({marks})"
    )
    found: set[str] = set()
    for chunk in chunks(list(nct_ids), 400):  # each number is bound twice
        marks = ", ".join("?" * len(chunk))
        found.update(nct for (nct,) in conn.execute(sql.format(marks=marks), [*chunk, *chunk]))
    return found


def matching(conn: sqlite3.Connection, watch: Watch, synonyms: Synonyms = NONE) -> set[str]:
    """The trials the watch matches now (every criterion it has must hold)."""
    sets: list[set[str]] = []
    if watch.nct_ids:
        sets.append(_named(conn, watch.nct_ids))
    if watch.search or watch.filters:
        sets.append(_search_matches(conn, watch, synonyms))
    if watch.where_sql:
        sets.append(_where_matches(conn, watch.where_sql))
    if not sets:
        return set()
    found = sets[0]
    for other in sets[1:]:
        found &= other
    return found


def titles(conn: sqlite3.Connection, nct_ids: Iterable[str]) -> dict[str, str | None]:
    """nct_id -> the trial's title, for the trials the file holds."""
    wanted = sorted(set(nct_ids))
    return dict(select_in(conn, "SELECT nct_id, title FROM studies WHERE nct_id IN ({marks})", wanted))


def first_seen(conn: sqlite3.Connection, nct_ids: Iterable[str]) -> dict[str, str | None]:
    wanted = sorted(set(nct_ids))
    return dict(select_in(conn, "SELECT nct_id, first_seen_at FROM studies WHERE nct_id IN ({marks})", wanted))
