"""The results section of a ClinicalTrials.gov record, declared as data (``jsonrows.Rows``), and the links between
its rows that AACT stores as ids: each row's result group, and each baseline value's denominator.

Table and column names are AACT's (its app/models/*.rb declare the same paths); ``ctgov_record`` declares the
protocol and calls ``link_results`` once the rows are read.
"""

from __future__ import annotations

from typing import Any

from harvest.core.aact import p_value_modifier, p_value_number, whole, yes_no
from harvest.sources.reading.jsonrows import Rows, number

R = "resultsSection."
FLOW = R + "participantFlowModule."
BASELINE = R + "baselineCharacteristicsModule."
MEASURES = R + "outcomeMeasuresModule.outcomeMeasures[]"
EVENTS = R + "adverseEventsModule."

_measurement = {
    "ctgov_group_code": "groupId",
    "param_value": "value",
    "param_value_num": ("value", number),
    "dispersion_value": "spread",
    "dispersion_value_num": ("spread", number),
    "dispersion_lower_limit": ("lowerLimit", number),
    "dispersion_upper_limit": ("upperLimit", number),
    "dispersion_lower_limit_raw": "lowerLimit",
    "dispersion_upper_limit_raw": "upperLimit",
    "explanation_of_na": "comment",
    "classification": "classes[].title",
    "category": "categories[].title",
}
_event = {
    "organ_system": "seriousEvents[].organSystem",
    "term": "seriousEvents[].term",
    "vocabulary": "seriousEvents[].sourceVocabulary",
    "assessment": "seriousEvents[].assessmentType",
    "ctgov_group_code": "groupId",
    "subjects_affected": "numAffected",
    "subjects_at_risk": "numAtRisk",
    "event_count": "numEvents",
}


def _groups(root: str, result_type: str, outcome: bool = False) -> Rows:
    columns: dict[str, Any] = {"ctgov_group_code": "id", "title": "title", "description": "description"}
    if outcome:
        columns["outcome_position"] = "outcomeMeasures[]#"
    return Rows("result_groups", root, columns, {"result_type": result_type})


def _events(kind: str) -> Rows:
    key = f"{kind}Events"
    columns = {c: p.replace("seriousEvents[]", f"{key}[]") for c, p in _event.items() if isinstance(p, str)}
    return Rows("reported_event_stats", EVENTS + f"{key}[].stats[]", columns, {"event_type": kind})


def _totals(kind: str) -> Rows:
    columns = {
        "ctgov_group_code": "id",
        "subjects_affected": f"{kind}NumAffected",
        "subjects_at_risk": f"{kind}NumAtRisk",
    }
    return Rows("reported_event_totals", EVENTS + "eventGroups[]", columns, {"event_type": kind})


RESULT_TABLES: list[Rows] = [
    _groups(FLOW + "groups[]", "Participant Flow"),
    _groups(BASELINE + "groups[]", "Baseline"),
    _groups(MEASURES + ".groups[]", "Outcome", outcome=True),
    _groups(EVENTS + "eventGroups[]", "Reported Event"),
    Rows(
        "milestones",
        FLOW + "periods[].milestones[].achievements[]",
        {
            "period": "periods[].title",
            "title": "milestones[].type",
            "ctgov_group_code": "groupId",
            "count": ("numSubjects", whole),
            "count_units": "numUnits",
            "description": "comment",
            "milestone_description": "milestones[].comment",
        },
    ),
    Rows(
        "drop_withdrawals",
        FLOW + "periods[].dropWithdraws[].reasons[]",
        {
            "period": "periods[].title",
            "reason": "dropWithdraws[].type",
            "ctgov_group_code": "groupId",
            "count": ("numSubjects", whole),
            "description": "comment",
            "drop_withdraw_comment": "dropWithdraws[].comment",
            "count_units": ("numUnits", whole),
        },
    ),
    Rows(
        "baseline_counts",
        BASELINE + "denoms[].counts[]",
        {"units": "denoms[].units", "ctgov_group_code": "groupId", "count": ("value", whole)},
    ),
    Rows(
        "baseline_measurements",
        BASELINE + "measures[].classes[].categories[].measurements[]",
        {
            "measure_position": "measures[]#",
            "_class": "classes[]#",  # read by _number_analyzed, then dropped
            "title": "measures[].title",
            "description": "measures[].description",
            "population_description": "measures[].populationDescription",
            "param_type": "measures[].paramType",
            "dispersion_type": "measures[].dispersionType",
            "units": "measures[].unitOfMeasure",
            "calculate_percentage": ("measures[].calculatePct", yes_no),
            **_measurement,
        },
        # As AACT stores it (spec/models/baseline_measurement_spec.rb): a measure, class or category without
        # values still has its row.
        keep_empty=True,
    ),
    Rows(
        "outcomes",
        MEASURES,
        {
            "outcome_type": "type",
            "title": "title",
            "description": "description",
            "time_frame": "timeFrame",
            "population": "populationDescription",
            "units": "unitOfMeasure",
            "units_analyzed": "typeUnitsAnalyzed",
            "param_type": "paramType",
            "dispersion_type": "dispersionType",
            "reporting_status": "reportingStatus",
            "anticipated_posting_date": "anticipatedPostingDate",
        },
    ),
    Rows(
        "outcome_counts",
        MEASURES + ".denoms[].counts[]",
        {
            "outcome_position": "outcomeMeasures[]#",
            "units": "denoms[].units",
            "ctgov_group_code": "groupId",
            "count": ("value", whole),
        },
    ),
    Rows(
        "outcome_measurement_values",
        MEASURES + ".classes[].categories[].measurements[]",
        {"outcome_position": "outcomeMeasures[]#", **_measurement},
    ),
    Rows(
        "outcome_analyses",
        MEASURES + ".analyses[]",
        {
            "outcome_position": "outcomeMeasures[]#",
            "group_codes": "groupIds",
            "groups_description": "groupDescription",
            "non_inferiority_type": "nonInferiorityType",
            "non_inferiority_description": "nonInferiorityComment",
            "param_type": "paramType",
            "param_value": ("paramValue", number),
            "param_value_raw": "paramValue",
            "dispersion_type": "dispersionType",
            "dispersion_value": ("dispersionValue", number),
            "dispersion_value_raw": "dispersionValue",
            "p_value": ("pValue", p_value_number),
            "p_value_modifier": ("pValue", p_value_modifier),
            "p_value_raw": "pValue",
            "p_value_num": ("pValue", number),
            "p_value_description": "pValueComment",
            "method": "statisticalMethod",
            "method_description": "statisticalComment",
            "ci_percent": ("ciPctValue", number),
            "ci_n_sides": "ciNumSides",
            "ci_lower_limit": ("ciLowerLimit", number),
            "ci_lower_limit_raw": "ciLowerLimit",
            "ci_upper_limit": ("ciUpperLimit", number),
            "ci_upper_limit_raw": "ciUpperLimit",
            "ci_upper_limit_na_comment": "ciUpperLimitComment",
            "estimate_description": "estimateComment",
            "other_analysis_description": "otherAnalysisDescription",
        },
    ),
    _events("serious"),
    _events("other"),
    _totals("deaths"),
    _totals("serious"),
    _totals("other"),
    Rows(
        "result_agreements",
        R + "moreInfoModule.certainAgreement",
        {
            "pi_employee": "piSponsorEmployee",
            "restriction_type": "restrictionType",
            "restrictive_agreement": "restrictiveAgreement",
            "other_details": "otherDetails",
        },
    ),
    Rows(
        "result_contacts",
        R + "moreInfoModule.pointOfContact",
        {
            "name_or_title": "title",
            "organization": "organization",
            "email": "email",
            "phone": "phone",
            "extension": "phoneExt",
        },
    ),
]

# Which results rows name a group of which kind (an outcome's groups are the outcome's own).
_GROUP_KIND = {
    "milestones": "Participant Flow",
    "drop_withdrawals": "Participant Flow",
    "baseline_counts": "Baseline",
    "baseline_measurements": "Baseline",
    "outcome_counts": "Outcome",
    "outcome_measurement_values": "Outcome",
    "reported_event_stats": "Reported Event",
}
PARTICIPANTS = "Participants"  # the units of a denominator when the measure names none


def link_results(rows: dict[str, list[dict[str, Any]]], study: dict[str, Any]) -> None:
    """Each results row's group (``result_group_position``, AACT's ``result_group_id``) and each baseline
    value's denominator, in place."""
    groups = rows.get("result_groups") or []
    where = {(g["result_type"], g.get("outcome_position"), g["ctgov_group_code"]): i for i, g in enumerate(groups)}
    for table, kind in _GROUP_KIND.items():
        for row in rows.get(table) or ():
            row["result_group_position"] = where.get((kind, row.get("outcome_position"), row["ctgov_group_code"]))
    if "baseline_measurements" in rows:
        module = (study.get("resultsSection") or {}).get("baselineCharacteristicsModule") or {}
        _number_analyzed(rows["baseline_measurements"], module)


def _number_analyzed(rows: list[dict[str, Any]], module: dict[str, Any]) -> None:
    """As app/models/baseline_measurement.rb ``number_analyzed``: the count of the row's group, in the measure's
    selected units (else Participants), from the class's denominators, else the measure's, else the module's.
    Worked out once per measure and class: a large baseline has thousands of rows over a few of them."""
    measures = module.get("measures") or []
    seen: dict[tuple[int, int | None], tuple[str, dict[str, int | None]]] = {}
    for row in rows:
        key = (row["measure_position"], row.pop("_class"))
        if key not in seen:
            seen[key] = _denominators(measures[key[0]], key[1], module)
        units, counts = seen[key]
        row["number_analyzed_units"] = units
        group = row["ctgov_group_code"]
        row["number_analyzed"] = counts.get(group) if group is not None else None


def _denominators(measure: Any, klass_index: int | None, module: dict[str, Any]) -> tuple[str, dict[str, int | None]]:
    """(the units counted, group -> count) for one measure and class: the first count of a group among the
    denominators in those units, as AACT's lookup finds it."""
    if not isinstance(measure, dict):
        measure = {}
    units = measure.get("denomUnitsSelected") or PARTICIPANTS
    klass = (measure.get("classes") or [])[klass_index] if klass_index is not None else {}
    denoms = klass.get("denoms") if isinstance(klass, dict) else None
    if denoms is None:
        denoms = measure.get("denoms")
    if denoms is None:
        denoms = module.get("denoms") or []
    counts: dict[str, int | None] = {}
    for denom in denoms if isinstance(denoms, list) else ():
        if isinstance(denom, dict) and denom.get("units") == units:
            for count in denom.get("counts") or ():
                if isinstance(count, dict):
                    counts.setdefault(count.get("groupId"), whole(count.get("value")))
    return units, counts
