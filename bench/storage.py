"""Where a harvested file's bytes go: bytes per study by table, read from SQLite's ``dbstat`` virtual table.

A table's figure counts the pages of its B-tree and of its indexes (``sqlite_autoindex_*`` included); the search
index's figure counts the FTS5 shadow tables (``studies_fts_data``, ``_idx``, ``_docsize``, ``_config``). What the
tables do not use (free pages, the schema) is "free and schema", so the figures add up to the file's size.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

SEARCH_INDEX = "studies_fts"


@dataclass
class Storage:
    """One file's bytes: its size and what each table takes (indexes included)."""

    studies: int
    file_bytes: int
    by_table: dict[str, int]

    @property
    def per_study(self) -> float:
        return self.file_bytes / self.studies if self.studies else 0.0

    def top(self, count: int = 16) -> list[tuple[str, float]]:
        """The ``count`` largest tables in bytes per study, then the rest as one line."""
        ranked = sorted(self.by_table.items(), key=lambda item: -item[1])
        shown = [(name, size / self.studies) for name, size in ranked[:count]]
        rest = sum(size for _, size in ranked[count:])
        if rest:
            shown.append((f"{len(ranked) - count} other tables", rest / self.studies))
        return shown


def measure(db: Path) -> Storage:
    """Bytes by table of a closed harvest file (its WAL checkpointed into it)."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"))
        by_table: dict[str, int] = {}
        for name, size in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            table = owner.get(name, name)
            if table.startswith(SEARCH_INDEX):
                table = f"{SEARCH_INDEX} (search index)"
            elif table in ("sqlite_schema", "sqlite_master"):
                table = "free and schema"
            by_table[table] = by_table.get(table, 0) + size
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        studies = conn.execute("SELECT count(*) FROM studies").fetchone()[0]
    finally:
        conn.close()
    file_bytes = page_size * pages
    by_table["free and schema"] = by_table.get("free and schema", 0) + file_bytes - sum(by_table.values())
    return Storage(studies, file_bytes, by_table)


def table_lines(storage: Storage, n: int) -> list[str]:
    """The storage table of results.md."""
    lines = ["", f"## 6. Storage: bytes per study by table, after the full run at N={n:,}", ""]
    lines.append(
        "From SQLite's `dbstat` virtual table over the file the full run wrote (its WAL checkpointed): each "
        "table's B-tree with its indexes; the search index is FTS5's shadow tables. Generated columns take no "
        "space. Free pages and the schema are counted so that the lines add up to the file."
    )
    lines += ["", "| table | bytes per study | share |", "|---|---:|---:|"]
    for name, per_study in storage.top():
        lines.append(f"| {name} | {per_study:,.0f} | {per_study / storage.per_study:.1%} |")
    lines.append(f"| **the file** | **{storage.per_study:,.0f}** | 100% |")
    return lines
