"""The filters of a search, like the registry's: status, phase, study type, country, results, sponsor class, age
group, sex, and start and completion date ranges; and how many of the matching trials each value holds.

Each filter is one named SQL parameter (``:status``, ``:country``, ...) holding its values joined with ``|``
(``RECRUITING|COMPLETED``), empty for any: the web search page keeps them in its URL (Datasette binds a canned
query's parameters from the query string, one value each), and ``harvest search`` binds the same parameters,
so both filter with the same SQL. Values of one filter are alternatives (OR); filters combine (AND).

A filter's counts are taken among the trials that match the words and every *other* filter, so each count
says how many trials choosing that value (as well) would give, and choosing more values of one filter widens.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from harvest.core.errors import QueryError

SEPARATOR = "|"
# The registry's words for a lead sponsor's class and for the age groups (the API's AgencyClass and StandardAge,
# fixtures/ctgov/openapi/ctg-oas-v2.yaml).
SPONSOR_CLASSES = ("NIH", "FED", "OTHER_GOV", "INDIV", "INDUSTRY", "NETWORK", "AMBIG", "OTHER", "UNKNOWN")
AGE_GROUPS = ("CHILD", "ADULT", "OLDER_ADULT")


def _among(parameter: str, value: str) -> str:
    """``value`` (SQL) is one of the |-joined values of ``:parameter`` (empty: any)."""
    return f"instr('|' || :{parameter} || '|', '|' || {value} || '|') > 0"


def _any(parameter: str, condition: str) -> str:
    return f"(:{parameter} = '' OR {condition})"


# Predicates over a studies row ``s``, by parameter. Dates: a partial date (2020, 2020-03) compares on the
# digits both have, so "from 2020" keeps 2020-03-01 and "to 2020" keeps 2020-12-31.
PREDICATES: dict[str, str] = {
    "status": _any("status", _among("status", "s.overall_status")),
    "phase": _any("phase", f"EXISTS (SELECT 1 FROM json_each(s.phases) p WHERE {_among('phase', 'p.value')})"),
    "type": _any("type", _among("type", "s.study_type")),
    "country": _any(  # names compared in lower case: the CLI takes --country france
        "country",
        "EXISTS (SELECT 1 FROM locations l WHERE l.nct_id = s.nct_id"
        " AND instr('|' || lower(:country) || '|', '|' || lower(l.country) || '|') > 0)",
    ),
    "results": _any("results", _among("results", "CASE WHEN s.has_results THEN 'yes' ELSE 'no' END")),
    "sponsor": _any("sponsor", _among("sponsor", "s.lead_sponsor_class")),
    "age": _any("age", f"EXISTS (SELECT 1 FROM json_each(s.std_ages) a WHERE {_among('age', 'a.value')})"),
    "sex": _any("sex", _among("sex", "s.sex")),
    "start_from": _any("start_from", "substr(s.start_date, 1, length(:start_from)) >= :start_from"),
    "start_to": _any("start_to", "substr(s.start_date, 1, length(:start_to)) <= :start_to"),
    "completion_from": _any(
        "completion_from", "substr(s.completion_date, 1, length(:completion_from)) >= :completion_from"
    ),
    "completion_to": _any("completion_to", "substr(s.completion_date, 1, length(:completion_to)) <= :completion_to"),
}
PARAMETERS = tuple(PREDICATES)
FILTER_SQL = " AND ".join(PREDICATES.values())

# The facets counted, in the order a page shows them: name -> (the hit's value, as SQL over the judged hit ``s``;
# the parameters a count of it ignores: its own). Phases and age groups are JSON lists: a trial counts under each.
_DATES = {"start": ("start_from", "start_to"), "completion": ("completion_from", "completion_to")}
FACETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "status": ("s.overall_status", ("status",)),
    "phase": ("s.phases", ("phase",)),
    "type": ("s.study_type", ("type",)),
    "country": ("l.country", ("country",)),
    "results": ("CASE WHEN s.has_results THEN 'yes' ELSE 'no' END", ("results",)),
    "sponsor": ("s.lead_sponsor_class", ("sponsor",)),
    "age": ("s.std_ages", ("age",)),
    "sex": ("s.sex", ("sex",)),
    "start": ("substr(s.start_date, 1, 4)", _DATES["start"]),
    "completion": ("substr(s.completion_date, 1, 4)", _DATES["completion"]),
}
LISTED = frozenset({"phase", "age"})  # JSON lists
_GROUPED = [name for name in FACETS if name != "country"]
# What a facet count reads of each hit: read once (MATERIALIZED), then grouped.
_HIT_COLUMNS = (
    "s.nct_id, s.overall_status, s.study_type, s.phases, s.has_results, s.lead_sponsor_class, s.sex, s.std_ages, "
    "s.start_date, s.completion_date"
)
_OK = {name: f"ok_{name}" for name in PARAMETERS}


def counts_sql(words_sql: str, match: str, active: Collection[str] = PARAMETERS) -> str:
    """The hits of a search grouped by every facet's value at once, with each active filter's verdict: rows of
    (``'hits'``, one value per facet but country, NULL, verdicts..., trials), then per country (``'country'``,
    NULLs, the country, verdicts..., trials). ``facet_counts`` turns them into each filter's counts.

    ``words_sql`` is the search's ``WITH`` CTEs (``fts_query.query_sql``) and ``match`` the FTS5 expression
    (``(SELECT fts FROM expression)``, or a bound parameter). ``active`` names the parameters that hold a value,
    in ``PARAMETERS`` order: the others filter nothing and are left out (the same counts, less work). One pass
    over the hits groups them: the combinations are few (statuses x phases x ... of the matching trials).
    """
    used = [name for name in PARAMETERS if name in active]
    verdicts = "".join(f", {PREDICATES[name]} AS {_OK[name]}" for name in used)
    flags = "".join(f", s.{_OK[name]}" for name in used)
    values = ", ".join(FACETS[name][0] for name in _GROUPED)
    nulls = ", ".join(["NULL"] * len(_GROUPED))
    # result columns: 1 kind, then a value per grouped facet, the country, the verdicts, the count
    country_at = 2 + len(_GROUPED)
    flag_at = list(range(country_at + 1, country_at + 1 + len(used)))
    by_values = ", ".join(str(i) for i in [*range(2, country_at), *flag_at])
    by_country = ", ".join(str(i) for i in [country_at, *flag_at])
    return (
        f"{words_sql},\n  hits AS MATERIALIZED (SELECT {_HIT_COLUMNS} FROM studies_fts f JOIN studies s"
        f" ON s.rowid = f.rowid WHERE studies_fts MATCH {match}),\n"
        # judged once when a filter is set; with none, judged is the hits as they are
        f"  judged AS {'MATERIALIZED ' if used else ''}(SELECT s.*{verdicts} FROM hits s)\n"
        f"SELECT 'hits', {values}, NULL{flags}, count(*) FROM judged s GROUP BY {by_values}\n"
        f"UNION ALL SELECT 'country', {nulls}, l.country{flags}, count(DISTINCT s.nct_id)"
        " FROM judged s CROSS JOIN locations l ON l.nct_id = s.nct_id"  # CROSS: the hits first, then their sites
        f" WHERE l.country IS NOT NULL GROUP BY {by_country}"
    )


def facet_counts(
    rows: Sequence[Sequence[Any]], active: Collection[str] = PARAMETERS
) -> tuple[int, dict[str, list[tuple[str, int]]]]:
    """The rows of ``counts_sql`` as (trials matching every filter, {facet: [(value, trials), ...]}): a facet's
    counts are among the trials that pass every *other* filter, most first (years in order)."""
    used = [name for name in PARAMETERS if name in active]
    counted: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    total = 0

    def add(facet: str, value: Any, trials: int, passed: set[str]) -> None:
        if value is None or any(name not in passed for name in used if name not in FACETS[facet][1]):
            return  # this facet's counts are among the trials every other filter keeps
        for item in json.loads(value) if facet in LISTED else (value,):
            counted[facet][str(item)] = counted[facet].get(str(item), 0) + trials

    for row in rows:
        kind, values, country = row[0], row[1 : len(_GROUPED) + 1], row[len(_GROUPED) + 1]
        flags, trials = row[len(_GROUPED) + 2 : -1], row[-1]
        passed = {name for name, flag in zip(used, flags, strict=True) if flag}
        if kind == "country":
            add("country", country, trials, passed)
            continue
        total += trials if len(passed) == len(used) else 0
        for facet, value in zip(_GROUPED, values, strict=True):
            add(facet, value, trials, passed)
    ordered: dict[str, list[tuple[str, int]]] = {}
    for facet, counts in counted.items():
        by_year = facet in _DATES
        ordered[facet] = sorted(counts.items(), key=(lambda v: v[0]) if by_year else (lambda v: (-v[1], v[0])))
    return total, ordered


_DATE = re.compile(r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$")


def check_date(text: str, what: str) -> str:
    """A range bound as the file stores dates: YYYY, YYYY-MM or YYYY-MM-DD."""
    if text and not _DATE.match(text):
        raise QueryError(f"{what} {text!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
    return text


@dataclass(frozen=True)
class SearchFilters:
    """Filter values (empty = any); ``params`` binds them as the search SQL and the web page do."""

    statuses: Sequence[str] = field(default_factory=tuple)
    phases: Sequence[str] = field(default_factory=tuple)
    study_types: Sequence[str] = field(default_factory=tuple)
    countries: Sequence[str] = field(default_factory=tuple)
    results: Sequence[str] = field(default_factory=tuple)  # yes, no
    sponsor_classes: Sequence[str] = field(default_factory=tuple)
    age_groups: Sequence[str] = field(default_factory=tuple)
    sexes: Sequence[str] = field(default_factory=tuple)
    start_from: str = ""
    start_to: str = ""
    completion_from: str = ""
    completion_to: str = ""

    def params(self) -> dict[str, str]:
        lists = {
            "status": self.statuses,
            "phase": self.phases,
            "type": self.study_types,
            "country": self.countries,
            "results": self.results,
            "sponsor": self.sponsor_classes,
            "age": self.age_groups,
            "sex": self.sexes,
        }
        for name, values in lists.items():
            if any(SEPARATOR in value for value in values):
                raise QueryError(f"a {name} value cannot hold {SEPARATOR!r}: {list(values)}")
        bound: dict[str, Any] = {name: SEPARATOR.join(values) for name, values in lists.items()}
        for name in ("start_from", "start_to", "completion_from", "completion_to"):
            bound[name] = check_date(getattr(self, name), name.replace("_", " "))
        return bound

    def any(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))
