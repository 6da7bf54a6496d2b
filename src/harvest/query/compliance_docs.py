"""Datasette descriptions of the compliance views (``store.compliance``) and of ``sponsor_organisations``,
merged into ``query.datasette``."""

from __future__ import annotations

from typing import Any

from harvest.store.compliance import ONGOING_STATUSES

_FLAG = "1 or 0: "

RESULTS_COLUMNS: dict[str, str] = {
    "nct_id": "NCT number of the trial (studies.nct_id)",
    "act_kind": "ACT (started on or after 2017-01-18, FDA-regulated) or pACT (probable ACT: started before, "
    "completed on or after 2017-01-18, FDA-regulated, or without FDA flags with a US site and a drug, device, "
    "biological, ... intervention)",
    "lead_sponsor": "Organisation responsible for the trial, as the record names it",
    "organisation": "The organisation the lead sponsor's name maps to (sponsor_organisations; the name itself "
    "while unmapped)",
    "parent": "That organisation's parent, where a curated row gives one",
    "overall_status": "Recruitment status (CT.gov words)",
    "completion_date_used": "Primary completion date, else completion date, as a day (a month counts as its "
    "last day, a year as Dec 31)",
    "defaulted_date": _FLAG + "the completion date used was known to the month or year only",
    "due_date": "The statutory deadline: completion date used + 365 days; with a certificate of delay, + 3 years "
    "(TrialsTracker's calculated_due_date)",
    "has_certificate": _FLAG + "a certificate of delay was submitted on or before the as-of date",
    "results_submitted": "Results first submitted (on or before the as-of date), else empty",
    "qc_submitted": "Without posted results: the submission to the registry's quality control that counts as "
    "reporting (the first after the last one cancelled), on or before the as-of date (table submissions)",
    "submission_cancelled": _FLAG + "a submission to quality control was cancelled by the sponsor and none "
    "followed it: the trial counts as not reported",
    "outcome": "not_yet_due, reported_on_time, reported_late or overdue at the as-of date, as TrialsTracker "
    "decides them: overdue only once 30 days have passed since the deadline",
    "days_late": "TrialsTracker's days_late: days from the deadline to the reporting (results or QC submission), "
    "or to the as-of date for an overdue trial; empty when not late or not yet due",
    "finable_days_late": "TrialsTracker's finable_days_late: days late counted from the deadline + 30 days, from "
    "the first submission; empty when none",
    "status_discrepancy": _FLAG
    + "both completion dates passed but the status still says ongoing ("
    + ", ".join(ONGOING_STATUSES)
    + ")",
    "late_certificate": _FLAG + "the certificate of delay was filed more than a year after the completion date",
    "flags_absent": _FLAG + "the record has neither FDA-regulation flag (a pACT counted without them)",
    "became_act_on": "Date of the first stored version (record history: harvest history) that met the ACT rules, "
    "up to the as-of date; NULL without stored versions or if none did",
    "completion_moved_after_due": "1 when a version dated after the trial's deadline (by the date it replaced) "
    "moved its primary completion date, 0 when the stored versions show no such move; NULL without stored versions",
    "version_used": "The stored version (study_versions.version) the trial was judged by: the one that stood at "
    "the as-of date; NULL: the current record",
    "version_date": "Date of the record judged: that version's date, or the current record's last update",
    "standard": "FDAAA (FDAAA 801, TrialsTracker's rules) or WHO (harvest compliance --standard who)",
    "as_of": "The date the row is judged at (today, UTC, in the view)",
}

SPONSOR_DESCRIPTIONS: dict[str, str] = {
    "organisation": "The organisation (sponsor_organisations) its lead sponsors' names map to",
    "sponsor_names": "JSON array of the lead sponsor names counted under it",
    "trials": "Its ACTs and pACTs",
    "pacts_flags_absent": "Of them, pACTs whose record has no FDA-regulation flags",
    "not_yet_due": "Trials not yet due",
    "due": "Trials reported or overdue (TrialsTracker's due: every trial no longer not yet due)",
    "reported": "Trials reported, on time or late",
    "reported_on_time": "Trials reported on or before their deadline (early reports included)",
    "reported_late": "Trials reported after their deadline",
    "overdue": "Trials past their deadline and grace period with nothing reported",
    "percentage": "TrialsTracker's score: reported x 100 / due, as a whole number; empty when none is due",
    "rank": "TrialsTracker's rank by percentage, highest first (ties share a rank); empty when none is due",
    "share_compliant": "harvest's stricter share: reported on time / due (0 to 1; empty when none is due)",
    "days_late": "Sum of the trials' days_late",
    "finable_days_late": "Sum of the trials' finable_days_late",
    "as_of": "The date the counts are judged at (today, UTC, in the view)",
}

ORGANISATION_COLUMNS: dict[str, str] = {
    "name": "A lead sponsor's name as records write it (studies.lead_sponsor)",
    "sponsor_key": "Its normalised key: case, accents and punctuation folded, trailing Inc, Ltd, LLC, GmbH, S.A., "
    "AG, plc, Corporation and the like dropped; names sharing a key are one organisation",
    "organisation": "The organisation it is counted under: a curated value, else the spelling of its key on most "
    "trials",
    "parent": "The organisation's parent, from a curated row",
    "curated": "1: set by a person (harvest sponsors --import) and kept through every rebuild; 0: automatic",
    "updated_at": "When the row was last written (UTC)",
}

_RULES = (
    " Rules of EBM DataLab's FDAAA TrialsTracker (see README, Results-reporting compliance); "
    "`harvest compliance --as-of DATE` gives the same rows at any date."
)

TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "results_compliance": (
        "One row per applicable clinical trial (ACT) or probable ACT under FDAAA 801, with its results deadline, "
        "outcome and days late as of today." + _RULES,
        RESULTS_COLUMNS,
    ),
    "sponsor_compliance": (
        "results_compliance counted per organisation: due, reported on time or late, overdue, TrialsTracker's "
        "percentage and rank, days late." + _RULES,
        SPONSOR_DESCRIPTIONS,
    ),
    "sponsor_organisations": (
        "Each lead sponsor name and the organisation (and parent) it is counted under: automatic rows follow the "
        "studies, curated rows (harvest sponsors --import) always win.",
        ORGANISATION_COLUMNS,
    ),
}

OPTIONS: dict[str, dict[str, Any]] = {
    "results_compliance": {"facets": ["outcome", "act_kind", "organisation"], "sort_desc": "days_late"},
    "sponsor_compliance": {"sort_desc": "overdue"},
    "sponsor_organisations": {"facets": ["curated"], "sort": "organisation"},
}
