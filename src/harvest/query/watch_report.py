"""A watch's report: what is new since its last report, what its reports said before, and both for a feed.

Nothing here writes. ``pending`` works out what the next report gives (``harvest watch report`` prints it, then
the store keeps it: ``store.watches``); ``look_back`` is what ``--since`` prints; ``feed_entries`` what the
watch's Atom feed carries: the entries reports gave and those the next report will give, with the same keys,
so a feed reader sees each once whether it reads before or after the report.

For a search, a condition or a list of trials (the compliance watch is ``query.watch_compliance``):

- a trial **newly matches** when the watch matches it now and did not at its last report (a new trial, or one
  whose record changed into the search); it **stopped matching** in the other case (changed out of it, or no
  longer in the file). Each is dated by the trial's latest change since then, else (a new trial) when the file
  first saw it, else when the report found it;
- a **change** is a row of ``changes`` recorded since the last report, of a field the watch watches, of a trial
  it matched then or matches now (so the change that took a trial out of the watch is reported too), dated when
  the run recorded it.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from typing import Any

from harvest.query import watch_compliance
from harvest.query.synonyms import NONE, Synonyms
from harvest.query.watch_entry import CHANGED, MATCHED, UNMATCHED, Entry, Pending, numbering, sort_key
from harvest.query.watches import Watch, first_seen, matching
from harvest.store.watches import last_change_id, read_entries, read_matches

__all__ = ["Entry", "Pending", "feed_entries", "look_back", "pending", "stored"]

FEED_ENTRIES = 100  # the newest entries a watch's feed carries


def pending(
    conn: sqlite3.Connection,
    watch: Watch,
    *,
    now: str,
    as_of: dt.date | None = None,
    synonyms: Synonyms = NONE,
) -> Pending:
    """What the next report of ``watch`` gives (``now``: this moment as the file writes timestamps; ``as_of``:
    the day a compliance watch judges, today by default)."""
    if watch.is_compliance:
        return watch_compliance.pending(conn, watch, now=now, as_of=as_of or dt.datetime.now(dt.UTC).date())
    before = read_matches(conn, watch.name)
    now_matched = matching(conn, watch, synonyms)
    top = last_change_id(conn)
    followed = set(before) | now_matched
    rows = conn.execute(
        "SELECT id, nct_id, field, old, new, changed_at FROM changes WHERE id > ? AND id <= ? ORDER BY id",
        [watch.change_cursor, top],
    ).fetchall()
    latest: dict[str, str] = {}
    entries: list[Entry] = []
    for change_id, nct, field_name, old, new, changed_at in rows:
        if nct not in followed:
            continue
        latest[nct] = max(latest.get(nct, ""), changed_at)
        if watch.watched(field_name):
            entries.append(Entry(f"change/{change_id}", CHANGED, nct, changed_at, field_name, old, new, change_id))
    key = numbering(conn, watch.name)
    arrived = sorted(now_matched - set(before))
    seen = first_seen(conn, arrived)
    matches: dict[str, tuple[str | None, Any]] = {nct: before[nct] for nct in now_matched & set(before)}
    for nct in arrived:
        new_in_file = seen.get(nct) or ""
        dated = latest.get(nct) or (new_in_file if new_in_file > watch.since() else now)
        entries.append(Entry(key(MATCHED, nct), MATCHED, nct, dated))
        matches[nct] = (dated, None)
    for nct in sorted(set(before) - now_matched):
        entries.append(Entry(key(UNMATCHED, nct), UNMATCHED, nct, latest.get(nct) or now))
    return Pending(watch, sorted(entries, key=sort_key), matches, top, None)


def stored(conn: sqlite3.Connection, watch: Watch, since: str = "", newest: int | None = None) -> list[Entry]:
    """The entries the watch's reports gave, dated ``since`` or later."""
    return [Entry.from_row(row) for row in read_entries(conn, watch.name, since=since, newest=newest)]


def look_back(conn: sqlite3.Connection, next_report: Pending, since: str) -> list[Entry]:
    """What ``--since`` prints: every entry dated ``since`` or later, given already or not yet; and, for the
    days before the watch was added, the changes of the trials it matches now."""
    watch = next_report.watch
    found = {entry.key: entry for entry in stored(conn, watch, since)}
    found.update((e.key, e) for e in next_report.entries if e.dated >= since)
    if not watch.is_compliance and watch.created_change_id:
        rows = conn.execute(
            "SELECT id, nct_id, field, old, new, changed_at FROM changes WHERE changed_at >= ? AND id <= ? ORDER BY id",
            [since, watch.created_change_id],
        )
        for change_id, nct, field_name, old, new, changed_at in rows:
            if nct in next_report.matches and watch.watched(field_name):
                entry = Entry(f"change/{change_id}", CHANGED, nct, changed_at, field_name, old, new, change_id)
                found.setdefault(entry.key, entry)
    return sorted(found.values(), key=sort_key)


def feed_entries(conn: sqlite3.Connection, next_report: Pending, newest: int = FEED_ENTRIES) -> list[Entry]:
    """What the watch's feed carries: its newest entries, given already or to be given by the next report."""
    found = {entry.key: entry for entry in stored(conn, next_report.watch, newest=newest)}
    found.update((entry.key, entry) for entry in next_report.entries)
    return sorted(found.values(), key=sort_key)[-newest:]


def trials_of(entries: Iterable[Entry]) -> list[str]:
    return sorted({entry.nct_id for entry in entries})
