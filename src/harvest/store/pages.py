"""Mirror pages: ``pages`` (every page discovered and what its last visit gave), ``quarantine`` (pages and
records that failed, kept with their bytes for ``harvest reparse``) and ``unresolved`` (pages whose NCT
number could not be established)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harvest.core.dates import utcnow
from harvest.core.records import Failure, PageHistory, PageVisit, Unresolved, Validators
from harvest.store.sql import select_in

if TYPE_CHECKING:
    from harvest.store.handle import Handle


@dataclass(frozen=True)
class KeptFailure:
    """A quarantine row as the pipeline compares it with a new failure of the same page."""

    error_type: str
    error: str
    raw: bytes | None
    since: str


class Pages:
    """Reads and writes of ``pages``, ``quarantine`` and ``unresolved``."""

    def __init__(self, store: Handle) -> None:
        self._conn = store.conn

    def quarantine(self, source: str, failure: Failure, run_id: int | None) -> None:
        """Keep what failed to parse (and why) so it can be re-parsed later; never touches good data."""
        self._conn.execute(
            "INSERT INTO quarantine (source, url, run_id, error_type, error, raw, content_type, quarantined_at) "
            "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(source, url) DO UPDATE SET run_id=excluded.run_id, "
            "error_type=excluded.error_type, error=excluded.error, raw=COALESCE(excluded.raw, quarantine.raw), "
            "content_type=excluded.content_type, quarantined_at=excluded.quarantined_at",
            (
                source,
                failure.url,
                run_id,
                type(failure.error).__name__,
                failure.error.one_line(),
                zlib.compress(failure.raw, 6) if failure.raw is not None else None,
                failure.content_type,
                utcnow(),
            ),
        )

    def release_quarantine(self, source: str, url: str) -> None:
        self._conn.execute("DELETE FROM quarantine WHERE source = ? AND url = ?", (source, url))

    def save_unresolved(self, source: str, item: Unresolved) -> None:
        self._conn.execute(
            "INSERT INTO unresolved (source, url, title, reason, candidates, raw, content_type, seen_at) "
            "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(source, url) DO UPDATE SET title=excluded.title, "
            "reason=excluded.reason, candidates=excluded.candidates, raw=excluded.raw, "
            "content_type=excluded.content_type, seen_at=excluded.seen_at",
            (
                source,
                item.url,
                item.title,
                item.reason,
                json.dumps(list(item.candidates)),
                zlib.compress(item.raw, 6),
                item.content_type,
                utcnow(),
            ),
        )

    def resolve_unresolved(self, source: str, url: str) -> None:
        self._conn.execute("DELETE FROM unresolved WHERE source = ? AND url = ?", (source, url))

    def save_visits(self, source: str, visits: Sequence[PageVisit]) -> None:
        """What each visit gave. A visit with an outcome replaces the page's validators (a page that failed to
        answer has none); ``gone_since`` is set when a page is first found gone, kept while it stays gone, and
        cleared when it answers again. A page only discovered (no outcome) keeps what is known of it."""
        now = utcnow()
        rows = [
            (
                source,
                v.url,
                v.lastmod,
                now if v.outcome else None,
                v.outcome,
                v.nct_id,
                now,
                v.validators.etag,
                v.validators.last_modified,
                now if v.outcome == "gone" else None,
            )
            for v in visits
        ]
        self._conn.executemany(
            "INSERT INTO pages (source, url, lastmod, last_fetched_at, last_outcome, nct_id, first_seen_at, etag, "
            "last_modified, gone_since) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(source, url) DO UPDATE SET "
            "lastmod=COALESCE(excluded.lastmod, pages.lastmod), "
            "last_fetched_at=COALESCE(excluded.last_fetched_at, pages.last_fetched_at), "
            "last_outcome=COALESCE(excluded.last_outcome, pages.last_outcome), "
            "nct_id=COALESCE(excluded.nct_id, pages.nct_id), "
            "etag=CASE WHEN excluded.last_outcome IS NULL THEN pages.etag ELSE excluded.etag END, "
            "last_modified=CASE WHEN excluded.last_outcome IS NULL THEN pages.last_modified "
            "ELSE excluded.last_modified END, "
            "gone_since=CASE WHEN excluded.last_outcome IS NULL THEN pages.gone_since "
            "WHEN excluded.last_outcome = 'gone' THEN COALESCE(pages.gone_since, excluded.gone_since) ELSE NULL END",
            rows,
        )

    def history(self, source: str) -> dict[str, PageHistory]:
        return {
            url: PageHistory(lastmod, fetched, outcome, Validators(etag, last_modified), gone_since)
            for url, lastmod, fetched, outcome, etag, last_modified, gone_since in self._conn.execute(
                "SELECT url, lastmod, last_fetched_at, last_outcome, etag, last_modified, gone_since FROM pages "
                "WHERE source = ?",
                (source,),
            )
        }

    def kept_failures(self, source: str, urls: Sequence[str]) -> dict[str, KeptFailure]:
        """The quarantine rows of these pages: what failed, how, with which bytes, since when."""
        sql = "SELECT url, error_type, error, raw, quarantined_at FROM quarantine WHERE source = ? AND url IN ({marks})"
        return {
            url: KeptFailure(error_type, error, zlib.decompress(raw) if raw is not None else None, since)
            for url, error_type, error, raw, since in select_in(self._conn, sql, urls, source)
        }

    def forget_not_found(self, source: str, urls: Sequence[str]) -> None:
        """Files from before schema 4 kept 404s in quarantine (with no bytes): a 404 is recorded in ``pages``."""
        self._conn.executemany(
            "DELETE FROM quarantine WHERE source = ? AND url = ? AND error_type = 'NotFound'",
            [(source, url) for url in urls],
        )

    def gone(self, pages: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """(source, url) -> since when, for those of these pages that are gone."""
        found = {}
        for source, url in pages:
            row = self._conn.execute(
                "SELECT gone_since FROM pages WHERE source = ? AND url = ? AND last_outcome = 'gone'", (source, url)
            ).fetchone()
            if row:
                found[(source, url)] = row[0]
        return found

    def problems(self, source: str | None = None) -> list[dict[str, Any]]:
        """Every page that needs a person or a later visit, newest first: unresolved (no NCT number),
        quarantined (failed to fetch or parse, or refused), not found (404/410 on its last visit), gone."""
        where, params = ("WHERE source = ?", [source]) if source else ("", [])
        sql = (
            "SELECT source, 'unresolved', url, title, reason, candidates, seen_at FROM unresolved "
            f"{where} UNION ALL "
            "SELECT source, 'quarantined', url, NULL, error_type || ': ' || error, NULL, quarantined_at "
            f"FROM quarantine WHERE error_type != 'NotFound'{' AND source = ?' if source else ''} UNION ALL "
            "SELECT source, last_outcome, url, NULL, CASE last_outcome WHEN 'gone' THEN "
            "'answers 404/410 again: gone, revisited when its sitemap lastmod changes or after 30 days' "
            "ELSE 'answered 404/410 on its last visit' END, NULL, COALESCE(gone_since, last_fetched_at) "
            f"FROM pages WHERE last_outcome IN ('not-found', 'gone'){' AND source = ?' if source else ''} "
            "ORDER BY 7 DESC, 1, 3"
        )
        columns = ("source", "kind", "url", "title", "reason", "candidates", "seen_at")
        cursor = self._conn.execute(sql, params * 3)
        return [dict(zip(columns, row, strict=True)) for row in cursor]

    def settle(self, source: str, urls: Sequence[str]) -> None:
        """Pages that now give a stored record leave quarantine and unresolved (else a reparse would replay
        the old kept copy over the newer record)."""
        rows = [(source, url) for url in urls]
        self._conn.executemany("DELETE FROM quarantine WHERE source = ? AND url = ?", rows)
        self._conn.executemany("DELETE FROM unresolved WHERE source = ? AND url = ?", rows)

    def kept(self, table: str, source: str) -> Iterator[dict[str, Any]]:
        """Raw pages kept in ``quarantine`` or ``unresolved`` (for offline re-parsing)."""
        when = "quarantined_at" if table == "quarantine" else "seen_at"
        cursor = self._conn.execute(
            f"SELECT url, raw, content_type, {when} FROM [{table}] WHERE source = ? AND raw IS NOT NULL ORDER BY url",
            (source,),
        )
        for url, raw, content_type, seen in cursor.fetchall():
            yield {"url": url, "raw": zlib.decompress(raw), "content_type": content_type, "fetched_at": seen}
