"""Reading record history: one trial's timeline (``harvest history NCT --changes``) and the analysis views
(``harvest outcome-changes``, ``enrollment-history``, ``completion-slips``, ``status-durations``). Read only."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harvest.store.history_views import history_sql

# view -> (the order its rows are printed in, what `--help` says it answers)
ANALYSES: dict[str, tuple[str, str]] = {
    "outcome_changes": (
        "nct_id, version, outcome_type, change",
        "Outcome measures added, removed or changed from one version to the next; after_start is 1 when the "
        "version is dated after the start date it gives (outcome switching).",
    ),
    "enrollment_history": (
        "nct_id, version",
        "Each change of the enrollment figure or its type, with the change in size; became_actual marks the "
        "version where the anticipated figure gave way to the actual one.",
    ),
    "completion_slips": (
        "nct_id, version",
        "Each move of the primary completion date: by how many days (days), the how-manieth move (move), "
        "and how far from the first date given (total_days).",
    ),
    "status_durations": (
        "nct_id, first_date",
        "Days spent in each overall status, as cthist's overall_status_lengths counts them: from each "
        "version's date to the next one's; days_to_date carries the current status on to today.",
    ),
}


def analysis(conn: sqlite3.Connection, view: str, nct_ids: Sequence[str] = ()) -> tuple[list[str], list[Any]]:
    """The rows of one analysis view (of these trials, if given): column names and rows."""
    order, _ = ANALYSES[view]
    if not nct_ids:
        cursor = conn.execute(f"SELECT * FROM {view} ORDER BY {order}")
    else:
        names = {f"n{i}": nct for i, nct in enumerate(nct_ids)}
        scoped = history_sql(view, f"nct_id IN ({', '.join(':' + name for name in names)})")
        cursor = conn.execute(f"SELECT * FROM ({scoped}) ORDER BY {order}", names)
    return [d[0] for d in cursor.description], cursor.fetchall()


# One trial's analyses, with its NCT number as :id (the trial page and the timeline read these).
ONE_TRIAL: dict[str, str] = {view: history_sql(view, "nct_id = :id") for view in ANALYSES}


@dataclass
class OutcomeChange:
    outcome_type: str | None
    change: str
    old_measure: str | None
    new_measure: str | None
    old_time_frame: str | None
    new_time_frame: str | None
    after_start: int | None


@dataclass
class TimelineVersion:
    version: int
    date: str
    status: str | None
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)  # (field, old, new), values decoded
    outcomes: list[OutcomeChange] = field(default_factory=list)


def timeline(conn: sqlite3.Connection, nct_id: str) -> list[TimelineVersion]:
    """Every stored version of a trial, oldest first, with what it changed (JSON values decoded)."""
    versions = {
        version: TimelineVersion(version, date, status)
        for version, date, status in conn.execute(
            "SELECT version, version_date, overall_status FROM study_versions WHERE nct_id = ? ORDER BY version",
            [nct_id],
        )
    }
    for version, name, old, new in conn.execute(
        "SELECT version, field, old, new FROM version_changes WHERE nct_id = ? ORDER BY version, field", [nct_id]
    ):
        if version in versions:
            versions[version].changes.append((name, _decoded(old), _decoded(new)))
    for row in conn.execute(
        "SELECT version, outcome_type, change, old_measure, new_measure, old_time_frame, new_time_frame, after_start "
        f"FROM ({ONE_TRIAL['outcome_changes']}) ORDER BY version, outcome_type, change",
        {"id": nct_id},
    ):
        if row[0] in versions:
            versions[row[0]].outcomes.append(OutcomeChange(*row[1:]))
    return list(versions.values())


def _decoded(value: str | None) -> Any:
    return None if value is None else json.loads(value)
