"""Views and indexes for people who query the file with SQL, sqlite-utils or Datasette.

The store's tables are normalised (one row per condition, location, ...); the views put a trial back on
one readable line. Lists in views are joined with ``'; '`` in their stored order; countries are distinct
and sorted. Indexes cover the columns people filter, sort and facet by.
"""

from __future__ import annotations

import sqlite3

from harvest.store import compliance, fts
from harvest.store.aact import ID_INDEXES
from harvest.store.aact_views import AACT_VIEWS
from harvest.store.compliance_sponsors import sponsor_sql
from harvest.store.history_views import HISTORY_VIEWS


def _joined(table: str, column: str) -> str:
    return (
        f"(SELECT group_concat({column}, '; ') FROM "
        f"(SELECT {column} FROM {table} x WHERE x.nct_id = s.nct_id ORDER BY position))"
    )


_COUNTRIES = (
    "(SELECT group_concat(country, '; ') FROM (SELECT DISTINCT country FROM locations x "
    "WHERE x.nct_id = s.nct_id AND country IS NOT NULL ORDER BY country))"
)

# Recreated (DROP + CREATE) on every install, so a changed definition reaches existing files.
VIEWS: dict[str, str] = {
    "study_overview": f"""
        SELECT s.nct_id, s.brief_title, s.overall_status,
               (SELECT group_concat(value, '; ') FROM json_each(s.phases)) AS phases,
               s.study_type, s.start_date, s.completion_date, s.enrollment, s.lead_sponsor,
               {_joined("conditions", "name")} AS conditions,
               {_joined("interventions", "name")} AS interventions,
               {_COUNTRIES} AS countries,
               s.last_update_posted
        FROM studies s""",
    "recruiting_studies": """
        SELECT * FROM study_overview WHERE overall_status = 'RECRUITING'""",
    "study_phases": """
        SELECT s.nct_id, p.value AS phase FROM studies s, json_each(s.phases) p""",
    "study_countries": """
        SELECT nct_id, country, count(*) AS sites,
               count(CASE WHEN status = 'RECRUITING' THEN 1 END) AS recruiting_sites
        FROM locations WHERE country IS NOT NULL GROUP BY nct_id, country""",
    # A trial with what it promised to measure: primary outcomes on one line (protocol, not results).
    "study_outcomes": """
        SELECT s.nct_id, s.brief_title, s.overall_status, s.primary_completion_date,
               (SELECT group_concat(measure || coalesce(' [' || time_frame || ']', ''), '; ') FROM
                  (SELECT measure, time_frame FROM design_outcomes o
                   WHERE o.nct_id = s.nct_id AND o.outcome_type = 'primary' ORDER BY position)) AS primary_outcomes,
               (SELECT count(*) FROM design_outcomes o
                WHERE o.nct_id = s.nct_id AND o.outcome_type = 'secondary') AS secondary_outcomes,
               (SELECT count(*) FROM design_outcomes o
                WHERE o.nct_id = s.nct_id AND o.outcome_type = 'other') AS other_outcomes
        FROM studies s
        WHERE EXISTS (SELECT 1 FROM design_outcomes o WHERE o.nct_id = s.nct_id)""",
    # One line per trial with results: its arms, the first primary outcome's values, serious-event totals.
    "results_overview": """
        SELECT s.nct_id, s.brief_title, s.overall_status, s.primary_completion_date,
               s.results_first_submitted, s.results_first_posted,
               (SELECT group_concat(title, '; ') FROM
                  (SELECT title FROM result_groups g WHERE g.nct_id = s.nct_id
                   AND g.result_type = 'Participant Flow' ORDER BY position)) AS groups,
               (SELECT title FROM outcomes o WHERE o.nct_id = s.nct_id AND o.outcome_type = 'PRIMARY'
                ORDER BY position LIMIT 1) AS primary_outcome,
               (SELECT group_concat(coalesce(g.title, m.ctgov_group_code) || ': ' || m.param_value
                                    || coalesce(' ' || o.units, ''), '; ')
                FROM (SELECT * FROM outcomes WHERE nct_id = s.nct_id AND outcome_type = 'PRIMARY'
                      ORDER BY position LIMIT 1) o
                JOIN outcome_measurement_values m ON m.nct_id = o.nct_id AND m.outcome_position = o.position
                LEFT JOIN result_groups g ON g.nct_id = m.nct_id AND g.result_type = 'Outcome'
                     AND g.outcome_position = o.position AND g.ctgov_group_code = m.ctgov_group_code
               ) AS primary_outcome_values,
               (SELECT group_concat(coalesce(g.title, t.ctgov_group_code) || ': ' || t.subjects_affected
                                    || '/' || t.subjects_at_risk, '; ')
                FROM reported_event_totals t
                LEFT JOIN result_groups g ON g.nct_id = t.nct_id AND g.result_type = 'Reported Event'
                     AND g.ctgov_group_code = t.ctgov_group_code
                WHERE t.nct_id = s.nct_id AND t.event_type = 'serious') AS serious_events
        FROM studies s
        WHERE EXISTS (SELECT 1 FROM result_groups g WHERE g.nct_id = s.nct_id)""",
    # FDAAA 801 results reporting as of today (`harvest compliance --as-of` runs the same SQL at any date).
    "results_compliance": compliance.results_sql("'now'"),
    "sponsor_compliance": sponsor_sql("results_compliance"),
    # Record history: outcome switching, enrollment, completion slips, time in each status (store.history_views).
    **HISTORY_VIEWS,
    # AACT's tables that harvest holds in other shapes (store.aact_views).
    **AACT_VIEWS,
}

INDEXES: dict[str, str] = {
    "studies_overall_status": "studies (overall_status)",
    "studies_study_type": "studies (study_type)",
    "studies_phases": "studies (phases)",
    "studies_start_date": "studies (start_date)",
    "studies_completion_date": "studies (completion_date)",
    "studies_last_update_posted": "studies (last_update_posted)",
    "studies_lead_sponsor": "studies (lead_sponsor)",
    # Child-table indexes carry nct_id so "which trials have X" is answered from the index alone.
    "conditions_name": "conditions (name, nct_id)",
    "interventions_name": "interventions (name, nct_id)",
    "keywords_keyword": "keywords (keyword, nct_id)",
    "locations_country": "locations (country, nct_id)",
    "sponsors_name": "sponsors (name, nct_id)",
    "browse_conditions_term": "browse_conditions (term, nct_id)",
    "browse_interventions_term": "browse_interventions (term, nct_id)",
    "study_references_pmid": "study_references (pmid, nct_id)",
    "design_outcomes_type": "design_outcomes (outcome_type, nct_id)",
    **ID_INDEXES,
}
INDEX_NAMES = tuple(INDEXES)


def install(conn: sqlite3.Connection) -> None:
    """Create the search index, views and indexes (idempotent; runs inside the store's schema transaction)."""
    fts.install_index(conn)
    for name in reversed(VIEWS):  # dependants first
        conn.execute(f"DROP VIEW IF EXISTS {name}")
    for name, body in VIEWS.items():
        conn.execute(f"CREATE VIEW {name} AS {body.strip()}")
    for name, target in INDEXES.items():
        conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
