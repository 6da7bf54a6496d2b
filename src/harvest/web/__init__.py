"""The site `harvest serve` shows: Datasette's metadata for a person reading, templates, CSS and a plugin.

Everything the pages need ships inside the package (``templates/``, ``static/``), so the site works on a
machine with no internet and no reader is tracked by a third party: no script or style comes from a CDN.
``site_metadata`` starts from the metadata `harvest datasette-metadata` prints and adds what a browsing
person wants: the bookkeeping tables hidden (still reachable by URL), the stylesheet, and the home page's
order. ``plugin`` fills the trial page (the row page of ``studies``) and the home page from the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harvest.query.datasette import metadata
from harvest.query.synonyms import Synonyms

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STATIC_MOUNT = "harvest-static"  # served at /harvest-static/ (not /harvest/: a file named harvest.db is served there)

# Bookkeeping: how harvest runs, not what the trials say. Hidden from the lists, reachable by URL.
HIDDEN = (
    "harvest_state",
    "harvest_meta",
    "listed_studies",
    "pages",
    "quarantine",
    "runs",
    "unresolved",
    "watch_matches",
    "studies_fts",
    "studies_fts_config",
    "studies_fts_data",
    "studies_fts_docsize",
    "studies_fts_idx",
)

# The home page, in the order a reader wants: (heading, [(name, kind)]); kind is "table" or "query".
HOME: list[tuple[str, list[tuple[str, str]]]] = [
    ("Trials", [("study_overview", "table"), ("search_studies", "query"), ("studies", "table")]),
    ("What is studied, and where", [("conditions", "table"), ("interventions", "table"), ("locations", "table"),
                                    ("study_countries", "table")]),
    ("Results", [("results_overview", "table"), ("result_groups", "table"), ("outcomes", "table"),
                 ("reported_event_totals", "table"), ("results_compliance", "table"),
                 ("sponsor_compliance", "table")]),
    ("History and sources", [("changes", "table"), ("watches", "table"), ("watch_entries", "table"),
                             ("source_records", "table"), ("conflicts", "table"), ("field_provenance", "table")]),
]  # fmt: skip

SETTINGS = {
    "sql_time_limit_ms": 2000,  # long SQL is cut off after 2 s
    "truncate_cells_html": 200,  # long text is cut in table views; the trial page shows it whole
    "suggest_facets": "off",  # the configured facets are the low-cardinality ones: status, phase, type, results
    "facet_time_limit_ms": 500,
    "default_facet_size": 6,  # the rest behind the facet's "…" link: the first rows stay on the first screen
}

SEARCH_HITS = 100  # the search page's hits, best first

STUDY_FACETS: list[Any] = ["overall_status", {"array": "phases"}, "study_type", "has_results"]


def site_metadata(
    database: str,
    sources: Sequence[str] = (),
    search_hits: int = SEARCH_HITS,
    *,
    registry: str | None = None,
    synonyms: Synonyms | None = None,
) -> dict[str, Any]:
    """The metadata `harvest serve` gives Datasette: ``metadata()`` plus hidden bookkeeping and the stylesheet."""
    document = metadata(database, sources, registry=registry, synonyms=synonyms)
    document["extra_css_urls"] = [f"/{STATIC_MOUNT}/site.css"]
    tables = document["databases"][database]["tables"]
    for name in HIDDEN:
        tables.setdefault(name, {})["hidden"] = True
    tables["studies"]["facets"] = STUDY_FACETS
    queries = document["databases"][database]["queries"]
    search = queries["search_studies"]
    search["hits"] = search_hits  # the search page says "the best 100" when it shows that many
    search["hide_sql"] = True  # a search page, not 60 lines of SQL ("show" brings it back)
    search["description"] = search["description"].replace("marks the words **like this**", "marks the words") + (
        f" The best {search_hits} are shown (harvest search WORDS --limit N for more)."
    )
    # SQLite computes the snippets of the rows it keeps only: 20 ms instead of 200 for 2,000 hits at 20k studies
    search["sql"] = f"{search['sql']} LIMIT {search_hits:d}"
    return document
