"""Results-reporting compliance as SQL, written once for the views and for ``harvest compliance``.

``results_sql(as_of, standard)`` is one row per trial a standard holds to report results, with its deadline,
outcome and days late at the date ``as_of`` (an SQL expression: ``'now'`` for the view, ``:as_of`` for the
verb), so the view ``results_compliance`` and ``harvest compliance --as-of`` cannot disagree.
``compliance_sponsors.sponsor_sql(rows)`` counts those rows per organisation.

The FDAAA 801 rules are EBM DataLab's FDAAA TrialsTracker's as its code decides them today: which trials are
ACTs and pACTs, and when results are due, from its converter (``ctconvert/convert_data.py`` in
ebmdatalab/clinicaltrials-act-converter); the deadline, the outcome and the days late from its tracker
(``clinicaltrials/frontend/trial_computer.py`` and ``models.py`` in ebmdatalab/clinicaltrials-act-tracker),
its QC submissions as it reads them from the API (``process_data.py``). README's "Results-reporting
compliance" says them in prose, with each remaining difference and what the file cannot know.
"""

from __future__ import annotations

from harvest.store.compliance_record import (
    any_intervention,
    any_site_in,
    became_act,
    chosen_sql,
    days_between,
    first_release,
    last_cancelled,
    last_day,
    moved_after_due,
    plus_years,
    record_sql,
    standing_release,
    words,
)

# The Final Rule's effective date: an ACT started on or after it; a pACT started before it and completed after.
EFFECTIVE_DATE = "2017-01-18"

# Phase 1/2, 2, 2/3, 3, 4 and N/A: a trial qualifies when one of its phases is in here and none is Early Phase 1
# (a Phase 1/Phase 2 trial holds PHASE2; a Phase 1 trial holds only PHASE1).
QUALIFYING_PHASES = ("PHASE2", "PHASE3", "PHASE4", "NA")
EXCLUDED_PHASES = ("EARLY_PHASE1",)

# Intervention types that make a pre-2017 trial without FDA-regulation flags a probable ACT.
PACT_INTERVENTION_TYPES = (
    "DRUG",
    "BIOLOGICAL",
    "DEVICE",
    "GENETIC",
    "RADIATION",
    "COMBINATION_PRODUCT",
    "DIAGNOSTIC_TEST",
)

# The United States and its territories as TrialsTracker names them, each matched as a part of a site's country.
US_COUNTRIES = (
    "United States",
    "American Samoa",
    "Guam",
    "Northern Mariana Islands",
    "Puerto Rico",
    "Virgin Islands (U.S.)",
)

# Statuses that say the trial is still going: with both completion dates passed, a data-quality flag.
ONGOING_STATUSES = (
    "NOT_YET_RECRUITING",
    "RECRUITING",
    "ENROLLING_BY_INVITATION",
    "ACTIVE_NOT_RECRUITING",
    "SUSPENDED",
    "UNKNOWN",
)

# Days after the deadline before TrialsTracker calls unreported results overdue, and counts days it could fine.
GRACE_DAYS = 30

# fdaaa: FDAAA 801, the default; who: the WHO's rule, every interventional trial reports within 12 months.
STANDARDS = ("fdaaa", "who")

OUTCOMES = ("not_yet_due", "reported_on_time", "reported_late", "overdue")
REPORTED = ("reported_on_time", "reported_late")

RESULT_COLUMNS = (
    "nct_id",
    "act_kind",
    "lead_sponsor",
    "organisation",
    "parent",
    "overall_status",
    "completion_date_used",
    "defaulted_date",
    "due_date",
    "has_certificate",
    "results_submitted",
    "qc_submitted",
    "submission_cancelled",
    "outcome",
    "days_late",
    "finable_days_late",
    "status_discrepancy",
    "late_certificate",
    "flags_absent",
    "became_act_on",
    "completion_moved_after_due",
    "version_used",
    "version_date",
    "standard",
    "as_of",
)


def _deadline(standard: str) -> str:
    """The statutory deadline: FDAAA's 365 days after completion (TrialsTracker's ``calculated_due_date``), or
    3 years with a certificate of delay; the WHO's 12 months, with no delay."""
    if standard == "who":
        return plus_years("used_day", 1)
    return (
        f"CASE WHEN certificate_day IS NOT NULL THEN {plus_years('used_day', 3)} ELSE date(used_day, '+365 days') END"
    )


def _kind() -> str:
    """ACT, pACT, or NULL: the converter's act_flag and included_pact_flag."""
    return f"""CASE
             WHEN NOT covered THEN NULL
             WHEN (drug = 1 OR device = 1) AND start_day >= '{EFFECTIVE_DATE}' THEN 'ACT'
             WHEN start_day < '{EFFECTIVE_DATE}' AND used_day >= '{EFFECTIVE_DATE}' AND (
                  drug = 1 OR device = 1
                  OR (drug IS NULL AND device IS NULL
                      AND {any_intervention("c.nct_id", PACT_INTERVENTION_TYPES)}
                      AND {any_site_in("c.nct_id", US_COUNTRIES)}))
             THEN 'pACT'
           END"""


def results_sql(as_of: str = "'now'", standard: str = "fdaaa") -> str:
    """One row per trial held to ``standard`` (``RESULT_COLUMNS``) at the date ``as_of``, an SQL expression."""
    if standard not in STANDARDS:
        raise ValueError(f"unknown standard {standard!r}")
    who = standard == "who"
    # Results are due (TrialsTracker's results_due) once the grace period after the deadline has passed.
    gate = "as_of > due_date" if who else f"as_of > date(due_date, '+{GRACE_DAYS} days')"
    held = "1" if who else "act_kind IS NOT NULL"
    finable = (
        "NULL"
        if who
        else f"CASE WHEN days_late IS NULL THEN NULL "
        f"ELSE nullif(max(max(coalesce(earliest_days, 0), 0) - {GRACE_DAYS}, 0), 0) END"
    )
    days = days_between
    return f"""
WITH params AS (SELECT date({as_of}) AS as_of),
chosen AS ({chosen_sql()}),
record AS ({record_sql()}),
candidates AS (
    SELECT r.*, r.is_fda_regulated_drug AS drug, r.is_fda_regulated_device AS device,
           {last_day("r.start_date")} AS start_day,
           {last_day("r.primary_completion_date")} AS primary_day,
           {last_day("r.completion_date")} AS completion_day,
           CASE WHEN r.primary_completion_date IS NOT NULL
                THEN {last_day("r.primary_completion_date")} ELSE {last_day("r.completion_date")} END AS used_day,
           length(coalesce(r.primary_completion_date, r.completion_date)) < 10 AS defaulted,
           -- what was filed after the as-of date was not filed yet at that date
           CASE WHEN {last_day("r.results_first_submitted")} <= r.as_of
                THEN {last_day("r.results_first_submitted")} END AS results_day,
           CASE WHEN {last_day("r.disp_first_submitted")} <= r.as_of
                THEN {last_day("r.disp_first_submitted")} END AS certificate_day,
           EXISTS (SELECT 1 FROM json_each(r.phases) WHERE value IN ({words(QUALIFYING_PHASES)}))
             AND NOT EXISTS (SELECT 1 FROM json_each(r.phases) WHERE value IN ({words(EXCLUDED_PHASES)}))
             AND coalesce(r.primary_purpose, '') <> 'DEVICE_FEASIBILITY' AS covered
    FROM record r
    WHERE r.study_type = 'INTERVENTIONAL' AND coalesce(r.overall_status, '') <> 'WITHDRAWN'
),
kinds AS (
    SELECT c.*, {_kind()} AS act_kind, {_deadline(standard)} AS due_date
    FROM candidates c
),
submitted AS (
    -- submissions to the registry's QC count while no results are posted (TrialsTracker's TrialQA)
    SELECT k.*,
           CASE WHEN results_day IS NULL THEN {first_release("k.nct_id")} END AS first_qc,
           CASE WHEN results_day IS NULL THEN {last_cancelled("k.nct_id")} END AS cancelled_qc,
           CASE WHEN used_day IS NULL THEN 0 ELSE {gate} END AS results_due
    FROM kinds k WHERE {held}
),
reporting AS (
    SELECT s.*, CASE WHEN first_qc IS NOT NULL THEN {standing_release("s.nct_id", "s.cancelled_qc")} END AS standing_qc
    FROM submitted s
),
counted AS (
    SELECT r.*,
           CASE WHEN NOT results_due THEN NULL
                WHEN results_day IS NOT NULL THEN nullif(max({days("results_day", "due_date")}, 0), 0)
                WHEN standing_qc IS NOT NULL THEN nullif(max({days("standing_qc", "due_date")}, 0), 0)
                ELSE {days("as_of", "due_date")} END AS days_late,
           CASE WHEN NOT results_due THEN NULL
                WHEN results_day IS NOT NULL THEN {days("results_day", "due_date")}
                WHEN first_qc IS NOT NULL THEN {days("first_qc", "due_date")}
                ELSE {days("as_of", "due_date")} END AS earliest_days
    FROM reporting r
),
judged AS (
    SELECT c.*,
           CASE
             WHEN NOT results_due THEN CASE WHEN results_day IS NOT NULL THEN 'reported_on_time' ELSE 'not_yet_due' END
             WHEN results_day IS NOT NULL OR standing_qc IS NOT NULL THEN
               CASE WHEN days_late IS NULL THEN 'reported_on_time' ELSE 'reported_late' END
             ELSE 'overdue'
           END AS outcome,
           {finable} AS finable_days_late
    FROM counted c
)
SELECT j.nct_id, act_kind, j.lead_sponsor,
       coalesce(m.organisation, j.lead_sponsor) AS organisation, m.parent AS parent,
       overall_status,
       used_day AS completion_date_used,
       coalesce(defaulted, 0) AS defaulted_date,
       due_date,
       certificate_day IS NOT NULL AS has_certificate,
       results_day AS results_submitted,
       standing_qc AS qc_submitted,
       cancelled_qc IS NOT NULL AND standing_qc IS NULL AS submission_cancelled,
       outcome, days_late, finable_days_late,
       CASE WHEN (primary_day IS NULL OR primary_day < as_of) AND completion_day < as_of
                 AND overall_status IN ({words(ONGOING_STATUSES)}) THEN 1 ELSE 0 END AS status_discrepancy,
       CASE WHEN certificate_day > {plus_years("used_day", 1)} THEN 1 ELSE 0 END AS late_certificate,
       drug IS NULL AND device IS NULL AS flags_absent,
       {became_act("j.nct_id", effective_date=EFFECTIVE_DATE, qualifying=QUALIFYING_PHASES, excluded=EXCLUDED_PHASES)}
         AS became_act_on,
       {moved_after_due("j.nct_id")} AS completion_moved_after_due,
       version_used, version_date,
       '{standard.upper()}' AS standard,
       as_of
FROM judged j LEFT JOIN sponsor_organisations m ON m.name = j.lead_sponsor
ORDER BY j.nct_id"""
