"""The searches a new user tried on the demo file, each finding its trials now; synonyms, caps and totals,
filters and their counts, and trials no registry record backs.

The file is harvested as `make demo` does (the registry, then every mirror, from the bundled fixtures). Expected
trials are read from the fixture JSON or the file's own tables, never typed in as results.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from harvest.cli import main
from harvest.core.records import MIRROR_ONLY
from tests.mirror_helpers import mirror_env, served_mirror
from tests.query_helpers import assert_one_line_error, cli, demo_db, fixture_studies, query, studies_with_word


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_db(tmp_path_factory)


def hits(db: Path, *args: str) -> list[dict]:
    result = cli(db, "search", "--all", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def ids(db: Path, *args: str) -> set[str]:
    return {row["nct_id"] for row in hits(db, *args)}


def mesh_trials(term: str) -> set[str]:
    return {
        nct
        for nct, study in fixture_studies().items()
        for module in study.get("derivedSection", {}).values()
        if isinstance(module, dict)
        for entry in module.get("meshes", []) + module.get("ancestors", [])
        if entry.get("term") == term
    }


def mirror_only(db: Path) -> set[str]:
    return {n for (n,) in query(db, "SELECT nct_id FROM studies WHERE sources NOT LIKE '%\"ctgov\"%'")}


# -- the searches of the issue -----------------------------------------------------------------------------


def test_neoplasms_finds_the_four_trials_under_neoplasms(demo: Path) -> None:
    assert len(mesh_trials("Neoplasms")) == 4
    assert ids(demo, "neoplasms") == mesh_trials("Neoplasms")


def test_breast_neoplasms_as_a_phrase_finds_the_trial_whose_page_shows_it(demo: Path) -> None:
    assert ids(demo, '"breast neoplasms"') == mesh_trials("Breast Neoplasms") == {"NCT02513394"}


def test_covid_finds_both_2019_ncov_trials_and_says_how(demo: Path) -> None:
    ncov = {n for (n,) in query(demo, "SELECT DISTINCT nct_id FROM conditions WHERE name LIKE '2019%nCoV'")}
    assert ncov == {"NCT04268537", "NCT04261426"}  # one from the registry, one from a mirror alone
    found = {row["nct_id"]: row for row in hits(demo, "covid")}
    assert ncov <= set(found)
    for nct in ncov:
        assert "covid → 2019-ncov" in found[nct]["synonyms"]
    # a trial that says covid itself is found by the word, not by a synonym
    assert found["NCT04299152"]["synonyms"] is None
    # unquoted words that together are one of the names widen the same way (and still find the words anywhere)
    assert ids(demo, "coronavirus", "disease", "2019") == set(found) | ids(demo, "coronavirus disease 2019", "--fts")


def test_tumour_finds_tumor(demo: Path) -> None:
    tumor = studies_with_word("tumor") | studies_with_word("tumors")
    assert tumor and studies_with_word("tumour") == studies_with_word("tumours") == set()
    found = {row["nct_id"]: row for row in hits(demo, "tumour")}
    assert set(found) == tumor
    assert all(row["synonyms"] == "tumour → tumor" for row in found.values())


def test_an_nct_number_alone_is_that_trial(demo: Path) -> None:
    assert [row["nct_id"] for row in hits(demo, "NCT04268537")] == ["NCT04268537"]
    assert [row["nct_id"] for row in hits(demo, "nct04261426")] == ["NCT04261426"]  # a mirror-only trial too
    nothing = cli(demo, "search", "--table", "NCT09999999")
    assert nothing.exit_code == 0 and "no trials match" in nothing.stderr


def test_several_words_without_quotes_are_one_query(demo: Path) -> None:
    unquoted = hits(demo, "septic", "shock")
    assert [row["nct_id"] for row in unquoted] == [row["nct_id"] for row in hits(demo, "septic shock")]
    assert {row["nct_id"] for row in unquoted} == studies_with_word("septic") & studies_with_word("shock")


# -- no silent cap -----------------------------------------------------------------------------------------


def test_limit_says_on_stderr_how_many_matched_and_json_and_csv_carry_it(demo: Path) -> None:
    every = hits(demo, "study")
    assert len(every) > 3 and {row["total"] for row in every} == {len(every)}
    capped = cli(demo, "search", "study", "--limit", "3", "--json")
    assert capped.exit_code == 0
    rows = [json.loads(line) for line in capped.stdout.splitlines()]
    assert [row["nct_id"] for row in rows] == [row["nct_id"] for row in every[:3]]
    assert {row["total"] for row in rows} == {len(every)}
    assert capped.stderr.strip() == f"3 of {len(every)} matching trials shown (--limit N for more, --all for every one)"
    table = cli(demo, "search", "study", "--limit", "3", "--csv")
    parsed = list(csv.DictReader(io.StringIO(table.stdout)))
    assert len(parsed) == 3 and {row["total"] for row in parsed} == {str(len(every))}
    default = cli(demo, "search", "study", "--json")
    assert len(default.stdout.splitlines()) == min(20, len(every))


def test_a_search_that_keeps_everything_says_nothing_more(demo: Path) -> None:
    result = cli(demo, "search", "neoplasms", "--json")
    assert result.exit_code == 0 and result.stderr == ""


# -- filters and their counts ------------------------------------------------------------------------------

FILTER_OPTIONS = {
    "status": "--status",
    "phase": "--phase",
    "type": "--type",
    "country": "--country",
    "results": "--results",
    "sponsor": "--sponsor-class",
    "age": "--age-group",
    "sex": "--sex",
}


def counted(db: Path, *args: str) -> dict[str, dict[str, int]]:
    result = cli(db, "search", "--counts", "--json", *args)
    assert result.exit_code == 0, result.stderr
    by_filter: dict[str, dict[str, int]] = {}
    for line in result.stdout.splitlines():
        row = json.loads(line)
        by_filter.setdefault(row["filter"], {})[row["value"]] = row["trials"]
    return by_filter


@pytest.mark.parametrize("chosen", [[], ["--status", "RECRUITING"], ["--country", "United States", "--phase", "NA"]])
def test_each_count_is_what_choosing_that_value_would_find(demo: Path, chosen: list[str]) -> None:
    """A value's count is the number of trials the search finds with that value chosen (in place of the
    filter's other values, with every other filter kept): checked for every value of every filter."""
    counts = counted(demo, "study", *chosen)
    assert counts["total"] == {None: len(hits(demo, "study", *chosen))}
    checked = 0
    for name, option in FILTER_OPTIONS.items():
        others = [a for a, b in zip(chosen[::2], chosen[1::2], strict=True) if a != option for a in (a, b)]
        for value, trials in counts.get(name, {}).items():
            assert len(hits(demo, "study", *others, option, value)) == trials, (name, value)
            checked += 1
    years = counts.get("start", {})
    for year, trials in years.items():
        assert len(hits(demo, "study", *chosen, "--start-from", year, "--start-to", year)) == trials, year
    assert checked >= 15 and years


@pytest.mark.parametrize(
    ("options", "sql"),
    [
        (
            ["--country", "france"],
            "EXISTS (SELECT 1 FROM locations l WHERE l.nct_id = s.nct_id AND l.country = 'France')",
        ),
        (["--results", "yes"], "s.has_results = 1"),
        (["--results", "no"], "coalesce(s.has_results, 0) = 0"),
        (["--sponsor-class", "industry"], "s.lead_sponsor_class = 'INDUSTRY'"),
        (["--age-group", "OLDER_ADULT"], "EXISTS (SELECT 1 FROM json_each(s.std_ages) WHERE value = 'OLDER_ADULT')"),
        (["--sex", "MALE"], "s.sex = 'MALE'"),
        (["--start-from", "2016", "--start-to", "2020-06"], "s.start_date >= '2016' AND s.start_date < '2020-07'"),
        (["--completion-from", "2021-03-01"], "s.completion_date >= '2021-03-01'"),
    ],
)
def test_filters_keep_what_sql_on_the_tables_keeps(demo: Path, options: list[str], sql: str) -> None:
    everything = ids(demo, "study")
    expected = everything & {n for (n,) in query(demo, f"SELECT s.nct_id FROM studies s WHERE {sql}")}
    assert ids(demo, "study", *options) == expected
    assert expected and expected != everything  # each filter keeps some trials and leaves out others


def test_a_bad_date_is_a_one_line_error(demo: Path) -> None:
    assert_one_line_error(cli(demo, "search", "study", "--start-from", "March 2020"), 2, "not a date")


# -- synonyms the user adds -----------------------------------------------------------------------------


def with_env(db: Path, env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", str(db), *args], env=env, catch_exceptions=False)


def test_a_users_synonyms_file_adds_groups_and_extends_ours(demo: Path, tmp_path: Path) -> None:
    assert studies_with_word("zymurgy") == set() and ids(demo, "wort") == set()
    groups = tmp_path / "synonyms.txt"
    # built: "wort" joins nothing of ours; "2019 nCoV pneumonia" joins the COVID group through "covid19"
    groups.write_text("# mine\nwort, alcohol  # a comment\ncovid19, wuhan pneumonia\n", encoding="utf-8")
    found = with_env(demo, {"HARVEST_SYNONYMS": str(groups)}, "search", "--all", "--json", "wort")
    assert {json.loads(line)["nct_id"] for line in found.stdout.splitlines()} == ids(demo, "alcohol")
    extended = with_env(demo, {"HARVEST_SYNONYMS": str(groups)}, "search", "--all", "--json", '"wuhan pneumonia"')
    assert {json.loads(line)["nct_id"] for line in extended.stdout.splitlines()} == ids(demo, "covid")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [("lonely\n", "two or more names"), ('a, "b"\n', "double quote"), ("a, , b\n", "two or more names")],
)
def test_a_bad_synonyms_file_is_a_one_line_error(demo: Path, tmp_path: Path, content: str, fragment: str) -> None:
    groups = tmp_path / "synonyms.txt"
    groups.write_text(content, encoding="utf-8")
    result = with_env(demo, {"HARVEST_SYNONYMS": str(groups)}, "search", "covid")
    assert_one_line_error(result, 2, "line 1", fragment)
    missing = with_env(demo, {"HARVEST_SYNONYMS": str(tmp_path / "none.txt")}, "search", "covid")
    assert_one_line_error(missing, 2, "HARVEST_SYNONYMS", "cannot read it")


# -- where a record came from ------------------------------------------------------------------------------


def test_a_trial_no_registry_record_backs_says_so_in_show_and_in_search(demo: Path) -> None:
    only_mirrors = mirror_only(demo)
    assert "NCT04261426" in only_mirrors and len(only_mirrors) >= 2
    shown = cli(demo, "show", "NCT04261426")
    assert shown.exit_code == 0
    assert next(iter(json.loads(shown.stdout).items())) == ("note", MIRROR_ONLY)  # first, where a reader looks
    registry = cli(demo, "show", "NCT04268537")
    assert "note" not in json.loads(registry.stdout) and registry.stderr == ""
    notes = {row["nct_id"]: row["note"] for row in hits(demo, "covid")}
    assert notes["NCT04261426"] == MIRROR_ONLY and notes["NCT04268537"] is None
    every = {row["nct_id"]: row["note"] for row in hits(demo, "trial")}
    assert {n for n, note in every.items() if note} == only_mirrors & set(every)


def test_fetch_of_a_mirror_page_no_registry_record_backs_prints_the_note(tmp_path: Path) -> None:
    with served_mirror("inclinicaltrials") as server:
        env = mirror_env("inclinicaltrials", server, tmp_path / "harvest.db")
        result = CliRunner().invoke(main, ["fetch", server.url + "/2019-ncov/nct04261426/details"], env=env)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert next(iter(printed.items())) == ("note", MIRROR_ONLY) and printed["nct_id"] == "NCT04261426"
