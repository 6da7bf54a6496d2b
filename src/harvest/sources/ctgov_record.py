"""The rest of a ClinicalTrials.gov record, declared as data: scalars beyond the basics and every row table.

Each entry reads one JSON path of the API v2 study object (``tests/test_ctgov_tables.py`` checks every path
against the API's OpenAPI spec). A row table is one or more ``Rows`` parts: a root with ``[]`` at each array,
and columns read from the row's element, an enclosing element (``outcomeMeasures[].title``) or its index
(``outcomeMeasures[]#``). Table and column names are AACT's where a table matches.
"""

from __future__ import annotations

from typing import Any

from harvest.core.ids import CTGOV_ID_TYPES, IdScheme, classify, clean_id
from harvest.sources.reading.jsonrows import Rows, number, tables, value_at, whole

Json = dict[str, Any]
P = "protocolSection."
R = "resultsSection."
STATUS = P + "statusModule."
DESIGN = P + "designModule."

# studies column <- JSON path (scalars the first release did not keep). Dates with a type are structs.
SCALARS: dict[str, str] = {
    "first_submitted": STATUS + "studyFirstSubmitDate",
    "first_submitted_qc": STATUS + "studyFirstSubmitQcDate",
    "results_first_submitted": STATUS + "resultsFirstSubmitDate",
    "results_first_submitted_qc": STATUS + "resultsFirstSubmitQcDate",
    "disp_first_submitted": STATUS + "dispFirstSubmitDate",
    "disp_first_submitted_qc": STATUS + "dispFirstSubmitQcDate",
    "last_update_submitted": STATUS + "lastUpdateSubmitDate",
    "results_waived": STATUS + "resultsWaived",
    "delayed_posting": STATUS + "delayedPosting",
    "has_expanded_access": STATUS + "expandedAccessInfo.hasExpandedAccess",
    "is_fda_regulated_drug": P + "oversightModule.isFdaRegulatedDrug",
    "is_fda_regulated_device": P + "oversightModule.isFdaRegulatedDevice",
    "is_unapproved_device": P + "oversightModule.isUnapprovedDevice",
    "is_ppsd": P + "oversightModule.isPpsd",
    "is_us_export": P + "oversightModule.isUsExport",
    "has_dmc": P + "oversightModule.oversightHasDmc",
    "fdaaa801_violation": P + "oversightModule.fdaaa801Violation",
    "organization": P + "identificationModule.organization.fullName",
    "organization_class": P + "identificationModule.organization.class",
    "responsible_party_type": P + "sponsorCollaboratorsModule.responsibleParty.type",
    "responsible_party_name": P + "sponsorCollaboratorsModule.responsibleParty.investigatorFullName",
    "responsible_party_title": P + "sponsorCollaboratorsModule.responsibleParty.investigatorTitle",
    "responsible_party_affiliation": P + "sponsorCollaboratorsModule.responsibleParty.investigatorAffiliation",
    "intervention_model_description": DESIGN + "designInfo.interventionModelDescription",
    "observational_model": DESIGN + "designInfo.observationalModel",
    "time_perspective": DESIGN + "designInfo.timePerspective",
    "masking_description": DESIGN + "designInfo.maskingInfo.maskingDescription",
    "who_masked": DESIGN + "designInfo.maskingInfo.whoMasked",
    "patient_registry": DESIGN + "patientRegistry",
    "target_duration": DESIGN + "targetDuration",
    "biospec_retention": DESIGN + "bioSpec.retention",
    "biospec_description": DESIGN + "bioSpec.description",
    "gender_based": P + "eligibilityModule.genderBased",
    "gender_description": P + "eligibilityModule.genderDescription",
    "sampling_method": P + "eligibilityModule.samplingMethod",
    "population": P + "eligibilityModule.studyPopulation",
    "std_ages": P + "eligibilityModule.stdAges",
    "ipd_sharing": P + "ipdSharingStatementModule.ipdSharing",
    "ipd_description": P + "ipdSharingStatementModule.description",
    "ipd_time_frame": P + "ipdSharingStatementModule.timeFrame",
    "ipd_access_criteria": P + "ipdSharingStatementModule.accessCriteria",
    "ipd_url": P + "ipdSharingStatementModule.url",
    "limitations_and_caveats": R + "moreInfoModule.limitationsAndCaveats.description",
    "baseline_population": R + "baselineCharacteristicsModule.populationDescription",
    "participant_flow_recruitment_details": R + "participantFlowModule.recruitmentDetails",
    "participant_flow_pre_assignment_details": R + "participantFlowModule.preAssignmentDetails",
    "reported_events_time_frame": R + "adverseEventsModule.timeFrame",
    "reported_events_description": R + "adverseEventsModule.description",
    "reported_events_frequency_threshold": R + "adverseEventsModule.frequencyThreshold",
}

# studies date column <- JSON path of a {date, type} struct
DATE_STRUCTS: dict[str, str] = {
    "results_first_posted": STATUS + "resultsFirstPostDateStruct",
    "disp_first_posted": STATUS + "dispFirstPostDateStruct",
}

ARMS = P + "armsInterventionsModule."
OUTCOMES = P + "outcomesModule."
REFS = P + "referencesModule."
FLOW = R + "participantFlowModule."
BASELINE = R + "baselineCharacteristicsModule."
MEASURES = R + "outcomeMeasuresModule.outcomeMeasures[]"
EVENTS = R + "adverseEventsModule."

_outcome = {"measure": "measure", "time_frame": "timeFrame", "description": "description"}
_measurement = {
    "ctgov_group_code": "groupId",
    "param_value": "value",
    "param_value_num": ("value", number),
    "dispersion_value": "spread",
    "dispersion_value_num": ("spread", number),
    "dispersion_lower_limit": ("lowerLimit", number),
    "dispersion_upper_limit": ("upperLimit", number),
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


def _browse(kind: str, module: str) -> list[Rows]:
    root = f"derivedSection.{module}."
    term = {"mesh_id": "id", "term": "term"}
    table = f"browse_{kind}s"
    return [
        Rows(table, root + "meshes[]", term, {"mesh_type": "mesh"}, sort_by=("mesh_id",)),
        Rows(table, root + "ancestors[]", term, {"mesh_type": "ancestor"}, sort_by=("mesh_id",)),
        Rows(
            "browse_leaves",
            root + "browseLeaves[]",
            {"leaf_id": "id", "name": "name", "as_found": "asFound", "relevance": "relevance"},
            {"browse": kind},
            sort_by=("leaf_id",),
        ),
        Rows(
            "browse_branches",
            root + "browseBranches[]",
            {"abbrev": "abbrev", "name": "name"},
            {"browse": kind},
            sort_by=("abbrev",),
        ),
    ]


def _groups(root: str, result_type: str, outcome: bool = False) -> Rows:
    columns: dict[str, Any] = {"ctgov_group_code": "id", "title": "title", "description": "description"}
    if outcome:
        columns["outcome_position"] = "outcomeMeasures[]#"
    return Rows("result_groups", root, columns, {"result_type": result_type})


def _events(kind: str) -> Rows:
    key = f"{kind}Events"
    columns = {c: p.replace("seriousEvents[]", f"{key}[]") for c, p in _event.items() if isinstance(p, str)}
    return Rows("reported_events", EVENTS + f"{key}[].stats[]", columns, {"event_type": kind})


def _totals(kind: str) -> Rows:
    columns = {
        "ctgov_group_code": "id",
        "subjects_affected": f"{kind}NumAffected",
        "subjects_at_risk": f"{kind}NumAtRisk",
    }
    return Rows("reported_event_totals", EVENTS + "eventGroups[]", columns, {"event_type": kind})


TABLES: list[Rows] = [
    Rows("design_groups", ARMS + "armGroups[]", {"label": "label", "group_type": "type", "description": "description"}),
    Rows(
        "design_group_interventions",
        ARMS + "interventions[].armGroupLabels[]",
        {
            "design_group_label": ".",
            "intervention_type": "interventions[].type",
            "intervention_name": "interventions[].name",
        },
    ),
    Rows(
        "intervention_other_names",
        ARMS + "interventions[].otherNames[]",
        {"intervention_position": "interventions[]#", "intervention_name": "interventions[].name", "name": "."},
    ),
    Rows("design_outcomes", OUTCOMES + "primaryOutcomes[]", _outcome, {"outcome_type": "PRIMARY"}),
    Rows("design_outcomes", OUTCOMES + "secondaryOutcomes[]", _outcome, {"outcome_type": "SECONDARY"}),
    Rows("design_outcomes", OUTCOMES + "otherOutcomes[]", _outcome, {"outcome_type": "OTHER"}),
    *_browse("condition", "conditionBrowseModule"),
    *_browse("intervention", "interventionBrowseModule"),
    Rows("study_references", REFS + "references[]", {"pmid": "pmid", "reference_type": "type", "citation": "citation"}),
    Rows("links", REFS + "seeAlsoLinks[]", {"url": "url", "description": "label"}),
    Rows(
        "documents",
        "documentSection.largeDocumentModule.largeDocs[]",
        {
            "type_abbrev": "typeAbbrev",
            "label": "label",
            "has_protocol": "hasProtocol",
            "has_sap": "hasSap",
            "has_icf": "hasIcf",
            "document_date": "date",
            "upload_date": "uploadDate",
            "filename": "filename",
            "size": "size",
        },
    ),
    Rows(
        "facility_contacts",
        P + "contactsLocationsModule.locations[].contacts[]",
        {
            "location_position": "locations[]#",
            "facility": "locations[].facility",
            "contact_type": "role",
            "name": "name",
            "email": "email",
            "phone": "phone",
            "phone_ext": "phoneExt",
        },
    ),
    Rows("ipd_information_types", P + "ipdSharingStatementModule.infoTypes[]", {"name": "."}),
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
            "title": "measures[].title",
            "description": "measures[].description",
            "population_description": "measures[].populationDescription",
            "param_type": "measures[].paramType",
            "dispersion_type": "measures[].dispersionType",
            "units": "measures[].unitOfMeasure",
            **_measurement,
        },
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
        "outcome_measurements",
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
            "param_value": "paramValue",
            "param_value_num": ("paramValue", number),
            "dispersion_type": "dispersionType",
            "dispersion_value": "dispersionValue",
            "p_value": "pValue",
            "p_value_num": ("pValue", number),
            "p_value_description": "pValueComment",
            "method": "statisticalMethod",
            "method_description": "statisticalComment",
            "ci_percent": "ciPctValue",
            "ci_n_sides": "ciNumSides",
            "ci_lower_limit": "ciLowerLimit",
            "ci_upper_limit": "ciUpperLimit",
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
    Rows(
        "submissions",
        "derivedSection.miscInfoModule.submissionTracking.submissionInfos[]",
        {
            "release_date": "releaseDate",
            "reset_date": "resetDate",
            "unrelease_date": "unreleaseDate",
            "unrelease_date_unknown": "unreleaseDateUnknown",
            "mcp_release_n": "mcpReleaseN",
        },
    ),
    Rows(
        "pending_results",
        "annotationSection.annotationModule.unpostedAnnotation.unpostedEvents[]",
        {"event": "type", "event_date_description": "date", "event_date": "date"},
    ),
]


def _at(data: Any, dotted: str) -> Any:
    return value_at(data, tuple(dotted.split(".")))


def _by_parent(paths: dict[str, str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """(parent object path, [(column, key)]): each parent object is looked up once per study, not per column."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for column, path in paths.items():
        parent, _, key = path.rpartition(".")
        groups.setdefault(parent, []).append((column, key))
    return list(groups.items())


_SCALAR_GROUPS = _by_parent(SCALARS)


def record_data(study: dict[str, Any]) -> dict[str, Any]:
    """The canonical fields this module declares, for one API study object (not yet validated)."""
    data: dict[str, Any] = {}
    for parent, keys in _SCALAR_GROUPS:
        holder = _at(study, parent)
        if not isinstance(holder, dict):
            continue
        for column, key in keys:
            value = holder.get(key)
            if value is not None and value != []:
                data[column] = value
    for column, path in DATE_STRUCTS.items():
        value = _at(study, path)
        if isinstance(value, dict) and value.get("date"):
            kind = value.get("type")
            data[column] = {"value": value["date"], "type": kind if kind in ("ACTUAL", "ESTIMATED") else None}
    data.update(tables(study, TABLES))
    return data


def contacts(study: Json) -> list[Json]:
    """Central contacts, then overall officials, as ``Contact`` data."""
    contacts = []
    for person in _at(study, P + "contactsLocationsModule.centralContacts") or []:
        contacts.append(
            {
                "role": person.get("role") or "CENTRAL_CONTACT",
                "name": person.get("name"),
                "phone": person.get("phone"),
                "email": person.get("email"),
            }
        )
    for person in _at(study, P + "contactsLocationsModule.overallOfficials") or []:
        contacts.append(
            {
                "role": person.get("role") or "OVERALL_OFFICIAL",
                "name": person.get("name"),
                "affiliation": person.get("affiliation"),
            }
        )
    return contacts


def identifiers(study: Json) -> list[Json]:
    """The organisation's study ID and the secondary IDs, each classified by scheme."""
    identifiers = []
    org_id = _at(study, P + "identificationModule.orgStudyIdInfo.id")
    if org_id and classify(org_id, IdScheme.ORG_STUDY_ID):
        identifiers.append(
            {
                "scheme": "ORG_STUDY_ID",
                "value": clean_id(org_id),
                "domain": _at(study, P + "identificationModule.organization.fullName"),
            }
        )
    for info in _at(study, P + "identificationModule.secondaryIdInfos") or []:
        value = clean_id(info.get("id") or "")
        declared = CTGOV_ID_TYPES.get(info.get("type") or "", IdScheme.OTHER)
        scheme = classify(value, declared)
        if scheme is not None:
            identifiers.append({"scheme": scheme.value, "value": value, "domain": info.get("domain")})
    return identifiers
