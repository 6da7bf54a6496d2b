"""What the search index holds beyond the record's own words: the registry's MeSH terms and the broader terms
above them, the words the registry found them as, and every identifier of a trial; and how a file of the
previous schema (5) gets them: upgraded in place, to exactly what a fresh harvest holds.

Expected trials are read from the fixture JSON (``derivedSection``, ``identificationModule``), not through harvest.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from harvest.query import search
from harvest.store import fts
from harvest.store.columns import SEARCH_COLUMNS
from harvest.store.database import Store
from harvest.store.tables import SCHEMA_VERSION
from harvest.testing import CtgovSite
from tests.query_helpers import (
    assert_one_line_error,
    cli,
    fixture_studies,
    harvest,
    harvested_db,
    query,
    studies_with_word,
    writable_copy,
)


@pytest.fixture(scope="module")
def harvest_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return harvested_db(tmp_path_factory)


def found(db: Path, *typed: str) -> list[str]:
    result = cli(db, "search", "--all", "--json", "--", *typed)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line)["nct_id"] for line in result.stdout.splitlines()]


def _browse(study: dict[str, Any]) -> list[dict[str, Any]]:
    derived = study.get("derivedSection", {})
    return [derived.get(name, {}) for name in ("conditionBrowseModule", "interventionBrowseModule")]


def mesh_trials(term: str) -> set[str]:
    """Trials whose registry record carries ``term`` as a derived MeSH term or ancestor."""
    return {
        nct
        for nct, study in fixture_studies().items()
        for module in _browse(study)
        for entry in module.get("meshes", []) + module.get("ancestors", [])
        if entry.get("term") == term
    }


def test_neoplasms_finds_every_trial_under_neoplasms(harvest_db: Path) -> None:
    under = mesh_trials("Neoplasms")
    assert len(under) == 4 and studies_with_word("neoplasms") == set()  # the word is in no record's own text
    assert set(found(harvest_db, "neoplasms")) == under


def test_a_mesh_term_the_trial_page_shows_is_found_as_a_phrase(harvest_db: Path) -> None:
    assert mesh_trials("Breast Neoplasms") == {"NCT02513394"}
    assert found(harvest_db, '"breast neoplasms"') == ["NCT02513394"]


def test_the_words_the_registry_found_a_term_as_are_searched(harvest_db: Path) -> None:
    # NCT01126879's intervention leaf Genistein was found as "Gastroscopy", a word in none of its own text
    leaves = [
        leaf
        for module in _browse(fixture_studies()["NCT01126879"])
        for leaf in module.get("browseLeaves", [])
        if leaf.get("asFound") == "Gastroscopy"
    ]
    assert leaves and studies_with_word("gastroscopy") == set()
    assert found(harvest_db, "gastroscopy") == ["NCT01126879"]


@pytest.mark.parametrize("nct_id", ["NCT01126879", "NCT02513394"])
def test_every_secondary_id_finds_its_trial(harvest_db: Path, nct_id: str) -> None:
    ids = fixture_studies()[nct_id]["protocolSection"]["identificationModule"]
    values = [ids["orgStudyIdInfo"]["id"], *(item["id"] for item in ids.get("secondaryIdInfos", []))]
    assert len(values) >= 2
    for value in values:
        assert found(harvest_db, f'"{value}"') == [nct_id], value


def test_an_nct_number_alone_is_that_trial_and_an_old_number_the_trial_it_became(tmp_path: Path) -> None:
    site = CtgovSite.from_dir()
    renamed = copy.deepcopy(site.studies["NCT04207047"])
    renamed["protocolSection"]["identificationModule"]["nctIdAliases"] = ["NCT00000991"]
    site.put(renamed)
    db = tmp_path / "harvest.db"
    harvest(db, site)
    # NCT04207047's number is in no other record: the number finds it alone, and the alias finds it too
    assert [n for n, s in fixture_studies().items() if "NCT04207047" in json.dumps(s)] == ["NCT04207047"]
    assert found(db, "NCT04207047") == ["NCT04207047"]
    assert found(db, "nct00000991") == ["NCT04207047"]
    assert sorted(found(db, "NCT04207047", "NCT02513394")) == ["NCT02513394", "NCT04207047"]  # a list of numbers
    assert found(db, "NCT09999999") == []


def test_a_mesh_term_counts_less_than_the_same_word_in_the_record(tmp_path: Path) -> None:
    """Two copies of a real record, the same word added to one's detailed description (the lowest-weighted text
    column) and to the other's condition MeSH terms: the description ranks first."""
    site = CtgovSite.from_dir()
    base = site.studies["NCT03418623"]
    assert studies_with_word("zymase") == set()
    in_text, in_mesh = copy.deepcopy(base), copy.deepcopy(base)
    in_text["protocolSection"]["identificationModule"]["nctId"] = "NCT09000001"
    in_text["protocolSection"]["descriptionModule"]["detailedDescription"] += " Zymase."
    in_mesh["protocolSection"]["identificationModule"]["nctId"] = "NCT09000002"
    in_mesh["protocolSection"]["descriptionModule"]["detailedDescription"] += " Other."
    meshes = in_mesh["derivedSection"]["conditionBrowseModule"]["meshes"]
    meshes.append({"id": "D000000", "term": "Zymase"})
    site.put(in_text)
    site.put(in_mesh)
    db = tmp_path / "harvest.db"
    harvest(db, site)
    assert found(db, "zymase") == ["NCT09000001", "NCT09000002"]


def test_the_search_columns_say_what_the_mesh_tables_hold(harvest_db: Path) -> None:
    ((terms, ancestors),) = query(
        harvest_db, "SELECT mesh_terms, mesh_ancestors FROM studies WHERE nct_id = 'NCT02513394'"
    )
    module = _browse(fixture_studies()["NCT02513394"])
    expected_terms = [m["term"] for m in module[0]["meshes"]] + [m["term"] for m in module[1].get("meshes", [])]
    assert terms.split("; ")[: len(expected_terms)] == expected_terms
    assert set(ancestors.split("; ")) == {a["term"] for m in module for a in m.get("ancestors", [])}
    # a trial only the reconstructed records describe has no derived section: nothing to search
    assert query(harvest_db, "SELECT mesh_terms, mesh_ancestors FROM studies WHERE nct_id = 'NCT04268537'") == [
        (None, None)
    ]


# -- a schema 5 file ------------------------------------------------------------------------------------

OLD_COLUMNS = ("brief_title", "official_title", "acronym", "brief_summary", "detailed_description", "lead_sponsor")


def downgrade_to_schema_5(db: Path) -> None:
    """What schema 5 left: no search columns on studies, an index of the six text columns."""
    conn = sqlite3.connect(db)
    try:
        conn.execute(f"DROP TABLE {fts.FTS_TABLE}")
        for column in SEARCH_COLUMNS:
            conn.execute(f"ALTER TABLE studies DROP COLUMN {column}")
        conn.execute(
            f'CREATE VIRTUAL TABLE {fts.FTS_TABLE} USING fts5({", ".join(OLD_COLUMNS)}, content="studies", '
            'tokenize="porter unicode61 remove_diacritics 2")'
        )
        conn.execute(f"INSERT INTO {fts.FTS_TABLE} ({fts.FTS_TABLE}) VALUES ('rebuild')")
        conn.execute("PRAGMA user_version = 5")
        conn.commit()
    finally:
        conn.close()


def _index_entries(db: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        conn.execute(f"CREATE VIRTUAL TABLE temp.words USING fts5vocab(main, {fts.FTS_TABLE}, instance)")
        return conn.execute("SELECT * FROM temp.words ORDER BY 1, 2, 3, 4").fetchall()
    finally:
        conn.close()


def test_a_schema_5_file_gains_the_search_columns_and_index_when_upgraded(harvest_db: Path, tmp_path: Path) -> None:
    db = writable_copy(harvest_db, tmp_path)
    fresh = query(db, "SELECT nct_id, mesh_terms, mesh_ancestors FROM studies ORDER BY nct_id")
    fresh_index = _index_entries(db)
    assert sum(1 for _, terms, _ in fresh if terms) >= 15
    downgrade_to_schema_5(db)
    # read-only, the old index is refused with what to do, not answered wrongly
    assert_one_line_error(cli(db, "search", "neoplasms"), 2, "older harvest", "harvest reindex")

    Store(db).close()  # opened for writing: upgraded in place
    assert query(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    # schema 6 also reshapes the row tables the search columns are read from, so the upgrade asks for a re-parse
    assert cli(db, "reparse").exit_code == 0
    assert query(db, "SELECT nct_id, mesh_terms, mesh_ancestors FROM studies ORDER BY nct_id") == fresh
    assert _index_entries(db) == fresh_index
    conn = sqlite3.connect(db)
    try:
        assert fts.verify_index(conn) == []
        assert {row[0] for row in search.search(conn, "neoplasms", limit=None).rows} == mesh_trials("Neoplasms")
    finally:
        conn.close()
