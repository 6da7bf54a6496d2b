"""Secondary indexes set aside while a first load fills an empty file, and built once when it ends.

An index on a value that arrives in no order (a condition's name, a country, a MeSH term, a sponsor) takes its
entries at scattered places: every page of 1,000 trials dirties most of its leaves again, and SQLite writes each
of them to the WAL and back into the file at every commit, more of them the larger the file grows. Built once at
the end, from the rows in place, the same indexes cost a sort. Measured on the bench mix at 100,000 trials: the
writer's CPU 105 -> 92 s, and 2.8 s to build them at the end.

Only the indexes that serve readers are set aside; those the load's own statements read (studies by lead sponsor,
for sponsor organisations; the keys; the run's bookkeeping) stay. A load killed midway leaves its mark in
``harvest_meta``: the run that resumes it goes on without them, any other run builds them first. Meanwhile a
reader's queries give the same answers, more slowly.
"""

from __future__ import annotations

from harvest.core.dates import utcnow
from harvest.store.handle import Handle
from harvest.store.runs import Runs
from harvest.store.views import INDEXES

DEFERRED_KEY = "indexes_deferred_at"
KEPT = frozenset({"studies_lead_sponsor"})  # read by every write of study rows (store.organisations)
DEFERRED = tuple(name for name in INDEXES if name not in KEPT)


class DeferredIndexes:
    """Setting the readers' indexes aside for a first load, and building them back."""

    def __init__(self, store: Handle, runs: Runs) -> None:
        self._store = store
        self._conn = store.conn
        self._runs = runs  # the file's bookkeeping (harvest_meta), where the mark is kept

    def deferred(self) -> bool:
        """Whether a load set the indexes aside and they are not built yet."""
        return self._runs.meta(DEFERRED_KEY) is not None

    def defer_if_empty(self) -> bool:
        """Set the indexes aside if the file holds no trial yet (a first load); whether they were."""
        with self._store.transaction():
            if self._conn.execute("SELECT 1 FROM studies LIMIT 1").fetchone() is not None:
                return False
            for name in DEFERRED:
                self._conn.execute(f"DROP INDEX IF EXISTS {name}")
            self._runs.set_meta(DEFERRED_KEY, utcnow())
        return True

    def build(self) -> int:
        """Build every index set aside (one transaction) and clear the mark; how many were built."""
        with self._store.transaction():
            present = {name for (name,) in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
            missing = [name for name in INDEXES if name not in present]
            for name in missing:
                self._conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {INDEXES[name]}")
            self._runs.unset_meta(DEFERRED_KEY)
        return len(missing)
