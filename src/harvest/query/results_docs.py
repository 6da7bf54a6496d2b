"""Datasette descriptions of the results tables: groups, participant flow, baseline, outcome measures and their
analyses, adverse events, agreements and the results contact (``resultsSection`` of the CT.gov API v2 record).

Every results row names its group by code: ``ctgov_group_code`` joins ``result_groups`` of the same ``nct_id``
(outcome groups also on ``outcome_position``). ``query.datasette`` merges these with ``record_docs``.
"""

from __future__ import annotations

from typing import Any

from harvest.query.record_docs import FLAG, row_table

_GROUP = (
    "Group code within the trial (FG000 flow, BG000 baseline, OG000 outcome, EG000 adverse events): "
    "joins result_groups.ctgov_group_code of the same nct_id"
)
_OUTCOME = "The outcome measure: joins outcomes.position of the same nct_id"
_NUM = "parsed as a number where it is a plain number (commas dropped), NULL otherwise"

_MEASUREMENT = {
    "classification": "Row title within the measure, e.g. a subgroup (classes[].title)",
    "category": "Category within that row, e.g. Female or Male (categories[].title)",
    "ctgov_group_code": _GROUP,
    "param_value": "The value as written, NA included (measurements[].value)",
    "param_value_num": f"param_value {_NUM}",
    "dispersion_value": "Spread as written: SD, range, ... per dispersion_type (measurements[].spread)",
    "dispersion_value_num": f"dispersion_value {_NUM}",
    "dispersion_lower_limit": "Lower limit of the range or interval, where a plain number (measurements[].lowerLimit)",
    "dispersion_upper_limit": "Upper limit of the range or interval, where a plain number (measurements[].upperLimit)",
    "explanation_of_na": "Why a value is NA (measurements[].comment)",
    "dispersion_lower_limit_raw": "Lower limit as written, NA included (measurements[].lowerLimit)",
    "dispersion_upper_limit_raw": "Upper limit as written, NA included (measurements[].upperLimit)",
}
_RESULT_GROUP = "The group: result_groups.position of the same nct_id (NULL when the code names no group)"
_PARAM_TYPE = "MEAN, MEDIAN, NUMBER, COUNT_OF_PARTICIPANTS, LEAST_SQUARES_MEAN, ..."
_DISPERSION_TYPE = "STANDARD_DEVIATION, FULL_RANGE, INTER_QUARTILE_RANGE, ...; NULL for counts"
_EVENT_COUNTS = {
    "subjects_affected": "Participants of the group affected",
    "subjects_at_risk": "Participants of the group at risk",
}

RESULT_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "result_groups": row_table(
        "Arms or groups as the results name them, one row per group of each results module; other results "
        "tables join here on (nct_id, ctgov_group_code).",
        {
            "ctgov_group_code": "Group code: FG000 flow, BG000 baseline, OG000 outcome, EG000 adverse events",
            "result_type": "Participant Flow, Baseline, Outcome or Reported Event",
            "outcome_position": "For Outcome groups, the outcome measure (outcomes.position): codes repeat per "
            "outcome, so join on it too",
            "title": "Group title",
            "description": "Group description",
        },
        "Order from 0: flow, baseline, outcome, then adverse-event groups",
    ),
    "milestones": row_table(
        "Participant flow: how many participants reached each milestone, per period and group "
        "(participantFlowModule.periods[].milestones[].achievements).",
        {
            "period": "Period title, e.g. Overall Study",
            "title": "Milestone: STARTED, COMPLETED, NOT COMPLETED or the registry's own words",
            "ctgov_group_code": _GROUP,
            "count": "Participants (numSubjects), where a whole number",
            "count_units": "Units counted when not participants, as text (numUnits)",
            "description": "The group's comment (achievements[].comment)",
            "milestone_description": "The milestone's comment, the same for every group (milestones[].comment)",
            "result_group_position": _RESULT_GROUP,
        },
    ),
    "drop_withdrawals": row_table(
        "Participant flow: why participants left, per period and group (periods[].dropWithdraws[].reasons).",
        {
            "period": "Period title",
            "reason": "Reason, e.g. Withdrawal by Subject, Adverse Event, Lost to Follow-up",
            "ctgov_group_code": _GROUP,
            "count": "Participants (numSubjects), where a whole number",
            "description": "The group's comment (reasons[].comment; AACT: reason_comment)",
            "drop_withdraw_comment": "The reason's comment, the same for every group (dropWithdraws[].comment)",
            "count_units": "Units counted when not participants, where a whole number (reasons[].numUnits)",
            "result_group_position": _RESULT_GROUP,
        },
    ),
    "baseline_counts": row_table(
        "Baseline: participants analysed per group (baselineCharacteristicsModule.denoms[].counts).",
        {
            "units": "What is counted, usually Participants",
            "ctgov_group_code": _GROUP,
            "count": "Number, where a whole number",
            "result_group_position": _RESULT_GROUP,
        },
    ),
    "baseline_measurements": row_table(
        "Baseline characteristics: one row per value (measure, row, category, group) "
        "(baselineCharacteristicsModule.measures[].classes[].categories[].measurements); a measure, row or "
        "category without values has one row, its value columns NULL, as in AACT.",
        {
            "measure_position": "The measure, from 0: rows with the same value belong to one measure",
            "title": "Measure title, e.g. Age, Categorical",
            "description": "Measure description",
            "population_description": "Who the measure describes, when not everyone",
            "param_type": _PARAM_TYPE,
            "dispersion_type": _DISPERSION_TYPE,
            "units": "Unit of measure",
            **_MEASUREMENT,
            "calculate_percentage": "Yes or No: whether percentages are shown (measures[].calculatePct)",
            "number_analyzed": "Participants (or units) the group's value is out of: the row's class denominator, "
            "else the measure's, else the baseline's, in number_analyzed_units",
            "number_analyzed_units": "What number_analyzed counts (measures[].denomUnitsSelected, else Participants)",
            "result_group_position": _RESULT_GROUP,
        },
    ),
    "outcomes": row_table(
        "Outcome measures as reported with results (outcomeMeasuresModule.outcomeMeasures); position is "
        "what outcome_position refers to.",
        {
            "outcome_type": "PRIMARY, SECONDARY, OTHER_PRE_SPECIFIED or POST_HOC",
            "title": "Outcome title",
            "description": "Outcome description",
            "time_frame": "When it was measured",
            "population": "Who was analysed (populationDescription)",
            "units": "Unit of measure",
            "units_analyzed": "What was analysed when not participants, e.g. eyes (typeUnitsAnalyzed)",
            "param_type": _PARAM_TYPE,
            "dispersion_type": "Dispersion in the registry's words, e.g. Standard Deviation, Full Range",
            "reporting_status": "POSTED or NOT_POSTED",
            "anticipated_posting_date": "When not yet posted results are expected (anticipatedPostingDate)",
        },
    ),
    "outcome_counts": row_table(
        "Participants (or units) analysed per outcome and group (outcomeMeasures[].denoms[].counts).",
        {
            "outcome_position": _OUTCOME,
            "units": "What is counted, usually Participants",
            "ctgov_group_code": _GROUP + " (result_type Outcome, same outcome_position)",
            "count": "Number, where a whole number",
            "result_group_position": _RESULT_GROUP,
        },
    ),
    "outcome_measurement_values": row_table(
        "Outcome values: one row per value (outcome, row, category, group) "
        "(outcomeMeasures[].classes[].categories[].measurements); the view outcome_measurements adds the "
        "outcome's title, units and types to each, as AACT's table has them. Before schema 6 this table was "
        "named outcome_measurements.",
        {
            "outcome_position": _OUTCOME,
            **_MEASUREMENT,
            "ctgov_group_code": _GROUP + " (result_type Outcome, same outcome_position)",
            "result_group_position": _RESULT_GROUP,
        },
    ),
    "outcome_analyses": row_table(
        "Statistical analyses of outcomes: estimates, confidence intervals, p-values (outcomeMeasures[].analyses).",
        {
            "outcome_position": _OUTCOME,
            "group_codes": 'JSON array of the groups compared, e.g. ["OG000", "OG001"] (AACT: outcome_analysis_groups)',
            "groups_description": "Which groups are compared, in words",
            "non_inferiority_type": "SUPERIORITY, NON_INFERIORITY, EQUIVALENCE, OTHER, ...",
            "non_inferiority_description": "Comment on the hypothesis",
            "param_type": "Estimate type, e.g. Hazard Ratio (HR), Mean Difference",
            "param_value": f"The estimate, {_NUM} (AACT: numeric)",
            "param_value_raw": "The estimate as written (paramValue)",
            "dispersion_type": "Dispersion type of the estimate, e.g. STANDARD_ERROR_OF_MEAN",
            "dispersion_value": f"Dispersion of the estimate, {_NUM}",
            "dispersion_value_raw": "Dispersion of the estimate as written (dispersionValue)",
            "p_value": "The p-value's number without its sign: 0.001 for <0.001 (AACT's p_value); NULL where the "
            "text holds no number (AACT stores 0)",
            "p_value_modifier": "The sign before the number: <, <=, > or empty (AACT's p_value_modifier)",
            "p_value_raw": "p-value as written, e.g. <0.001, 0.04 (pValue)",
            "p_value_num": f"p_value_raw {_NUM} (<0.001 is NULL)",
            "p_value_description": "Comment on the p-value",
            "method": "Statistical method, e.g. ANCOVA, Log Rank",
            "method_description": "Comment on the method",
            "ci_percent": "Confidence level in percent, e.g. 95",
            "ci_n_sides": "ONE_SIDED or TWO_SIDED",
            "ci_lower_limit": f"Lower confidence limit, {_NUM}",
            "ci_lower_limit_raw": "Lower confidence limit as written, NA included (ciLowerLimit)",
            "ci_upper_limit": f"Upper confidence limit, {_NUM}",
            "ci_upper_limit_raw": "Upper confidence limit as written, NA included (ciUpperLimit)",
            "ci_upper_limit_na_comment": "Why the upper limit is NA",
            "estimate_description": "Comment on the estimate",
            "other_analysis_description": "Any other analysis, in words",
        },
    ),
    "reported_event_stats": row_table(
        "Adverse events: one row per event term and group, serious events then other events "
        "(adverseEventsModule.seriousEvents and otherEvents, [].stats); the view reported_events adds the "
        "module's time frame, description and threshold to each, as AACT's table has them. Before schema 6 this "
        "table was named reported_events.",
        {
            "event_type": "serious or other",
            "organ_system": "Organ system class, e.g. Infections and infestations",
            "term": "Event term",
            "vocabulary": "Vocabulary of the term, e.g. MedDRA (18.0), CTCAE (4.0)",
            "assessment": "SYSTEMATIC_ASSESSMENT or NON_SYSTEMATIC_ASSESSMENT",
            "ctgov_group_code": _GROUP + " (result_type Reported Event)",
            **_EVENT_COUNTS,
            "event_count": "Number of events (one participant may have several), when given",
            "result_group_position": _RESULT_GROUP,
        },
    ),
    "reported_event_totals": row_table(
        "Adverse events: participants affected in each group, all terms together "
        "(adverseEventsModule.eventGroups: deaths, serious and other counts).",
        {
            "ctgov_group_code": _GROUP + " (result_type Reported Event)",
            "event_type": "deaths (all-cause mortality), serious or other",
            **_EVENT_COUNTS,
        },
    ),
    "result_agreements": row_table(
        "Whether investigators may publish the results freely (moreInfoModule.certainAgreement).",
        {
            "pi_employee": FLAG + "the principal investigators are sponsor employees",
            "restriction_type": "LTE60, GT60 or OTHER: how long the sponsor may delay a publication",
            "restrictive_agreement": FLAG + "an agreement restricts what investigators may publish",
            "other_details": "Details of the agreement",
        },
    ),
    "result_contacts": row_table(
        "Point of contact for the results (moreInfoModule.pointOfContact).",
        {
            "name_or_title": "Name or official title",
            "organization": "Organisation",
            "email": "E-mail",
            "phone": "Phone",
            "extension": "Phone extension",
        },
    ),
}

RESULT_OPTIONS: dict[str, dict[str, Any]] = {
    "result_groups": {"facets": ["result_type"]},
    "milestones": {"facets": ["title", "period"]},
    "drop_withdrawals": {"facets": ["reason"]},
    "baseline_measurements": {"facets": ["title", "param_type"]},
    "outcomes": {"facets": ["outcome_type", "param_type", "reporting_status"]},
    "outcome_analyses": {"facets": ["method", "non_inferiority_type"]},
    "reported_event_stats": {"facets": ["event_type", "organ_system", "assessment"]},
    "reported_events": {"facets": ["event_type", "organ_system", "assessment"]},
    "reported_event_totals": {"facets": ["event_type"]},
}
