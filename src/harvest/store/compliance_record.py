"""The pieces of the compliance SQL that read the record: dates at their precision, the deadline arithmetic,
which record a trial is judged by at the as-of date, its submissions to the registry's QC, and its history.

``store.compliance`` assembles them into ``results_sql``; each piece is an SQL expression or CTE body, so the
view and ``harvest compliance --as-of`` run the same text.
"""

from __future__ import annotations

# What a version's canonical JSON (``study_versions.record``) holds for the ``studies`` columns the rules read.
RECORD_FIELDS = {
    "study_type": "$.study_type",
    "overall_status": "$.overall_status",
    "primary_purpose": "$.primary_purpose",
    "lead_sponsor": "$.lead_sponsor",
    "phases": "$.phases",
    "is_fda_regulated_drug": "$.is_fda_regulated_drug",
    "is_fda_regulated_device": "$.is_fda_regulated_device",
    "start_date": "$.start_date.value",
    "primary_completion_date": "$.primary_completion_date.value",
    "completion_date": "$.completion_date.value",
}

# The registry records a cancellation's date since 2018-07-05 (TrialsTracker's EARLIEST_CANCELLATION_DATE); one
# it marks as of unknown date happened before, so it counts from then (or from its submission, if later).
EARLIEST_CANCELLATION = "2018-07-05"


def words(values: tuple[str, ...]) -> str:
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def last_day(column: str) -> str:
    """A stored ISO date at its precision as the last day it can mean: a month's last day, a year's Dec 31."""
    return (
        f"CASE length({column}) WHEN 10 THEN date({column}) "
        f"WHEN 7 THEN date({column} || '-01', '+1 month', '-1 day') "
        f"WHEN 4 THEN date({column} || '-12-31') END"
    )


def plus_years(day: str, years: int) -> str:
    """``day`` + ``years`` calendar years, 29 February giving 28 February (as Python's relativedelta does, which
    TrialsTracker uses), where SQLite's date() would roll over to 1 March."""
    moved = f"date({day}, '+{years} years')"
    return (
        f"CASE WHEN strftime('%m', {moved}) <> strftime('%m', {day}) "
        f"THEN date({day}, '+{years} years', 'start of month', '-1 day') ELSE {moved} END"
    )


def days_between(later: str, earlier: str) -> str:
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def chosen_sql() -> str:
    """CTE body: per trial, whether it is judged by the current record (``version_used`` NULL) or by the stored
    version that stood at the as-of date, and whether it was registered by then at all.

    The current record stands from its last update (``last_update_submitted``, the date of the registry's
    newest version) on; before that, a trial with stored versions is judged by the newest version dated on or
    before the as-of date, and a trial none of whose versions is that old was not registered yet.
    """
    newest = "(SELECT max(v.version_date) FROM study_versions v WHERE v.nct_id = s.nct_id)"
    return f"""
    SELECT s.nct_id, p.as_of,
           CASE WHEN p.as_of < coalesce(s.last_update_submitted, {newest}) THEN
                (SELECT max(v.version) FROM study_versions v WHERE v.nct_id = s.nct_id AND v.version_date <= p.as_of)
           END AS version_used,
           {newest} IS NOT NULL AND p.as_of < coalesce(s.last_update_submitted, {newest}) AS before_current
    FROM studies s, params p
    WHERE coalesce(s.first_submitted, '') <= p.as_of"""


def record_sql() -> str:
    """CTE body: the fields the rules read, from the record ``chosen`` picked; what was filed (results, a
    certificate of delay) is read from the current record, by its date, whichever record is judged."""
    fields = []
    for column, path in RECORD_FIELDS.items():
        fields.append(
            f"CASE WHEN v.record IS NULL THEN s.{column} ELSE json_extract(v.record, '{path}') END AS {column}"
        )
    picked = ",\n           ".join(fields)
    return f"""
    SELECT c.nct_id, c.as_of, c.version_used, v.record AS version_record,
           CASE WHEN v.record IS NULL THEN s.last_update_submitted ELSE v.version_date END AS version_date,
           s.results_first_submitted, s.disp_first_submitted,
           {picked}
    FROM chosen c JOIN studies s ON s.nct_id = c.nct_id
    LEFT JOIN study_versions v ON v.nct_id = c.nct_id AND v.version = c.version_used
    WHERE NOT (c.before_current AND c.version_used IS NULL)"""


def any_intervention(nct: str, types: tuple[str, ...]) -> str:
    """Whether the judged record lists an intervention of one of ``types``."""
    return f"""CASE WHEN version_record IS NULL
        THEN EXISTS (SELECT 1 FROM interventions i WHERE i.nct_id = {nct} AND i.type IN ({words(types)}))
        ELSE EXISTS (SELECT 1 FROM json_each(version_record, '$.interventions') j
                     WHERE json_extract(j.value, '$.type') IN ({words(types)})) END"""


def any_site_in(nct: str, countries: tuple[str, ...]) -> str:
    """Whether a site of the judged record is in one of ``countries``, matched as a part of the country's name
    (TrialsTracker matches the names within the record's country list, so "United States Minor Outlying
    Islands" is in "United States")."""

    def matched(column: str) -> str:
        return "(" + " OR ".join(f"instr({column}, '{country}') > 0" for country in countries) + ")"

    return f"""CASE WHEN version_record IS NULL
        THEN EXISTS (SELECT 1 FROM locations l WHERE l.nct_id = {nct} AND {matched("l.country")})
        ELSE EXISTS (SELECT 1 FROM json_each(version_record, '$.locations') j
                     WHERE {matched("json_extract(j.value, '$.country')")}) END"""


def _releases(nct: str, extra: str = "") -> str:
    return f"FROM submissions b WHERE b.nct_id = {nct} AND b.release_date <= as_of{extra}"


def _cancel_day() -> str:
    return (
        "coalesce(b.unrelease_date, CASE WHEN b.unrelease_date_unknown "
        f"THEN max(b.release_date, '{EARLIEST_CANCELLATION}') END)"
    )


def first_release(nct: str) -> str:
    """The first submission to QC on or before the as-of date: TrialsTracker's earliest reporting date."""
    return f"(SELECT min(b.release_date) {_releases(nct)})"


def last_cancelled(nct: str) -> str:
    """The latest submission cancelled (on or before the as-of date): nothing submitted before it counts."""
    return f"(SELECT max(b.release_date) {_releases(nct, f' AND {_cancel_day()} <= as_of')})"


def standing_release(nct: str, cancelled: str) -> str:
    """The first submission after the latest cancelled one: the one that stands (TrialsTracker's restart
    date; with nothing cancelled, the first submission)."""
    after = f" AND b.release_date > coalesce({cancelled}, '')"
    return f"(SELECT min(b.release_date) {_releases(nct, after)})"


def became_act(nct: str, *, effective_date: str, qualifying: tuple[str, ...], excluded: tuple[str, ...]) -> str:
    """The date of the first stored version (record history) that met the ACT rules, up to the as-of date."""
    field = "json_extract(v.record, '$.{}')".format
    start = last_day(field("start_date.value"))
    return f"""(SELECT min(v.version_date) FROM study_versions v
        WHERE v.nct_id = {nct} AND v.version_date <= as_of
          AND {field("study_type")} = 'INTERVENTIONAL'
          AND ({field("is_fda_regulated_drug")} = 1 OR {field("is_fda_regulated_device")} = 1)
          AND coalesce({field("overall_status")}, '') <> 'WITHDRAWN'
          AND coalesce({field("primary_purpose")}, '') <> 'DEVICE_FEASIBILITY'
          AND EXISTS (SELECT 1 FROM json_each(v.record, '$.phases') WHERE value IN ({words(qualifying)}))
          AND NOT EXISTS (SELECT 1 FROM json_each(v.record, '$.phases') WHERE value IN ({words(excluded)}))
          AND {start} >= '{effective_date}')"""


def moved_after_due(nct: str) -> str:
    """1 when a version dated after the trial's deadline (by the completion date it replaced) moved its
    primary completion date, 0 when the stored versions show no such move, NULL when the file holds no
    versions of the trial."""
    old = last_day("json_extract(c.old, '$.value')")
    return f"""CASE WHEN EXISTS (SELECT 1 FROM study_versions v WHERE v.nct_id = {nct}) THEN
        EXISTS (SELECT 1 FROM version_changes c WHERE c.nct_id = {nct} AND c.field = 'primary_completion_date'
                AND c.version_date <= as_of AND json_extract(c.old, '$.value') IS NOT NULL
                AND c.version_date > date({old}, '+365 days')) END"""
