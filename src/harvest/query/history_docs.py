"""Datasette descriptions of the record-history tables and views (merged into ``query.datasette.TABLES``)."""

from __future__ import annotations

_NCT = "NCT number of the trial (studies.nct_id)"
_VERSION = "Version number on ClinicalTrials.gov, from 0 (the first registration)"
_VERSION_DATE = "Date of the version (ISO), as the registry's version list gives it"
_DATE = "ISO date at the precision the version gave (2020, 2020-02 or 2020-02-10)"

# table or view -> (description, {column: description})
HISTORY_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "study_versions": (
        "Record history: every past version of a trial that ClinicalTrials.gov keeps (its History of Changes), "
        "fetched by harvest history or harvest run --history. The newest version is the registry's current "
        "record, which studies and source_records hold: same content_hash, stored once here as a version.",
        {
            "nct_id": _NCT,
            "version": _VERSION,
            "version_date": _VERSION_DATE,
            "overall_status": "Overall status at that version (the version list's, in CT.gov's words)",
            "content_hash": "Hash of the canonical record (as source_records.content_hash: equal for equal content)",
            "record": "The version as a canonical record (JSON, the shape of source_records.record)",
            "raw": "The version's response body exactly as received, compressed as source_records.raw",
            "url": "Where the version was fetched (the registry's internal history endpoint)",
            "fetched_at": "When it was fetched (UTC)",
            "run_id": "Run that fetched it (runs.id)",
        },
    ),
    "version_changes": (
        "What each version changed against the one before it, field by field: one row per field that differs. "
        "Fields are named and valued as in changes (studies columns; child table names for lists).",
        {
            "nct_id": _NCT,
            "version": _VERSION,
            "version_date": _VERSION_DATE,
            "field": "Field of the study: a studies column (enrollment, overall_status, ...) or a child table "
            "(design_outcomes, conditions, locations, ...)",
            "old": "Value in the version before (JSON)",
            "new": "Value in this version (JSON)",
        },
    ),
    "history_queue": (
        "Trials harvest run --history found new or changed whose record history is still to fetch (queued with "
        "their records, so an interrupted run leaves them here for the next one).",
        {"nct_id": _NCT, "queued_at": "When the run queued it (UTC)", "run_id": "Run that queued it (runs.id)"},
    ),
    "outcome_changes": (
        "Outcome switching: outcome measures added, removed or changed (measure or time frame) from one version "
        "to the next, matched by type and measure, then by order.",
        {
            "nct_id": _NCT,
            "version": "The version that made the change",
            "version_date": _VERSION_DATE,
            "outcome_type": "PRIMARY, SECONDARY or OTHER",
            "change": "added, removed or changed",
            "old_measure": "The measure before (NULL when added)",
            "new_measure": "The measure after (NULL when removed)",
            "old_time_frame": "Its time frame before",
            "new_time_frame": "Its time frame after",
            "after_start": "1 when the version is dated after the start date it gives, 0 before, NULL if none given",
        },
    ),
    "enrollment_history": (
        "Enrollment over a trial's versions, anticipated against actual: the first version and every version "
        "that changed the figure or its type, with the change in size.",
        {
            "nct_id": _NCT,
            "version": _VERSION,
            "version_date": _VERSION_DATE,
            "previous_enrollment": "The figure in the version before",
            "previous_type": "Its type (ESTIMATED = anticipated, ACTUAL)",
            "enrollment": "The figure in this version",
            "enrollment_type": "Its type (ESTIMATED = anticipated, ACTUAL)",
            "change": "enrollment - previous_enrollment",
            "change_percent": "The change as a percentage of previous_enrollment",
            "became_actual": "1 where an anticipated figure gave way to an actual one",
            "first_enrollment": "The figure of the trial's first version",
        },
    ),
    "completion_slips": (
        "Each move of the primary completion date from one version to the next (a date made more precise within "
        "its month or year is no move).",
        {
            "nct_id": _NCT,
            "version": "The version that moved it",
            "version_date": _VERSION_DATE,
            "old_date": f"The date before; {_DATE}",
            "old_type": "ACTUAL or ESTIMATED",
            "new_date": f"The date after; {_DATE}",
            "new_type": "ACTUAL or ESTIMATED",
            "days": "By how many days it moved (later > 0), partial dates read as their first day",
            "move": "1 for the trial's first move, 2 for the second, ...",
            "first_date": "The date its first version gave",
            "total_days": "How far it then was from first_date, in days",
        },
    ),
    "status_durations": (
        "Days spent in each overall status, as cthist's overall_status_lengths counts them: from each version's "
        "date to the next version's.",
        {
            "nct_id": _NCT,
            "overall_status": "Overall status (CT.gov's words)",
            "days": "Days in that status up to the newest version",
            "versions": "How many versions had that status",
            "first_date": "Date of the first version with that status",
            "current": "1 for the status of the newest version",
            "days_to_date": "days, plus for the current status the days from the newest version to today "
            "(cthist's carry_forward_last_status)",
        },
    ),
}

HISTORY_OPTIONS = {
    "study_versions": {"facets": ["overall_status"], "sort": "nct_id"},
    "version_changes": {"facets": ["field"], "sort": "nct_id"},
    "outcome_changes": {"facets": ["outcome_type", "change", "after_start"]},
    "status_durations": {"facets": ["overall_status"]},
}
