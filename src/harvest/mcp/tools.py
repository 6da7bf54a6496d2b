"""What each tool of ``harvest mcp`` does, as plain functions over the file opened read-only.

Every input is checked before the file is read (an NCT number is one, a limit is within its cap, a date is a
date, a section exists) and a bad one is a one-line ``InputError`` the client is shown. Every answer is capped:
each text value at ``MAX_TEXT`` characters, the whole answer at ``MAX_ANSWER`` characters of JSON (rows dropped
from the end, ``truncated`` saying so, ``total`` saying how many there were). The file is opened for each call,
so a server left running sees each night's harvest.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from harvest.core.errors import DatabaseUnavailable, InputError
from harvest.core.ids import normalize_nct
from harvest.query import compliance as compliance_mod
from harvest.query import sandbox, trial
from harvest.query import search as search_mod
from harvest.query import synonyms as synonyms_mod
from harvest.query.datasette import metadata
from harvest.store.database import Store
from harvest.store.tables import SCHEMA_VERSION

MAX_TEXT = 2_000  # characters of one text value
MAX_ANSWER = 60_000  # characters of one answer, as JSON
MAX_ROWS = 500
SQL_SECONDS = 5.0


def clip(value: Any) -> Any:
    """A value with long text cut (saying how much was cut), bytes described, lists and dicts clipped within."""
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return f"{value[:MAX_TEXT]}… [{len(value) - MAX_TEXT:,} more characters]"
    if isinstance(value, bytes):
        return f"<{len(value):,} bytes>"
    if isinstance(value, list):
        return [clip(item) for item in value]
    if isinstance(value, dict):
        return {key: clip(item) for key, item in value.items()}
    return value


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str))


def fit(answer: dict[str, Any], *paths: tuple[str, ...]) -> dict[str, Any]:
    """The answer clipped, and rows dropped from the end of its longest lists (at ``paths``) until its JSON is at
    most ``MAX_ANSWER`` characters; ``truncated`` says when rows were dropped."""
    answer = clip(answer)
    lists = []
    for path in paths:
        found: Any = answer
        for key in path:
            found = found[key]
        lists.append(found)
    size = _size(answer)
    while size > MAX_ANSWER and any(lists):
        longest = max(lists, key=len)
        size -= _size(longest.pop()) + 2
        answer["truncated"] = True
    return answer


class Tools:
    """The tools, over one file."""

    def __init__(self, db: str, *, sql_seconds: float = SQL_SECONDS, registry: str | None = None) -> None:
        self.db = db
        self.sql_seconds = sql_seconds
        self.registry = registry  # the registry's source name: a hit no record of it backs is noted

    @contextmanager
    def _reading(self) -> Iterator[Store]:
        store = Store(self.db, readonly=True)
        try:
            yield store
        finally:
            store.close()

    def check(self) -> None:
        """The file can be served: it exists and is a harvest file."""
        with self._reading():
            pass

    # -- search -------------------------------------------------------------------------------------

    def search(self, words: str, filters: search_mod.SearchFilters, limit: int, fts: bool) -> dict[str, Any]:
        synonyms = synonyms_mod.NONE if fts else synonyms_mod.load()
        with self._reading() as store:
            found = search_mod.search(
                store.conn,
                words,
                raw=fts,
                filters=filters,
                limit=_capped(limit),
                synonyms=synonyms,
                registry=self.registry,
            )
        columns = search_mod.RESULT_COLUMNS[:-1]  # the total once, not on every row
        rows = [dict(zip(columns, row[:-1], strict=True)) for row in found.rows]
        answer = {"trials": rows, "count": len(rows), "total": found.total, "truncated": False}
        return fit(answer, ("trials",))

    # -- one trial ----------------------------------------------------------------------------------

    def show(self, nct_id: str, sections: Sequence[str], limit: int) -> dict[str, Any]:
        nct = normalize_nct(nct_id)
        with self._reading() as store:
            current = trial.current_nct(store.conn, nct)
            study = trial.study(store.conn, current)
            if study is None:
                raise InputError(f"{nct} is not in the file")
            counts = trial.section_counts(store.conn, current)
            known = trial.section_names(store.conn)
            wanted = list(counts) if list(sections) == ["all"] else list(sections)
            unknown = [name for name in wanted if name not in known]
            if unknown:
                raise InputError(f"no section {', '.join(map(repr, unknown))} (sections: {', '.join(known)}, all)")
            shown = {}
            for name in wanted:
                rows, total = trial.section(store.conn, current, name, _capped(limit))
                shown[name] = {"rows": rows, "total": total}
        answer = {"trial": study, "sections_available": counts, "sections": shown, "truncated": False}
        if current != nct:
            answer["merged_from"] = nct
        return fit(answer, *[("sections", name, "rows") for name in shown])

    def changes(self, nct_id: str, since: str | None, field: str | None, limit: int) -> dict[str, Any]:
        nct = normalize_nct(nct_id)
        day = _day(since, "since") if since else "0000-00-00"
        with self._reading() as store:
            current = trial.current_nct(store.conn, nct)
            if trial.study(store.conn, current) is None:
                raise InputError(f"{nct} is not in the file")
            seen = store.studies.changes_since(day, current, field)
            versions = store.versions.listing(current)
            version_changes = [row for row in store.versions.changes(current) if field is None or row[1] == field]
        columns = ("changed_at", "nct_id", "field", "old", "new", "run_id")
        answer = {
            "nct_id": current,
            "changes": [_decoded(dict(zip(columns, row, strict=True))) for row in seen[-_capped(limit) :]],
            "changes_total": len(seen),
            "registry_versions": [
                dict(zip(("version", "version_date", "overall_status"), row, strict=True)) for row in versions
            ],
            "registry_changes": [
                _decoded(dict(zip(("version", "field", "old", "new"), row, strict=True)))
                for row in version_changes[: _capped(limit)]
            ],
            "truncated": False,
        }
        return fit(answer, ("changes",), ("registry_changes",), ("registry_versions",))

    # -- SQL ----------------------------------------------------------------------------------------

    def sql(self, query: str, limit: int) -> dict[str, Any]:
        with self._reading() as store:
            found = sandbox.run(store.conn, query, max_rows=_capped(limit), seconds=self.sql_seconds)
        rows = [list(row) for row in found.rows]
        answer = {"columns": found.columns, "rows": rows, "truncated": found.more, "row_cap": _capped(limit)}
        return fit(answer, ("rows",))

    def tables(self) -> dict[str, Any]:
        described = metadata()["databases"]["harvest"]["tables"]
        with self._reading() as store:
            names = store.conn.execute(
                "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' "
                "AND name NOT LIKE 'studies_fts%' ORDER BY type, name"
            ).fetchall()
            columns = {
                name: [row[1] for row in store.conn.execute(f'PRAGMA table_xinfo("{name}")')] for name, _ in names
            }
        rows = [
            {
                "name": name,
                "type": kind,
                "description": described.get(name, {}).get("description"),
                "columns": columns[name],
            }
            for name, kind in names
        ]
        return fit({"tables": rows, "truncated": False}, ("tables",))

    # -- compliance ---------------------------------------------------------------------------------

    def compliance(
        self,
        as_of: str | None,
        standard: str,
        sponsor: str | None,
        outcomes: Sequence[str],
        by_sponsor: bool,
        limit: int,
    ) -> dict[str, Any]:
        day = dt.date.fromisoformat(_day(as_of, "as_of")) if as_of else dt.datetime.now(dt.UTC).date()
        with self._reading() as store:
            found = store.conn.execute("PRAGMA user_version").fetchone()[0]
            if found < SCHEMA_VERSION:
                raise DatabaseUnavailable(f"the file was made by an older harvest (schema {found}): harvest reparse")
            if by_sponsor:
                rows = compliance_mod.sponsors(store.conn, day, sponsor=sponsor, standard=standard)
                columns: Sequence[str] = compliance_mod.sponsor_columns("organisation")
            else:
                rows = compliance_mod.trials(store.conn, day, sponsor=sponsor, outcomes=outcomes, standard=standard)
                columns = compliance_mod.RESULT_COLUMNS
        listed = [dict(zip(columns, row, strict=True)) for row in rows[: _capped(limit)]]
        answer = {
            "as_of": day.isoformat(),
            "standard": standard,
            "summary": compliance_mod.summary(rows, day, standard) if not by_sponsor else None,
            "rows": listed,
            "total": len(rows),
            "truncated": len(rows) > len(listed),
        }
        return fit(answer, ("rows",))


def _capped(limit: int) -> int:
    if not 1 <= limit <= MAX_ROWS:
        raise InputError(f"limit must be between 1 and {MAX_ROWS}, not {limit}")
    return limit


def _day(value: str, name: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise InputError(f"{name}: {value!r} is not a date (use YYYY-MM-DD)") from None


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    """``old`` and ``new`` (JSON text in the file) as JSON values."""
    for key in ("old", "new"):
        if isinstance(row.get(key), str):
            with suppress(ValueError):
                row[key] = json.loads(row[key])
    return row
