"""What is in the file, at a glance: counts by source, status, type and phase, runs, freshness, backlog.

``collect`` returns plain data (the ``--json`` output); ``render`` turns it into text for a person. Both read
only; every number is one SQL aggregate, so ``harvest stats`` stays fast on a full harvest.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from harvest.store.deferred_indexes import DEFERRED_KEY
from harvest.store.fts import FTS_TABLE, indexed_count

NONE = "(none)"  # the label of NULL (an observational study has no phase)

RUN_COLUMNS = (
    "id",
    "command",
    "mode",
    "started_at",
    "finished_at",
    "outcome",
    "fetched",
    "new",
    "changed",
    "failed",
    "still_failing",
    "gone",
    "not_modified",
)


def _counts(conn: sqlite3.Connection, sql: str) -> dict[str, int]:
    return {(NONE if value is None else str(value)): count for value, count in conn.execute(sql)}


def _by_source(conn: sqlite3.Connection, table: str) -> dict[str, int]:
    return _counts(conn, f"SELECT source, count(*) FROM {table} GROUP BY source ORDER BY source")


def _last_run(conn: sqlite3.Connection, source: str) -> dict[str, Any] | None:
    """The source's last ``harvest run``: a later one-off fetch or re-parse is not a run of the source."""
    row = conn.execute(
        f"SELECT {', '.join(RUN_COLUMNS)} FROM runs WHERE command = 'run' AND source = ? ORDER BY id DESC LIMIT 1",
        (source,),
    ).fetchone()
    return dict(zip(RUN_COLUMNS, row, strict=True)) if row else None


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def completeness(conn: sqlite3.Connection, studies: int) -> dict[str, Any]:
    """How complete the file is against the registry: trials stored and live (not marked removed), the
    registry's own count at its last full listing (a ``run --full`` or a ``reconcile``), and the last reconcile.
    A file opened read-only before its upgrade has none of it yet: zeros and None."""
    removed, first_removed = 0, None
    if "removed_on" in _columns(conn, "studies"):
        removed, first_removed = conn.execute(
            "SELECT count(*), min(removed_on) FROM studies WHERE removed_on IS NOT NULL"
        ).fetchone()
    listing = None
    if "registry_total" in _columns(conn, "runs"):
        row = conn.execute(
            "SELECT registry_total, listed, id, command, started_at FROM runs WHERE registry_total IS NOT NULL "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row:
            listing = dict(zip(("registry_total", "listed", "run_id", "command", "started_at"), row, strict=True))
    row = conn.execute(
        "SELECT finished_at FROM runs WHERE command = 'reconcile' AND outcome IN ('ok', 'partial') "
        "ORDER BY id DESC LIMIT 1"
    ).fetchone()
    reconciled = row[0] if row else None
    return {
        "studies": studies,
        "live": studies - removed,
        "removed": removed,
        "removed_since": first_removed,
        "registry_total": listing["registry_total"] if listing else None,
        "last_listing": listing,
        "last_reconcile": reconciled,
    }


def collect(conn: sqlite3.Connection, sources: Sequence[str] = ()) -> dict[str, Any]:
    """Every figure ``harvest stats`` shows, as JSON-ready data (``sources``: the registered source names)."""
    studies, oldest, newest = conn.execute(
        "SELECT count(*), min(last_update_posted), max(last_update_posted) FROM studies"
    ).fetchone()
    records = _counts(conn, "SELECT source, count(*) FROM source_records GROUP BY source ORDER BY source")
    trials = _counts(conn, "SELECT source, count(DISTINCT nct_id) FROM source_records GROUP BY source ORDER BY source")
    watermarks = dict(conn.execute("SELECT source, watermark FROM harvest_state").fetchall())
    run_sources = {
        name.strip()
        for (value,) in conn.execute("SELECT DISTINCT source FROM runs WHERE source IS NOT NULL")
        for name in value.split(",")
        if name.strip()
    }
    # A 404 is a page not found (or gone), never a failed parse: files from before schema 4 kept them here.
    quarantined = _counts(
        conn,
        "SELECT source, count(*) FROM quarantine WHERE error_type != 'NotFound' GROUP BY source ORDER BY source",
    )
    since = dict(
        conn.execute("SELECT source, min(quarantined_at) FROM quarantine WHERE error_type != 'NotFound' GROUP BY 1")
    )
    unresolved = _by_source(conn, "unresolved")
    pages = {
        kind: _counts(conn, f"SELECT source, count(*) FROM pages WHERE last_outcome = '{kind}' GROUP BY source")
        for kind in ("not-found", "gone")
    }
    seen = set(records) | run_sources | set(watermarks) | set(quarantined) | set(unresolved)
    seen |= set(pages["not-found"]) | set(pages["gone"])
    # Real sources only: a re-parse of every source is recorded as source 'all', and a fetch names several.
    names = sorted(seen & (set(sources) | set(records)))
    has_index = conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (FTS_TABLE,)).fetchone()
    set_aside = None
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'harvest_meta'").fetchone():  # (not in old files)
        set_aside = conn.execute("SELECT value FROM harvest_meta WHERE key = ?", (DEFERRED_KEY,)).fetchone()
    return {
        "studies": studies,
        "search_index": indexed_count(conn) if has_index else None,
        # Since when a first load, not finished yet, has kept the readers' indexes aside (store.deferred_indexes)
        "indexes_set_aside_since": set_aside[0] if set_aside else None,
        "completeness": completeness(conn, studies),
        "last_update_posted": {"oldest": oldest, "newest": newest},
        "sources": {
            name: {
                "records": records.get(name, 0),
                "studies": trials.get(name, 0),
                "quarantined": quarantined.get(name, 0),
                "quarantined_since": since.get(name),
                "unresolved": unresolved.get(name, 0),
                "not_found": pages["not-found"].get(name, 0),
                "gone": pages["gone"].get(name, 0),
                "watermark": watermarks.get(name),
                "last_run": _last_run(conn, name),
            }
            for name in names
        },
        "by_status": _counts(conn, "SELECT overall_status, count(*) FROM studies GROUP BY 1 ORDER BY 2 DESC, 1"),
        "by_type": _counts(conn, "SELECT study_type, count(*) FROM studies GROUP BY 1 ORDER BY 2 DESC, 1"),
        # A PHASE1/PHASE2 study counts under both phases.
        "by_phase": _counts(
            conn,
            "SELECT p.value, count(*) FROM studies s LEFT JOIN json_each(s.phases) p GROUP BY 1 ORDER BY 2 DESC, 1",
        ),
        "unresolved": sum(unresolved.values()),
        "quarantined": sum(quarantined.values()),
        "not_found": sum(pages["not-found"].get(name, 0) for name in names),
        "gone": sum(pages["gone"].get(name, 0) for name in names),
    }


def _table(counts: dict[str, int], indent: str = "  ") -> list[str]:
    if not counts:
        return [f"{indent}(nothing yet)"]
    width = max(len(k) for k in counts)
    return [f"{indent}{key.ljust(width)}  {count:>9,}" for key, count in counts.items()]


def _completeness_line(figures: dict[str, Any]) -> str:
    removed = f"{figures['removed']:,} removed from the registry"
    if figures["removed_since"]:
        removed += f" (the first on {figures['removed_since']}; studies.removed_on)"
    listing = figures["last_listing"]
    counted = (
        f"the registry counted {listing['registry_total']:,} at its last full listing"
        f" ({listing['command']} #{listing['run_id']}, {listing['started_at'][:10]}; {listing['listed']:,} listed)"
        if listing
        else "the registry's count unknown (no full listing yet)"
    )
    reconciled = (figures["last_reconcile"] or "")[:10] or "never (see harvest reconcile)"
    return (
        f"completeness: {figures['studies']:,} studies stored, {figures['live']:,} live, {removed}\n"
        f"  {counted}; last reconcile {reconciled}"
    )


def render(stats: dict[str, Any], db: str) -> str:
    """The text a person reads on a terminal."""
    lines = [f"{db}: {stats['studies']:,} studies"]
    index = stats["search_index"]
    if index is None:
        lines.append("search index: missing (run `harvest reindex`)")
    elif index != stats["studies"]:
        lines.append(f"search index: {index:,} studies indexed, expected {stats['studies']:,} (run `harvest reindex`)")
    if stats["indexes_set_aside_since"]:
        lines.append(
            f"indexes: set aside since {stats['indexes_set_aside_since']} by a first load that has not finished;"
            " queries by condition, country, sponsor and the like are slower until `harvest run` builds them"
        )
    lines.append(_completeness_line(stats["completeness"]))
    updated = stats["last_update_posted"]
    lines.append(f"last update posted: oldest {updated['oldest'] or '-'}, newest {updated['newest'] or '-'}")
    lines.append("")
    lines.append("sources:")
    if not stats["sources"]:
        lines.append("  (nothing harvested yet)")
    for name, info in stats["sources"].items():
        run = info["last_run"]
        last = (
            f"last run #{run['id']} {run['command']} {run['mode']} {run['started_at']} {run['outcome']}"
            f" ({run['fetched'] or 0:,} fetched, {run['new'] or 0:,} new, {run['changed'] or 0:,} changed,"
            f" {run['failed'] or 0:,} failed, {run['still_failing'] or 0:,} still failing)"
            if run
            else "never run"
        )
        lines.append(
            f"  {name}: {info['records']:,} records of {info['studies']:,} studies; {last};"
            f" watermark {info['watermark'] or '-'}"
        )
        if info["quarantined"] or info["unresolved"] or info["not_found"] or info["gone"]:
            since = f" since {info['quarantined_since'][:10]}" if info["quarantined_since"] else ""
            lines.append(
                f"    {info['quarantined']:,} quarantined{since}, {info['unresolved']:,} unresolved,"
                f" {info['not_found']:,} not found, {info['gone']:,} gone (harvest unresolved lists them)"
            )
    for title, key in (("by status:", "by_status"), ("by type:", "by_type"), ("by phase:", "by_phase")):
        lines.extend(["", title, *_table(stats[key])])
    lines.append("")
    lines.append(
        f"needs attention: {stats['quarantined']:,} quarantined (failed to fetch or parse), "
        f"{stats['unresolved']:,} unresolved (no NCT number), {stats['not_found']:,} not found, "
        f"{stats['gone']:,} gone"
    )
    return "\n".join(lines)
