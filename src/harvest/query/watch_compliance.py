"""The compliance watch: trials newly due, newly overdue, newly reported, or no longer overdue without reporting,
under FDAAA 801 (or the WHO's rule), judged as ``harvest compliance`` judges them.

Each report judges, as of a day, every trial the standard holds to report (``query.compliance.trials``), and
keeps each one's outcome and deadline (``watch_matches.state``). The next report, as of a later day (or the
same), compares each trial on the list now or then:

- a trial on the list at the last report, with what that report judged: so a record that changed counts, even
  when it moved a date into the past (a primary completion date moved a year earlier makes a trial newly due,
  and overdue at once);
- a trial the file held then but that was not on the list (a change of its record made it an applicable trial),
  with nothing: newly overdue if it is overdue now; newly due or newly reported only if the deadline or the
  report falls between the two days;
- a trial the file first saw since the last report, as ``harvest compliance --changes-since LAST --as-of DAY``
  judges it (``query.compliance.changes``, both days with the record as it is now): only what the days between
  brought is news, not a deadline a trial newly harvested missed years ago.

Every entry is dated with the day judged; its ``detail`` has the deadline and the date of the report counted.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from typing import Any

from harvest.core.errors import InputError
from harvest.query import compliance
from harvest.query.watch_entry import Entry, Pending, numbering, sort_key
from harvest.query.watches import Watch, first_seen
from harvest.store.compliance import REPORTED, RESULT_COLUMNS
from harvest.store.watches import read_matches

NEWLY_DUE, NEWLY_OVERDUE, NEWLY_REPORTED, NO_LONGER_OVERDUE = compliance.CHANGES
OVERDUE = "overdue"
_AT = {name: i for i, name in enumerate(RESULT_COLUMNS)}
_CHANGE_AT = {name: i for i, name in enumerate(compliance.CHANGE_COLUMNS)}


def judge(conn: sqlite3.Connection, watch: Watch, as_of: dt.date) -> dict[str, Sequence[Any]]:
    """nct_id -> its ``results_compliance`` row as of ``as_of``, under the watch's standard and sponsor filter."""
    settings = watch.compliance or {}
    rows = compliance.trials(conn, as_of, sponsor=settings.get("sponsor"), standard=settings.get("standard") or "fdaaa")
    return {row[0]: row for row in rows}


def state(row: Sequence[Any]) -> dict[str, Any]:
    """What a report keeps of a trial to compare the next one with."""
    return {"outcome": row[_AT["outcome"]], "due": row[_AT["due_date"]]}


def _detail(row: Sequence[Any] | None, before: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        return {"due_date": (before or {}).get("due")}
    return {
        "act_kind": row[_AT["act_kind"]],
        "organisation": row[_AT["organisation"]],
        "due_date": row[_AT["due_date"]],
        "reported_date": row[_AT["results_submitted"]] or row[_AT["qc_submitted"]],
        "days_late": row[_AT["days_late"]],
    }


def transitions(before: dict[str, Any] | None, row: Sequence[Any] | None, last: str, as_of: str) -> list[str]:
    """What changed for one trial between the last report (``before``: what it judged, None: not on the list)
    and now (``row``: the trial's row as of ``as_of``, None: not on the list)."""
    outcome = row[_AT["outcome"]] if row else None
    due = row[_AT["due_date"]] if row else None
    reported = (row[_AT["results_submitted"]] or row[_AT["qc_submitted"]]) if row else None
    was = before["outcome"] if before else None
    was_due = before is not None and before["due"] is not None and before["due"] < last
    kinds = []
    if due is not None and due < as_of and not was_due and (before is not None or due >= last):
        kinds.append(NEWLY_DUE)
    if outcome == OVERDUE and was != OVERDUE:
        kinds.append(NEWLY_OVERDUE)
    if outcome in REPORTED and was not in REPORTED and (before is not None or (reported or "") >= last):
        kinds.append(NEWLY_REPORTED)
    if was == OVERDUE and outcome not in (OVERDUE, *REPORTED):
        kinds.append(NO_LONGER_OVERDUE)
    return kinds


def pending(conn: sqlite3.Connection, watch: Watch, *, now: str, as_of: dt.date) -> Pending:
    """What the compliance watch's next report gives, judging as of ``as_of`` (on or after its last day)."""
    last = dt.date.fromisoformat(watch.as_of) if watch.as_of else as_of
    if as_of < last:
        raise InputError(f"--as-of {as_of.isoformat()} is before {last.isoformat()}, the day {watch.name} last judged")
    before = {nct: kept for nct, (_, kept) in read_matches(conn, watch.name).items()}
    since = {nct: when for nct, (when, _) in read_matches(conn, watch.name).items()}
    rows = judge(conn, watch, as_of)
    newcomers = [nct for nct in rows if nct not in before]
    seen = first_seen(conn, newcomers)
    brand_new = {nct for nct in newcomers if (seen.get(nct) or "") > watch.since()}
    key = numbering(conn, watch.name)
    day = as_of.isoformat()
    entries: list[Entry] = []
    for nct in sorted(set(rows) | set(before)):
        if nct in brand_new:
            continue
        row = rows.get(nct)
        for kind in transitions(before.get(nct), row, last.isoformat(), day):
            old = before[nct]["outcome"] if nct in before else None
            new = row[_AT["outcome"]] if row else None
            entries.append(
                Entry(key(kind, nct), kind, nct, day, "outcome", old, new, None, _detail(row, before.get(nct)))
            )
    if brand_new and last < as_of:
        settings = watch.compliance or {}
        timed = compliance.changes(
            conn, last, as_of, sponsor=settings.get("sponsor"), standard=settings.get("standard") or "fdaaa"
        )
        for change in timed:
            nct = change[_CHANGE_AT["nct_id"]]
            if nct in brand_new:
                kind = change[_CHANGE_AT["change"]]
                old, new = change[_CHANGE_AT["outcome_before"]], change[_CHANGE_AT["outcome"]]
                entries.append(
                    Entry(key(kind, nct), kind, nct, day, "outcome", old, new, None, _detail(rows[nct], None))
                )
    matches = {nct: (since.get(nct) or day, state(row)) for nct, row in rows.items()}
    return Pending(watch, sorted(entries, key=sort_key), matches, watch.change_cursor, day)
