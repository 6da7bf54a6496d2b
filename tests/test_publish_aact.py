"""The AACT queries (tests/aact_queries, with their expected answers in tests/test_aact_queries.py) run unchanged on
the file published to PostgreSQL, and answer there what they answer on the file: what the registry's JSON says.

The queries are AACT users' SQL, unqualified (AACT's tables in the ``ctgov`` schema, found through the session's
search_path). PostgreSQL's values are read back as SQLite gives them (a date as its ISO text, a boolean as 0/1)
before the comparison, which is the AACT test's own (rows as sets). Every column of AACT's tables has AACT's
type in the copy (fixtures/aact/ctgov_types.json, from AACT's db/structure.sql), but for the named differences.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tests.test_aact_queries as aact
from tests.conftest import ROOT
from tests.pg_helpers import differences, published_columns, sqlite_values
from tests.query_helpers import harvested_db
from tests.test_aact_schema import AACT_TABLES

AACT_TYPES: dict[str, dict[str, str]] = json.loads((ROOT / "fixtures/aact/ctgov_types.json").read_text("utf-8"))
# AACT's types as PostgreSQL names them in information_schema, and what the copy gives each: harvest's integers
# are all bigint (SQLite's are 64-bit), its decimals double precision (SQLite's REAL), its times UTC.
AS_PUBLISHED = {
    "integer": "bigint",
    "bigint": "bigint",
    "numeric": "double precision",
    "double precision": "double precision",
    "character varying": "text",
    "text": "text",
    "boolean": "boolean",
    "date": "date",
    "timestamp without time zone": "timestamp with time zone",
    "json": "jsonb",
}
# Dates AACT turns into a day (the last of a month or year: AACT's worker) that the registry may give only to the
# month or year: the copy keeps them as the registry gave them, text, beside their _type (studies) and
# length() saying the precision; AACT's queries on them (29_studies_completed_month_year) still run unchanged.
PARTIAL_DATES = {
    ("studies", "start_date"),
    ("studies", "verification_date"),
    ("studies", "completion_date"),
    ("studies", "primary_completion_date"),
    ("outcomes", "anticipated_posting_date"),
}


@pytest.fixture(scope="module")
def harvest_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return harvested_db(tmp_path_factory)


@pytest.fixture(scope="module")
def pg(harvest_file: Path, publish_to_postgres: Callable[[Path], Any]) -> Any:
    return publish_to_postgres(harvest_file)


def test_the_published_copy_equals_the_file(pg: Any, harvest_file: Path) -> None:
    assert differences(harvest_file, pg) == {}


@pytest.mark.parametrize("name", sorted(aact.queries()))
def test_an_aact_query_runs_unchanged_on_postgresql(pg: Any, name: str) -> None:
    found = sqlite_values(pg.execute(aact.queries()[name]).fetchall())
    expected = aact.EXPECTED[name](aact.fixture_studies())
    assert expected, "the fixtures must give the query something to find"
    assert sorted(found, key=repr) == sorted((tuple(row) for row in expected), key=repr)


def test_every_aact_column_has_aacts_type_in_the_copy(pg: Any) -> None:
    assert {table: list(types) for table, types in AACT_TYPES.items()} == AACT_TABLES  # the same columns
    checked = 0
    for table, types in AACT_TYPES.items():
        published = published_columns(pg, "ctgov", table)
        for column, aact_type in types.items():
            if column not in published:  # tables and columns the file lacks: tests/test_aact_schema.py names them
                continue
            expected = "text" if (table, column) in PARTIAL_DATES else AS_PUBLISHED[aact_type]
            assert published[column] == expected, f"{table}.{column}: AACT {aact_type}"
            checked += 1
    assert checked > 400
