"""Rows of the results tables: groups, participant flow, baseline, outcome measures, analyses, adverse events.

A results module refers to its groups by code (FG000, BG000, OG000, EG000): ``ctgov_group_code`` joins a
measurement to its ``result_groups`` row, and ``result_group_position`` names that row (AACT's
``result_group_id``). ``outcome_position`` joins an outcome's rows to ``outcomes``. Numbers AACT keeps as numbers
are numbers here, with the text as written beside them in a ``*_raw`` field.
"""

from __future__ import annotations

from harvest.core.rows import TableRow


class ResultGroup(TableRow):
    ctgov_group_code: str | None = None
    result_type: str | None = None  # Participant Flow, Baseline, Outcome, Reported Event
    outcome_position: int | None = None  # for outcome groups: the outcome they belong to
    title: str | None = None
    description: str | None = None


class Milestone(TableRow):
    period: str | None = None
    title: str | None = None  # STARTED, COMPLETED, NOT COMPLETED, or the registry's own words
    ctgov_group_code: str | None = None
    count: int | None = None
    count_units: str | None = None
    description: str | None = None  # the group's comment (achievements[].comment)
    milestone_description: str | None = None  # the milestone's comment, for every group (milestones[].comment)
    result_group_position: int | None = None


class DropWithdrawal(TableRow):
    period: str | None = None
    reason: str | None = None
    ctgov_group_code: str | None = None
    count: int | None = None
    description: str | None = None  # the group's comment (reasons[].comment; AACT: reason_comment)
    drop_withdraw_comment: str | None = None  # the reason's comment, for every group (dropWithdraws[].comment)
    count_units: int | None = None
    result_group_position: int | None = None


class BaselineCount(TableRow):
    units: str | None = None
    ctgov_group_code: str | None = None
    count: int | None = None
    result_group_position: int | None = None


class BaselineMeasurement(TableRow):
    measure_position: int | None = None
    title: str | None = None
    description: str | None = None
    population_description: str | None = None
    param_type: str | None = None
    dispersion_type: str | None = None
    units: str | None = None
    classification: str | None = None
    category: str | None = None
    ctgov_group_code: str | None = None
    param_value: str | None = None
    param_value_num: float | None = None
    dispersion_value: str | None = None
    dispersion_value_num: float | None = None
    dispersion_lower_limit: float | None = None
    dispersion_upper_limit: float | None = None
    explanation_of_na: str | None = None
    dispersion_lower_limit_raw: str | None = None
    dispersion_upper_limit_raw: str | None = None
    calculate_percentage: str | None = None  # Yes or No (measures[].calculatePct), as AACT writes it
    number_analyzed: int | None = None  # the group's denominator for this row (class, else measure, else module)
    number_analyzed_units: str | None = None  # what it counts (measures[].denomUnitsSelected, else Participants)
    result_group_position: int | None = None


class Outcome(TableRow):
    """One outcome measure as reported with results."""

    outcome_type: str | None = None  # PRIMARY, SECONDARY, OTHER_PRE_SPECIFIED, POST_HOC
    title: str | None = None
    description: str | None = None
    time_frame: str | None = None
    population: str | None = None
    units: str | None = None
    units_analyzed: str | None = None
    param_type: str | None = None
    dispersion_type: str | None = None
    reporting_status: str | None = None  # POSTED, NOT_POSTED
    anticipated_posting_date: str | None = None


class OutcomeCount(TableRow):
    outcome_position: int | None = None
    units: str | None = None
    ctgov_group_code: str | None = None
    count: int | None = None
    result_group_position: int | None = None


class OutcomeMeasurement(TableRow):
    """One outcome value; AACT's ``outcome_measurements`` repeats the outcome's title and units beside it."""

    outcome_position: int | None = None
    classification: str | None = None
    category: str | None = None
    ctgov_group_code: str | None = None
    param_value: str | None = None
    param_value_num: float | None = None
    dispersion_value: str | None = None
    dispersion_value_num: float | None = None
    dispersion_lower_limit: float | None = None
    dispersion_upper_limit: float | None = None
    explanation_of_na: str | None = None
    dispersion_lower_limit_raw: str | None = None
    dispersion_upper_limit_raw: str | None = None
    result_group_position: int | None = None


class OutcomeAnalysis(TableRow):
    outcome_position: int | None = None
    group_codes: list[str] | None = None
    groups_description: str | None = None
    non_inferiority_type: str | None = None
    non_inferiority_description: str | None = None
    param_type: str | None = None
    param_value: float | None = None  # the estimate, where a number
    param_value_raw: str | None = None  # as written
    dispersion_type: str | None = None
    dispersion_value: float | None = None
    dispersion_value_raw: str | None = None
    p_value: float | None = None  # the number without its sign: 0.001 for "<0.001" (AACT's p_value)
    p_value_modifier: str | None = None  # the sign: "<", "<=", ">" or "" (AACT's p_value_modifier)
    p_value_raw: str | None = None  # as written: "<0.001", "0.04", "NA"
    p_value_num: float | None = None  # where the text is a plain number (NULL for "<0.001")
    p_value_description: str | None = None
    method: str | None = None
    method_description: str | None = None
    ci_percent: float | None = None
    ci_n_sides: str | None = None
    ci_lower_limit: float | None = None
    ci_lower_limit_raw: str | None = None
    ci_upper_limit: float | None = None
    ci_upper_limit_raw: str | None = None
    ci_upper_limit_na_comment: str | None = None
    estimate_description: str | None = None
    other_analysis_description: str | None = None


class ReportedEvent(TableRow):
    event_type: str | None = None  # serious or other
    organ_system: str | None = None
    term: str | None = None
    vocabulary: str | None = None
    assessment: str | None = None  # SYSTEMATIC_ASSESSMENT, NON_SYSTEMATIC_ASSESSMENT
    ctgov_group_code: str | None = None
    subjects_affected: int | None = None
    subjects_at_risk: int | None = None
    event_count: int | None = None
    result_group_position: int | None = None


class ReportedEventTotal(TableRow):
    ctgov_group_code: str | None = None
    event_type: str | None = None  # deaths, serious, other
    subjects_affected: int | None = None
    subjects_at_risk: int | None = None


class ResultAgreement(TableRow):
    pi_employee: bool | None = None
    restriction_type: str | None = None
    restrictive_agreement: bool | None = None
    other_details: str | None = None


class ResultContact(TableRow):
    name_or_title: str | None = None
    organization: str | None = None
    email: str | None = None
    phone: str | None = None
    extension: str | None = None
