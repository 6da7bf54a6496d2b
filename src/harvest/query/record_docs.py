"""Datasette descriptions of the rest of the ClinicalTrials.gov record: the ``studies`` columns added with the
row tables, site coordinates, the protocol tables (arms, declared outcomes, MeSH browse terms, references, links,
documents, site contacts) and the file's bookkeeping table; the results tables are in ``results_docs``.

``query.datasette`` merges both into its ``TABLES`` and ``OPTIONS``. Each description names the CT.gov API v2
path that fills the column (``protocolSection.`` and ``resultsSection.`` left out, and the module too where the
path is unambiguous), so a value can be checked against the registry's record. Table and column names are AACT's
where a table matches.
"""

from __future__ import annotations

from typing import Any

DATE = "ISO date at the precision the source gave (2020, 2020-02 or 2020-02-10)"
NCT = "NCT number of the trial (studies.nct_id)"
POSITION = "Order within the trial's list, from 0"
_TYPE = "ACTUAL or ESTIMATED"
FLAG = "1 if "  # boolean columns hold 1, 0 or NULL (not stated)


# studies columns beyond the first release (store.columns.STUDY_COLUMNS)
RECORD_STUDY_COLUMNS: dict[str, str] = {
    "first_submitted": "Date the record was first submitted (statusModule.studyFirstSubmitDate)",
    "first_submitted_qc": "Date the first submission passed the registry's quality control "
    "(statusModule.studyFirstSubmitQcDate)",
    "results_first_submitted": "Date the results were first submitted (statusModule.resultsFirstSubmitDate)",
    "results_first_submitted_qc": "Date the results first passed quality control "
    "(statusModule.resultsFirstSubmitQcDate)",
    "results_first_posted": f"Date the results were first posted (statusModule.resultsFirstPostDateStruct); {DATE}",
    "results_first_posted_type": _TYPE,
    "disp_first_submitted": "Date a certification or extension request to delay results was first submitted "
    "(statusModule.dispFirstSubmitDate)",
    "disp_first_submitted_qc": "Date that delay request passed quality control (statusModule.dispFirstSubmitQcDate)",
    "disp_first_posted": f"Date that delay request was first posted (statusModule.dispFirstPostDateStruct); {DATE}",
    "disp_first_posted_type": _TYPE,
    "last_update_submitted": "Date the last update was submitted (statusModule.lastUpdateSubmitDate)",
    "results_waived": FLAG + "results submission was waived (statusModule.resultsWaived)",
    "delayed_posting": FLAG + "posting is delayed until the device is approved or cleared "
    "(statusModule.delayedPosting)",
    "has_expanded_access": FLAG + "the intervention is available through expanded access "
    "(statusModule.expandedAccessInfo.hasExpandedAccess)",
    "is_fda_regulated_drug": FLAG + "a drug regulated by the U.S. FDA is studied (oversightModule.isFdaRegulatedDrug)",
    "is_fda_regulated_device": FLAG + "a device regulated by the U.S. FDA is studied "
    "(oversightModule.isFdaRegulatedDevice)",
    "is_unapproved_device": FLAG + "a device not yet approved or cleared by the FDA is studied "
    "(oversightModule.isUnapprovedDevice)",
    "is_ppsd": FLAG + "it is a pediatric postmarket surveillance of a device (oversightModule.isPpsd)",
    "is_us_export": FLAG + "a product exported from the U.S. is studied (oversightModule.isUsExport)",
    "has_dmc": FLAG + "a data monitoring committee oversees the trial (oversightModule.oversightHasDmc)",
    "fdaaa801_violation": FLAG + "ClinicalTrials.gov flags an FDAAA 801 violation (oversightModule.fdaaa801Violation)",
    "organization": "Organisation that registered the trial (identificationModule.organization.fullName; AACT: source)",
    "organization_class": "Its class: INDUSTRY, NIH, FED, OTHER_GOV, INDIV, NETWORK, OTHER, ... "
    "(identificationModule.organization.class)",
    "responsible_party_type": "SPONSOR, PRINCIPAL_INVESTIGATOR or SPONSOR_INVESTIGATOR "
    "(sponsorCollaboratorsModule.responsibleParty.type)",
    "responsible_party_name": "Investigator who is the responsible party (responsibleParty.investigatorFullName)",
    "responsible_party_title": "That investigator's title (responsibleParty.investigatorTitle)",
    "responsible_party_affiliation": "That investigator's affiliation (responsibleParty.investigatorAffiliation)",
    "intervention_model_description": "Free-text details of the intervention model "
    "(designInfo.interventionModelDescription)",
    "observational_model": "COHORT, CASE_CONTROL, CASE_ONLY, ... for observational studies "
    "(designInfo.observationalModel)",
    "time_perspective": "PROSPECTIVE, RETROSPECTIVE, CROSS_SECTIONAL or OTHER (designInfo.timePerspective)",
    "masking_description": "Free-text details of the masking (designInfo.maskingInfo.maskingDescription)",
    "who_masked": 'JSON array of who is masked, e.g. ["PARTICIPANT", "INVESTIGATOR"]; values PARTICIPANT, '
    "CARE_PROVIDER, INVESTIGATOR, OUTCOMES_ASSESSOR (designInfo.maskingInfo.whoMasked); NULL when none",
    "patient_registry": FLAG + "the observational study is a patient registry (designModule.patientRegistry)",
    "target_duration": "Follow-up of a patient registry as written, e.g. 12 Months (designModule.targetDuration)",
    "biospec_retention": "NONE_RETAINED, SAMPLES_WITH_DNA or SAMPLES_WITHOUT_DNA (designModule.bioSpec.retention)",
    "biospec_description": "Biospecimens retained (designModule.bioSpec.description)",
    "gender_based": FLAG + "eligibility is based on gender identity (eligibilityModule.genderBased)",
    "gender_description": "Details of gender-based eligibility (eligibilityModule.genderDescription)",
    "sampling_method": "PROBABILITY_SAMPLE or NON_PROBABILITY_SAMPLE, for observational studies "
    "(eligibilityModule.samplingMethod)",
    "population": "Study population of an observational study (eligibilityModule.studyPopulation)",
    "std_ages": "JSON array of age groups eligible: CHILD, ADULT, OLDER_ADULT (eligibilityModule.stdAges)",
    "ipd_sharing": "Plan to share individual participant data: YES, NO or UNDECIDED "
    "(ipdSharingStatementModule.ipdSharing); what is shared: ipd_information_types",
    "ipd_description": "What individual participant data will be shared (ipdSharingStatementModule.description)",
    "ipd_time_frame": "When it will be available (ipdSharingStatementModule.timeFrame)",
    "ipd_access_criteria": "Who may access it, and how (ipdSharingStatementModule.accessCriteria)",
    "ipd_url": "Where to request it (ipdSharingStatementModule.url)",
    "limitations_and_caveats": "Limitations of the results (moreInfoModule.limitationsAndCaveats.description)",
    "baseline_population": "Who the baseline data describe (baselineCharacteristicsModule.populationDescription)",
    "participant_flow_recruitment_details": "Recruitment details (participantFlowModule.recruitmentDetails)",
    "participant_flow_pre_assignment_details": "What happened between enrolment and assignment "
    "(participantFlowModule.preAssignmentDetails)",
    "reported_events_time_frame": "Period over which adverse events were collected (adverseEventsModule.timeFrame)",
    "reported_events_description": "How adverse events were defined or collected (adverseEventsModule.description)",
    "reported_events_frequency_threshold": "Percent of participants above which other (not serious) adverse events "
    "are listed, as text, e.g. 5 (adverseEventsModule.frequencyThreshold)",
    "number_of_arms": "Calculated: number of the trial's design_groups rows; NULL when none",
    "number_of_facilities": "Calculated: number of the trial's locations rows; NULL when none",
    "has_us_facility": "Calculated: 1 if a location is in the United States, 0 if none is; NULL without locations",
    "has_single_facility": "Calculated: 1 with exactly one location, 0 with more; NULL without locations",
    "months_to_report_results": "Calculated: calendar months from primary_completion_date to "
    "results_first_submitted (days ignored); NULL unless both are known to the month",
    "mesh_terms": "For search: the MeSH terms ClinicalTrials.gov derived for the conditions and interventions, "
    "then the record's words it found them as (browse_leaves.as_found), each once, joined with '; '",
    "mesh_ancestors": "For search: the broader MeSH terms above those (ancestors in browse_conditions and "
    "browse_interventions), each once, joined with '; '",
}

LOCATION_COORDINATES: dict[str, str] = {
    "latitude": "Site latitude in decimal degrees, as geocoded by ClinicalTrials.gov "
    "(contactsLocationsModule.locations[].geoPoint.lat); NULL from mirrors",
    "longitude": "Site longitude in decimal degrees (locations[].geoPoint.lon); NULL from mirrors",
}


def row_table(description: str, columns: dict[str, str], position: str = POSITION) -> tuple[str, dict[str, str]]:
    """A row table: keyed by (nct_id, position) like every table generated from the record."""
    return description, {"nct_id": NCT, "position": position, **columns}


_BROWSE = {
    "mesh_id": "MeSH descriptor id, e.g. D009369 (the registry writes some with extra zeros: D000009369)",
    "term": "MeSH term, e.g. Neoplasms",
    "mesh_type": "mesh (a term the registry matched to the record) or ancestor (a broader term above one)",
}
_SORTED = "Order from 0: mesh terms, then ancestors, each by MeSH id (the registry reorders them between releases)"

RECORD_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "design_groups": row_table(
        "Arms or groups of the protocol (armsInterventionsModule.armGroups).",
        {
            "label": "Arm label, as design_group_interventions.design_group_label names it",
            "group_type": "EXPERIMENTAL, ACTIVE_COMPARATOR, PLACEBO_COMPARATOR, SHAM_COMPARATOR, NO_INTERVENTION, "
            "OTHER",
            "description": "What the arm receives",
        },
    ),
    "design_group_interventions": row_table(
        "Which intervention each arm receives: one row per arm label listed under an intervention "
        "(armsInterventionsModule.interventions[].armGroupLabels).",
        {
            "design_group_label": "The arm: design_groups.label of the same nct_id",
            "intervention_type": "The intervention's type (DRUG, DEVICE, ...)",
            "intervention_name": "The intervention: interventions.name of the same nct_id",
        },
    ),
    "intervention_other_names": row_table(
        "Synonyms and brand names of interventions (interventions[].otherNames).",
        {
            "intervention_position": "The intervention: joins interventions.position of the same nct_id",
            "intervention_name": "The intervention's name",
            "name": "Other name",
        },
    ),
    "design_outcomes": row_table(
        "Outcome measures the protocol declares (outcomesModule): primary, then secondary, then other.",
        {
            "outcome_type": "PRIMARY, SECONDARY or OTHER",
            "measure": "What is measured",
            "time_frame": "When it is measured",
            "description": "How it is measured",
        },
    ),
    "browse_conditions": row_table(
        "MeSH terms the registry derived from the conditions, and their ancestors "
        "(derivedSection.conditionBrowseModule meshes and ancestors): find trials by a broad term.",
        _BROWSE,
        _SORTED,
    ),
    "browse_interventions": row_table(
        "MeSH terms the registry derived from the interventions, and their ancestors "
        "(derivedSection.interventionBrowseModule meshes and ancestors).",
        _BROWSE,
        _SORTED,
    ),
    "browse_leaves": row_table(
        "ClinicalTrials.gov's browse leaves: the topics its search files a trial under (browseLeaves of the "
        "condition and intervention browse modules).",
        {
            "browse": "condition or intervention",
            "leaf_id": "Leaf id, e.g. M10016",
            "name": "Topic name",
            "as_found": "The record's own words that matched, when the topic was matched directly",
            "relevance": "HIGH (the record's words matched it, see as_found) or LOW (a related broader topic)",
        },
        "Order by browse kind, then leaf id, from 0",
    ),
    "browse_branches": row_table(
        "ClinicalTrials.gov's browse branches: the broad topic groups of a trial (browseBranches).",
        {"browse": "condition or intervention", "abbrev": "Branch code, e.g. BC23", "name": "Branch name"},
        "Order by browse kind, then branch code, from 0",
    ),
    "study_references": row_table(
        "Publications cited by the record (referencesModule.references).",
        {
            "pmid": "PubMed id (https://pubmed.ncbi.nlm.nih.gov/<pmid>/), when given",
            "reference_type": "BACKGROUND, RESULT (reports the trial's results) or DERIVED (matched by the registry)",
            "citation": "Citation as given",
        },
    ),
    "links": row_table(
        "Web links the sponsor added (referencesModule.seeAlsoLinks).",
        {"url": "URL", "description": "Label of the link"},
    ),
    "documents": row_table(
        "Documents posted with the record: protocol, statistical analysis plan, consent form "
        "(documentSection.largeDocumentModule.largeDocs; AACT: provided_documents).",
        {
            "type_abbrev": "Prot, SAP, ICF or a combination such as Prot_SAP",
            "label": "Document title",
            "has_protocol": FLAG + "it contains the protocol",
            "has_sap": FLAG + "it contains the statistical analysis plan",
            "has_icf": FLAG + "it contains the informed consent form",
            "document_date": "Date of the document (ISO)",
            "upload_date": "When it was uploaded (ISO date and time)",
            "filename": "File name on ClinicalTrials.gov",
            "size": "Size in bytes",
        },
    ),
    "facility_contacts": row_table(
        "Contacts and investigators of each site (contactsLocationsModule.locations[].contacts).",
        {
            "location_position": "The site: joins locations.position of the same nct_id",
            "facility": "The site's facility name",
            "contact_type": "CONTACT, PRINCIPAL_INVESTIGATOR, SUB_INVESTIGATOR, ...",
            "name": "Person or office",
            "email": "E-mail",
            "phone": "Phone",
            "phone_ext": "Phone extension",
        },
    ),
    "ipd_information_types": row_table(
        "Documents shared with individual participant data (ipdSharingStatementModule.infoTypes).",
        {"name": "STUDY_PROTOCOL, SAP, ICF, CSR or ANALYTIC_CODE"},
    ),
    "harvest_meta": (
        "Bookkeeping of the file, key and value. Key rebuild_from_payloads: the file was upgraded from an older "
        "schema (value: that schema version); the trials stored before have empty new tables until their stored "
        "payloads are parsed again, at the next run or harvest reparse.",
        {"key": "Name of the setting", "value": "Its value"},
    ),
}

RECORD_OPTIONS: dict[str, dict[str, Any]] = {
    "design_groups": {"facets": ["group_type"]},
    "design_group_interventions": {"facets": ["intervention_type"]},
    "design_outcomes": {"facets": ["outcome_type"]},
    "browse_conditions": {"facets": ["mesh_type", "term"]},
    "browse_interventions": {"facets": ["mesh_type", "term"]},
    "browse_leaves": {"facets": ["browse", "relevance"]},
    "browse_branches": {"facets": ["browse", "name"]},
    "study_references": {"facets": ["reference_type"]},
    "documents": {"facets": ["type_abbrev"]},
    "facility_contacts": {"facets": ["contact_type"]},
    "ipd_information_types": {"facets": ["name"]},
}
