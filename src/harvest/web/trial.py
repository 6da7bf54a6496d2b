"""What the trial page shows: one study and its child tables, read with read-only SQL for one NCT number.

``trial(execute, nct_id, names)`` takes Datasette's ``Database.execute`` (or any async function running
``(sql, params)`` and returning rows) and the file's table and view names, so a file without a table (an
older schema, no compliance views) simply has no such section. Sections with no rows are left out.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from harvest.core.records import MIRROR_ONLY
from harvest.core.schema import RESULTS_FIELDS
from harvest.query.history import ONE_TRIAL
from harvest.web import markdown

Execute = Callable[[str, dict[str, Any]], Awaitable[Any]]

SITES_LISTED = 500  # the folded site list stops here; the locations table has the rest

STUDY = """SELECT nct_id, title, brief_title, official_title, acronym, overall_status, last_known_status,
  why_stopped, study_type, phases, start_date, start_date_type, primary_completion_date,
  primary_completion_date_type, completion_date, completion_date_type, first_posted, last_update_posted,
  enrollment, enrollment_type, lead_sponsor, lead_sponsor_class, allocation, intervention_model, primary_purpose,
  masking, sex, minimum_age, maximum_age, healthy_volunteers, eligibility_criteria, brief_summary, has_results,
  sources, provenance, first_seen_at, updated_at
FROM studies WHERE nct_id = :id"""

# Fields every new version changes (the update stamps): left out of "what changed" in the version list.
ROUTINE_FIELDS = ("last_update_posted", "last_update_submitted", "status_verified_date")

# section -> (table it needs, SQL)
SECTIONS: dict[str, tuple[str, str]] = {
    # studies.removed_on came with listed_studies (schema 6): a file served before its upgrade has neither
    "removed": (
        "listed_studies",
        "SELECT removed_on FROM studies WHERE nct_id = :id AND removed_on IS NOT NULL",
    ),
    "conditions": ("conditions", "SELECT name FROM conditions WHERE nct_id = :id ORDER BY position"),
    "mesh": (
        "browse_conditions",
        "SELECT mesh_id, term, mesh_type FROM browse_conditions WHERE nct_id = :id ORDER BY mesh_type DESC, position",
    ),
    "keywords": ("keywords", "SELECT keyword FROM keywords WHERE nct_id = :id ORDER BY position"),
    "interventions": (
        "interventions",
        "SELECT type, name, description FROM interventions WHERE nct_id = :id ORDER BY position",
    ),
    "arms": (
        "design_groups",
        "SELECT label, group_type, description FROM design_groups WHERE nct_id = :id ORDER BY position",
    ),
    "outcomes": (
        "design_outcomes",
        "SELECT outcome_type, measure, time_frame, description FROM design_outcomes WHERE nct_id = :id"
        " ORDER BY CASE outcome_type WHEN 'primary' THEN 0 WHEN 'secondary' THEN 1 ELSE 2 END, position",
    ),
    "countries": (
        "locations",
        "SELECT coalesce(country, '(no country)') AS country, count(*) AS sites FROM locations WHERE nct_id = :id"
        " GROUP BY 1 ORDER BY 2 DESC, 1",
    ),
    "sites": (
        "locations",
        "SELECT facility, city, state, country, status FROM locations WHERE nct_id = :id ORDER BY country, city,"
        f" position LIMIT {SITES_LISTED}",
    ),
    "points": (
        "locations",
        "SELECT latitude AS lat, longitude AS lon, coalesce(facility, city, '') AS name FROM locations"
        " WHERE nct_id = :id AND latitude IS NOT NULL AND longitude IS NOT NULL",
    ),
    "references": (
        "study_references",
        "SELECT pmid, reference_type, citation FROM study_references WHERE nct_id = :id ORDER BY position",
    ),
    "results": ("results_overview", "SELECT * FROM results_overview WHERE nct_id = :id"),
    "compliance": ("results_compliance", "SELECT * FROM results_compliance WHERE nct_id = :id"),
    "changes": (
        "changes",
        "SELECT changed_at, field, old, new FROM changes WHERE nct_id = :id ORDER BY id DESC LIMIT 100",
    ),
    "versions": (
        "study_versions",
        "SELECT v.version, v.version_date, v.overall_status, (SELECT group_concat(c.field, ', ') FROM version_changes c"
        " WHERE c.nct_id = v.nct_id AND c.version = v.version AND c.field NOT IN"
        f" ({', '.join(repr(f) for f in ROUTINE_FIELDS)})) AS fields"
        " FROM study_versions v WHERE v.nct_id = :id ORDER BY v.version DESC",
    ),
    # the history views computed for this trial alone (ONE_TRIAL): filtered from outside, they compute every trial
    "primary_outcome_changes": (
        "outcome_changes",
        "SELECT version, version_date, change, old_measure, new_measure, old_time_frame, new_time_frame, after_start"
        f" FROM ({ONE_TRIAL['outcome_changes']}) WHERE outcome_type = 'PRIMARY' ORDER BY version",
    ),
    "completion_slips": (
        "completion_slips",
        f"SELECT version, version_date, old_date, new_date, days, total_days FROM ({ONE_TRIAL['completion_slips']})"
        " ORDER BY version",
    ),
    "enrollment_history": (
        "enrollment_history",
        f"SELECT version, version_date, enrollment, enrollment_type FROM ({ONE_TRIAL['enrollment_history']})"
        " ORDER BY version",
    ),
    "source_records": (
        "source_records",
        "SELECT source, url, first_fetched_at, fetched_at, changed_at FROM source_records WHERE nct_id = :id"
        " ORDER BY source",
    ),
    "conflicts": ("conflicts", "SELECT field, source, value FROM conflicts WHERE nct_id = :id ORDER BY field, source"),
}


def _dicts(rows: Any) -> list[dict[str, Any]]:
    return [dict(zip(row.keys(), tuple(row), strict=True)) for row in rows]


def _json_list(text: Any) -> list[Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return [text]
    return value if isinstance(value, list) else ([] if value is None else [value])


def _what_changed(fields: str | None) -> str:
    """A version's changed fields as a person reads them: the results (dozens of fields) named once."""
    names = fields.split(", ") if fields else []
    results = [name for name in names if name in RESULTS_FIELDS]
    rest = [name for name in names if name not in RESULTS_FIELDS]
    if results:
        rest.append(f"results {'posted' if 'has_results' in results else 'changed'} ({len(results)} fields)")
    return ", ".join(rest)


def _value(text: Any) -> Any:
    """A conflict's value as a person reads it: JSON strings without their quotes."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return text
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


async def trial(
    execute: Execute, nct_id: str, names: Collection[str], registry: str | None = None
) -> dict[str, Any] | None:
    """The trial page's data for ``nct_id``, or None when the file has no such study. ``registry`` names the
    source whose records are the registry's: a trial none of them backs is marked (``mirror_only``)."""
    if "studies" not in names:
        return None
    found = _dicts(await execute(STUDY, {"id": nct_id}))
    if not found:
        return None
    study = found[0]
    study["phases"] = _json_list(study["phases"])
    study["sources"] = _json_list(study["sources"])
    study["criteria_html"] = markdown.render(study["eligibility_criteria"])
    study["summary_html"] = markdown.render(study["brief_summary"])
    page: dict[str, Any] = {"study": study, "url": f"https://clinicaltrials.gov/study/{nct_id}"}
    if registry and registry not in study["sources"]:
        page["mirror_only"] = MIRROR_ONLY
    for section, (table, sql) in SECTIONS.items():
        if table in names:
            rows = _dicts(await execute(sql, {"id": nct_id}))
            if rows:
                page[section] = rows
    page["primary_outcomes"] = [o for o in page.get("outcomes", []) if o["outcome_type"] == "primary"]
    page["other_outcomes"] = [o for o in page.get("outcomes", []) if o["outcome_type"] != "primary"]
    page["site_count"] = sum(c["sites"] for c in page.get("countries", []))
    page["sites_cut"] = page["site_count"] > SITES_LISTED
    for conflict in page.get("conflicts", []):
        conflict["value"] = _value(conflict["value"])
    for version in page.get("versions", []):
        version["fields"] = _what_changed(version["fields"])
    if "results" in page:
        page["results"] = page["results"][0]
    if "compliance" in page:
        page["compliance"] = page["compliance"][0]
    if "removed" in page:
        page["removed"] = page["removed"][0]["removed_on"]
    return page
