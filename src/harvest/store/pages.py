"""Mirror pages: ``pages`` (every page discovered and what its last visit gave), ``quarantine`` (pages and
records that failed, kept with their bytes for ``harvest reparse``) and ``unresolved`` (pages whose NCT
number could not be established)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from harvest.core.dates import utcnow
from harvest.core.records import Failure, PageHistory, PageVisit, Unresolved

if TYPE_CHECKING:
    from harvest.store.handle import Handle


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
        now = utcnow()
        rows = [(source, v.url, v.lastmod, now if v.outcome else None, v.outcome, v.nct_id, now) for v in visits]
        self._conn.executemany(
            "INSERT INTO pages (source, url, lastmod, last_fetched_at, last_outcome, nct_id, first_seen_at) "
            "VALUES (?,?,?,?,?,?,?) ON CONFLICT(source, url) DO UPDATE SET "
            "lastmod=COALESCE(excluded.lastmod, pages.lastmod), "
            "last_fetched_at=COALESCE(excluded.last_fetched_at, pages.last_fetched_at), "
            "last_outcome=COALESCE(excluded.last_outcome, pages.last_outcome), "
            "nct_id=COALESCE(excluded.nct_id, pages.nct_id)",
            rows,
        )

    def history(self, source: str) -> dict[str, PageHistory]:
        return {
            url: PageHistory(lastmod, fetched, outcome)
            for url, lastmod, fetched, outcome in self._conn.execute(
                "SELECT url, lastmod, last_fetched_at, last_outcome FROM pages WHERE source = ?", (source,)
            )
        }

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
