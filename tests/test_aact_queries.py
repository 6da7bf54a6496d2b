"""SQL written as an AACT user writes it runs unchanged on harvest's file and answers what the registry's JSON says.

Each query is a file in ``tests/aact_queries/`` (so a test of a PostgreSQL copy can run the same files), written
against AACT's schema (github.com/ctti-clinicaltrials/aact, db/structure.sql) in the SQL that SQLite and
PostgreSQL share. Each expected answer below is worked out from the fixture JSON (``fixture_studies``) by AACT's
rules, never read through harvest. Answers are compared as sets of rows: ORDER BY is for people, and two engines
may order ties (and text) differently.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.query_helpers import fixture_studies, harvested_db

QUERIES = Path(__file__).resolve().parent / "aact_queries"
Study = dict[str, Any]
Rows = list[tuple[Any, ...]]
EXPECTED: dict[str, Callable[[dict[str, Study]], Rows]] = {}
US = {"United States", "Puerto Rico", "Guam", "U.S. Virgin Islands", "Northern Mariana Islands", "American Samoa"}

# SQLite spellings PostgreSQL does not share: a query using one is not a shared query.
SQLITE_ONLY = re.compile(
    r"\b(group_concat|json_each|json_extract|strftime|julianday|ifnull|glob|instr|printf|iif)\b|\bdate\(|\"",
    re.I,
)


def queries() -> dict[str, str]:
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(QUERIES.glob("*.sql"))}


def expects(name: str) -> Callable[[Callable[[dict[str, Study]], Rows]], Callable[[dict[str, Study]], Rows]]:
    def register(function: Callable[[dict[str, Study]], Rows]) -> Callable[[dict[str, Study]], Rows]:
        EXPECTED[name] = function
        return function

    return register


def at(data: Any, *keys: str | int) -> Any:
    for key in keys:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and key < len(data):
            data = data[key]
        else:
            return None
    return data


def items(data: Any, *keys: str) -> list[Any]:
    found = at(data, *keys)
    return found if isinstance(found, list) else []


def p(study: Study, *keys: str) -> Any:
    return at(study, "protocolSection", *keys)


def r(study: Study, *keys: str) -> Any:
    return at(study, "resultsSection", *keys)


def measurements(measure: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(class, measurement) of every measurement of an outcome or baseline measure."""
    return [
        (klass, value)
        for klass in measure.get("classes", [])
        for category in klass.get("categories", [])
        for value in category.get("measurements", [])
    ]


def last_day(date: str) -> dt.date:
    """AACT's day for a date known to the year or month: the last one (its worker's ``date``)."""
    if len(date) == 4:
        return dt.date(int(date), 12, 31)
    if len(date) == 7:
        year, month = int(date[:4]), int(date[5:7])
        return dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return dt.date.fromisoformat(date)


def months(start: str | None, end: str | None) -> int | None:
    """AACT's calculated_value.rb: days between the two over 30, truncated toward zero."""
    if not start or not end:
        return None
    days = (last_day(end) - last_day(start)).days
    return int(days / 30)


# -- the expected answers -----------------------------------------------------------------------------------


@expects("01_facilities_us_sites")
def _(studies: dict[str, Study]) -> Rows:
    counts = Counter(
        nct
        for nct, s in studies.items()
        for site in items(p(s, "contactsLocationsModule"), "locations")
        if site.get("country") == "United States"
    )
    return list(counts.items())


@expects("02_eligibilities_healthy_volunteers")
def _(studies: dict[str, Study]) -> Rows:
    return [
        (nct, e.get("sex"), e.get("minimumAge"), e.get("maximumAge"))
        for nct, s in studies.items()
        if (e := p(s, "eligibilityModule") or {}).get("healthyVolunteers") is True
    ]


@expects("03_designs_masking_of_randomized")
def _(studies: dict[str, Study]) -> Rows:
    design = [p(s, "designModule", "designInfo") or {} for s in studies.values()]
    counted = Counter(
        at(d, "maskingInfo", "masking")
        for d in design
        if d.get("allocation") == "RANDOMIZED" and at(d, "maskingInfo", "masking")
    )
    return list(counted.items())


def _age(text: str | None) -> tuple[int | None, str | None]:
    if not text:
        return None, None
    number, *_, unit = text.split()
    unit = unit.lower()
    return int(number), unit[:-1] if unit.endswith("s") else unit


@expects("04_calculated_values_sites_and_ages")
def _(studies: dict[str, Study]) -> Rows:
    out = []
    for nct, s in studies.items():
        if p(s, "designModule", "studyType") != "INTERVENTIONAL":
            continue
        sites = items(p(s, "contactsLocationsModule"), "locations")
        us = any(site.get("country") in US for site in sites) if sites else None
        out.append(
            (nct, len(sites), us, len(sites) == 1 if sites else None, *_age(p(s, "eligibilityModule", "minimumAge")))
        )
    return out


@expects("05_brief_summaries_words")
def _(studies: dict[str, Study]) -> Rows:
    return [(n,) for n, s in studies.items() if "vaccin" in (p(s, "descriptionModule", "briefSummary") or "").lower()]


@expects("06_countries_with_several_trials")
def _(studies: dict[str, Study]) -> Rows:
    trials = Counter(
        country
        for s in studies.values()
        for country in {site.get("country") for site in items(p(s, "contactsLocationsModule"), "locations")}
    )
    return [(country, n) for country, n in trials.items() if n >= 2]


@expects("07_id_information_nih_grants")
def _(studies: dict[str, Study]) -> Rows:
    return [
        (nct, i.get("id"), i.get("domain"), i.get("link"))
        for nct, s in studies.items()
        for i in items(p(s, "identificationModule"), "secondaryIdInfos")
        if i.get("type") == "NIH"
    ]


@expects("08_overall_officials_principal_investigators")
def _(studies: dict[str, Study]) -> Rows:
    return [
        (nct, o.get("name"), o.get("affiliation"))
        for nct, s in studies.items()
        for o in items(p(s, "contactsLocationsModule"), "overallOfficials")
        if o.get("role") == "PRINCIPAL_INVESTIGATOR"
    ]


@expects("09_browse_conditions_neoplasms")
def _(studies: dict[str, Study]) -> Rows:
    out = []
    for nct, s in studies.items():
        module = at(s, "derivedSection", "conditionBrowseModule") or {}
        if any(a.get("term", "").lower() == "neoplasms" for a in module.get("ancestors", [])):
            out.extend((nct, m["term"]) for m in module.get("meshes", []))
    return out


@expects("10_sponsors_industry_leads")
def _(studies: dict[str, Study]) -> Rows:
    return [
        (nct, lead["name"], len(items(p(s, "sponsorCollaboratorsModule"), "collaborators")))
        for nct, s in studies.items()
        if (lead := p(s, "sponsorCollaboratorsModule", "leadSponsor") or {}).get("class") == "INDUSTRY"
    ]


@expects("11_outcome_measurements_of_primary_outcomes")
def _(studies: dict[str, Study]) -> Rows:
    return [
        (nct, o["title"], o["title"], m["groupId"], m.get("value"), o.get("unitOfMeasure"))
        for nct, s in studies.items()
        for o in items(r(s, "outcomeMeasuresModule"), "outcomeMeasures")
        if o.get("type") == "PRIMARY"
        for _, m in measurements(o)
    ]


@expects("12_studies_by_phase")
def _(studies: dict[str, Study]) -> Rows:
    phases = Counter("/".join(ph) for s in studies.values() if (ph := p(s, "designModule", "phases")))
    return list(phases.items())


@expects("13_studies_source_industry")
def _(studies: dict[str, Study]) -> Rows:
    return [
        (nct, org.get("fullName"))
        for nct, s in studies.items()
        if (org := p(s, "identificationModule", "organization") or {}).get("class") == "INDUSTRY"
    ]


@expects("14_studies_submitted_since_2019")
def _(studies: dict[str, Study]) -> Rows:
    return [
        (nct, date)
        for nct, s in studies.items()
        if (date := p(s, "statusModule", "studyFirstSubmitDate")) and date >= "2019-01-01"
    ]


@expects("15_conditions_cancer")
def _(studies: dict[str, Study]) -> Rows:
    return [
        (nct,)
        for nct, s in studies.items()
        if any("cancer" in c.lower() for c in items(p(s, "conditionsModule"), "conditions"))
    ]


@expects("16_keywords_cancer")
def _(studies: dict[str, Study]) -> Rows:
    return [
        (nct, k)
        for nct, s in studies.items()
        for k in items(p(s, "conditionsModule"), "keywords")
        if "cancer" in k.lower()
    ]


@expects("17_design_group_interventions_placebo_arms")
def _(studies: dict[str, Study]) -> Rows:
    out = []
    for nct, s in studies.items():
        module = p(s, "armsInterventionsModule") or {}
        placebo = {a["label"] for a in module.get("armGroups", []) if a.get("type") == "PLACEBO_COMPARATOR"}
        for i in module.get("interventions", []):
            out.extend(
                (nct, label, i.get("type"), i["name"]) for label in i.get("armGroupLabels", []) if label in placebo
            )
    return out


@expects("18_reported_events_serious_by_group")
def _(studies: dict[str, Study]) -> Rows:
    out = []
    for nct, s in studies.items():
        module = r(s, "adverseEventsModule") or {}
        stats = [st for e in module.get("seriousEvents", []) for st in e.get("stats", [])]
        for group in module.get("eventGroups", []):
            mine = [st.get("numAffected") for st in stats if st["groupId"] == group["id"]]
            if mine:
                counted = [n for n in mine if n is not None]
                out.append((nct, group["title"], sum(counted) if counted else None))
    return out


@expects("19_central_contacts_primary")
def _(studies: dict[str, Study]) -> Rows:
    return [
        (nct, c[0].get("name"), c[0].get("email"), c[0].get("phone"))
        for nct, s in studies.items()
        if (c := items(p(s, "contactsLocationsModule"), "centralContacts"))
    ]


def _p_value(text: str) -> tuple[str, float | None]:
    modifier = re.sub(r"[\d.-]", "", text).strip()
    try:
        return modifier, float(re.sub(r"[<> =]", "", text).strip())
    except ValueError:
        return modifier, None


@expects("20_outcome_analyses_significant")
def _(studies: dict[str, Study]) -> Rows:
    out = []
    for nct, s in studies.items():
        for o in items(r(s, "outcomeMeasuresModule"), "outcomeMeasures"):
            for a in o.get("analyses", []):
                modifier, value = _p_value(a["pValue"]) if a.get("pValue") else (None, None)
                if value is not None and value < 0.05:
                    out.append((nct, o["title"], modifier, value, a.get("statisticalMethod")))
    return out


def _denominator(measure: dict[str, Any], klass: dict[str, Any], module: dict[str, Any], group: str) -> int | None:
    units = measure.get("denomUnitsSelected") or "Participants"
    denoms = klass.get("denoms") if "denoms" in klass else measure.get("denoms", module.get("denoms", []))
    for denom in denoms:
        if denom.get("units") == units:
            for count in denom.get("counts", []):
                if count["groupId"] == group:
                    return int(count["value"])
    return None


@expects("21_baseline_measurements_age")
def _(studies: dict[str, Study]) -> Rows:
    out = []
    for nct, s in studies.items():
        module = r(s, "baselineCharacteristicsModule") or {}
        titles = {g["id"]: g["title"] for g in module.get("groups", [])}
        for measure in module.get("measures", []):
            if measure.get("title") != "Age, Continuous":
                continue
            for klass, m in measurements(measure):
                analysed = _denominator(measure, klass, module, m["groupId"])
                units = measure.get("denomUnitsSelected") or "Participants"
                out.append((nct, titles[m["groupId"]], measure.get("paramType"), m.get("value"), analysed, units))
    return out


@expects("22_milestones_started_completed")
def _(studies: dict[str, Study]) -> Rows:
    sums: Counter[tuple[str, str]] = Counter()
    for nct, s in studies.items():
        for period in items(r(s, "participantFlowModule"), "periods"):
            for milestone in period.get("milestones", []):
                if milestone["type"] in ("STARTED", "COMPLETED"):
                    for a in milestone.get("achievements", []):
                        sums[(nct, milestone["type"])] += int(a["numSubjects"])
    return [(nct, kind, n) for (nct, kind), n in sums.items()]


@expects("23_facility_investigators_in_california")
def _(studies: dict[str, Study]) -> Rows:
    return [
        (nct, site.get("facility"), c.get("name"))
        for nct, s in studies.items()
        for site in items(p(s, "contactsLocationsModule"), "locations")
        if site.get("state") == "California"
        for c in site.get("contacts", [])
        if c.get("role") == "PRINCIPAL_INVESTIGATOR"
    ]


@expects("24_design_outcomes_several_primary")
def _(studies: dict[str, Study]) -> Rows:
    return [(nct, n) for nct, s in studies.items() if (n := len(items(p(s, "outcomesModule"), "primaryOutcomes"))) > 1]


@expects("25_studies_arms_and_groups")
def _(studies: dict[str, Study]) -> Rows:
    out = []
    for nct, s in studies.items():
        kind, arms = p(s, "designModule", "studyType"), len(items(p(s, "armsInterventionsModule"), "armGroups"))
        if arms:
            out.append((nct, kind, arms, None) if kind == "INTERVENTIONAL" else (nct, kind, None, arms))
    return out


def _affected(module: dict[str, Any], kind: str) -> int | None:
    stats = [st for e in module.get(f"{kind}Events", []) for st in e.get("stats", [])]
    return sum(st.get("numAffected") or 0 for st in stats) if stats else None


@expects("26_calculated_values_adverse_event_subjects")
def _(studies: dict[str, Study]) -> Rows:
    return [
        (
            nct,
            _affected(r(s, "adverseEventsModule") or {}, "serious"),
            _affected(r(s, "adverseEventsModule") or {}, "other"),
        )
        for nct, s in studies.items()
        if items(r(s, "outcomeMeasuresModule"), "outcomeMeasures")
    ]


@expects("27_provided_documents_protocols")
def _(studies: dict[str, Study]) -> Rows:
    return [
        (nct, d.get("label"), f"https://ClinicalTrials.gov/ProvidedDocs/{nct[-2:]}/{nct}/{d['filename']}")
        for nct, s in studies.items()
        for d in items(s, "documentSection", "largeDocumentModule", "largeDocs")
        if d.get("hasProtocol") is True
    ]


@expects("28_reported_event_totals_deaths")
def _(studies: dict[str, Study]) -> Rows:
    return [
        (nct, g["id"], g["deathsNumAffected"], g.get("deathsNumAtRisk"))
        for nct, s in studies.items()
        for g in items(r(s, "adverseEventsModule"), "eventGroups")
        if (g.get("deathsNumAffected") or 0) > 0
    ]


@expects("29_studies_completed_month_year")
def _(studies: dict[str, Study]) -> Rows:
    return [
        (nct, at(status, "startDateStruct", "date"), at(status, "primaryCompletionDateStruct", "date"),
         at(status, "primaryCompletionDateStruct", "type"))
        for nct, s in studies.items()
        if (status := p(s, "statusModule") or {}).get("overallStatus") == "COMPLETED"
    ]  # fmt: skip


@expects("30_calculated_values_durations")
def _(studies: dict[str, Study]) -> Rows:
    out = []
    for nct, s in studies.items():
        status = p(s, "statusModule")
        start, completion = status.get("startDateStruct") or {}, status.get("primaryCompletionDateStruct") or {}
        to_report = months(completion.get("date"), status.get("resultsFirstSubmitDate"))
        estimated = "ESTIMATED" in (start.get("type"), completion.get("type"))
        duration = None if estimated else months(start.get("date"), completion.get("date"))
        submitted = status.get("studyFirstSubmitDate")
        if to_report is not None or duration is not None:
            out.append((nct, to_report, duration, int(submitted[:4]) if submitted else None))
    return out


# -- the test -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def harvest_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return harvested_db(tmp_path_factory)


def test_every_query_has_an_expected_answer_and_there_are_at_least_20() -> None:
    assert set(queries()) == set(EXPECTED)
    assert len(EXPECTED) >= 20


@pytest.mark.parametrize("name", sorted(queries()))
def test_the_query_is_sql_postgresql_shares(name: str) -> None:
    sql = "\n".join(line for line in queries()[name].splitlines() if not line.startswith("--"))
    assert not SQLITE_ONLY.search(sql), SQLITE_ONLY.search(sql)


def _sorted(rows: Rows) -> Rows:
    return sorted(rows, key=repr)


@pytest.mark.parametrize("name", sorted(queries()))
def test_an_aact_query_runs_unchanged_and_answers_what_the_json_says(harvest_db: Path, name: str) -> None:
    conn = sqlite3.connect(f"file:{harvest_db}?mode=ro", uri=True)
    try:
        found = conn.execute(queries()[name]).fetchall()
    finally:
        conn.close()
    expected = EXPECTED[name](fixture_studies())
    assert expected, "the fixtures must give the query something to find"
    assert _sorted(found) == _sorted([tuple(row) for row in expected])
