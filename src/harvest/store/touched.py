"""Which trials' rows changed since a moment, read from the times the file already records.

Every write of a trial's rows leaves a time behind it: its ``studies`` row is written whole with
``updated_at``; a change of a field or of ``removed_on`` is a ``changes`` row (``changed_at``); a source record
stored, moved or re-attributed is a ``source_records`` row written with ``changed_at`` (and ``fetched_at``); a
past version fetched is a ``study_versions`` row (``fetched_at``). What leaves no time: a trial's rows deleted
(the caller compares which trials the file holds with which it published), a ``harvest reparse``, which
rewrites versions with their old fetch times, and the one-time dropping of the records' JSON that a file from
before schema 8 kept beside their payloads (``tables.REWRITTEN_KEY``): either since that moment counts as every
trial touched.
Times are ``core.dates.utcnow`` text (UTC, to the second), which sorts as it reads.
"""

from __future__ import annotations

import sqlite3

from harvest.store.tables import REWRITTEN_KEY

_TOUCHED = """
SELECT nct_id FROM studies WHERE updated_at >= :since
UNION SELECT nct_id FROM changes WHERE changed_at >= :since
UNION SELECT nct_id FROM source_records WHERE changed_at >= :since OR fetched_at >= :since
UNION SELECT nct_id FROM study_versions WHERE fetched_at >= :since
"""


def rewritten_since(conn: sqlite3.Connection, since: str) -> bool:
    """Whether rows were rewritten without new times at or after ``since``: a ``harvest reparse`` started, or
    the records' JSON of an older file dropped."""
    row = conn.execute("SELECT 1 FROM runs WHERE command = 'reparse' AND started_at >= ? LIMIT 1", [since]).fetchone()
    if row is not None:
        return True
    row = conn.execute("SELECT 1 FROM harvest_meta WHERE key = ? AND value >= ?", [REWRITTEN_KEY, since]).fetchone()
    return row is not None


def touched_since(conn: sqlite3.Connection, since: str) -> set[str]:
    """The trials with a row written at or after ``since`` (not those whose rows were deleted: see above)."""
    return {nct for (nct,) in conn.execute(_TOUCHED, {"since": since}) if nct}
