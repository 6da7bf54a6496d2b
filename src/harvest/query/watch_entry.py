"""One entry of a watch's report, and what the next report of a watch gives (``query.watch_report``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harvest.query.watches import Watch
from harvest.store.watches import occurrences

MATCHED, UNMATCHED, CHANGED = "matched", "unmatched", "changed"


@dataclass(frozen=True)
class Entry:
    """One thing a report says: a trial newly matching or no longer matching, a field's change (``change_id``:
    its row of ``changes``; ``old`` and ``new`` are its JSON text), or a compliance transition (``old``/``new``
    the outcomes, ``detail`` the deadline and report dates). ``key`` is stable: the same entry has the same key
    in a report, in ``watch_entries`` and in a feed."""

    key: str
    kind: str
    nct_id: str
    dated: str  # when it happened: a UTC timestamp (...Z), or a day for a compliance transition
    field: str | None = None
    old: str | None = None
    new: str | None = None
    change_id: int | None = None
    detail: Mapping[str, Any] | None = None

    def row(self) -> dict[str, Any]:
        return {
            "entry_key": self.key,
            "kind": self.kind,
            "nct_id": self.nct_id,
            "field": self.field,
            "old": self.old,
            "new": self.new,
            "dated": self.dated,
            "change_id": self.change_id,
            "detail": dict(self.detail) if self.detail else None,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Entry:
        return cls(
            key=row["entry_key"],
            kind=row["kind"],
            nct_id=row["nct_id"],
            dated=row["dated"],
            field=row["field"],
            old=row["old"],
            new=row["new"],
            change_id=row["change_id"],
            detail=row["detail"],
        )


@dataclass
class Pending:
    """What the next report of a watch gives, and what it leaves for the one after: the trials matched now
    (nct_id -> (since when, state)), the last ``changes.id`` read, and the day judged (compliance)."""

    watch: Watch
    entries: list[Entry]
    matches: dict[str, tuple[str | None, Any]] = field(default_factory=dict)
    cursor: int = 0
    as_of: str | None = None


def sort_key(entry: Entry) -> tuple[Any, ...]:
    return (entry.dated, entry.nct_id, entry.change_id or 0, entry.kind)


def numbering(conn: sqlite3.Connection, watch: str) -> Callable[[str, str], str]:
    """A function giving the key of the next entry of a kind for a trial: ``kind/NCT…/n``, n counting the
    entries of that kind the watch already gave the trial (a trial may match, leave and match again)."""
    given = occurrences(conn, watch)

    def key(kind: str, nct: str) -> str:
        return f"{kind}/{nct}/{given.get((kind, nct), 0) + 1}"

    return key
