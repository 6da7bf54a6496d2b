"""AACT's schema on the file: the columns AACT names differently, its integer ids, and its tables as views.

AACT (github.com/ctti-clinicaltrials/aact, db/structure.sql, schema ctgov) is the PostgreSQL copy of
ClinicalTrials.gov most SQL in this field is written against. Where a harvest table holds what an AACT table
holds, the table gains AACT's columns as SQLite generated columns (a rename, a lower-cased copy, an id); where
AACT shapes the same rows otherwise, an AACT-named view reads harvest's tables. New data has its own row tables
(``core.protocol``, ``core.results``), named as AACT names them.

Ids: AACT joins on integer ids (``outcome_measurements.outcome_id = outcomes.id``). Here a row's id is its
trial's NCT number times 10^7 plus its ``position``, computed from the row itself, so ids need no bookkeeping,
stay the same from one harvest to the next, and a row's ``*_position`` link gives the linked row's id. A table
with one row per trial (``designs``, ``eligibilities``, ...) uses the NCT number alone.
"""

from __future__ import annotations

NCT_NUMBER = "CAST(substr(nct_id, 4) AS INTEGER)"


def row_id(position: str = "position", nct: str = "nct_id") -> str:
    """The SQL of the id of the row at ``position`` of the trial ``nct`` (NULL when the position is NULL)."""
    return f"(CAST(substr({nct}, 4) AS INTEGER) * 10000000 + {position})"


def _generated(kind: str, expression: str) -> str:
    return f"{kind} GENERATED ALWAYS AS ({expression}) VIRTUAL"


_ID = _generated("INTEGER", row_id())


def _link(position: str) -> str:
    return _generated("INTEGER", row_id(position))


def _alias(column: str, kind: str = "TEXT") -> str:
    return _generated(kind, column)


_NULL = _generated("TEXT", "NULL")
# where ClinicalTrials.gov serves a posted document, as app/models/provided_document.rb builds it
_DOCUMENT_URL = "'https://ClinicalTrials.gov/ProvidedDocs/' || substr(nct_id, -2) || '/' || nct_id || '/' || filename"
# ["PHASE1", "PHASE2"] (json.dumps of the phases) -> PHASE1/PHASE2, as AACT's study.rb joins them
_PHASE = "replace(replace(replace(phases, '\", \"', '/'), '[\"', ''), '\"]', '')"

# table -> AACT column -> its definition, added to harvest's table (generated columns take no space on disk).
GENERATED: dict[str, dict[str, str]] = {
    "studies": {
        "nlm_download_date_description": _NULL,
        "study_first_submitted_date": _alias("first_submitted"),
        "study_first_submitted_qc_date": _alias("first_submitted_qc"),
        "study_first_posted_date": _alias("first_posted"),
        "study_first_posted_date_type": _alias("first_posted_type"),
        "results_first_submitted_date": _alias("results_first_submitted"),
        "results_first_submitted_qc_date": _alias("results_first_submitted_qc"),
        "results_first_posted_date": _alias("results_first_posted"),
        "results_first_posted_date_type": _alias("results_first_posted_type"),
        "disposition_first_submitted_date": _alias("disp_first_submitted"),
        "disposition_first_submitted_qc_date": _alias("disp_first_submitted_qc"),
        "disposition_first_posted_date": _alias("disp_first_posted"),
        "disposition_first_posted_date_type": _alias("disp_first_posted_type"),
        "last_update_submitted_date": _alias("last_update_submitted"),
        "last_update_submitted_qc_date": _alias("last_update_submitted"),  # AACT reads the same date for both
        "last_update_posted_date": _alias("last_update_posted"),
        "last_update_posted_date_type": _alias("last_update_posted_type"),
        "start_month_year": _alias("start_date"),
        "verification_month_year": _alias("status_verified_date"),
        "verification_date": _alias("status_verified_date"),
        "completion_month_year": _alias("completion_date"),
        "primary_completion_month_year": _alias("primary_completion_date"),
        "phase": _generated("TEXT", _PHASE),
        "source": _alias("organization"),
        "source_class": _alias("organization_class"),
        "plan_to_share_ipd": _alias("ipd_sharing"),
        "plan_to_share_ipd_description": _alias("ipd_description"),
        "created_at": _alias("first_seen_at"),
    },
    "conditions": {"id": _ID, "downcase_name": _alias("lower(name)")},
    "keywords": {"id": _ID, "name": _alias("keyword"), "downcase_name": _alias("lower(keyword)")},
    "interventions": {"id": _ID, "intervention_type": _alias("type")},
    "locations": {"id": _ID},
    "sponsors": {"id": _ID, "agency_class": _alias("class"), "lead_or_collaborator": _alias("lower(role)")},
    "contacts": {"id": _ID},
    "design_groups": {"id": _ID, "title": _alias("label")},
    "design_group_interventions": {
        "id": _ID,
        "design_group_id": _link("design_group_position"),
        "intervention_id": _link("intervention_position"),
    },
    "intervention_other_names": {"id": _ID, "intervention_id": _link("intervention_position")},
    "design_outcomes": {"id": _ID, "population": _NULL},  # AACT's loader fills no population here either
    "browse_conditions": {"id": _ID, "mesh_term": _alias("term"), "downcase_mesh_term": _alias("lower(term)")},
    "browse_interventions": {"id": _ID, "mesh_term": _alias("term"), "downcase_mesh_term": _alias("lower(term)")},
    "study_references": {"id": _ID},
    "retractions": {"id": _ID, "reference_id": _link("reference_position")},
    "links": {"id": _ID},
    "provided_documents": {
        "id": _ID,
        "document_type": _alias("label"),
        "url": _alias(_DOCUMENT_URL),
    },
    "documents": {"id": _ID},
    "location_contacts": {"id": _ID},
    "ipd_information_types": {"id": _ID},
    # after the sites' ids in ``countries``, which lists both
    "removed_countries": {"id": _generated("INTEGER", row_id("5000000 + position"))},
    "id_information": {"id": _ID},
    "result_groups": {"id": _ID, "outcome_id": _link("outcome_position")},
    "milestones": {"id": _ID, "result_group_id": _link("result_group_position")},
    "drop_withdrawals": {
        "id": _ID,
        "result_group_id": _link("result_group_position"),
        "reason_comment": _alias("description"),
    },
    "baseline_counts": {"id": _ID, "result_group_id": _link("result_group_position"), "scope": _alias("'overall'")},
    "baseline_measurements": {"id": _ID, "result_group_id": _link("result_group_position")},
    "outcomes": {"id": _ID, "anticipated_posting_month_year": _alias("anticipated_posting_date")},
    "outcome_counts": {
        "id": _ID,
        "outcome_id": _link("outcome_position"),
        "result_group_id": _link("result_group_position"),
        "scope": _alias("'Measure'"),
    },
    "outcome_measurement_values": {
        "id": _ID,
        "outcome_id": _link("outcome_position"),
        "result_group_id": _link("result_group_position"),
    },
    "outcome_analyses": {
        "id": _ID,
        "outcome_id": _link("outcome_position"),
        "param_value_num": _alias("param_value", "REAL"),
    },
    "reported_event_stats": {
        "id": _ID,
        "result_group_id": _link("result_group_position"),
        "adverse_event_term": _alias("term"),
        "vocab": _alias("vocabulary"),
    },
    "reported_event_totals": {
        "id": _ID,
        # as app/models/reported_event_total.rb words them
        "classification": _alias(
            "CASE event_type WHEN 'serious' THEN 'Total, serious adverse events' "
            "WHEN 'other' THEN 'Total, other adverse events' WHEN 'deaths' THEN 'Total, all-cause mortality' END"
        ),
    },
    "result_agreements": {"id": _ID, "agreement": _NULL},
    "result_contacts": {"id": _ID, "name": _alias("name_or_title")},
    "pending_results": {"id": _ID},
}

# Ids AACT's joins look rows up by (``... JOIN outcomes o ON o.id = m.outcome_id``): indexed, so such a join is
# a lookup per row, not a scan.
ID_INDEXES: dict[str, str] = {
    f"{table}_id": f"{table} (id)"
    for table in (
        "locations",
        "interventions",
        "design_groups",
        "study_references",
        "result_groups",
        "outcomes",
        "outcome_analyses",
    )
}
