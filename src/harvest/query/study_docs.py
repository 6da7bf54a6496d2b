"""What each column of ``studies`` holds, for the Datasette metadata (``query.datasette``)."""

from __future__ import annotations

from harvest.query import completeness_docs, record_docs

_DATE = record_docs.DATE

STUDY_COLUMNS: dict[str, str] = {
    "nct_id": "ClinicalTrials.gov identifier: NCT followed by 8 digits",
    "title": "Display title: the brief title, else the official title (mirrors may show only one)",
    "brief_title": "Short title in plain language",
    "official_title": "Full scientific title",
    "acronym": "Acronym or short name of the trial",
    "overall_status": "Recruitment status (CT.gov words: RECRUITING, COMPLETED, TERMINATED, ...)",
    "last_known_status": "Status before it became UNKNOWN (not verified for 2+ years)",
    "why_stopped": "Reason given for suspending, terminating or withdrawing",
    "status_verified_date": f"When the sponsor last verified the status; {_DATE}",
    "study_type": "INTERVENTIONAL, OBSERVATIONAL or EXPANDED_ACCESS",
    "phases": 'JSON array of phases, e.g. ["PHASE1", "PHASE2"]; NA for trials without phases',
    "start_date": f"Study start; {_DATE}",
    "start_date_type": "ACTUAL or ESTIMATED",
    "primary_completion_date": f"Last participant's data for the primary outcome; {_DATE}",
    "primary_completion_date_type": "ACTUAL or ESTIMATED",
    "completion_date": f"Study completion; {_DATE}",
    "completion_date_type": "ACTUAL or ESTIMATED",
    "first_posted": f"First posted on ClinicalTrials.gov; {_DATE}",
    "first_posted_type": "ACTUAL or ESTIMATED",
    "last_update_posted": f"Last update posted on ClinicalTrials.gov; {_DATE}",
    "last_update_posted_type": "ACTUAL or ESTIMATED",
    "enrollment": "Number of participants (actual or anticipated, see enrollment_type)",
    "enrollment_type": "ACTUAL or ESTIMATED",
    "allocation": "RANDOMIZED, NON_RANDOMIZED or NA",
    "intervention_model": "PARALLEL, CROSSOVER, SINGLE_GROUP, ...",
    "primary_purpose": "TREATMENT, PREVENTION, DIAGNOSTIC, ...",
    "masking": "NONE, SINGLE, DOUBLE, TRIPLE or QUADRUPLE",
    "sex": "Sexes eligible: ALL, FEMALE or MALE",
    "minimum_age": "Minimum age as the source wrote it (e.g. 18 Years)",
    "maximum_age": "Maximum age as the source wrote it",
    "healthy_volunteers": "1 if healthy volunteers are accepted",
    "eligibility_criteria": "Inclusion and exclusion criteria (text as given, markdown escapes included)",
    "brief_summary": "Short description of the trial",
    "detailed_description": "Long description of the trial",
    "lead_sponsor": "Organisation responsible for the trial",
    "lead_sponsor_class": "INDUSTRY, NIH, FED, OTHER_GOV, NETWORK, OTHER, ...",
    "has_results": "1 if results are posted on ClinicalTrials.gov",
    "nct_aliases": "JSON array of retired NCT numbers that now point to this trial",
    "unmapped": "JSON: values a parser could not map onto the schema (reported, never guessed)",
    "sources": "JSON array of the sources that carry this trial",
    "provenance": "JSON: which source record supplied which fields (see the field_provenance view)",
    "content_hash": "Hash of the merged record; changes when the trial changes",
    "merge_hash": "Hash of the merged record plus its attribution (sources, provenance, conflicts)",
    "first_seen_at": "When harvest first stored this trial (UTC)",
    "updated_at": "When harvest last rewrote this row (UTC)",
    # the rest of the CT.gov record: submission dates, oversight, design details, results module texts
    **record_docs.RECORD_STUDY_COLUMNS,
    **completeness_docs.STUDY_COLUMNS,
}
