"""The README's example queries over the record tables run, as written there, and give what the fixture JSON says.

README.md marks each query with ``<!-- query: name -->`` on the line before its ```sql block; the tests read them
from there, so a query edited in the README is the query tested. Expected rows are computed from the fixture JSON
(``query_helpers.fixture_studies``), not through harvest.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from harvest.query.datasette import OPTIONS, TABLES
from tests.query_helpers import fixture_studies, harvested_db
from tests.test_datasette import facet, get

README = Path(__file__).resolve().parents[1] / "README.md"
_QUERY = re.compile(r"<!-- query: (\w+) -->\n```sql\n(.*?)```", re.S)


def readme_queries() -> dict[str, str]:
    return dict(_QUERY.findall(README.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def harvest_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return harvested_db(tmp_path_factory)


def run(db: Path, name: str) -> list[dict[str, Any]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(readme_queries()[name])]
    finally:
        conn.close()


def _first_day(date: str) -> dt.date:
    """A date known to the year or month, as its first possible day."""
    return dt.date.fromisoformat((date + "-01-01")[:10])


def test_the_readme_marks_the_four_queries() -> None:
    assert set(readme_queries()) == {"results_overdue", "serious_events_by_arm", "mesh_ancestor", "pubmed_results"}


def test_results_overdue(harvest_db: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    expected = {}
    for nct, study in fixture_studies().items():
        protocol = study["protocolSection"]
        status = protocol["statusModule"]
        completion = (status.get("primaryCompletionDateStruct") or {}).get("date")
        posted = (status.get("resultsFirstPostDateStruct") or {}).get("date")
        if (
            protocol.get("designModule", {}).get("studyType") == "INTERVENTIONAL"
            and status.get("overallStatus") in ("COMPLETED", "TERMINATED")
            and completion
        ):
            start = _first_day(completion)
            due = start.replace(year=start.year + 1)
            if due < (_first_day(posted) if posted else today):
                expected[nct] = "late" if posted else "none yet"
    rows = run(harvest_db, "results_overdue")
    assert {row["nct_id"]: row["results"] for row in rows} == expected
    # both kinds are in the fixtures: e.g. NCT00763412 (primary completion 2013-01, results posted 2017-06-05)
    # and NCT03418623 (completed 2020-03-13, no resultsSection)
    assert expected["NCT00763412"] == "late" and expected["NCT03418623"] == "none yet"
    # month precision: 2013-01 counts from 2013-01-01
    assert [r["primary_completion_date"] for r in rows if r["nct_id"] == "NCT00763412"] == ["2013-01"]


def test_serious_events_by_arm(harvest_db: Path) -> None:
    module = fixture_studies()["NCT02513394"]["resultsSection"]["adverseEventsModule"]
    expected = []
    for group in module["eventGroups"]:
        stats = [s for event in module["seriousEvents"] for s in event["stats"] if s["groupId"] == group["id"]]
        expected.append(
            {
                "arm": group["title"],
                "participants_affected": group["seriousNumAffected"],
                "at_risk": group["seriousNumAtRisk"],
                "terms_reported": sum(1 for s in stats if s.get("numAffected", 0) > 0),
                "events": sum(s.get("numEvents", 0) for s in stats),
            }
        )
    rows = run(harvest_db, "serious_events_by_arm")
    assert rows == expected
    assert len(rows) == 2  # Arm A (palbociclib plus endocrine therapy) and Arm B (endocrine therapy alone)
    assert all(row["participants_affected"] > 0 and row["terms_reported"] > 0 and row["events"] > 0 for row in rows)


def test_mesh_ancestor(harvest_db: Path) -> None:
    expected = {}
    for nct, study in fixture_studies().items():
        browse = study.get("derivedSection", {}).get("conditionBrowseModule", {})
        if any(ancestor["term"] == "Neoplasms" for ancestor in browse.get("ancestors", [])):
            expected[nct] = sorted(mesh["term"] for mesh in browse.get("meshes", []))
    rows = run(harvest_db, "mesh_ancestor")
    assert {row["nct_id"]: sorted(row["mesh_terms"].split("; ")) for row in rows} == expected
    # the breast (NCT02513394), lung (NCT04267848), prostate (NCT01126879) and pancreatic (NCT04523987) trials
    assert set(expected) >= {"NCT02513394", "NCT04267848", "NCT01126879", "NCT04523987"}


def test_pubmed_results(harvest_db: Path) -> None:
    expected = {}
    for nct, study in fixture_studies().items():
        refs = study["protocolSection"].get("referencesModule", {}).get("references", [])
        pmids = [r["pmid"] for r in refs if r.get("type") == "RESULT" and r.get("pmid")]
        if pmids:
            expected[nct] = [f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" for pmid in pmids]
    rows = run(harvest_db, "pubmed_results")
    assert {row["nct_id"]: row["pubmed"].split(" ") for row in rows} == expected
    assert all(row["publications"] == len(expected[row["nct_id"]]) for row in rows)
    assert len(expected) >= 3


def test_every_default_facet_is_a_column_of_its_table() -> None:
    for table, options in OPTIONS.items():
        columns = TABLES[table][1]
        for name in options.get("facets", []):
            column = name["array"] if isinstance(name, dict) else name
            assert column in columns, (table, column)


def test_result_tables_open_with_their_default_facets(harvest_db: Path) -> None:
    module = fixture_studies()["NCT02513394"]["resultsSection"]["adverseEventsModule"]
    events, groups = get(
        harvest_db,
        "/harvest/reported_events.json?nct_id=NCT02513394",
        "/harvest/result_groups.json?nct_id=NCT02513394",
        with_metadata=True,
    )
    assert facet(events, "event_type") == {
        kind: sum(len(event["stats"]) for event in module[f"{kind}Events"]) for kind in ("serious", "other")
    }
    results = fixture_studies()["NCT02513394"]["resultsSection"]
    assert facet(groups, "result_type") == {
        "Participant Flow": len(results["participantFlowModule"]["groups"]),
        "Baseline": len(results["baselineCharacteristicsModule"]["groups"]),
        "Outcome": sum(len(m.get("groups", [])) for m in results["outcomeMeasuresModule"]["outcomeMeasures"]),
        "Reported Event": len(module["eventGroups"]),
    }
