"""AACT's tables that harvest holds in other shapes, as views with AACT's names, columns and words.

One row per trial (``designs``, ``eligibilities``, ``calculated_values``, ...) reads ``studies``; sites,
contacts and their people read ``locations``, ``contacts`` and ``location_contacts``; ``outcome_measurements``
and ``reported_events`` repeat, as AACT does, what their outcome or module says once (harvest stores them once:
``outcome_measurement_values``, ``reported_event_stats``, whose every column the views keep). Each view says
which of AACT's app/models/*.rb it follows where it computes something.
"""

from __future__ import annotations

from harvest.store.aact import NCT_NUMBER, row_id

# One id per trial for AACT's one-row-per-trial tables: the NCT number's digits.
_TRIAL_ID = f"{NCT_NUMBER} AS id"


def _masked(word: str) -> str:
    """AACT's design.rb: whether ``whoMasked`` lists ``word`` (NULL when the record gives no list)."""
    return f"CASE WHEN who_masked IS NULL THEN NULL ELSE instr(who_masked, '\"{word}\"') > 0 END"


def _ages(word: str) -> str:
    """AACT's eligibility.rb: whether ``stdAges`` lists ``word`` (NULL when the record gives no list)."""
    return f"CASE WHEN std_ages IS NULL THEN NULL ELSE instr(std_ages, '\"{word}\"') > 0 END"


# AACT's facility.rb files a site's people under facility_investigators when their role names an investigator
# or a study chair, and under facility_contacts otherwise.
_INVESTIGATOR = "coalesce({0} LIKE '%investigator%' OR {0} LIKE '%study_chair%', 0)"


def _first_of(table: str, alias: str, where: str) -> str:
    """'primary' for the first row of its kind, 'backup' for the others (AACT's central_contact.rb and
    facility.rb number them in the record's order)."""
    return (
        f"CASE WHEN EXISTS (SELECT 1 FROM {table} x WHERE x.nct_id = {alias}.nct_id AND x.position < {alias}.position"
        f" AND {where}) THEN 'backup' ELSE 'primary' END"
    )


_SITE_CONTACT_ORDER = _first_of(
    "location_contacts",
    "c",
    "x.location_position = c.location_position AND NOT " + _INVESTIGATOR.format("x.contact_type"),
)

AACT_VIEWS: dict[str, str] = {
    "facilities": """
        SELECT id, nct_id, status, facility AS name, city, state, zip, country, latitude, longitude FROM locations""",
    # AACT's country.rb: each country with a site once, then the countries sites were removed from.
    "countries": """
        SELECT min(id) AS id, nct_id, country AS name, 0 AS removed FROM locations GROUP BY nct_id, country
        UNION ALL
        SELECT min(id), nct_id, name, 1 FROM removed_countries GROUP BY nct_id, name""",
    "brief_summaries": f"""
        SELECT {_TRIAL_ID}, nct_id, brief_summary AS description FROM studies WHERE brief_summary IS NOT NULL""",
    # AACT keeps a row for every record with a description module, the detailed description NULL when none.
    "detailed_descriptions": f"""
        SELECT {_TRIAL_ID}, nct_id, detailed_description AS description FROM studies
        WHERE brief_summary IS NOT NULL OR detailed_description IS NOT NULL""",
    "designs": f"""
        SELECT {_TRIAL_ID}, nct_id, allocation, intervention_model, observational_model, primary_purpose,
               time_perspective, masking, masking_description, intervention_model_description,
               {_masked("PARTICIPANT")} AS subject_masked, {_masked("CARE_PROVIDER")} AS caregiver_masked,
               {_masked("INVESTIGATOR")} AS investigator_masked,
               {_masked("OUTCOMES_ASSESSOR")} AS outcomes_assessor_masked
        FROM studies
        WHERE coalesce(allocation, intervention_model, observational_model, primary_purpose, time_perspective,
                       masking, masking_description, intervention_model_description, who_masked) IS NOT NULL""",
    "eligibilities": f"""
        SELECT {_TRIAL_ID}, nct_id, sampling_method, sex AS gender, minimum_age, maximum_age, healthy_volunteers,
               population, eligibility_criteria AS criteria, gender_description, gender_based,
               {_ages("ADULT")} AS adult, {_ages("CHILD")} AS child, {_ages("OLDER_ADULT")} AS older_adult
        FROM studies
        WHERE coalesce(sex, minimum_age, maximum_age, healthy_volunteers, eligibility_criteria, sampling_method,
                       population, gender_based, gender_description, std_ages) IS NOT NULL""",
    "participant_flows": f"""
        SELECT {_TRIAL_ID}, nct_id, participant_flow_recruitment_details AS recruitment_details,
               participant_flow_pre_assignment_details AS pre_assignment_details,
               participant_flow_units_analyzed AS units_analyzed
        FROM studies s
        WHERE coalesce(participant_flow_recruitment_details, participant_flow_pre_assignment_details,
                       participant_flow_units_analyzed) IS NOT NULL
           OR EXISTS (SELECT 1 FROM result_groups g
                      WHERE g.nct_id = s.nct_id AND g.result_type = 'Participant Flow')""",
    "responsible_parties": f"""
        SELECT {_TRIAL_ID}, nct_id, responsible_party_type, responsible_party_name AS name,
               responsible_party_title AS title, responsible_party_old_organization AS organization,
               responsible_party_affiliation AS affiliation, responsible_party_old_name_title AS old_name_title
        FROM studies
        WHERE coalesce(responsible_party_type, responsible_party_name, responsible_party_title,
                       responsible_party_affiliation, responsible_party_old_name_title,
                       responsible_party_old_organization) IS NOT NULL""",
    # Computed as app/models/calculated_value.rb computes them, when the row is written (store.columns).
    "calculated_values": f"""
        SELECT {_TRIAL_ID}, nct_id, number_of_facilities, number_of_nsae_subjects, number_of_sae_subjects,
               registered_in_calendar_year, NULL AS nlm_download_date, actual_duration, were_results_reported,
               months_to_report_results, has_us_facility, has_single_facility, minimum_age_num, maximum_age_num,
               minimum_age_unit, maximum_age_unit, number_of_primary_outcomes_to_measure,
               number_of_secondary_outcomes_to_measure, number_of_other_outcomes_to_measure
        FROM studies""",
    # A contact the source gave no role has none here either (harvest's contacts table says CENTRAL_CONTACT).
    "central_contacts": f"""
        SELECT id, nct_id, {_first_of("contacts", "c", "x.kind = 'central'")} AS contact_type, name, phone, email,
               phone_ext AS phone_extension, nullif(role, 'CENTRAL_CONTACT') AS role
        FROM contacts c WHERE kind = 'central'""",
    "overall_officials": """
        SELECT id, nct_id, nullif(role, 'OVERALL_OFFICIAL') AS role, name, affiliation
        FROM contacts WHERE kind = 'official'""",
    "facility_contacts": f"""
        SELECT id, nct_id, {row_id("location_position")} AS facility_id,
               {_SITE_CONTACT_ORDER} AS contact_type,
               name, email, phone, phone_ext AS phone_extension
        FROM location_contacts c WHERE NOT {_INVESTIGATOR.format("contact_type")}""",
    "facility_investigators": f"""
        SELECT id, nct_id, {row_id("location_position")} AS facility_id, contact_type AS role, name
        FROM location_contacts WHERE {_INVESTIGATOR.format("contact_type")}""",
    # harvest keeps an analysis's groups as a JSON array; AACT lists them, each with its outcome group's id.
    "outcome_analysis_groups": f"""
        SELECT {row_id("a.position * 100 + g.key", "a.nct_id")} AS id, a.nct_id, a.id AS outcome_analysis_id,
               (SELECT r.id FROM result_groups r WHERE r.nct_id = a.nct_id AND r.result_type = 'Outcome'
                AND r.outcome_position = a.outcome_position AND r.ctgov_group_code = g.value) AS result_group_id,
               g.value AS ctgov_group_code
        FROM outcome_analyses a, json_each(a.group_codes) g""",
    "outcome_measurements": """
        SELECT m.id, m.nct_id, m.outcome_id, m.result_group_id, m.ctgov_group_code, m.classification, m.category,
               o.title, o.description, o.units, o.param_type, m.param_value, m.param_value_num, o.dispersion_type,
               m.dispersion_value, m.dispersion_value_num, m.dispersion_lower_limit, m.dispersion_upper_limit,
               m.explanation_of_na, m.dispersion_upper_limit_raw, m.dispersion_lower_limit_raw,
               m.position, m.outcome_position, m.result_group_position
        FROM outcome_measurement_values m
        LEFT JOIN outcomes o ON o.nct_id = m.nct_id AND o.position = m.outcome_position""",
    "reported_events": """
        SELECT e.id, e.nct_id, e.result_group_id, e.ctgov_group_code, s.reported_events_time_frame AS time_frame,
               e.event_type, NULL AS default_vocab, NULL AS default_assessment, e.subjects_affected,
               e.subjects_at_risk, s.reported_events_description AS description, e.event_count, e.organ_system,
               e.adverse_event_term, CAST(s.reported_events_frequency_threshold AS INTEGER) AS frequency_threshold,
               e.vocab, e.assessment, e.position, e.term, e.vocabulary, e.result_group_position
        FROM reported_event_stats e LEFT JOIN studies s ON s.nct_id = e.nct_id""",
}
