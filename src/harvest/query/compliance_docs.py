"""Datasette descriptions of the compliance views (``store.compliance``), merged into ``query.datasette``."""

from __future__ import annotations

from typing import Any

from harvest.store.compliance import ONGOING_STATUSES

_FLAG = "1 or 0: "

RESULTS_COLUMNS: dict[str, str] = {
    "nct_id": "NCT number of the trial (studies.nct_id)",
    "act_kind": "ACT (started on or after 2017-01-18, FDA-regulated) or pACT (probable ACT: started before, "
    "completed on or after 2017-01-18, with a US site)",
    "lead_sponsor": "Organisation responsible for the trial",
    "overall_status": "Recruitment status (CT.gov words)",
    "completion_date_used": "Primary completion date, else completion date, as a day (a month counts as its "
    "last day, a year as Dec 31)",
    "defaulted_date": _FLAG + "the completion date used was known to the month or year only",
    "due_date": "When results are due: completion date used + 1 year + 30 days; with a certificate of delay, "
    "+ 3 years + 30 days",
    "has_certificate": _FLAG + "a certificate of delay was submitted on or before the as-of date",
    "results_submitted": "Results first submitted (on or before the as-of date), else empty",
    "outcome": "not_yet_due, reported_on_time, reported_late or overdue, at the as-of date",
    "days_overdue": "Days from the due date to the results (reported_late) or to the as-of date (overdue); else 0",
    "status_discrepancy": _FLAG
    + "both completion dates passed but the status still says ongoing ("
    + ", ".join(ONGOING_STATUSES)
    + ")",
    "late_certificate": _FLAG + "the certificate of delay was filed more than a year after the completion date",
    "flags_absent": _FLAG + "the record has neither FDA-regulation flag (a pACT counted without them)",
    "became_act_on": "Date of the first stored version (record history: harvest history) that met the ACT rules, "
    "up to the as-of date; NULL without stored versions or if none did",
    "completion_moved_after_due": "1 when a version dated after the trial was due (by the date it replaced) moved "
    "its primary completion date, 0 when the stored versions show no such move; NULL without stored versions",
    "as_of": "The date the row is judged at (today, UTC, in the view)",
}

SPONSOR_DESCRIPTIONS: dict[str, str] = {
    "lead_sponsor": "Lead sponsor",
    "trials": "Its ACTs and pACTs",
    "pacts_flags_absent": "Of them, pACTs whose record has no FDA-regulation flags",
    "not_yet_due": "Trials not yet due (and not reported)",
    "due": "Trials whose due date has passed",
    "reported_on_time": "Trials reported on or before their due date (early reports included)",
    "reported_late": "Trials reported after their due date",
    "overdue": "Trials past their due date with no results",
    "share_compliant": "Share of the due trials reported on time (0 to 1; empty when none is due)",
    "days_overdue": "Sum of the trials' days_overdue",
    "as_of": "The date the counts are judged at (today, UTC, in the view)",
}

_RULES = (
    " Rules of EBM DataLab's FDAAA TrialsTracker (see README, Results-reporting compliance); "
    "`harvest compliance --as-of DATE` gives the same rows at any date."
)

TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "results_compliance": (
        "One row per applicable clinical trial (ACT) or probable ACT under FDAAA 801, with its results due date "
        "and outcome as of today." + _RULES,
        RESULTS_COLUMNS,
    ),
    "sponsor_compliance": (
        "results_compliance counted per lead sponsor: due, reported on time or late, overdue, days overdue." + _RULES,
        SPONSOR_DESCRIPTIONS,
    ),
}

OPTIONS: dict[str, dict[str, Any]] = {
    "results_compliance": {"facets": ["outcome", "act_kind", "lead_sponsor"], "sort_desc": "days_overdue"},
    "sponsor_compliance": {"sort_desc": "overdue"},
}
