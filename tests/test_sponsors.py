"""Sponsors as organisations: the normalised key, the automatic mapping, curation by CSV, and the compliance
counts per organisation and parent.

The trials are the real records of fixtures/ctgov/studies and copies of the real NCT03418623 (an ACT, overdue at
2025-01-01) and NCT04267848 (an ACT not yet due) renumbered, with their lead sponsor renamed (built, named
below): "Pfizer" twice, "Pfizer Inc" and "PFIZER INC." (one company as registrants write it), "3M" and "3m".
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from harvest.core.sponsors import sponsor_key
from harvest.query import compliance
from harvest.sources.ctgov import ClinicalTrialsGov
from tests.compliance_helpers import REAL, built, lead_sponsor, renumbered, store_of
from tests.conftest import load_study, scalar
from tests.query_helpers import assert_one_line_error, cli, unchanged

AS_OF = "2025-01-01"


@pytest.mark.parametrize(
    ("names", "same"),
    [
        (("Pfizer", "Pfizer Inc", "PFIZER INC.", "Pfizer, Inc.", "pfizer inc"), True),
        (("3M", "3m", "3M Company"), True),
        (("Hoffmann-La Roche", "Hoffmann La Roche AG", "HOFFMANN-LA ROCHE LTD."), True),
        (("Assistance Publique - Hôpitaux de Paris", "ASSISTANCE PUBLIQUE HOPITAUX DE PARIS"), True),
        (("Boehringer Ingelheim GmbH & Co. KG", "Boehringer Ingelheim"), True),
        (("Novartis Pharma S.A.", "Novartis Pharma SA", "Novartis Pharma S.p.A."), True),
        (("Eli Lilly and Company", "Eli Lilly"), True),
        (("AstraZeneca plc", "ASTRAZENECA PLC", "AstraZeneca"), True),
        (("LUTRONIC Corporation", "Lutronic Corp."), True),
        (("Pfizer", "Pfizer Pharmaceuticals"), False),  # a different name: left to a person
        (("M.D. Anderson Cancer Center", "MD Anderson Cancer Center"), True),
        (("Inc", "Inc."), True),  # a name that is only a suffix keeps it
    ],
)
def test_the_key_folds_case_punctuation_accents_and_corporate_suffixes(names: tuple[str, ...], same: bool) -> None:
    keys = {sponsor_key(name) for name in names}
    assert (len(keys) == 1) is same, keys


def _renamed(nct: str, number: str, name: str) -> dict[str, Any]:
    return built(nct, renumbered(number), lead_sponsor(name))


# (number, built from, lead sponsor)
BUILT = [
    ("NCT90000001", "NCT03418623", "Pfizer"),
    ("NCT90000002", "NCT04267848", "Pfizer"),
    ("NCT90000003", "NCT03418623", "Pfizer Inc"),
    ("NCT90000004", "NCT03418623", "PFIZER INC."),
    ("NCT90000005", "NCT03418623", "3M"),
    ("NCT90000006", "NCT04267848", "3m"),
]


def records() -> list[dict[str, Any]]:
    return [*(load_study(nct) for nct in REAL), *(_renamed(base, number, name) for number, base, name in BUILT)]


@pytest.fixture
def db(tmp_path: Path, source: ClinicalTrialsGov) -> Path:
    path = tmp_path / "harvest.db"
    store_of(path, source, *records()).close()
    return path


def _json(result: Any) -> list[dict[str, Any]]:
    assert result.exit_code in (0, 1), result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_harvest_sponsors_merges_the_obvious_spellings_of_one_company(db: Path) -> None:
    listed = {row["name"]: row for row in _json(cli(db, "sponsors", "--json"))}
    pfizer = {name: listed[name]["organisation"] for name in ("Pfizer", "Pfizer Inc", "PFIZER INC.")}
    assert pfizer == dict.fromkeys(pfizer, "Pfizer")  # named by the spelling on most trials (2)
    assert (listed["Pfizer"]["trials"], listed["Pfizer"]["names_merged"]) == (2, 3)
    assert listed["3m"]["organisation"] == listed["3M"]["organisation"] == "3M"  # 1 trial each: the first spelling
    assert listed["Sangath"] == {
        "name": "Sangath",
        "trials": 1,
        "organisation": "Sangath",
        "parent": None,
        "curated": 0,
        "names_merged": 1,
    }


def test_unmatched_lists_the_names_that_match_nothing_biggest_first(db: Path, source: ClinicalTrialsGov) -> None:
    result = cli(db, "sponsors", "--unmatched", "--json")
    names = [row["name"] for row in _json(result)]
    assert "Pfizer" not in names and "3M" not in names
    assert set(names) == {
        "Alliance Foundation Trials, LLC.",
        "Arbelaez, Ana Maria",
        "Assistance Publique - Hôpitaux de Paris",
        "Hospital Universitari Vall d'Hebron Research Institute",
        "Institute of Hematology & Blood Diseases Hospital, China",
        "LUTRONIC Corporation",
        "Laboratorio Farmaceutico Ct S.r.l.",
        "National Cancer Institute (NCI)",
        "Northwestern University",
        "Regeneron Pharmaceuticals",
        "Sangath",
        "Yonsei University",
    }
    assert result.stderr.strip() == "12 unmatched names"
    # biggest first: a second Sangath trial (built from NCT03630471, renumbered) puts it on top
    store_of(db, source, built("NCT03630471", renumbered("NCT90000007"))).close()
    assert next(row["name"] for row in _json(cli(db, "sponsors", "--unmatched", "--json"))) == "Sangath"


def test_compliance_by_sponsor_counts_per_organisation_and_shows_the_names_merged(db: Path) -> None:
    rows = {row["organisation"]: row for row in _json(cli(db, "compliance", "--by-sponsor", "--as-of", AS_OF))}
    assert json.loads(rows["Pfizer"]["sponsor_names"]) == ["PFIZER INC.", "Pfizer", "Pfizer Inc"]
    assert (rows["Pfizer"]["trials"], rows["Pfizer"]["overdue"], rows["Pfizer"]["not_yet_due"]) == (4, 3, 1)
    assert json.loads(rows["3M"]["sponsor_names"]) == ["3M", "3m"]
    table = cli(db, "compliance", "--by-sponsor", "--as-of", AS_OF, "--table").stdout
    assert "names merged:" in table and "  Pfizer: PFIZER INC.; Pfizer; Pfizer Inc" in table
    trials = _json(cli(db, "compliance", "--as-of", AS_OF, "--sponsor", "pfizer"))
    assert {row["organisation"] for row in trials} == {"Pfizer"} and len(trials) == 4


def _export(db: Path) -> list[dict[str, str]]:
    result = cli(db, "sponsors", "--export", "-")
    assert result.exit_code == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=["name", "organisation", "parent", "curated"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_curated_csv_round_trips_and_survives_a_rebuild(db: Path, tmp_path: Path, source: ClinicalTrialsGov) -> None:
    exported = _export(db)
    assert {row["curated"] for row in exported} == {"0"} and len(exported) == 17
    edited = []
    for row in exported:
        if row["name"] == "LUTRONIC Corporation":  # an edit to an automatic row: kept as curated
            row = {**row, "organisation": "Lutronic", "parent": "Lutronic Group"}
        if row["name"] == "3m":  # curated: the other spelling of its key ("3M") follows it
            row = {**row, "organisation": "3M Healthcare", "curated": "1"}
        edited.append(row)
    edited.append(
        {"name": "Pfizer Laboratories Div Pfizer Inc", "organisation": "Pfizer", "parent": "", "curated": "1"}
    )
    result = cli(db, "sponsors", "--import", str(_write(tmp_path / "edited.csv", edited)))
    assert result.exit_code == 0, result.stderr
    assert "3 curated rows added or changed" in result.stderr
    curated = _export(db)
    assert {row["name"]: (row["organisation"], row["parent"]) for row in curated if row["curated"] == "1"} == {
        "LUTRONIC Corporation": ("Lutronic", "Lutronic Group"),
        "3m": ("3M Healthcare", ""),
        "Pfizer Laboratories Div Pfizer Inc": ("Pfizer", ""),  # not (yet) in the file: kept all the same
    }
    # into a fresh file holding the same trials: the same mapping comes out
    fresh = tmp_path / "fresh" / "harvest.db"
    fresh.parent.mkdir()
    store_of(fresh, source, *records()).close()
    assert cli(fresh, "sponsors", "--import", str(_write(tmp_path / "curated.csv", curated))).exit_code == 0
    assert _export(fresh) == curated
    # a rebuild (harvest reparse) and a run that rewrites the trials keep every curated row
    assert cli(fresh, "reparse").exit_code == 0
    store_of(fresh, source, _renamed("NCT03418623", "NCT90000008", "3m")).close()
    after = _export(fresh)
    assert [row for row in after if row["curated"] == "1"] == [row for row in curated if row["curated"] == "1"]
    listed = {row["name"]: row for row in _json(cli(fresh, "sponsors", "--json"))}
    assert (listed["3m"]["organisation"], listed["3m"]["trials"], listed["3M"]["organisation"]) == (
        "3M Healthcare",
        2,
        "3M Healthcare",
    )


def test_a_curated_row_beats_the_automatic_ones_of_its_key_and_gives_them_its_parent(db: Path, tmp_path: Path) -> None:
    rows = [{"name": "PFIZER INC.", "organisation": "Pfizer (curated)", "parent": "Pfizer Group", "curated": "1"}]
    assert cli(db, "sponsors", "--import", str(_write(tmp_path / "c.csv", rows))).exit_code == 0
    listed = {row["name"]: row for row in _json(cli(db, "sponsors", "--json"))}
    assert {name: (listed[name]["organisation"], listed[name]["parent"]) for name in ("Pfizer", "Pfizer Inc")} == {
        "Pfizer": ("Pfizer (curated)", "Pfizer Group"),
        "Pfizer Inc": ("Pfizer (curated)", "Pfizer Group"),
    }
    # per parent: the Pfizer trials under "Pfizer Group", the rest under their organisation
    parents = {row["parent"]: row for row in _json(cli(db, "compliance", "--by-parent", "--as-of", AS_OF))}
    assert parents["Pfizer Group"]["trials"] == 4
    assert json.loads(parents["Pfizer Group"]["sponsor_names"]) == ["PFIZER INC.", "Pfizer", "Pfizer Inc"]
    assert "LUTRONIC Corporation" in parents


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("name,parent\nPfizer,\n", "no organisation column"),
        ("name,organisation\nPfizer,\n", "line 2: a row needs a name and an organisation"),
        ("name,organisation\nPfizer,Pfizer\nPfizer,Pfizer Inc\n", "line 3: 'Pfizer' is listed twice"),
        ("name,organisation,curated\nPfizer,Pfizer,maybe\n", "curated is 'maybe'"),
    ],
)
def test_a_bad_csv_is_one_line_exit_2_and_writes_nothing(db: Path, tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    same = unchanged(db)
    assert_one_line_error(cli(db, "sponsors", "--import", str(path)), 2, str(path), fragment)
    same()


def test_sponsors_reads_a_file_without_curation_and_a_missing_csv_is_exit_2(db: Path, tmp_path: Path) -> None:
    assert scalar(db, "SELECT count(*) FROM sponsor_organisations WHERE curated = 1") == 0
    assert_one_line_error(cli(db, "sponsors", "--import", str(tmp_path / "none.csv")), 2, "no such file")


def test_organisations_are_in_the_compliance_rows(db: Path) -> None:
    conn_rows = _json(cli(db, "compliance", "--as-of", AS_OF, "--json"))
    by_nct = {row["nct_id"]: row for row in conn_rows}
    assert (by_nct["NCT90000004"]["lead_sponsor"], by_nct["NCT90000004"]["organisation"]) == ("PFIZER INC.", "Pfizer")
    assert list(by_nct["NCT90000004"]) == list(compliance.RESULT_COLUMNS)
