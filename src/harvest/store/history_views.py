"""The analyses of record history, as views over ``study_versions`` (each version's canonical JSON).

The questions meta-researchers ask of a registry's history: was a primary outcome changed after the trial
started (``outcome_changes``), how did the anticipated enrollment compare with the actual one
(``enrollment_history``), how often and how far did the primary completion date move (``completion_slips``),
and how long did the trial spend in each overall status (``status_durations``). Consecutive versions are
compared (version n against the version before it among those stored). Partial dates are compared as their
first day (``2020-02`` as ``2020-02-01``, ``2020`` as ``2020-01-01``), as cthist does.
"""

from __future__ import annotations

import re


def _day(expr: str) -> str:
    """A partial ISO date as its first day, in SQL."""
    return f"(CASE length({expr}) WHEN 4 THEN {expr} || '-01-01' WHEN 7 THEN {expr} || '-01' ELSE {expr} END)"


_SAME_OUTCOME = "{a}.nct_id = {b}.nct_id AND {a}.version = {b}.version AND {a}.outcome_type IS {b}.outcome_type"

_OUTCOME_CHANGES = f"""
    WITH v AS (
        SELECT nct_id, version, version_date,
               lag(version) OVER (PARTITION BY nct_id ORDER BY version) AS previous,
               json_extract(record, '$.start_date.value') AS start_date
        FROM study_versions),
    pairs AS (SELECT * FROM v WHERE previous IS NOT NULL),
    declared AS (
        SELECT sv.nct_id, sv.version, CAST(e.key AS INTEGER) AS position,
               upper(json_extract(e.value, '$.outcome_type')) AS outcome_type,
               json_extract(e.value, '$.measure') AS measure,
               json_extract(e.value, '$.time_frame') AS time_frame
        FROM study_versions sv, json_each(sv.record, '$.design_outcomes') e),
    numbered AS (
        SELECT *, row_number() OVER (PARTITION BY nct_id, version, outcome_type, measure ORDER BY position) AS nth
        FROM declared),
    old AS (SELECT p.nct_id, p.version, o.outcome_type, o.measure, o.time_frame, o.position, o.nth
            FROM pairs p JOIN numbered o ON o.nct_id = p.nct_id AND o.version = p.previous),
    new AS (SELECT p.nct_id, p.version, o.outcome_type, o.measure, o.time_frame, o.position, o.nth
            FROM pairs p JOIN numbered o ON o.nct_id = p.nct_id AND o.version = p.version),
    kept AS (
        SELECT n.nct_id, n.version, n.outcome_type, o.measure AS old_measure, n.measure AS new_measure,
               o.time_frame AS old_time_frame, n.time_frame AS new_time_frame
        FROM new n JOIN old o ON {_SAME_OUTCOME.format(a="o", b="n")} AND o.measure IS n.measure AND o.nth = n.nth),
    gone AS (
        SELECT o.*, row_number() OVER (PARTITION BY nct_id, version, outcome_type ORDER BY position) AS k
        FROM old o WHERE NOT EXISTS (SELECT 1 FROM new n WHERE {_SAME_OUTCOME.format(a="o", b="n")}
                                     AND n.measure IS o.measure AND n.nth = o.nth)),
    came AS (
        SELECT n.*, row_number() OVER (PARTITION BY nct_id, version, outcome_type ORDER BY position) AS k
        FROM new n WHERE NOT EXISTS (SELECT 1 FROM old o WHERE {_SAME_OUTCOME.format(a="o", b="n")}
                                     AND o.measure IS n.measure AND o.nth = n.nth)),
    differences AS (
        SELECT nct_id, version, outcome_type, 'changed' AS change, old_measure, new_measure,
               old_time_frame, new_time_frame
        FROM kept WHERE old_time_frame IS NOT new_time_frame
        UNION ALL
        SELECT c.nct_id, c.version, c.outcome_type, CASE WHEN g.k IS NULL THEN 'added' ELSE 'changed' END,
               g.measure, c.measure, g.time_frame, c.time_frame
        FROM came c LEFT JOIN gone g ON {_SAME_OUTCOME.format(a="g", b="c")} AND g.k = c.k
        UNION ALL
        SELECT g.nct_id, g.version, g.outcome_type, 'removed', g.measure, NULL, g.time_frame, NULL
        FROM gone g WHERE NOT EXISTS (SELECT 1 FROM came c WHERE {_SAME_OUTCOME.format(a="g", b="c")} AND c.k = g.k))
    SELECT d.nct_id, d.version, p.version_date, d.outcome_type, d.change, d.old_measure, d.new_measure,
           d.old_time_frame, d.new_time_frame,
           CASE WHEN p.start_date IS NULL THEN NULL
                WHEN p.version_date > {_day("p.start_date")} THEN 1 ELSE 0 END AS after_start
    FROM differences d JOIN pairs p ON p.nct_id = d.nct_id AND p.version = d.version"""

_ENROLLMENT_HISTORY = """
    WITH e AS (
        SELECT nct_id, version, version_date,
               json_extract(record, '$.enrollment') AS enrollment,
               json_extract(record, '$.enrollment_type') AS enrollment_type
        FROM study_versions),
    w AS (
        SELECT *, lag(version) OVER t AS previous_version,
               lag(enrollment) OVER t AS previous_enrollment, lag(enrollment_type) OVER t AS previous_type,
               first_value(enrollment) OVER t AS first_enrollment
        FROM e WINDOW t AS (PARTITION BY nct_id ORDER BY version))
    SELECT nct_id, version, version_date, previous_enrollment, previous_type, enrollment, enrollment_type,
           enrollment - previous_enrollment AS change,
           CASE WHEN previous_enrollment > 0
                THEN round(100.0 * (enrollment - previous_enrollment) / previous_enrollment, 1) END AS change_percent,
           CASE WHEN previous_type = 'ESTIMATED' AND enrollment_type = 'ACTUAL' THEN 1 ELSE 0 END AS became_actual,
           first_enrollment
    FROM w
    WHERE previous_version IS NULL OR enrollment IS NOT previous_enrollment OR enrollment_type IS NOT previous_type"""

_COMPLETION_SLIPS = f"""
    WITH c AS (
        SELECT nct_id, version, version_date,
               json_extract(record, '$.primary_completion_date.value') AS new_date,
               json_extract(record, '$.primary_completion_date.type') AS new_type
        FROM study_versions WHERE json_extract(record, '$.primary_completion_date.value') IS NOT NULL),
    w AS (
        SELECT *, lag(new_date) OVER t AS old_date, lag(new_type) OVER t AS old_type,
               first_value(new_date) OVER t AS first_date
        FROM c WINDOW t AS (PARTITION BY nct_id ORDER BY version)),
    moves AS (
        SELECT * FROM w
        WHERE old_date IS NOT NULL AND old_date <> new_date
          AND substr(new_date, 1, length(old_date)) <> old_date AND substr(old_date, 1, length(new_date)) <> new_date)
    SELECT nct_id, version, version_date, old_date, old_type, new_date, new_type,
           CAST(julianday({_day("new_date")}) - julianday({_day("old_date")}) AS INTEGER) AS days,
           row_number() OVER (PARTITION BY nct_id ORDER BY version) AS move,
           first_date,
           CAST(julianday({_day("new_date")}) - julianday({_day("first_date")}) AS INTEGER) AS total_days
    FROM moves"""

_STATUS_DURATIONS = """
    WITH s AS (
        SELECT nct_id, version, overall_status, version_date AS since,
               lead(version_date) OVER (PARTITION BY nct_id ORDER BY version) AS until
        FROM study_versions)
    SELECT nct_id, overall_status,
           CAST(total(CASE WHEN until > since THEN julianday(until) - julianday(since) ELSE 0 END) AS INTEGER) AS days,
           count(*) AS versions,
           min(since) AS first_date,
           max(until IS NULL) AS current,
           CAST(total(CASE WHEN coalesce(until, date('now')) > since
                           THEN julianday(coalesce(until, date('now'))) - julianday(since) ELSE 0 END) AS INTEGER)
             AS days_to_date
    FROM s GROUP BY nct_id, overall_status
    HAVING days > 0 OR current = 1"""

HISTORY_VIEWS: dict[str, str] = {
    "outcome_changes": _OUTCOME_CHANGES,
    "enrollment_history": _ENROLLMENT_HISTORY,
    "completion_slips": _COMPLETION_SLIPS,
    "status_durations": _STATUS_DURATIONS,
}


_VERSIONS = re.compile(r"\bFROM study_versions\b")


def history_sql(view: str, where: str) -> str:
    """One analysis over only the versions ``where`` picks (``"nct_id = :id"``): the view's SQL with that filter
    inside it. A filter outside the view cannot reach in: its window functions and shared CTEs make SQLite
    compute the analysis of every stored trial first (5 s for one trial's outcome changes among 5,000 histories,
    against a millisecond this way). ``where`` may appear more than once, so it takes named parameters."""
    return _VERSIONS.sub(f"FROM (SELECT * FROM study_versions WHERE {where})", HISTORY_VIEWS[view])
