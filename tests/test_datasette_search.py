"""The canned query ``search_studies`` in a live Datasette: the studies `harvest search` finds, in its order.

`datasette serve` runs as a subprocess on a free 127.0.0.1 port with the metadata `harvest datasette-metadata`
prints, over a harvest of the CT.gov fixtures; the test asks it over HTTP (httpx) and compares with
`harvest search`, words and filters. The SQL form of the typed query (synonyms and NCT numbers included) is
also checked against ``fts_query.parse`` directly, string for string.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvest.core.errors import QueryError
from harvest.query import synonyms
from harvest.query.fts_query import plain_query, query_sql
from tests.query_helpers import CANCER_TRIALS, cli, harvested_db
from tests.serve_helpers import running

QUERIES = [
    "cancer",
    "septic shock",
    '"septic shock"',
    "covid*",
    "trial",
    "lung OR",
    "randomized placebo",
    "covid",  # synonyms: 2019-nCoV, SARS-CoV-2, ...
    "tumours",
    "neoplasms",  # MeSH ancestors only
    '"breast neoplasms"',
    "NCT04268537",
    "nct02513394 NCT00763412",
    "coronavirus disease 2019",  # words that are a synonym's name, unquoted
]


@pytest.fixture(scope="module")
def harvest_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return harvested_db(tmp_path_factory)


@pytest.fixture(scope="module")
def datasette(harvest_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a `datasette serve` of the harvest, with our metadata; stopped after the module."""
    metadata = tmp_path_factory.mktemp("datasette") / "metadata.json"
    printed = cli(harvest_db, "datasette-metadata")
    assert printed.exit_code == 0, printed.stderr
    metadata.write_text(printed.stdout, encoding="utf-8")
    command = [sys.executable, "-m", "datasette", "serve", str(harvest_db), "--metadata", str(metadata),
               "--host", "127.0.0.1", "--setting", "sql_time_limit_ms", "10000"]  # fmt: skip
    with running(lambda port: [*command, "--port", str(port)], "datasette") as base:
        yield base


def canned(base: str, words: str, **filters: str) -> list[dict]:
    params = {"q": words, "_shape": "objects", **filters}
    response = httpx.get(base + "/harvest/search_studies.json", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def harvest_search(db: Path, words: str, *options: str) -> list[dict]:
    result = cli(db, "search", "--all", "--json", *options, "--", words)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


COLUMNS = {"nct_id", "title", "overall_status", "phases", "conditions", "snippet", "score", "synonyms", "note"}


def assert_same_hits(found: list[dict], expected: list[dict]) -> None:
    assert [row["nct_id"] for row in found] == [row["nct_id"] for row in expected]
    for row, same in zip(found, expected, strict=True):
        assert set(row) == COLUMNS
        assert (row["title"], row["overall_status"], row["phases"], row["conditions"], row["score"]) == (
            same["brief_title"],
            same["overall_status"],
            same["phases"],
            same["conditions"],
            same["score"],
        )
        assert (row["synonyms"], row["note"]) == (same["synonyms"], same["note"])


@pytest.mark.parametrize("words", QUERIES)
def test_search_studies_returns_harvest_search_in_its_order(datasette: str, harvest_db: Path, words: str) -> None:
    expected = harvest_search(harvest_db, words)
    assert expected or words in ("lung OR",), words  # every query finds something but one
    assert_same_hits(canned(datasette, words), expected)


@pytest.mark.parametrize(
    ("filters", "options"),
    [
        ({"status": "RECRUITING|COMPLETED"}, ["--status", "recruiting", "--status", "COMPLETED"]),
        ({"phase": "PHASE2", "type": "INTERVENTIONAL"}, ["--phase", "PHASE2", "--type", "INTERVENTIONAL"]),
        ({"country": "united states|France"}, ["--country", "United States", "--country", "france"]),
        ({"results": "yes", "sponsor": "INDUSTRY"}, ["--results", "yes", "--sponsor-class", "INDUSTRY"]),
        ({"age": "CHILD", "sex": "ALL"}, ["--age-group", "CHILD", "--sex", "ALL"]),
        ({"start_from": "2015", "start_to": "2020-06"}, ["--start-from", "2015", "--start-to", "2020-06"]),
        ({"completion_from": "2021-01-01"}, ["--completion-from", "2021-01-01"]),
    ],
)
def test_search_studies_filters_as_harvest_search_does(
    datasette: str, harvest_db: Path, filters: dict[str, str], options: list[str]
) -> None:
    everything = harvest_search(harvest_db, "study")
    expected = harvest_search(harvest_db, "study", *options)
    assert 0 < len(expected) < len(everything), options  # each filter keeps some trials and leaves out others
    assert_same_hits(canned(datasette, "study", **filters), expected)


def test_search_studies_finds_the_cancer_trials_ranked_with_a_snippet(datasette: str, harvest_db: Path) -> None:
    found = canned(datasette, "cancer")
    assert {row["nct_id"] for row in found} == CANCER_TRIALS
    assert [row["score"] for row in found] == sorted((row["score"] for row in found), reverse=True)
    assert all("**" in row["snippet"] and "cancer" in row["snippet"].lower() for row in found)
    # ranked: a word in the brief title (NCT01126879, NCT04267848) outranks one only in the description
    assert found[-1]["nct_id"] == "NCT04523987"


def test_search_studies_is_offered_and_takes_q(datasette: str) -> None:
    page = httpx.get(datasette + "/harvest/search_studies", timeout=30)
    assert page.status_code == 200
    assert 'name="q"' in page.text
    assert canned(datasette, "") == []  # nothing typed: nothing found, no error


def _matches(conn: sqlite3.Connection, expression: str) -> list[int]:
    return [r[0] for r in conn.execute("SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid", (expression,))]


PIECES = [*'ab c"*-\t', "sep", "tic", " shock", "é", "tumour", "s", "covid", "NCT04268537", "nct0000000", "1",
          " coronavirus", " disease", " 2019", " novel"]  # fmt: skip
SYNONYMS = synonyms.load({})


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
def test_the_sql_form_of_the_typed_query_is_the_same_expression(text: str) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(a, nct_id, tokenize='porter unicode61 remove_diacritics 2')")
    documents = ["a b c", "septic shock", "sep tic", "a*", "shock a", "c b", "ab", "é", "abc septic", "tumor c",
                 "2019-nCoV septic", "tumours ab", "disease of 2019 by a coronavirus", "COVID-19 c"]  # fmt: skip
    conn.executemany(
        "INSERT INTO t (a, nct_id) VALUES (?, ?)", [(d, f"NCT0000000{i}") for i, d in enumerate(documents)]
    )
    in_sql = conn.execute(query_sql(SYNONYMS) + " SELECT fts FROM expression", {"q": text}).fetchone()[0]
    try:
        expected = plain_query(text, SYNONYMS)
    except QueryError:
        expected = '""'  # nothing to search for: the SQL form matches nothing
    assert in_sql == expected
    assert _matches(conn, in_sql) == (_matches(conn, expected) if expected != '""' else [])
