"""The rest of a ClinicalTrials.gov record, declared as data: scalars beyond the basics and every row table.

Each entry reads one JSON path of the API v2 study object (``tests/test_ctgov_tables.py`` checks every path
against the API's OpenAPI spec). A row table is one or more ``Rows`` parts: a root with ``[]`` at each array,
and columns read from the row's element, an enclosing element (``outcomeMeasures[].title``) or its index
(``outcomeMeasures[]#``). Table and column names, and constant words (``mesh-list``, ``primary``), are AACT's
where a table matches (AACT's app/models/*.rb declare the same paths); the results section is declared in
``ctgov_results``.
"""

from __future__ import annotations

from typing import Any

from harvest.core.ids import CTGOV_ID_TYPES, IdScheme, classify, clean_id
from harvest.sources.ctgov_results import RESULT_TABLES, link_results
from harvest.sources.reading.jsonrows import Rows, tables, value_at

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
    "expanded_access_nctid": STATUS + "expandedAccessInfo.nctId",
    "expanded_access_status_for_nctid": STATUS + "expandedAccessInfo.statusForNctId",
    "expanded_access_type_individual": DESIGN + "expandedAccessTypes.individual",
    "expanded_access_type_intermediate": DESIGN + "expandedAccessTypes.intermediate",
    "expanded_access_type_treatment": DESIGN + "expandedAccessTypes.treatment",
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
    "responsible_party_old_name_title": P + "sponsorCollaboratorsModule.responsibleParty.oldNameTitle",
    "responsible_party_old_organization": P + "sponsorCollaboratorsModule.responsibleParty.oldOrganization",
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
    "baseline_type_units_analyzed": R + "baselineCharacteristicsModule.typeUnitsAnalyzed",
    "participant_flow_units_analyzed": R + "participantFlowModule.typeUnitsAnalyzed",
}

# studies date column <- JSON path of a {date, type} struct
DATE_STRUCTS: dict[str, str] = {
    "results_first_posted": STATUS + "resultsFirstPostDateStruct",
    "disp_first_posted": STATUS + "dispFirstPostDateStruct",
}

ARMS = P + "armsInterventionsModule."
OUTCOMES = P + "outcomesModule."
REFS = P + "referencesModule."

_outcome = {"measure": "measure", "time_frame": "timeFrame", "description": "description"}


def _browse(kind: str, module: str) -> list[Rows]:
    root = f"derivedSection.{module}."
    term = {"mesh_id": "id", "term": "term"}
    table = f"browse_{kind}s"
    return [
        Rows(table, root + "meshes[]", term, {"mesh_type": "mesh-list"}, sort_by=("mesh_id",)),
        Rows(table, root + "ancestors[]", term, {"mesh_type": "mesh-ancestor"}, sort_by=("mesh_id",)),
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


def _id_information() -> list[Rows]:
    """Every identifier as given, unvalidated (``identifiers`` keeps the ones that validate, by scheme)."""
    ident = P + "identificationModule."
    secondary = {"id_value": "id", "id_type": "type", "id_type_description": "domain", "id_link": "link"}
    return [
        Rows("id_information", ident + "nctIdAliases[]", {"id_value": "."}, {"id_source": "nct_alias"}),
        Rows(
            "id_information",
            ident + "orgStudyIdInfo",
            {"id_value": "id", "id_type": "type", "id_link": "link"},
            {"id_source": "org_study_id"},
        ),
        Rows("id_information", ident + "secondaryIdInfos[]", secondary, {"id_source": "secondary_id"}),
    ]


TABLES: list[Rows] = [
    Rows("design_groups", ARMS + "armGroups[]", {"label": "label", "group_type": "type", "description": "description"}),
    Rows(
        "design_group_interventions",
        ARMS + "interventions[].armGroupLabels[]",
        {
            "design_group_label": ".",
            "intervention_type": "interventions[].type",
            "intervention_name": "interventions[].name",
            "intervention_position": "interventions[]#",
        },
    ),
    Rows(
        "intervention_other_names",
        ARMS + "interventions[].otherNames[]",
        {"intervention_position": "interventions[]#", "intervention_name": "interventions[].name", "name": "."},
    ),
    Rows("design_outcomes", OUTCOMES + "primaryOutcomes[]", _outcome, {"outcome_type": "primary"}),
    Rows("design_outcomes", OUTCOMES + "secondaryOutcomes[]", _outcome, {"outcome_type": "secondary"}),
    Rows("design_outcomes", OUTCOMES + "otherOutcomes[]", _outcome, {"outcome_type": "other"}),
    *_browse("condition", "conditionBrowseModule"),
    *_browse("intervention", "interventionBrowseModule"),
    Rows("study_references", REFS + "references[]", {"pmid": "pmid", "reference_type": "type", "citation": "citation"}),
    Rows(
        "retractions",
        REFS + "references[].retractions[]",
        {"reference_position": "references[]#", "pmid": "pmid", "source": "source"},
    ),
    Rows("links", REFS + "seeAlsoLinks[]", {"url": "url", "description": "label"}),
    Rows(
        "documents",
        REFS + "availIpds[]",
        {"document_id": "id", "document_type": "type", "url": "url", "comment": "comment"},
    ),
    Rows(
        "provided_documents",
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
        "location_contacts",
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
    Rows("removed_countries", "derivedSection.miscInfoModule.removedCountries[]", {"name": "."}),
    *_id_information(),
    *RESULT_TABLES,
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
    rows = tables(study, TABLES)
    _link_arms(rows)
    link_results(rows, study)
    data.update(rows)
    return data


def _link_arms(rows: dict[str, list[dict[str, Any]]]) -> None:
    """Each arm-intervention link's arm (AACT's ``design_group_id``): the arm with that label, the last one
    where two share it, as AACT's index of arms by title keeps the last."""
    arms = {arm["label"]: i for i, arm in enumerate(rows.get("design_groups") or ())}
    for link in rows.get("design_group_interventions") or ():
        link["design_group_position"] = arms.get(link["design_group_label"])


def contacts(study: Json) -> list[Json]:
    """Central contacts, then overall officials, as ``Contact`` data."""
    contacts = []
    for person in _at(study, P + "contactsLocationsModule.centralContacts") or []:
        contacts.append(
            {
                "role": person.get("role") or "CENTRAL_CONTACT",
                "name": person.get("name"),
                "phone": person.get("phone"),
                "phone_ext": person.get("phoneExt"),
                "email": person.get("email"),
                "kind": "central",
            }
        )
    for person in _at(study, P + "contactsLocationsModule.overallOfficials") or []:
        contacts.append(
            {
                "role": person.get("role") or "OVERALL_OFFICIAL",
                "name": person.get("name"),
                "affiliation": person.get("affiliation"),
                "kind": "official",
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
