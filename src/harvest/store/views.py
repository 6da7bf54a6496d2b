"""Views and indexes for people who query the file with SQL, sqlite-utils or Datasette.

The store's tables are normalised (one row per condition, location, ...); the views put a trial back on
one readable line. Lists in views are joined with ``'; '`` in their stored order; countries are distinct
and sorted. Indexes cover the columns people filter, sort and facet by.
"""

from __future__ import annotations

import sqlite3

from harvest.store import fts


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
