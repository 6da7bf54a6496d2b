"""Datasette serves a harvested file with search and facets, with no configuration and with our metadata."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from datasette.app import Datasette

from harvest.query.datasette import TABLES, metadata
from harvest.query.search import FTS_TABLE
from tests.query_helpers import CANCER_TRIALS, cli, harvested_db, query


@pytest.fixture(scope="module")
def harvest_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return harvested_db(tmp_path_factory)


def get(db: Path, *paths: str, with_metadata: bool = False) -> list[Any]:
    """Responses of a Datasette over ``db`` (served as /harvest), through its Python API."""

    async def fetch() -> list[Any]:
        ds = Datasette([str(db)], metadata=metadata("harvest") if with_metadata else None)
        await ds.invoke_startup()
        return [await ds.client.get(path) for path in paths]

    return asyncio.run(fetch())


def facet(response: Any, name: str) -> dict[str, int]:
    return {item["value"]: item["count"] for item in response.json()["facet_results"][name]["results"]}


# statusModule.overallStatus of the four real records with the word "cancer" (query_helpers.CANCER_TRIALS):
# NCT04267848 and NCT04523987 RECRUITING, NCT01126879 TERMINATED, NCT02513394 ACTIVE_NOT_RECRUITING.
CANCER_STATUSES = {"RECRUITING": 2, "TERMINATED": 1, "ACTIVE_NOT_RECRUITING": 1}


@pytest.mark.parametrize("with_metadata", [False, True])
def test_search_and_facets_work(harvest_db: Path, with_metadata: bool) -> None:
    (response,) = get(
        harvest_db,
        "/harvest/studies.json?_search=cancer&_facet=overall_status&_facet=study_type&_facet=lead_sponsor"
        "&_facet_array=phases&_shape=objects",
        with_metadata=with_metadata,
    )
    assert response.status_code == 200
    rows = response.json()["rows"]
    assert {row["nct_id"] for row in rows} == CANCER_TRIALS
    assert facet(response, "overall_status") == CANCER_STATUSES
    assert facet(response, "study_type") == {"INTERVENTIONAL": 4}
    # leadSponsor.name of NCT01126879, NCT02513394, NCT04267848 and NCT04523987
    assert facet(response, "lead_sponsor") == {
        "Northwestern University": 1,
        "Alliance Foundation Trials, LLC.": 1,
        "National Cancer Institute (NCI)": 1,
        "National University Hospital, Singapore": 1,
    }


@pytest.mark.parametrize("with_metadata", [False, True])
def test_search_box_is_offered_on_studies(harvest_db: Path, with_metadata: bool) -> None:
    (page,) = get(harvest_db, "/harvest/studies", with_metadata=with_metadata)
    assert page.status_code == 200
    assert 'name="_search"' in page.text


def test_phases_array_facet_counts_match_sql(harvest_db: Path) -> None:
    (response,) = get(harvest_db, "/harvest/studies.json?_facet_array=phases&_facet_size=max")
    expected = dict(query(harvest_db, "SELECT value, count(*) FROM studies, json_each(studies.phases) GROUP BY 1"))
    assert facet(response, "phases") == expected
    assert expected["PHASE2"] == 5


def test_every_table_counts_and_the_index_is_hidden(harvest_db: Path) -> None:
    (response,) = get(harvest_db, "/harvest.json")
    tables = {t["name"]: t for t in response.json()["tables"]}
    # A count of None means Datasette's count(*) failed: every table, the search index included, must count.
    # This page gives each count 10 ms, which a loaded machine can run out of: such a table is counted again on
    # its own page, under the ordinary time limit, where a table that cannot be counted fails as well.
    uncounted = [name for name, t in tables.items() if t["count"] is None]
    recounted = get(harvest_db, *(f"/harvest/{name}.json?_size=0" for name in uncounted))
    failed = [
        name
        for name, page in zip(uncounted, recounted, strict=True)
        if page.status_code != 200 or page.json().get("filtered_table_rows_count") is None
    ]
    assert failed == []
    assert tables["studies"]["count"] == 24
    assert tables[FTS_TABLE]["hidden"] and not tables["studies"]["hidden"]
    assert tables["studies"]["fts_table"] == FTS_TABLE


def test_metadata_gives_default_facets_descriptions_and_sources(harvest_db: Path) -> None:
    facets, page, overview = get(
        harvest_db,
        "/harvest/studies.json?_search=cancer",
        "/harvest/studies",
        "/harvest/study_overview.json?_shape=objects&_size=max",
        with_metadata=True,
    )
    assert set(facets.json()["facet_results"]) >= {"overall_status", "study_type", "phases", "has_results"}
    assert facet(facets, "overall_status") == CANCER_STATUSES
    assert "ClinicalTrials.gov" in page.text and "clinicaltrials.gov/about-site/terms-conditions" in page.text
    assert 'data-column-description="Recruitment status' in page.text
    assert len(overview.json()["rows"]) == 24


def test_every_table_view_and_column_is_described(harvest_db: Path) -> None:
    conn = sqlite3.connect(f"file:{harvest_db}?mode=ro", uri=True)
    try:
        names = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' "
                "AND name NOT LIKE ?",
                (f"{FTS_TABLE}%",),
            )
        ]
        # table_xinfo: AACT's generated columns too
        columns = {name: [r[1] for r in conn.execute(f"PRAGMA table_xinfo([{name}])")] for name in names}
    finally:
        conn.close()
    assert sorted(TABLES) == sorted(names)
    for name, (description, described) in TABLES.items():
        assert description
        assert sorted(described) == sorted(columns[name]), name
        assert all(described.values()), name


def test_datasette_metadata_command(harvest_db: Path) -> None:
    result = cli(harvest_db, "datasette-metadata")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    studies = document["databases"]["harvest"]["tables"]["studies"]
    assert (studies["fts_table"], studies["fts_pk"]) == (FTS_TABLE, "rowid")
    assert document["source_url"] == "https://clinicaltrials.gov/"
    renamed = json.loads(cli(harvest_db, "datasette-metadata", "--database", "trials").stdout)
    assert list(renamed["databases"]) == ["trials"]


@pytest.mark.parametrize("with_metadata", [False, True])
def test_child_rows_link_to_their_trial_with_its_title_as_label(harvest_db: Path, with_metadata: bool) -> None:
    (response,) = get(
        harvest_db,
        "/harvest/conditions.json?nct_id=NCT03475563&_labels=on&_shape=objects",
        with_metadata=with_metadata,
    )
    assert response.status_code == 200
    (row,) = response.json()["rows"]
    assert row["name"] == "Coronary Artery Disease"  # its only condition (fixtures/ctgov/studies/NCT03475563.json)
    # the foreign key to studies lets Datasette link the row; the label is the trial's brief title
    # (fixtures/ctgov/studies/NCT03475563.json, briefTitle)
    assert row["nct_id"]["value"] == "NCT03475563"
    assert row["nct_id"]["label"] == "BiOSS Study (BiOSS LIM C Stent Registry in Bifurcated Lesions)"


def test_the_source_columns_name_every_registered_source(tmp_path: Path) -> None:
    """The list comes from the registry: a new mirror module is described without editing this module."""
    from click.testing import CliRunner

    from harvest.cli import main
    from harvest.sources import registered

    result = CliRunner().invoke(main, ["--db", str(tmp_path / "h.db"), "datasette-metadata"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    columns = document["databases"]["h"]["tables"]["source_records"]["columns"]
    assert registered() and all(name in columns["source"] for name in registered())
