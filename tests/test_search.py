"""Full-text search: the index follows every write, `harvest search` ranks and filters, user text is safe."""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from harvest.core.errors import QueryError
from harvest.core.records import SourceRecord
from harvest.core.schema import Study
from harvest.pipeline.remerge import remerge_all
from harvest.query import fts_query, search
from harvest.sources.base import Batch
from harvest.store import fts
from harvest.store.database import Store
from harvest.store.tables import SCHEMA_VERSION
from harvest.testing import CtgovSite
from tests.conftest import PRECEDENCE, apply
from tests.query_helpers import (
    ALCOHOL_TRIALS,
    CANCER_TRIALS,
    assert_one_line_error,
    cli,
    fixture_studies,
    harvest,
    harvested_db,
    query,
    reconstructed_ids,
    studies_with_word,
    unchanged,
    words,
    writable_copy,
)


@pytest.fixture(scope="module")
def harvest_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return harvested_db(tmp_path_factory)


# Every studies column the index reads, each through coalesce(): one NULL would make the whole concatenation
# NULL, and `NULL LIKE ?` matches nothing, so a row with a NULL column could never count as a match.
TEXT_COLUMNS = " || ' ' || ".join(
    f"coalesce({column}, '')"
    for column in ("brief_title", "official_title", "acronym", "brief_summary", "detailed_description", "lead_sponsor")
)


def ncts(rows: list[tuple]) -> list[str]:
    return [row[0] for row in rows]


def search_json(db: Path, *args: str) -> list[dict]:
    result = cli(db, "search", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


# -- what search finds --------------------------------------------------------------------------------


def test_search_anchors_are_real_records() -> None:
    """The words the search tests rely on occur in real records only, and exactly where the constants say."""
    real = set(fixture_studies()) - reconstructed_ids()
    assert len(real) == 20
    assert studies_with_word("alcohol") == ALCOHOL_TRIALS and real >= ALCOHOL_TRIALS
    assert studies_with_word("cancer") == CANCER_TRIALS and real >= CANCER_TRIALS


def test_alcohol_finds_the_alcohol_trials_and_no_others(harvest_db: Path) -> None:
    rows = search_json(harvest_db, "alcohol")
    assert {row["nct_id"] for row in rows} == ALCOHOL_TRIALS
    assert all(row["conditions"] and "Alcohol" in row["conditions"] for row in rows)


def test_results_are_ranked_best_first(harvest_db: Path) -> None:
    rows = search_json(harvest_db, "cancer", "--limit", "50")
    scores = [row["score"] for row in rows]
    assert len(rows) >= 3
    assert scores == sorted(scores, reverse=True)
    # A trial with "cancer" in its brief title outranks one that mentions it only further down.
    in_title = {n for (n,) in query(harvest_db, "SELECT nct_id FROM studies WHERE brief_title LIKE '%cancer%'")}
    assert in_title and rows[0]["nct_id"] in in_title


@pytest.mark.parametrize(
    ("word", "table", "column", "nct_id"),
    [
        ("retinopathy", "conditions", "name", "NCT05600179"),
        ("bupivacaine", "interventions", "name", "NCT06714279"),
        ("sirolimus", "keywords", "keyword", "NCT03475563"),
    ],
)
def test_conditions_interventions_and_keywords_are_searched(
    harvest_db: Path, word: str, table: str, column: str, nct_id: str
) -> None:
    # The word is in the child table only, so only the child text can make the match.
    assert query(harvest_db, f"SELECT count(*) FROM studies WHERE ({TEXT_COLUMNS}) IS NULL") == [(0,)]
    assert query(harvest_db, f"SELECT count(*) FROM studies WHERE {TEXT_COLUMNS} LIKE ?", [f"%{word}%"]) == [(0,)]
    assert query(harvest_db, f"SELECT DISTINCT nct_id FROM {table} WHERE {column} LIKE ?", [f"%{word}%"]) == [(nct_id,)]
    assert [row["nct_id"] for row in search_json(harvest_db, word)] == [nct_id]


def test_stemming_and_diacritics(harvest_db: Path) -> None:
    # No record has the word "cancers": only stemming can match it to their "cancer".
    assert studies_with_word("cancers") == set()
    assert {row["nct_id"] for row in search_json(harvest_db, "cancers")} == CANCER_TRIALS
    assert [row["nct_id"] for row in search_json(harvest_db, "lariboisiere")] == ["NCT06171568"]


def test_filters_match_sql(harvest_db: Path) -> None:
    everything = {row["nct_id"] for row in search_json(harvest_db, "study", "--limit", "100")}
    filtered = search_json(
        harvest_db, "study", "--limit", "100", "--status", "recruiting", "--status", "COMPLETED", "--phase", "NA"
    )
    expected = {
        n
        for (n,) in query(
            harvest_db,
            "SELECT nct_id FROM studies WHERE overall_status IN ('RECRUITING', 'COMPLETED') "
            "AND EXISTS (SELECT 1 FROM json_each(phases) WHERE value = 'NA')",
        )
    }
    assert {row["nct_id"] for row in filtered} == everything & expected
    assert filtered and len(filtered) < len(everything)
    by_type = search_json(harvest_db, "study", "--limit", "100", "--type", "OBSERVATIONAL")
    assert by_type and {row["study_type"] for row in by_type} == {"OBSERVATIONAL"}


def test_limit_and_csv(harvest_db: Path) -> None:
    result = cli(harvest_db, "search", "study", "--limit", "3", "--csv")
    lines = result.stdout.splitlines()
    assert lines[0] == ",".join(search.RESULT_COLUMNS)
    assert len(lines) == 4


# -- user text is never a syntax trap -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("septic shock", '"septic" "shock"'),
        ('"septic shock" steroids', '"septic shock" "steroids"'),
        ("immuno*", '"immuno"*'),
        ("septic OR NOT - (", '"septic" "OR" "NOT"'),
        ('COVID-19 "unbalanced', '"COVID-19" """unbalanced"'),
    ],
)
def test_plain_query_quotes_every_word(typed: str, expected: str) -> None:
    assert fts_query.plain_query(typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # "alcohol" "AND": both alcohol trials have the word "and" (checked below)
        ("alcohol AND (", ALCOHOL_TRIALS),
        ('alcohol"', ALCOHOL_TRIALS),
        ("NEAR(alcohol", set()),  # one quoted token, the phrase "near alcohol"; no trial has the word "near"
        ("-alcohol", ALCOHOL_TRIALS),  # the minus is punctuation, not NOT
        ("brief_title: alcohol", set()),  # no column filter: "brief title" is searched as words, no trial has "title"
    ],
)
def test_plain_words_never_raise(harvest_db: Path, typed: str, expected: set[str]) -> None:
    assert studies_with_word("and") >= ALCOHOL_TRIALS
    assert studies_with_word("near") == studies_with_word("title") == set()
    result = cli(harvest_db, "search", "--json", "--", typed)
    assert result.exit_code == 0, result.stderr
    found = [json.loads(line)["nct_id"] for line in result.stdout.splitlines()]
    assert len(found) == len(set(found)) and set(found) == expected, found


def test_a_query_with_no_word_is_bad_input(harvest_db: Path) -> None:
    assert_one_line_error(cli(harvest_db, "search", "--json", "--", "*"), 2, "nothing to search for")


def test_raw_fts_syntax(harvest_db: Path) -> None:
    # "Prostate Cancer": NCT01126879's conditions; "Lariboisière": NCT06171568's titles.
    rows = search_json(harvest_db, "--fts", '"prostate cancer" OR lariboisiere')
    assert {row["nct_id"] for row in rows} == {"NCT01126879", "NCT06171568"}
    # "cancer" is in four trials but in the brief title of two only: the column filter must leave out the others.
    only_title = search_json(harvest_db, "--fts", "brief_title: cancer")
    in_brief_title = {n for n, study in fixture_studies().items() if "cancer" in words(_brief_title(study))}
    assert in_brief_title == {"NCT01126879", "NCT04267848"} < CANCER_TRIALS
    assert {row["nct_id"] for row in only_title} == in_brief_title


@pytest.mark.parametrize(
    ("typed", "fragment"),
    [("septic AND (", "syntax error"), ('"septic', "unterminated string"), ("conditions: septic", "no such column")],
)
def test_fts_syntax_error_is_one_line_exit_2_and_file_untouched(harvest_db: Path, typed: str, fragment: str) -> None:
    check = unchanged(harvest_db)
    assert_one_line_error(cli(harvest_db, "search", "--fts", typed), 2, "bad FTS5 query", fragment)
    check()


def test_unknown_filter_value_is_bad_input(harvest_db: Path) -> None:
    result = cli(harvest_db, "search", "alcohol", "--status", "RECRUTING")
    assert result.exit_code == 2
    assert "RECRUTING" in result.stderr


def test_search_function_rejects_empty_text(harvest_db: Path) -> None:
    conn = sqlite3.connect(harvest_db)
    try:
        with pytest.raises(QueryError):
            search.search(conn, "  ")
        with pytest.raises(QueryError):
            search.search(conn, "", raw=True)
    finally:
        conn.close()


# -- the index follows every write ----------------------------------------------------------------------


def test_index_is_exactly_a_fresh_index_after_a_harvest(harvest_db: Path) -> None:
    conn = sqlite3.connect(harvest_db)
    try:
        assert fts.verify_index(conn) == []
        assert fts.indexed_count(conn) == conn.execute("SELECT count(*) FROM studies").fetchone()[0] == 24
    finally:
        conn.close()


def _study(site: CtgovSite, nct_id: str) -> dict:
    return copy.deepcopy(site.studies[nct_id])


def _brief_title(study: dict) -> str:
    return study["protocolSection"]["identificationModule"]["briefTitle"]


def test_index_follows_changes_renames_and_removals(tmp_path: Path) -> None:
    # Two real trials have "cancer" in their brief title, and no other trial has.
    with_cancer_title = {n for n, study in fixture_studies().items() if "cancer" in words(_brief_title(study))}
    assert with_cancer_title == {"NCT01126879", "NCT04267848"}
    db = tmp_path / "harvest.db"
    site = CtgovSite.from_dir()
    harvest(db, site)

    changed = _study(site, "NCT01126879")
    assert _brief_title(changed) == "Genistein in Treating Patients With Prostate Cancer"
    changed["protocolSection"]["identificationModule"]["briefTitle"] = "Genistein in Treating Patients With Zymurgy"
    changed["protocolSection"]["conditionsModule"]["conditions"] = ["Zymurgy Syndrome"]
    site.put(changed)
    # NCT04267848 is re-registered under a new number: the old row must leave the index, the new one enter it.
    renamed = _study(site, "NCT04267848")
    ident = renamed["protocolSection"]["identificationModule"]
    ident["nctIdAliases"] = ["NCT04267848"]
    ident["nctId"] = "NCT09999999"
    site.remove("NCT04267848")
    site.put(renamed)
    # A change that leaves the indexed text alone.
    status_only = _study(site, "NCT05531279")
    status_only["protocolSection"]["statusModule"]["overallStatus"] = "COMPLETED"
    site.put(status_only)
    harvest(db, site, full=True)

    assert [row["nct_id"] for row in search_json(db, "zymurgy")] == ["NCT01126879"]
    # NCT01126879's old brief title said "Cancer"; only the re-registered trial's still does.
    assert [row["nct_id"] for row in search_json(db, "--fts", "brief_title: cancer")] == ["NCT09999999"]
    cancer = {row["nct_id"] for row in search_json(db, "cancer")}
    assert "NCT04267848" not in cancer and {"NCT09999999", "NCT01126879"} <= cancer  # NCT01126879: its other text
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT count(*) FROM studies WHERE nct_id = 'NCT04267848'").fetchone() == (0,)
        # Exactly what a fresh index of the new rows would hold: nothing stale from the old title,
        # conditions or the removed row, nothing missing.
        assert fts.verify_index(conn) == []
        assert fts.indexed_count(conn) == conn.execute("SELECT count(*) FROM studies").fetchone()[0]
    finally:
        conn.close()


def test_only_studies_whose_text_changed_are_reindexed(harvest_db: Path, tmp_path: Path) -> None:
    db = writable_copy(harvest_db, tmp_path)
    conn = sqlite3.connect(db)
    try:
        ids = ["NCT03475563", "NCT06171568"]
        before = fts.indexed_documents(conn, ids)
        conn.execute("UPDATE studies SET overall_status = 'COMPLETED' WHERE nct_id = 'NCT03475563'")
        conn.execute("UPDATE studies SET acronym = 'OTTER' WHERE nct_id = 'NCT06171568'")
        assert fts.update_index(conn, before, ids) == 1
        assert fts.verify_index(conn) == []
        assert studies_with_word("otter") == set()  # no record has the word: only the edit can make the match
        assert [row[0] for row in search.search(conn, "otter").rows] == ["NCT06171568"]
    finally:
        conn.close()


def test_remerge_keeps_the_index(harvest_db: Path, tmp_path: Path) -> None:
    db = writable_copy(harvest_db, tmp_path)
    store = Store(db)
    try:
        # A second source for one trial: only trials two sources describe can merge differently.
        (record,) = store.db.conn.execute("SELECT record FROM source_records WHERE nct_id = 'NCT03475563'").fetchone()
        study = Study.model_validate_json(record)
        mirror = study.model_copy(
            update={"provenance": study.provenance.model_copy(update={"source": "veeva", "url": "https://m/study/s"})}
        )
        page = SourceRecord("veeva", "/study/s", "https://m/study/s", mirror, b"<html></html>", "text/html")
        apply(store, Batch(records=[page]), source="veeva", run_id=None)
        assert remerge_all(store, PRECEDENCE, None) == 0  # nothing changed: nothing rewritten
        store.db.conn.execute("UPDATE studies SET content_hash = 'x' WHERE nct_id = 'NCT03475563'")
        store.db.conn.commit()
        assert remerge_all(store, PRECEDENCE, None) == 1
        assert fts.verify_index(store.db.conn) == []
    finally:
        store.close()


def test_an_older_file_gets_its_index_when_opened_for_writing(harvest_db: Path, tmp_path: Path) -> None:
    db = writable_copy(harvest_db, tmp_path)
    conn = sqlite3.connect(db)
    conn.execute(f"DROP TABLE {fts.FTS_TABLE}")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    assert_one_line_error(cli(db, "search", "alcohol"), 2, "no search index", "harvest reindex")

    Store(db).close()
    assert query(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert {row["nct_id"] for row in search_json(db, "alcohol")} == ALCOHOL_TRIALS


def test_reindex_repairs_an_index_after_hand_edits(harvest_db: Path, tmp_path: Path) -> None:
    db = writable_copy(harvest_db, tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE studies SET brief_title = 'Wombat study' WHERE nct_id = 'NCT03475563'")
    conn.close()
    assert studies_with_word("wombat") == set()  # no record has the word: only the edit can make the match
    assert search_json(db, "wombat") == []  # edited behind harvest's back: the index does not know

    result = cli(db, "reindex")
    assert result.exit_code == 0, result.stderr
    assert "24 studies" in result.stderr
    assert [row["nct_id"] for row in search_json(db, "wombat")] == ["NCT03475563"]
    conn = sqlite3.connect(db)
    try:
        assert fts.verify_index(conn) == []
    finally:
        conn.close()


# -- other tools see the index -------------------------------------------------------------------------


def test_sqlite_utils_detects_and_uses_the_index(harvest_db: Path) -> None:
    db = sqlite_utils.Database(harvest_db)
    try:
        table = db.table("studies")
        assert table.detect_fts() == fts.FTS_TABLE
        assert {row["nct_id"] for row in table.search("alcohol")} == ALCOHOL_TRIALS
        # Every column of the index is a studies column: generic tools can count and read it.
        assert db.execute(f"SELECT count(*) FROM {fts.FTS_TABLE}").fetchone() == (24,)
        assert {t.name: t.count for t in db.tables}[fts.FTS_TABLE] == 24
    finally:
        db.close()
