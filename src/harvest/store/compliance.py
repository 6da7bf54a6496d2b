"""FDAAA 801 results-reporting compliance as SQL, written once for the views and for ``harvest compliance``.

``results_sql(as_of)`` is one row per applicable clinical trial (ACT) or probable ACT (pACT) with its due date
and outcome at the date ``as_of`` (an SQL expression: ``'now'`` for the view, ``:as_of`` for the verb), so the
view ``results_compliance`` and ``harvest compliance --as-of`` cannot disagree. ``sponsor_sql(rows)`` counts
those rows per lead sponsor, over the view or over ``results_sql`` as a subquery.

The rules are EBM DataLab's FDAAA TrialsTracker's (``clinicaltrials/frontend/view.sql`` and
``trial_computer.py`` in ebmdatalab/clinicaltrials-act-tracker), restated for the API v2 words the file stores;
README's "Results-reporting compliance" section says them in prose, with what the file cannot know.
"""

from __future__ import annotations

# The Final Rule's effective date: an ACT started on or after it; a pACT started before it and completed after.
EFFECTIVE_DATE = "2017-01-18"

# Phase 1/2, 2, 2/3, 3, 4 and N/A: a trial qualifies when one of its phases is in here and none is Early Phase 1
# (a Phase 1/Phase 2 trial holds PHASE2; a Phase 1 trial holds only PHASE1).
QUALIFYING_PHASES = ("PHASE2", "PHASE3", "PHASE4", "NA")
EXCLUDED_PHASES = ("EARLY_PHASE1",)

# Intervention types that make a pre-2017 trial a probable ACT.
PACT_INTERVENTION_TYPES = (
    "DRUG",
    "BIOLOGICAL",
    "DEVICE",
    "GENETIC",
    "RADIATION",
    "COMBINATION_PRODUCT",
    "DIAGNOSTIC_TEST",
)

# The United States and its territories, as CT.gov writes them ("Virgin Islands (U.S.)"; the other spelling too).
US_COUNTRIES = (
    "United States",
    "American Samoa",
    "Guam",
    "Northern Mariana Islands",
    "Puerto Rico",
    "Virgin Islands (U.S.)",
    "U.S. Virgin Islands",
)

# Statuses that say the trial is still going: with both completion dates passed, a data-quality flag.
ONGOING_STATUSES = (
    "NOT_YET_RECRUITING",
    "RECRUITING",
    "ENROLLING_BY_INVITATION",
    "ACTIVE_NOT_RECRUITING",
    "SUSPENDED",
    "UNKNOWN",
    "AVAILABLE",
)

OUTCOMES = ("not_yet_due", "reported_on_time", "reported_late", "overdue")

RESULT_COLUMNS = (
    "nct_id",
    "act_kind",
    "lead_sponsor",
    "overall_status",
    "completion_date_used",
    "defaulted_date",
    "due_date",
    "has_certificate",
    "results_submitted",
    "outcome",
    "days_overdue",
    "status_discrepancy",
    "late_certificate",
    "flags_absent",
    "became_act_on",
    "completion_moved_after_due",
    "as_of",
)

SPONSOR_COLUMNS = (
    "lead_sponsor",
    "trials",
    "pacts_flags_absent",
    "not_yet_due",
    "due",
    "reported_on_time",
    "reported_late",
    "overdue",
    "share_compliant",
    "days_overdue",
    "as_of",
)


def _words(values: tuple[str, ...]) -> str:
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def _last_day(column: str) -> str:
    """A stored ISO date at its precision as the last day it can mean: a month's last day, a year's Dec 31."""
    return (
        f"CASE length({column}) WHEN 10 THEN date({column}) "
        f"WHEN 7 THEN date({column} || '-01', '+1 month', '-1 day') "
        f"WHEN 4 THEN date({column} || '-12-31') END"
    )


def _became_act(nct: str) -> str:
    """The date of the first stored version (record history) that met the ACT rules, up to the as-of date."""
    field = "json_extract(v.record, '$.{}')".format
    start = _last_day(field("start_date.value"))
    return f"""(SELECT min(v.version_date) FROM study_versions v
        WHERE v.nct_id = {nct} AND v.version_date <= as_of
          AND {field("study_type")} = 'INTERVENTIONAL'
          AND ({field("is_fda_regulated_drug")} = 1 OR {field("is_fda_regulated_device")} = 1)
          AND coalesce({field("overall_status")}, '') <> 'WITHDRAWN'
          AND coalesce({field("primary_purpose")}, '') <> 'DEVICE_FEASIBILITY'
          AND EXISTS (SELECT 1 FROM json_each(v.record, '$.phases') WHERE value IN ({_words(QUALIFYING_PHASES)}))
          AND NOT EXISTS (SELECT 1 FROM json_each(v.record, '$.phases') WHERE value IN ({_words(EXCLUDED_PHASES)}))
          AND {start} >= '{EFFECTIVE_DATE}')"""


def _moved_after_due(nct: str) -> str:
    """1 when a version dated after the trial was due (by the date it replaced) moved its primary completion
    date, 0 when the stored versions show no such move, NULL when the file holds no versions of the trial."""
    old = _last_day("json_extract(c.old, '$.value')")
    return f"""CASE WHEN EXISTS (SELECT 1 FROM study_versions v WHERE v.nct_id = {nct}) THEN
        EXISTS (SELECT 1 FROM version_changes c WHERE c.nct_id = {nct} AND c.field = 'primary_completion_date'
                AND c.version_date <= as_of AND json_extract(c.old, '$.value') IS NOT NULL
                AND c.version_date > date({old}, '+1 year', '+30 days')) END"""


def results_sql(as_of: str = "'now'") -> str:
    """One row per ACT or pACT (``RESULT_COLUMNS``) at the date ``as_of``, an SQL expression given to date()."""
    return f"""
WITH params AS (SELECT date({as_of}) AS as_of),
candidates AS (
    SELECT s.nct_id, s.lead_sponsor, s.overall_status, p.as_of,
           s.is_fda_regulated_drug AS drug, s.is_fda_regulated_device AS device,
           {_last_day("s.start_date")} AS start_day,
           {_last_day("s.primary_completion_date")} AS primary_day,
           {_last_day("s.completion_date")} AS completion_day,
           CASE WHEN s.primary_completion_date IS NOT NULL
                THEN {_last_day("s.primary_completion_date")} ELSE {_last_day("s.completion_date")} END AS used_day,
           length(coalesce(s.primary_completion_date, s.completion_date)) < 10 AS defaulted,
           -- what was filed after the as-of date was not filed yet at that date
           CASE WHEN {_last_day("s.results_first_submitted")} <= p.as_of
                THEN {_last_day("s.results_first_submitted")} END AS results_day,
           CASE WHEN {_last_day("s.disp_first_submitted")} <= p.as_of
                THEN {_last_day("s.disp_first_submitted")} END AS certificate_day
    FROM studies s, params p
    WHERE s.study_type = 'INTERVENTIONAL'
      AND coalesce(s.overall_status, '') <> 'WITHDRAWN'
      AND coalesce(s.primary_purpose, '') <> 'DEVICE_FEASIBILITY'
      AND EXISTS (SELECT 1 FROM json_each(s.phases) WHERE value IN ({_words(QUALIFYING_PHASES)}))
      AND NOT EXISTS (SELECT 1 FROM json_each(s.phases) WHERE value IN ({_words(EXCLUDED_PHASES)}))
),
kinds AS (
    SELECT c.*,
           CASE
             WHEN (drug = 1 OR device = 1) AND start_day >= '{EFFECTIVE_DATE}' THEN 'ACT'
             WHEN start_day < '{EFFECTIVE_DATE}' AND used_day >= '{EFFECTIVE_DATE}'
                  AND (drug = 1 OR device = 1 OR (drug IS NULL AND device IS NULL))
                  AND EXISTS (SELECT 1 FROM interventions i WHERE i.nct_id = c.nct_id
                              AND i.type IN ({_words(PACT_INTERVENTION_TYPES)}))
                  AND EXISTS (SELECT 1 FROM locations l WHERE l.nct_id = c.nct_id
                              AND l.country IN ({_words(US_COUNTRIES)}))
             THEN 'pACT'
           END AS act_kind,
           -- a certificate of delay postpones the deadline, to 3 years + 30 days at the latest
           CASE WHEN certificate_day IS NOT NULL THEN date(used_day, '+3 years', '+30 days')
                ELSE date(used_day, '+1 year', '+30 days') END AS due_date
    FROM candidates c
),
judged AS (
    SELECT k.*,
           CASE
             WHEN results_day IS NOT NULL THEN
               CASE WHEN due_date IS NULL OR results_day <= due_date THEN 'reported_on_time' ELSE 'reported_late' END
             WHEN due_date < as_of THEN 'overdue'
             ELSE 'not_yet_due'
           END AS outcome
    FROM kinds k WHERE act_kind IS NOT NULL
)
SELECT nct_id, act_kind, lead_sponsor, overall_status,
       used_day AS completion_date_used,
       coalesce(defaulted, 0) AS defaulted_date,
       due_date,
       certificate_day IS NOT NULL AS has_certificate,
       results_day AS results_submitted,
       outcome,
       CASE outcome
         WHEN 'overdue' THEN CAST(julianday(as_of) - julianday(due_date) AS INTEGER)
         WHEN 'reported_late' THEN CAST(julianday(results_day) - julianday(due_date) AS INTEGER)
         ELSE 0
       END AS days_overdue,
       CASE WHEN (primary_day IS NULL OR primary_day < as_of) AND completion_day < as_of
                 AND overall_status IN ({_words(ONGOING_STATUSES)}) THEN 1 ELSE 0 END AS status_discrepancy,
       CASE WHEN certificate_day > date(used_day, '+1 year') THEN 1 ELSE 0 END AS late_certificate,
       drug IS NULL AND device IS NULL AS flags_absent,
       {_became_act("judged.nct_id")} AS became_act_on,
       {_moved_after_due("judged.nct_id")} AS completion_moved_after_due,
       as_of
FROM judged
ORDER BY nct_id"""


def sponsor_sql(rows: str = "results_compliance", *, grouped: bool = True) -> str:
    """One row per lead sponsor (``SPONSOR_COLUMNS``) of ``rows``: the view, or ``(results_sql(...))``.

    Not ``grouped``: one row of totals over every sponsor (its lead_sponsor is NULL).
    """
    name, group = ("lead_sponsor", "\nGROUP BY lead_sponsor\nORDER BY overdue DESC, days_overdue DESC, lead_sponsor")
    if not grouped:
        name, group = "NULL AS lead_sponsor", ""
    return f"""
SELECT {name},
       count(*) AS trials,
       coalesce(sum(act_kind = 'pACT' AND flags_absent), 0) AS pacts_flags_absent,
       coalesce(sum(outcome = 'not_yet_due'), 0) AS not_yet_due,
       coalesce(sum(due_date < as_of), 0) AS due,
       coalesce(sum(outcome = 'reported_on_time'), 0) AS reported_on_time,
       coalesce(sum(outcome = 'reported_late'), 0) AS reported_late,
       coalesce(sum(outcome = 'overdue'), 0) AS overdue,
       round(1.0 * sum(due_date < as_of AND outcome = 'reported_on_time') / nullif(sum(due_date < as_of), 0), 3)
         AS share_compliant,
       coalesce(sum(days_overdue), 0) AS days_overdue,
       max(as_of) AS as_of
FROM {rows}{group}"""
