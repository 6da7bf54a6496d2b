"""The compliance rows counted per organisation (or parent), as TrialsTracker's sponsor ranking counts them.

A lead sponsor is counted under the organisation ``sponsor_organisations`` maps its name to (its own name while
unmapped), so "Pfizer", "Pfizer Inc" and "PFIZER INC." are one row, which lists the names it merged. The
figures are TrialsTracker's (``Ranking`` in its ``models.py``, ``set_current_rankings`` in ``process_data.py``):
``due`` (every trial no longer not_yet_due), ``reported`` (on time or late), ``percentage`` (reported x 100 / due,
as a whole number) and ``rank`` (by percentage, highest first); ``share_compliant`` is harvest's own stricter
figure (reported on time / due).
"""

from __future__ import annotations

SPONSOR_COLUMNS = (
    "organisation",
    "sponsor_names",
    "trials",
    "pacts_flags_absent",
    "not_yet_due",
    "due",
    "reported",
    "reported_on_time",
    "reported_late",
    "overdue",
    "percentage",
    "rank",
    "share_compliant",
    "days_late",
    "finable_days_late",
    "as_of",
)

# What the rows are grouped by: the organisation, or its parent where it has one.
GROUPINGS = {"organisation": "organisation", "parent": "coalesce(parent, organisation)"}


def sponsor_columns(by: str = "organisation") -> tuple[str, ...]:
    """``SPONSOR_COLUMNS`` with the first named after the grouping (organisation or parent)."""
    return (by, *SPONSOR_COLUMNS[1:])


def sponsor_sql(rows: str = "results_compliance", *, grouped: bool = True, by: str = "organisation") -> str:
    """One row per organisation (``by="parent"``: per parent) of ``rows``, the view or ``(results_sql(...))``,
    most overdue first. Not ``grouped``: one row of totals over them all (its first two columns NULL)."""
    key = GROUPINGS[by]
    if grouped:
        # the names come sorted into the aggregate, so each row lists them in order
        source = f"(SELECT * FROM {rows} ORDER BY lead_sponsor)"
        names = "json_group_array(DISTINCT lead_sponsor) FILTER (WHERE lead_sponsor IS NOT NULL)"
        head, group = f"{key} AS grouped_by, {names} AS sponsor_names", "\n    GROUP BY 1"
        order = f"\nORDER BY overdue DESC, coalesce(days_late, 0) DESC, {by}"
        rank = "CASE WHEN percentage IS NOT NULL THEN RANK() OVER (ORDER BY percentage IS NULL, percentage DESC) END"
    else:
        source, head, group, order = rows, "NULL AS grouped_by, NULL AS sponsor_names", "", ""
        rank = "NULL"
    return f"""
WITH counts AS (
    SELECT {head},
           count(*) AS trials,
           coalesce(sum(act_kind = 'pACT' AND flags_absent), 0) AS pacts_flags_absent,
           coalesce(sum(outcome = 'not_yet_due'), 0) AS not_yet_due,
           coalesce(sum(outcome <> 'not_yet_due'), 0) AS due,
           coalesce(sum(outcome IN ('reported_on_time', 'reported_late')), 0) AS reported,
           coalesce(sum(outcome = 'reported_on_time'), 0) AS reported_on_time,
           coalesce(sum(outcome = 'reported_late'), 0) AS reported_late,
           coalesce(sum(outcome = 'overdue'), 0) AS overdue,
           sum(days_late) AS days_late,
           sum(finable_days_late) AS finable_days_late,
           max(as_of) AS as_of
    FROM {source}{group}
),
scored AS (
    SELECT *, CAST(100.0 * reported / nullif(due, 0) AS INTEGER) AS percentage FROM counts
)
SELECT grouped_by AS {by}, sponsor_names, trials, pacts_flags_absent, not_yet_due, due, reported,
       reported_on_time, reported_late, overdue, percentage,
       {rank} AS rank,
       round(1.0 * reported_on_time / nullif(due, 0), 3) AS share_compliant,
       days_late, finable_days_late, as_of
FROM scored{order}"""
