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
    "expanded_access_nctid": "NCT number of the expanded-access record for this trial's intervention "
    "(statusModule.expandedAccessInfo.nctId)",
    "expanded_access_status_for_nctid": "Status of that expanded access: AVAILABLE, NO_LONGER_AVAILABLE, "
    "TEMPORARILY_NOT_AVAILABLE, APPROVED_FOR_MARKETING (expandedAccessInfo.statusForNctId)",
    "expanded_access_type_individual": FLAG + "expanded access is for individual patients "
    "(designModule.expandedAccessTypes.individual)",
    "expanded_access_type_intermediate": FLAG + "expanded access is for intermediate-size populations "
    "(expandedAccessTypes.intermediate)",
    "expanded_access_type_treatment": FLAG + "expanded access is under a treatment IND or protocol "
    "(expandedAccessTypes.treatment)",
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
    "responsible_party_old_name_title": "The responsible party as records from before 2017 name it, name and title "
    "in one (responsibleParty.oldNameTitle)",
    "responsible_party_old_organization": "Its organisation, in such records (responsibleParty.oldOrganization)",
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
    "baseline_type_units_analyzed": "What the baseline counts when not participants, e.g. eyes "
    "(baselineCharacteristicsModule.typeUnitsAnalyzed)",
    "participant_flow_units_analyzed": "What the participant flow counts when not participants "
    "(participantFlowModule.typeUnitsAnalyzed; AACT: participant_flows.units_analyzed)",
    # calculated as AACT's app/models/calculated_value.rb and study.rb calculate them (calculated_values view)
    "number_of_arms": "Calculated: arms of an interventional trial (rows of design_groups); NULL for other "
    "trials and when none, as AACT's studies.number_of_arms",
    "number_of_groups": "Calculated: groups of a trial that is not interventional (rows of design_groups); NULL "
    "for interventional trials and when none",
    "number_of_facilities": "Calculated: number of the trial's locations rows, 0 when none",
    "has_us_facility": "Calculated: 1 if a location is in the United States or a U.S. territory, 0 if none is; "
    "NULL without locations",
    "has_single_facility": "Calculated: 1 with exactly one location, 0 with more; NULL without locations",
    "months_to_report_results": "Calculated: days from primary_completion_date to results_first_submitted over 30, "
    "truncated; a date known to the month counts as its last day, as in AACT; NULL unless both are known",
    "actual_duration": "Calculated: days from start_date to primary_completion_date over 30, truncated, when "
    "neither is ESTIMATED; NULL otherwise",
    "registered_in_calendar_year": "Calculated: the year of first_submitted",
    "were_results_reported": "Calculated: 1 if outcome measures are reported (rows of outcomes), else 0",
    "minimum_age_num": "Calculated: the number of minimum_age (18 of '18 Years')",
    "minimum_age_unit": "Calculated: its unit, lower-case and singular (year, month, week, day, hour, minute)",
    "maximum_age_num": "Calculated: the number of maximum_age",
    "maximum_age_unit": "Calculated: its unit, lower-case and singular",
    "number_of_primary_outcomes_to_measure": "Calculated: primary outcomes the protocol declares; NULL when none",
    "number_of_secondary_outcomes_to_measure": "Calculated: secondary outcomes declared; NULL when none",
    "number_of_other_outcomes_to_measure": "Calculated: other outcomes declared; NULL when none",
    "number_of_sae_subjects": "Calculated: participants affected summed over the serious event terms (one "
    "participant with two events counts twice, as in AACT); NULL without serious event rows",
    "number_of_nsae_subjects": "Calculated: the same over the other (not serious) event terms",
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
    "mesh_type": "mesh-list (a term the registry matched to the record) or mesh-ancestor (a broader term above "
    "one), AACT's words",
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
            "design_group_position": "The arm with that label: design_groups.position (the last where two share "
            "it); NULL when no arm has it",
            "intervention_position": "The intervention: interventions.position of the same nct_id",
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
            "outcome_type": "primary, secondary or other (AACT's words)",
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
    "retractions": row_table(
        "Retraction notices PubMed lists for cited publications (referencesModule.references[].retractions).",
        {
            "reference_position": "The retracted publication: study_references.position of the same nct_id",
            "pmid": "PubMed id of the retraction notice",
            "source": "Where the notice appeared, e.g. a journal citation",
        },
    ),
    "links": row_table(
        "Web links the sponsor added (referencesModule.seeAlsoLinks).",
        {"url": "URL", "description": "Label of the link"},
    ),
    "documents": row_table(
        "Documents shared with the participant data, and where to ask for them (referencesModule.availIpds); "
        "AACT's documents. Posted protocols and plans are in provided_documents.",
        {
            "document_id": "The document's id where it is offered",
            "document_type": "What it is, e.g. Study Protocol, Clinical Study Report, Individual Participant Data Set",
            "url": "Where to request it",
            "comment": "Comment",
        },
    ),
    "removed_countries": row_table(
        "Countries the trial no longer lists a site in (derivedSection.miscInfoModule.removedCountries); "
        "countries lists them with removed = 1.",
        {"name": "Country"},
    ),
    "id_information": row_table(
        "Every identifier as the registry gives it, unvalidated: retired NCT numbers, the organisation's study ID, "
        "secondary IDs (AACT's id_information; identifiers keeps the ones that validate, by scheme).",
        {
            "id_source": "nct_alias, org_study_id or secondary_id",
            "id_value": "The identifier as given",
            "id_type": "The registry's type word: NIH, FDA, VA, CDC, AHRQ, SAMHSA, OTHER_GRANT, EUDRACT_NUMBER, CTIS, "
            "REGISTRY, OTHER, ... (orgStudyIdInfo.type, secondaryIdInfos[].type)",
            "id_type_description": "The issuing organisation or registry (secondaryIdInfos[].domain)",
            "id_link": "A link to the identifier's record, when given (secondaryIdInfos[].link)",
        },
    ),
    "provided_documents": row_table(
        "Documents posted with the record: protocol, statistical analysis plan, consent form "
        "(documentSection.largeDocumentModule.largeDocs); AACT's provided_documents. Before schema 6 this "
        "table was named documents.",
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
    "location_contacts": row_table(
        "Contacts and investigators of each site, whatever their role (contactsLocationsModule.locations[].contacts);"
        " AACT's facility_contacts and facility_investigators read it. Before schema 6 this table was named "
        "facility_contacts.",
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
    "submissions": row_table(
        "Submissions of results to ClinicalTrials.gov's quality control (QC), before they are posted "
        "(derivedSection.miscInfoModule.submissionTracking.submissionInfos): the compliance views count one as "
        "reporting unless the sponsor cancelled it.",
        {
            "release_date": "Date the results were submitted (releaseDate)",
            "reset_date": "Date the registry returned them to the sponsor after review (resetDate)",
            "unrelease_date": "Date the sponsor cancelled the submission (unreleaseDate)",
            "unrelease_date_unknown": FLAG + "the submission was cancelled on a date the registry does not know "
            "(unreleaseDateUnknown)",
            "mcp_release_n": "The registry's number of the submission (mcpReleaseN)",
        },
    ),
    "pending_results": row_table(
        "Events of results submitted but not yet posted (annotationSection.annotationModule.unpostedAnnotation."
        "unpostedEvents; AACT: pending_results).",
        {
            "event": "RELEASE (submitted), RESET (returned to the sponsor) or UNRELEASE (cancelled)",
            "event_date_description": "The event's date as written",
            "event_date": "The event's date (ISO)",
        },
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
    "provided_documents": {"facets": ["type_abbrev"]},
    "documents": {"facets": ["document_type"]},
    "location_contacts": {"facets": ["contact_type"]},
    "id_information": {"facets": ["id_source", "id_type"]},
    "ipd_information_types": {"facets": ["name"]},
    "pending_results": {"facets": ["event"]},
}
