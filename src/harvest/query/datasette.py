"""Datasette metadata for a harvest file: titles, descriptions, source links, search and facets.

``datasette harvest.db`` is already useful with no metadata (the search index is detected, facets work);
``harvest datasette-metadata > metadata.json`` adds a description to every table, view and column, default
facets and sort orders. A test checks that every table, view and column of a fresh file is described here,
so a schema change without documentation fails the suite.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harvest import __version__
from harvest.core.config import DEFAULT_CONTACT
from harvest.query import aact_docs, completeness_docs, compliance_docs, record_docs, results_docs, watch_docs
from harvest.query.history_docs import HISTORY_OPTIONS, HISTORY_TABLES
from harvest.query.search import canned_search
from harvest.query.study_docs import STUDY_COLUMNS
from harvest.query.synonyms import Synonyms
from harvest.store.fts import FTS_TABLE

CTGOV_URL = "https://clinicaltrials.gov/"
CTGOV_TERMS_URL = "https://clinicaltrials.gov/about-site/terms-conditions"

_DATE = record_docs.DATE
_SOURCE = "Source name (see harvest sources)"  # completed with the registered sources by metadata()
_NCT = record_docs.NCT
_POSITION = record_docs.POSITION
_RAW = "The payload exactly as received, zlib-compressed (for harvest reparse)"

# table or view -> (description, {column: description})
TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "studies": ("One row per trial (NCT number), merged from every source that carries it.", STUDY_COLUMNS),
    "conditions": (
        "Conditions studied, one row per condition of a trial.",
        {"nct_id": _NCT, "position": _POSITION, "name": "Condition or disease as registered"},
    ),
    "keywords": (
        "Keywords, one row per keyword of a trial.",
        {"nct_id": _NCT, "position": _POSITION, "keyword": "Keyword as registered"},
    ),
    "interventions": (
        "Interventions (drugs, devices, procedures, ...), one row per intervention of a trial.",
        {
            "nct_id": _NCT,
            "position": _POSITION,
            "type": "DRUG, DEVICE, BIOLOGICAL, PROCEDURE, BEHAVIORAL, ...",
            "name": "Intervention name",
            "description": "Intervention description",
        },
    ),
    "locations": (
        "Sites, one row per location of a trial.",
        {
            "nct_id": _NCT,
            "position": _POSITION,
            "facility": "Facility name",
            "city": "City",
            "state": "State or region",
            "zip": "Postal code",
            "country": "Country",
            "status": "Recruitment status at this site",
            **record_docs.LOCATION_COORDINATES,
        },
    ),
    "sponsors": (
        "Lead sponsor and collaborators, one row per organisation.",
        {
            "nct_id": _NCT,
            "position": "0 for the lead sponsor, then collaborators in order",
            "role": "LEAD or COLLABORATOR",
            "name": "Organisation",
            "class": "INDUSTRY, NIH, FED, OTHER, ...; NULL where a mirror shows only the name",
        },
    ),
    "contacts": (
        "Central contacts and study officials.",
        {
            "nct_id": _NCT,
            "position": _POSITION,
            "role": "CENTRAL_CONTACT, PRINCIPAL_INVESTIGATOR, STUDY_CHAIR, STUDY_DIRECTOR, ...",
            "name": "Person or office",
            "affiliation": "Affiliation",
            "phone": "Phone",
            "email": "E-mail",
        },
    ),
    "identifiers": (
        "Secondary identifiers (sponsor codes, EudraCT, CTIS, ISRCTN, ...), validated per scheme.",
        {
            "nct_id": _NCT,
            "position": _POSITION,
            "scheme": "ORG_STUDY_ID, EUDRACT, CTIS, ISRCTN, WHO_UTN, NIH, REGISTRY, OTHER, ...",
            "value": "The identifier",
            "domain": "Issuing organisation or registry, when given",
        },
    ),
    "nct_aliases": (
        "Retired NCT numbers and the trial they now belong to.",
        {"alias": "Retired NCT number", "nct_id": "Current NCT number"},
    ),
    "source_records": (
        "What one site said about one trial at one time (the inputs of the merge).",
        {
            "source": _SOURCE,
            "record_key": "Stable name of the record within its source (URL relative to the base URL)",
            "url": "Where it was fetched",
            "nct_id": _NCT,
            "fetched_at": "When it was fetched (UTC)",
            "content_hash": "Hash of the canonical record; unchanged records are not rewritten",
            "record": "The canonical record as JSON",
            "raw": _RAW,
            "content_type": "HTTP content type of the payload",
            "first_fetched_at": "When this record was first fetched (UTC)",
            "changed_at": "When its content last changed (UTC)",
            "run_id": "Run that last changed it (runs.id)",
            "raw_fingerprint": "Digest of the payload's meaningful part; a payload with the same one is not re-parsed",
        },
    ),
    "conflicts": (
        "Fields on which sources disagree, with every source's value.",
        {"nct_id": _NCT, "field": "Field of the study", "source": _SOURCE, "value": "That source's value (JSON)"},
    ),
    "changes": (
        "Field-level history: what a run changed in a trial.",
        {
            "id": "Change number",
            "nct_id": _NCT,
            "run_id": "Run that made the change (runs.id)",
            "field": "Field of the study",
            "old": "Value before (JSON)",
            "new": "Value after (JSON)",
            "changed_at": "When (UTC)",
        },
    ),
    "runs": (
        "One row per harvest run or fetch, with its outcome and counts.",
        {
            "id": "Run number",
            "source": "Source harvested (comma-separated for a fetch from several)",
            "command": "run, fetch, reparse, history, reconcile, ...",
            "mode": "full, incremental, resume, one-off or offline",
            "since": "For incremental runs: the date asked for",
            "started_at": "Start (UTC)",
            "finished_at": "End (UTC)",
            "duration_s": "Duration in seconds",
            "outcome": "ok, partial, failed, killed, interrupted or running",
            "fetched": "Records fetched",
            "new": "New records",
            "changed": "Changed records",
            "unchanged": "Unchanged records",
            "failed": "Records that failed anew (kept in quarantine, or not found): what makes a run partial",
            "still_failing": "Pages failing the same way as their copy kept in quarantine (not new trouble)",
            "skipped_robots": "Pages not requested because robots.txt forbids them",
            "unresolved": "Mirror pages without an NCT number",
            "gone": "Pages that answered 404/410 again: gone, not failing (their records are kept)",
            "requests": "HTTP requests",
            "not_modified": "Responses 304: a page unchanged since the last visit, sent without its body",
            "retries": "HTTP retries",
            "throttled": "Responses 429 (rate-limited)",
            "bytes": "Bytes received",
            "watermark": "Watermark set by this run",
            "error": "Why the run failed, if it did",
            "pid": "Process id",
            "versions": "Past versions of trials fetched (record history: harvest history, harvest run --history)",
            **completeness_docs.RUN_COLUMNS,
        },
    ),
    "harvest_state": (
        "Per source: where the next incremental run starts, where an interrupted run resumes (ctgov:reconcile: "
        "where an interrupted harvest reconcile resumes).",
        {
            "source": _SOURCE,
            "watermark": "Date of the last complete run",
            "cursor": "Resume position of an unfinished run (JSON)",
            "cursor_run_id": "Run that saved the cursor",
            "updated_at": "When (UTC)",
        },
    ),
    "pages": (
        "Mirror pages discovered, and what happened when they were last fetched.",
        {
            "source": _SOURCE,
            "url": "Page URL",
            "lastmod": "Last modification date from the sitemap",
            "first_seen_at": "When first discovered (UTC)",
            "last_fetched_at": "When last fetched (UTC)",
            "last_outcome": "ok, failed, not-found (404/410 once), gone (404/410 on two visits in a row), robots or "
            "unresolved",
            "nct_id": "NCT number found on the page",
            "etag": "ETag of its last answer, sent back as If-None-Match on the next visit",
            "last_modified": "Last-Modified of its last answer, sent back as If-Modified-Since on the next visit",
            "gone_since": "When the page was first found gone (UTC); cleared when it answers again",
        },
    ),
    "quarantine": (
        "Pages or records that failed to parse, kept so they can be re-parsed later.",
        {
            "source": _SOURCE,
            "url": "Page URL",
            "run_id": "Run that quarantined it",
            "error_type": "Error class (LayoutChanged, InvalidRecord, ...)",
            "error": "What went wrong",
            "raw": _RAW,
            "content_type": "HTTP content type",
            "quarantined_at": "When (UTC)",
        },
    ),
    "unresolved": (
        "Mirror pages whose NCT number could not be established (kept, listed, never guessed).",
        {
            "source": _SOURCE,
            "url": "Page URL",
            "title": "Title shown on the page",
            "reason": "Why no NCT number could be established",
            "candidates": "JSON array of NCT numbers that might match",
            "raw": _RAW,
            "content_type": "HTTP content type",
            "seen_at": "When (UTC)",
        },
    ),
    "field_provenance": (
        "Which source (and which fetch) supplied each field of a trial.",
        {
            "nct_id": _NCT,
            "field": "Field of the study",
            "source": _SOURCE,
            "url": "Record URL",
            "fetched_at": "When it was fetched (UTC)",
        },
    ),
    "study_overview": (
        "One readable line per trial: lists joined with '; '.",
        {
            "nct_id": STUDY_COLUMNS["nct_id"],
            "brief_title": STUDY_COLUMNS["brief_title"],
            "overall_status": STUDY_COLUMNS["overall_status"],
            "phases": "Phases joined with '; '",
            "study_type": STUDY_COLUMNS["study_type"],
            "start_date": STUDY_COLUMNS["start_date"],
            "completion_date": STUDY_COLUMNS["completion_date"],
            "enrollment": STUDY_COLUMNS["enrollment"],
            "lead_sponsor": STUDY_COLUMNS["lead_sponsor"],
            "conditions": "Conditions joined with '; '",
            "interventions": "Intervention names joined with '; '",
            "countries": "Countries with a site, distinct, sorted, joined with '; '",
            "last_update_posted": STUDY_COLUMNS["last_update_posted"],
        },
    ),
    "recruiting_studies": ("study_overview of the trials that are RECRUITING now.", {}),
    "study_phases": (
        "One row per trial and phase (a PHASE1/PHASE2 trial has two rows): filter and count by phase.",
        {"nct_id": _NCT, "phase": "PHASE1, PHASE2, ..., EARLY_PHASE1 or NA"},
    ),
    "study_outcomes": (
        "One row per trial with declared outcomes: its primary outcomes on one line (the protocol's promise).",
        {
            "nct_id": _NCT,
            "brief_title": "Brief title",
            "overall_status": "Overall status",
            "primary_completion_date": "Primary completion date (ISO, at its precision)",
            "primary_outcomes": "Primary outcome measures, each with [its time frame], joined by '; '",
            "secondary_outcomes": "How many secondary outcomes the protocol declares",
            "other_outcomes": "How many other pre-specified outcomes the protocol declares",
        },
    ),
    "results_overview": (
        "One row per trial with posted results: its arms, the first primary outcome's values and serious events.",
        {
            "nct_id": _NCT,
            "brief_title": "Brief title",
            "overall_status": "Overall status",
            "primary_completion_date": "Primary completion date (ISO, at its precision)",
            "results_first_submitted": "Date results were first submitted",
            "results_first_posted": "Date results were first posted",
            "groups": "Participant-flow groups (arms), joined by '; '",
            "primary_outcome": "Title of the first primary outcome measure with results",
            "primary_outcome_values": "Its value per group: 'group: value units', joined by '; '",
            "serious_events": "Participants with a serious adverse event per group: 'group: affected/at risk'",
        },
    ),
    "study_countries": (
        "One row per trial and country with sites: where trials recruit.",
        {
            "nct_id": _NCT,
            "country": "Country",
            "sites": "Number of sites of the trial in that country",
            "recruiting_sites": "How many of them are RECRUITING",
        },
    ),
    # arms, outcomes, MeSH, references, documents, site contacts, results; and the file's bookkeeping
    **record_docs.RECORD_TABLES,
    **results_docs.RESULT_TABLES,
    **compliance_docs.TABLES,
    **HISTORY_TABLES,
    **completeness_docs.TABLES,
    **watch_docs.TABLES,
}
TABLES["recruiting_studies"] = (TABLES["recruiting_studies"][0], TABLES["study_overview"][1])
TABLES = aact_docs.with_aact(TABLES)  # AACT's names for harvest's columns, its ids, its tables as views

_STUDY_FACETS: list[Any] = ["overall_status", "study_type", {"array": "phases"}, "has_results"]
_SORTABLE = [
    "nct_id",
    "brief_title",
    "overall_status",
    "study_type",
    "phases",
    "start_date",
    "primary_completion_date",
    "completion_date",
    "first_posted",
    "last_update_posted",
    "enrollment",
    "lead_sponsor",
]

# Table options beyond descriptions: search, default facets, sort orders, labels.
OPTIONS: dict[str, dict[str, Any]] = {
    "studies": {
        "fts_table": FTS_TABLE,
        "fts_pk": "rowid",
        # Words are searched as words (like `harvest search`); add &_searchmode=raw for FTS5 syntax.
        "searchmode": "escaped",
        "label_column": "brief_title",
        "facets": _STUDY_FACETS,
        "sortable_columns": _SORTABLE,
        "sort_desc": "last_update_posted",
    },
    "study_overview": {"facets": ["overall_status", "study_type"], "sort": "nct_id"},
    "recruiting_studies": {"facets": ["study_type", "phases"], "sort": "nct_id"},
    "study_phases": {"facets": ["phase"]},
    "study_countries": {"facets": ["country"]},
    "locations": {"facets": ["country", "status"]},
    "interventions": {"facets": ["type"]},
    "sponsors": {"facets": ["role", "class"]},
    "identifiers": {"facets": ["scheme"]},
    "runs": {"sort_desc": "id", "facets": ["source", "outcome"]},
    "changes": {"sort_desc": "id", "facets": ["field"]},
    "quarantine": {"facets": ["source", "error_type"]},
    "unresolved": {"facets": ["source"]},
    "source_records": {"facets": ["source"]},
    **record_docs.RECORD_OPTIONS,
    **results_docs.RESULT_OPTIONS,
    **compliance_docs.OPTIONS,
    **HISTORY_OPTIONS,
    **aact_docs.VIEW_OPTIONS,
}


def metadata(
    database: str = "harvest",
    sources: Sequence[str] = (),
    *,
    registry: str | None = None,
    synonyms: Synonyms | None = None,
) -> dict[str, Any]:
    """The metadata document for a file served under the name ``database`` (its file name without .db).

    ``sources`` names the registered sources and ``registry`` the one that is the registry (its trials are not
    "mirror only"); the caller passes them so that querying knows no site. ``synonyms`` are those the search
    expands with (``query.synonyms.load``): they are written into the canned query's SQL.
    """
    named = f": {', '.join(sources)}" if sources else ""
    source = f"Source name{named} (ctgov is ClinicalTrials.gov, the others mirror it)"
    tables = {}
    for name, (description, columns) in TABLES.items():
        described = {column: source if text is _SOURCE else text for column, text in columns.items()}
        tables[name] = {"description": description, "columns": described, **OPTIONS.get(name, {})}
    tables["studies"]["description"] += (
        " Search covers titles, acronym, summaries, conditions, interventions, keywords and lead sponsor;"
        " words are matched as words, stemmed (trials finds trial)."
    )
    return {
        "title": "Clinical trials (harvest)",
        "description": (
            "Clinical-trial records from ClinicalTrials.gov and sites that republish it, one row per trial "
            "keyed by NCT number, merged from every source that carries it. Built by harvest "
            f"{__version__}."
        ),
        "license": "ClinicalTrials.gov terms and conditions",
        "license_url": CTGOV_TERMS_URL,
        "source": "ClinicalTrials.gov (API v2) and mirror sites",
        "source_url": CTGOV_URL,
        "about": "harvest",
        "about_url": DEFAULT_CONTACT,
        "databases": {
            database: {
                "title": "Clinical trials",
                "description": "Start with study_overview, or search studies (search_studies ranks the matches).",
                "tables": tables,
                # a new dict each call: the caller's to change
                "queries": {"search_studies": canned_search(synonyms or Synonyms(), registry)},
                "registry": registry,  # for the site: the source whose records are the registry's
            }
        },
    }
