"""What the search page shows beside its hits: how many trials match in all, and the registry's filters, each
value with the count of matching trials and the link that adds or removes it.

The hits are the canned query ``search_studies`` (``query.search``); this module runs its companion, the filter
counts, with the same parameters, read from the page's URL. Every choice is a parameter of that URL (values of
one filter joined with ``|``), so a search with its filters can be bookmarked and shared, and the links work
with no script.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from datasette.database import QueryInterrupted

from harvest.core.errors import QueryError
from harvest.query.fts_query import parse
from harvest.query.search import counts_studies_sql, facet_counts
from harvest.query.search_filters import PARAMETERS, SEPARATOR
from harvest.query.synonyms import Synonyms

SEARCH_QUERY = "search_studies"
COUNTRIES_SHOWN = 12  # the rest behind "more"

Execute = Callable[[str, dict[str, Any]], Awaitable[Any]]

TITLES = {
    "status": "Status",
    "phase": "Phase",
    "type": "Study type",
    "country": "Country",
    "results": "Results",
    "sponsor": "Lead sponsor",
    "age": "Age group",
    "sex": "Sex",
    "start": "Start year",
    "completion": "Completion year",
}
# The registry's words as its own site shows them.
LABELS = {
    "phase": {"NA": "Not applicable", "EARLY_PHASE1": "Early phase 1"},
    "results": {"yes": "With results", "no": "Without results"},
    "sponsor": {
        "NIH": "NIH",
        "FED": "U.S. federal",
        "OTHER_GOV": "Other government",
        "INDIV": "Individual",
        "AMBIG": "Ambiguous",
    },
    "age": {"CHILD": "Child (0–17)", "ADULT": "Adult (18–64)", "OLDER_ADULT": "Older adult (65+)"},
}
_RANGES = {"start": ("start_from", "start_to"), "completion": ("completion_from", "completion_to")}


def label(facet: str, value: str) -> str:
    """How a filter value reads: the registry's label, else the word in sentence case (PHASE2: Phase 2)."""
    special = LABELS.get(facet, {}).get(value)
    if special:
        return special
    if facet in ("country", "start", "completion"):
        return value
    text = value.replace("_", " ").lower().capitalize()
    return text.replace("Phase", "Phase ").replace("  ", " ") if text.startswith("Phase") else text


def chosen(args: Mapping[str, str]) -> dict[str, str]:
    """The words and the filters of a search page's URL (first value of each parameter; blanks dropped)."""
    return {name: (args.get(name) or "").strip() for name in ("q", *PARAMETERS)}


class Page:
    """The search page's URLs: this search with one choice changed."""

    def __init__(self, base: str, params: Mapping[str, str]) -> None:
        self.base = base
        self.params = dict(params)

    def url(self, **changed: str) -> str:
        merged = {**self.params, **changed}
        kept = [(name, value) for name, value in merged.items() if value]
        return self.base + ("?" + urlencode(kept) if kept else "")

    def toggled(self, name: str, value: str) -> str:
        values = [v for v in self.params.get(name, "").split(SEPARATOR) if v]
        values = [v for v in values if v != value] if value in values else [*values, value]
        return self.url(**{name: SEPARATOR.join(values)})


def _values(page: Page, facet: str, counted: list[tuple[str, int]]) -> list[dict[str, Any]]:
    if facet in _RANGES:
        low, high = _RANGES[facet]
        picked = (page.params[low], page.params[high])
        return [
            {
                "value": year,
                "label": year,
                "count": count,
                "selected": picked == (year, year),
                "url": page.url(**{low: year, high: year})
                if picked != (year, year)
                else page.url(**{low: "", high: ""}),
            }
            for year, count in counted
        ]
    selected = [v for v in page.params.get(facet, "").split(SEPARATOR) if v]
    counts = dict(counted)
    shown = [*(v for v in selected if v not in counts), *(v for v, _ in counted)]  # a chosen value stays, even at 0
    return [
        {
            "value": value,
            "label": label(facet, value),
            "count": counts.get(value, 0),
            "selected": value in selected,
            "url": page.toggled(facet, value),
        }
        for value in shown
    ]


async def search_page(execute: Execute, base: str, args: Mapping[str, str], synonyms: Synonyms) -> dict[str, Any]:
    """The template data of the search page: ``params`` (the words and filters), ``kept`` (the filters set, for
    the words form to keep), ``total`` and ``facets`` (when words were given), and what went wrong, if anything."""
    params = chosen(args)
    page = Page(base, params)
    kept = [(name, params[name]) for name in PARAMETERS if params[name]]
    data: dict[str, Any] = {
        "params": params,
        "kept": kept,
        "clear_url": page.url(**dict.fromkeys(PARAMETERS, "")) if kept else None,
        "facets": [],
    }
    if not params["q"]:
        return data
    try:
        query = parse(params["q"], synonyms)
    except QueryError:
        return data
    data["nct_ids"] = list(query.nct_ids)
    active = [name for name, _ in kept]
    try:
        rows = await execute(counts_studies_sql(synonyms, active), params)
    except QueryInterrupted:  # a slow count must not take the hits with it
        data["counts_error"] = "the counts took too long for these words (fewer matches count faster)"
        return data
    except sqlite3.Error as exc:
        data["counts_error"] = str(exc)
        return data
    total, by_facet = facet_counts([tuple(row) for row in rows], active)
    data["total"] = total
    for facet, counted in by_facet.items():
        values = _values(page, facet, counted)
        shown, more = values, []
        if facet == "country":  # the most frequent, and every chosen one; the rest folded
            top = values[:COUNTRIES_SHOWN]
            shown = top + [v for v in values[COUNTRIES_SHOWN:] if v["selected"]]
            more = [v for v in values[COUNTRIES_SHOWN:] if not v["selected"]]
        if values:
            data["facets"].append(
                {"name": facet, "title": TITLES[facet], "values": shown, "more": more, "folded": facet in _RANGES}
            )
    return data
