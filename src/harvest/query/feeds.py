"""What the Atom feeds of `harvest serve` carry: a watch's entries, a trial's changes, a search's news.

- **A watch**: the entries its reports gave and those its next report will give (``query.watch_report``), the
  newest ``FEED_ENTRIES``: the same entries, with the same ids, as ``harvest watch report`` prints. The
  compliance watch's are those its reports gave: each judges as of its own day.
- **A trial**: its changes (``changes``) in the fields a watch watches by default, newest first.
- **A search** (the search page's words and filters): the changes of the trials it finds, in those fields, and
  each trial it finds that the file first saw after its first complete run (a trial new to the registry).

Every entry has an id no other entry has and that never changes (a ``urn:uuid`` made from the file, what the
entry is and, for a watch's own entries, the watch): a change has the same id in every feed that carries it,
so a reader subscribed to a trial and a watch shows it once. Nothing here writes; ``web.atom`` writes the XML.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harvest.query.search_filters import PARAMETERS, SEPARATOR, SearchFilters
from harvest.query.synonyms import NONE, Synonyms
from harvest.query.watch_entry import CHANGED, Entry
from harvest.query.watch_report import FEED_ENTRIES, feed_entries, pending, stored
from harvest.query.watch_text import entry_text
from harvest.query.watches import DEFAULT_FIELDS, Watch, filters_given, matching, titles
from harvest.store.sql import select_in
from harvest.store.watches import read_watches

NAMESPACE = uuid.UUID("4f1c7a2e-2b9b-5d55-9a43-6c1f0e8d2a10")  # harvest's feeds (any fixed UUID would do)
NEW_TRIAL = "new"
EPOCH = "1970-01-01T00:00:00Z"
_FILTER_FIELDS = {
    "status": "statuses",
    "phase": "phases",
    "type": "study_types",
    "country": "countries",
    "results": "results",
    "sponsor": "sponsor_classes",
    "age": "age_groups",
    "sex": "sexes",
}
_SCAN = 5000  # changes read at a time, newest first, when a search finds too many trials to ask for by number


@dataclass(frozen=True)
class FeedItem:
    id: str
    title: str
    updated: str  # RFC 3339
    nct_id: str
    text: str


@dataclass
class Feed:
    id: str
    title: str
    subtitle: str
    updated: str
    items: list[FeedItem] = field(default_factory=list)


def file_salt(conn: sqlite3.Connection) -> str:
    """What tells this file from another harvest file (its first run's start), so ids differ between files
    and stay the same in a copy of the file."""
    row = conn.execute("SELECT started_at FROM runs ORDER BY id LIMIT 1").fetchone()
    return str(row[0]) if row and row[0] else ""


def urn(salt: str, *parts: str) -> str:
    return "urn:uuid:" + str(uuid.uuid5(NAMESPACE, "/".join([salt, *parts])))


def entry_id(salt: str, watch: Watch | None, entry: Entry) -> str:
    """An entry's id: a change's is the change's own, whichever feed or watch carries it."""
    if entry.change_id is not None:
        return urn(salt, "change", str(entry.change_id))
    if watch is None:
        return urn(salt, entry.key)
    return urn(salt, "watch", watch.name, watch.created_at, entry.key)


def rfc3339(dated: str) -> str:
    """A date of the file as Atom wants it: a day becomes its midnight UTC."""
    return f"{dated}T00:00:00Z" if len(dated) == 10 else dated


def _item(salt: str, watch: Watch | None, entry: Entry, title: str | None) -> FeedItem:
    said = "new in the file" if entry.kind == NEW_TRIAL else entry_text(entry)
    text = f"{(title or entry.nct_id).rstrip('.')}. {said} ({entry.dated[:10]})."
    return FeedItem(entry_id(salt, watch, entry), f"{entry.nct_id}: {said}", rfc3339(entry.dated), entry.nct_id, text)


def _feed(conn: sqlite3.Connection, key: str, title: str, subtitle: str, entries: Sequence[Entry], **kw: str) -> Feed:
    salt = file_salt(conn)
    named = titles(conn, (e.nct_id for e in entries))
    watch = kw.get("watch_name")
    owner = Watch(watch, created_at=kw.get("created_at", "")) if watch else None
    newest_first = sorted(entries, key=lambda e: (e.dated, e.change_id or 0, e.key), reverse=True)
    items = [_item(salt, owner, entry, named.get(entry.nct_id)) for entry in newest_first]
    updated = max((item.updated for item in items), default=kw.get("fallback") or _last_run(conn))
    return Feed(urn(salt, "feed", key), title, subtitle, updated, items)


def _last_run(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT max(finished_at) FROM runs").fetchone()
    return str(row[0]) if row and row[0] else EPOCH


def _change(row: Sequence[Any]) -> Entry:
    change_id, nct, field_name, old, new, changed_at = row
    return Entry(f"change/{change_id}", CHANGED, nct, changed_at, field_name, old, new, change_id)


def _changes_of(conn: sqlite3.Connection, trials: set[str], newest: int) -> list[Entry]:
    """The newest changes of the default fields of these trials."""
    fields = ", ".join(f"'{name}'" for name in DEFAULT_FIELDS)
    columns = "id, nct_id, field, old, new, changed_at"
    if len(trials) <= 2000:
        sql = f"SELECT {columns} FROM changes WHERE field IN ({fields}) AND nct_id IN ({{marks}})"
        rows = sorted(select_in(conn, sql, sorted(trials)), key=lambda r: r[0], reverse=True)
        return [_change(row) for row in rows[:newest]]
    found: list[Entry] = []
    below = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM changes").fetchone()[0]
    while len(found) < newest and below > 1:
        rows = conn.execute(
            f"SELECT {columns} FROM changes WHERE id < ? AND id >= ? ORDER BY id DESC", [below, below - _SCAN]
        ).fetchall()
        found.extend(_change(row) for row in rows if row[1] in trials and row[2] in DEFAULT_FIELDS)
        below -= _SCAN
    return found[:newest]


def trial_feed(conn: sqlite3.Connection, nct_id: str, newest: int = FEED_ENTRIES) -> Feed | None:
    """A trial's changes; None when the file does not hold it."""
    row = conn.execute("SELECT title, updated_at FROM studies WHERE nct_id = ?", [nct_id]).fetchone()
    if row is None:
        return None
    title = f"{nct_id}: {' '.join(str(row[0] or '').split())}".rstrip(": ")
    subtitle = "Changes harvest recorded: status, dates, enrollment, sites, outcome measures, results posted"
    entries = _changes_of(conn, {nct_id}, newest)
    return _feed(conn, f"trial/{nct_id}", title, subtitle, entries, fallback=row[1] or "")


def search_filters(params: Mapping[str, str]) -> SearchFilters:
    """The search page's filter parameters (values joined with ``|``) as ``SearchFilters``."""
    given: dict[str, Any] = {}
    for name in PARAMETERS:
        value = (params.get(name) or "").strip()
        if not value:
            continue
        if name in _FILTER_FIELDS:
            given[_FILTER_FIELDS[name]] = tuple(v for v in value.split(SEPARATOR) if v)
        else:
            given[name] = value
    return SearchFilters(**given)


def search_feed(
    conn: sqlite3.Connection, params: Mapping[str, str], synonyms: Synonyms = NONE, newest: int = FEED_ENTRIES
) -> Feed:
    """The news of the trials a search finds (``params``: the search page's ``q`` and filters)."""
    words = (params.get("q") or "").strip()
    filters = search_filters(params)
    watch = Watch("search", search=words or None, filters=filters_given(filters))
    if words or watch.filters:
        found = matching(conn, watch, synonyms)
    else:  # no words, no filter: every trial
        found = {nct for (nct,) in conn.execute("SELECT nct_id FROM studies")}
    entries = _changes_of(conn, found, newest)
    first = conn.execute(
        "SELECT min(finished_at) FROM runs WHERE command = 'run' AND outcome IN ('ok', 'partial')"
    ).fetchone()[0]
    if first:
        rows = conn.execute("SELECT nct_id, first_seen_at FROM studies WHERE first_seen_at > ?", [first])
        entries += [Entry(f"{NEW_TRIAL}/{nct}", NEW_TRIAL, nct, seen) for nct, seen in rows if nct in found]
    entries = sorted(entries, key=lambda e: e.dated)[-newest:]
    described = watch.describe() or "every trial"
    key = "search?" + "&".join(f"{k}={v}" for k, v in sorted(params.items()) if v and k in ("q", *PARAMETERS))
    title = f"Trials: {described}"
    subtitle = "New trials the search finds, and changes of those it finds (status, dates, enrollment, sites, ...)"
    return _feed(conn, key, title, subtitle, entries)


def watch_feed(conn: sqlite3.Connection, name: str, *, now: str, synonyms: Synonyms = NONE) -> Feed | None:
    """A watch's entries, given by its reports or to be given by its next (the compliance watch: given by its
    reports, which judge as of their day); None when there is no such watch."""
    rows = read_watches(conn, [name])
    if not rows:
        return None
    watch = Watch.from_row(rows[0])
    if watch.is_compliance:  # judged on the day of each report: what the reports said
        entries = stored(conn, watch, newest=FEED_ENTRIES)
    else:  # and what the next report will say
        entries = feed_entries(conn, pending(conn, watch, now=now, synonyms=synonyms))
    title = f"Watch {watch.name}: {watch.describe()}"
    subtitle = "What harvest watch report says of this watch: trials newly matching or no longer, and changes"
    return _feed(
        conn, f"watch/{watch.name}/{watch.created_at}", title, subtitle, entries,
        watch_name=watch.name, created_at=watch.created_at, fallback=watch.created_at,
    )  # fmt: skip
