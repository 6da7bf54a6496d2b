"""Datasette descriptions of AACT's schema on the file: the columns harvest's tables gain under AACT's names
(``store.aact.GENERATED``, and the two contacts columns AACT's central_contacts and overall_officials need) and the
AACT-named views (``store.aact_views``).

``query.datasette`` adds ``GENERATED_COLUMNS`` to each table's columns and ``VIEW_TABLES`` to its tables.
"""

from __future__ import annotations

from typing import Any

from harvest.query.record_docs import NCT

_ID = "AACT's integer id of the row: the trial's NCT number x 10^7 + position; the same at every harvest"
_TRIAL_ID = "AACT's integer id of the row: the trial's NCT number (one row per trial)"
_RESULT_GROUP_ID = "The row's group: result_groups.id (AACT's result_group_id)"
_OUTCOME_ID = "The row's outcome: outcomes.id (AACT's outcome_id)"
_AS = "AACT's name for "
_PARTIAL = " (as written: a date known to the month or year stays so; AACT stores a day)"
_FLAG = "1 if "


def _aka(column: str, more: str = "") -> str:
    return f"{_AS}{column}{more}"


GENERATED_COLUMNS: dict[str, dict[str, str]] = {
    "studies": {
        "nlm_download_date_description": "Always NULL: AACT's loader no longer fills it either",
        "study_first_submitted_date": _aka("first_submitted"),
        "study_first_submitted_qc_date": _aka("first_submitted_qc"),
        "study_first_posted_date": _aka("first_posted", _PARTIAL),
        "study_first_posted_date_type": _aka("first_posted_type"),
        "results_first_submitted_date": _aka("results_first_submitted"),
        "results_first_submitted_qc_date": _aka("results_first_submitted_qc"),
        "results_first_posted_date": _aka("results_first_posted", _PARTIAL),
        "results_first_posted_date_type": _aka("results_first_posted_type"),
        "disposition_first_submitted_date": _aka("disp_first_submitted"),
        "disposition_first_submitted_qc_date": _aka("disp_first_submitted_qc"),
        "disposition_first_posted_date": _aka("disp_first_posted", _PARTIAL),
        "disposition_first_posted_date_type": _aka("disp_first_posted_type"),
        "last_update_submitted_date": _aka("last_update_submitted"),
        "last_update_submitted_qc_date": _aka("last_update_submitted", " (AACT reads the same date for both)"),
        "last_update_posted_date": _aka("last_update_posted", _PARTIAL),
        "last_update_posted_date_type": _aka("last_update_posted_type"),
        "start_month_year": _aka("start_date", ", as written"),
        "verification_month_year": _aka("status_verified_date", ", as written"),
        "verification_date": _aka("status_verified_date", _PARTIAL),
        "completion_month_year": _aka("completion_date", ", as written"),
        "primary_completion_month_year": _aka("primary_completion_date", ", as written"),
        "phase": "The phases joined by '/', as AACT writes them: PHASE1/PHASE2, NA, EARLY_PHASE1; NULL when none",
        "source": _aka("organization", ": the organisation that registered the trial"),
        "source_class": _aka("organization_class"),
        "plan_to_share_ipd": _aka("ipd_sharing", ": YES, NO or UNDECIDED"),
        "plan_to_share_ipd_description": _aka("ipd_description"),
        "created_at": _aka("first_seen_at", ": when harvest first stored this trial (UTC)"),
    },
    "conditions": {"id": _ID, "downcase_name": "name in lower case (SQLite's lower(): ASCII letters only)"},
    "keywords": {
        "id": _ID,
        "name": _aka("keyword"),
        "downcase_name": "keyword in lower case (SQLite's lower(): ASCII letters only)",
    },
    "interventions": {"id": _ID, "intervention_type": _aka("type")},
    "locations": {"id": _ID + " (facilities.id, facility_contacts.facility_id)"},
    "sponsors": {
        "id": _ID,
        "agency_class": _aka("class"),
        "lead_or_collaborator": "lead or collaborator (role in lower case, as AACT writes it)",
    },
    "contacts": {
        "phone_ext": "Phone extension",
        "kind": "central (whom to contact about enrolment: central_contacts) or official (overall_officials)",
        "id": _ID,
    },
    "design_groups": {"id": _ID, "title": _aka("label")},
    "design_group_interventions": {
        "id": _ID,
        "design_group_id": "The arm: design_groups.id",
        "intervention_id": "The intervention: interventions.id",
    },
    "intervention_other_names": {"id": _ID, "intervention_id": "The intervention: interventions.id"},
    "design_outcomes": {"id": _ID, "population": "Always NULL, as in AACT (the record has no such field)"},
    "browse_conditions": {
        "id": _ID,
        "mesh_term": _aka("term"),
        "downcase_mesh_term": "term in lower case (SQLite's lower(): ASCII letters only)",
    },
    "browse_interventions": {
        "id": _ID,
        "mesh_term": _aka("term"),
        "downcase_mesh_term": "term in lower case (SQLite's lower(): ASCII letters only)",
    },
    "study_references": {"id": _ID},
    "retractions": {"id": _ID, "reference_id": "The retracted publication: study_references.id"},
    "links": {"id": _ID},
    "provided_documents": {
        "id": _ID,
        "document_type": _aka("label"),
        "url": "Where ClinicalTrials.gov serves the file (built from filename, as AACT builds it)",
    },
    "documents": {"id": _ID},
    "location_contacts": {"id": _ID + " (facility_contacts.id, facility_investigators.id)"},
    "ipd_information_types": {"id": _ID},
    "removed_countries": {"id": "Its id in countries: NCT number x 10^7 + 5,000,000 + position"},
    "id_information": {"id": _ID},
    "result_groups": {"id": _ID, "outcome_id": "For Outcome groups, their outcome: outcomes.id"},
    "milestones": {"id": _ID, "result_group_id": _RESULT_GROUP_ID},
    "drop_withdrawals": {"id": _ID, "result_group_id": _RESULT_GROUP_ID, "reason_comment": _aka("description")},
    "baseline_counts": {"id": _ID, "result_group_id": _RESULT_GROUP_ID, "scope": "Always overall, as in AACT"},
    "baseline_measurements": {"id": _ID, "result_group_id": _RESULT_GROUP_ID},
    "outcomes": {"id": _ID, "anticipated_posting_month_year": _aka("anticipated_posting_date", ", as written")},
    "outcome_counts": {
        "id": _ID,
        "outcome_id": _OUTCOME_ID,
        "result_group_id": _RESULT_GROUP_ID,
        "scope": "Always Measure, as in AACT",
    },
    "outcome_measurement_values": {"id": _ID, "outcome_id": _OUTCOME_ID, "result_group_id": _RESULT_GROUP_ID},
    "outcome_analyses": {
        "id": _ID,
        "outcome_id": _OUTCOME_ID,
        "param_value_num": "The same number as param_value (its name before schema 6)",
    },
    "reported_event_stats": {
        "id": _ID,
        "result_group_id": _RESULT_GROUP_ID,
        "adverse_event_term": _aka("term"),
        "vocab": _aka("vocabulary"),
    },
    "reported_event_totals": {
        "id": _ID,
        "classification": "Total, serious adverse events; Total, other adverse events; Total, all-cause mortality",
    },
    "result_agreements": {"id": _ID, "agreement": "Always NULL, as in AACT (the record has no such field)"},
    "result_contacts": {"id": _ID, "name": _aka("name_or_title")},
    "pending_results": {"id": _ID},
}


def _columns(source: str, **columns: str) -> dict[str, str]:
    return {"id": _TRIAL_ID if source == "studies" else _ID, "nct_id": NCT, **columns}


VIEW_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "facilities": (
        "AACT's facilities: the trial's sites (locations), as AACT names their columns.",
        _columns(
            "locations",
            status="Recruitment status at the site",
            name="Facility name (locations.facility)",
            city="City",
            state="State or region",
            zip="Postal code",
            country="Country",
            latitude="Latitude in decimal degrees",
            longitude="Longitude in decimal degrees",
        ),
    ),
    "countries": (
        "AACT's countries: each country the trial has a site in (removed 0), then those it no longer lists a "
        "site in (removed 1, from removed_countries).",
        _columns("locations", name="Country", removed="1 if the trial's sites there were removed, else 0"),
    ),
    "brief_summaries": (
        "AACT's brief_summaries: the brief summary of each trial that has one.",
        _columns("studies", description="The brief summary (studies.brief_summary)"),
    ),
    "detailed_descriptions": (
        "AACT's detailed_descriptions: one row per trial with a description, the detailed one NULL when none.",
        _columns("studies", description="The detailed description (studies.detailed_description)"),
    ),
    "designs": (
        "AACT's designs: the design of each trial that states one, with who is masked as flags.",
        _columns(
            "studies",
            allocation="RANDOMIZED, NON_RANDOMIZED or NA",
            intervention_model="PARALLEL, CROSSOVER, SINGLE_GROUP, ...",
            observational_model="COHORT, CASE_CONTROL, ...",
            primary_purpose="TREATMENT, PREVENTION, ...",
            time_perspective="PROSPECTIVE, RETROSPECTIVE, ...",
            masking="NONE, SINGLE, DOUBLE, TRIPLE or QUADRUPLE",
            masking_description="Details of the masking",
            intervention_model_description="Details of the intervention model",
            subject_masked=_FLAG + "participants are masked (NULL when the record lists no one)",
            caregiver_masked=_FLAG + "care providers are masked",
            investigator_masked=_FLAG + "investigators are masked",
            outcomes_assessor_masked=_FLAG + "outcomes assessors are masked",
        ),
    ),
    "eligibilities": (
        "AACT's eligibilities: who may take part in each trial.",
        _columns(
            "studies",
            sampling_method="PROBABILITY_SAMPLE or NON_PROBABILITY_SAMPLE",
            gender="ALL, FEMALE or MALE (studies.sex)",
            minimum_age="Minimum age as written, e.g. 18 Years",
            maximum_age="Maximum age as written",
            healthy_volunteers=_FLAG + "healthy volunteers are accepted",
            population="Study population of an observational study",
            criteria="Inclusion and exclusion criteria (studies.eligibility_criteria)",
            gender_description="Details of gender-based eligibility",
            gender_based=_FLAG + "eligibility is based on gender identity",
            adult=_FLAG + "adults (18-64) may take part (NULL when the record gives no age groups)",
            child=_FLAG + "children (under 18) may take part",
            older_adult=_FLAG + "older adults (65+) may take part",
        ),
    ),
    "participant_flows": (
        "AACT's participant_flows: the participant flow's texts, one row per trial with a participant flow.",
        _columns(
            "studies",
            recruitment_details="Recruitment details",
            pre_assignment_details="What happened between enrolment and assignment",
            units_analyzed="What is counted when not participants",
        ),
    ),
    "responsible_parties": (
        "AACT's responsible_parties: who is responsible for the record.",
        _columns(
            "studies",
            responsible_party_type="SPONSOR, PRINCIPAL_INVESTIGATOR or SPONSOR_INVESTIGATOR",
            name="The investigator who is the responsible party",
            title="That investigator's title",
            organization="The organisation, in records from before 2017 (oldOrganization)",
            affiliation="That investigator's affiliation",
            old_name_title="Name and title in one, in records from before 2017 (oldNameTitle)",
        ),
    ),
    "calculated_values": (
        "AACT's calculated_values: values computed from the record as app/models/calculated_value.rb computes "
        "them (stored with the studies row; see the studies columns of the same names).",
        _columns(
            "studies",
            number_of_facilities="Sites (rows of locations), 0 when none",
            number_of_nsae_subjects="Participants affected, summed over the other (not serious) event terms",
            number_of_sae_subjects="Participants affected, summed over the serious event terms",
            registered_in_calendar_year="Year of first submission",
            nlm_download_date="Always NULL, as in AACT",
            actual_duration="Days from start to primary completion over 30, when neither is estimated",
            were_results_reported="1 if outcome measures are reported, else 0",
            months_to_report_results="Days from primary completion to results first submitted, over 30",
            has_us_facility=_FLAG + "a site is in the United States or a U.S. territory",
            has_single_facility=_FLAG + "the trial has exactly one site",
            minimum_age_num="Number of the minimum age",
            maximum_age_num="Number of the maximum age",
            minimum_age_unit="Unit of the minimum age: year, month, week, day, hour or minute",
            maximum_age_unit="Unit of the maximum age",
            number_of_primary_outcomes_to_measure="Primary outcomes declared",
            number_of_secondary_outcomes_to_measure="Secondary outcomes declared",
            number_of_other_outcomes_to_measure="Other outcomes declared",
        ),
    ),
    "central_contacts": (
        "AACT's central_contacts: whom to contact about enrolment (contacts of kind central).",
        _columns(
            "contacts",
            contact_type="primary for the first, backup for the others",
            name="Person or office",
            phone="Phone",
            email="E-mail",
            phone_extension="Phone extension",
            role="The role the record gives, e.g. CONTACT; NULL when none",
        ),
    ),
    "overall_officials": (
        "AACT's overall_officials: who oversees the trial (contacts of kind official).",
        _columns(
            "contacts",
            role="PRINCIPAL_INVESTIGATOR, STUDY_CHAIR or STUDY_DIRECTOR",
            name="Name",
            affiliation="Affiliation",
        ),
    ),
    "facility_contacts": (
        "AACT's facility_contacts: the people to contact at each site who are not investigators (location_contacts).",
        _columns(
            "location_contacts",
            facility_id="The site: facilities.id",
            contact_type="primary for the site's first such contact, backup for the others",
            name="Person or office",
            email="E-mail",
            phone="Phone",
            phone_extension="Phone extension",
        ),
    ),
    "facility_investigators": (
        "AACT's facility_investigators: the investigators and study chairs of each site (location_contacts).",
        _columns(
            "location_contacts",
            facility_id="The site: facilities.id",
            role="PRINCIPAL_INVESTIGATOR, SUB_INVESTIGATOR, ...",
            name="Name",
        ),
    ),
    "outcome_analysis_groups": (
        "AACT's outcome_analysis_groups: the groups each analysis compares (outcome_analyses.group_codes).",
        {
            "id": "NCT number x 10^7 + the analysis's position x 100 + the group's place in it",
            "nct_id": NCT,
            "outcome_analysis_id": "The analysis: outcome_analyses.id",
            "result_group_id": "The group: result_groups.id",
            "ctgov_group_code": "The group's code, e.g. OG000",
        },
    ),
}


def views_of_stored(
    stored: dict[str, tuple[str, dict[str, str]]],
) -> dict[str, tuple[str, dict[str, str]]]:
    """AACT's outcome_measurements and reported_events: harvest's stored tables' columns, and what AACT repeats
    on each row (the outcome's, the module's)."""
    values = stored["outcome_measurement_values"][1]
    events = stored["reported_event_stats"][1]
    return {
        "outcome_measurements": (
            "AACT's outcome_measurements: outcome_measurement_values with its outcome's title, description, units, "
            "parameter and dispersion types on each row, as AACT repeats them.",
            {
                **values,
                **GENERATED_COLUMNS["outcome_measurement_values"],
                "title": "The outcome's title (outcomes.title)",
                "description": "The outcome's description",
                "units": "The outcome's unit of measure",
                "param_type": "The outcome's parameter type",
                "dispersion_type": "The outcome's dispersion type",
            },
        ),
        "reported_events": (
            "AACT's reported_events: reported_event_stats with the adverse-event module's time frame, description "
            "and frequency threshold on each row, as AACT repeats them.",
            {
                **events,
                **GENERATED_COLUMNS["reported_event_stats"],
                "time_frame": "Period over which adverse events were collected (studies.reported_events_time_frame)",
                "description": "How adverse events were collected (studies.reported_events_description)",
                "frequency_threshold": "Percent above which other events are listed, as a whole number",
                "default_vocab": "Always NULL, as in AACT",
                "default_assessment": "Always NULL, as in AACT",
            },
        ),
    }


def with_aact(tables: dict[str, tuple[str, dict[str, str]]]) -> dict[str, tuple[str, dict[str, str]]]:
    """harvest's tables described with the columns they gain under AACT's names, and AACT's views."""
    out = {**tables, **VIEW_TABLES, **views_of_stored(tables)}
    for table, columns in GENERATED_COLUMNS.items():
        out[table] = (out[table][0], {**out[table][1], **columns})
    return out


VIEW_OPTIONS: dict[str, dict[str, Any]] = {
    "facilities": {"facets": ["country", "status"]},
    "countries": {"facets": ["removed"]},
    "designs": {"facets": ["allocation", "masking", "primary_purpose"]},
    "eligibilities": {"facets": ["gender", "healthy_volunteers"]},
    "overall_officials": {"facets": ["role"]},
    "facility_investigators": {"facets": ["role"]},
}
