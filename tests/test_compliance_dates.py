"""Compliance across dates: ``--changes-since`` (what changed between two days, with grep's exit code), the
record that stood at the as-of date (``study_versions``), and ``--standard who``; every date fixed.

The trials are real records of fixtures/ctgov/studies, or built from them (each test names what it changes).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from harvest.query import compliance
from harvest.sources.ctgov import ClinicalTrialsGov
from tests.compliance_helpers import (
    REAL,
    add_version,
    built,
    certificate,
    completed,
    last_updated,
    one,
    primary_completion,
    renumbered,
    row_dict,
    store_of,
    submitted_to_qc,
)
from tests.conftest import load_study
from tests.query_helpers import assert_one_line_error, cli


def _lines(result: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


# -- --changes-since ---------------------------------------------------------------------------------------------


@pytest.fixture
def changing(tmp_path: Path, source: ClinicalTrialsGov) -> Path:
    """The real NCT04267848 (deadline 2026-12-15, overdue from 2027-01-15) and NCT03418623 renumbered as
    NCT90000001 with results submitted to QC on 2027-01-15 (built; its deadline was 2021-03-13)."""
    path = tmp_path / "h.db"
    qc = built("NCT03418623", renumbered("NCT90000001"), submitted_to_qc({"releaseDate": "2027-01-15"}))
    store_of(path, source, load_study("NCT04267848"), qc).close()
    return path


def test_changes_since_lists_the_deadlines_passed(changing: Path) -> None:
    result = cli(changing, "compliance", "--changes-since", "2026-12-15", "--as-of", "2026-12-16", "--json")
    assert result.exit_code == 0, result.stderr
    assert _lines(result) == [
        {
            "change": "newly_due",
            "nct_id": "NCT04267848",
            "act_kind": "ACT",
            "lead_sponsor": "National Cancer Institute (NCI)",
            "organisation": "National Cancer Institute (NCI)",
            "outcome_before": "not_yet_due",
            "outcome": "not_yet_due",  # the deadline has passed; the grace period runs
            "due_date": "2026-12-15",
            "reported_date": None,
            "days_late": None,
            "since": "2026-12-15",
            "as_of": "2026-12-16",
        }
    ]
    assert result.stderr.strip() == (
        "1 change from 2026-12-15 to 2026-12-16: 1 newly due, 0 newly overdue, 0 newly reported, 0 no longer overdue"
    )


def test_changes_since_lists_the_newly_overdue_and_the_newly_reported(changing: Path) -> None:
    result = cli(changing, "compliance", "--changes-since", "2027-01-14", "--as-of", "2027-01-15", "--json")
    assert result.exit_code == 0, result.stderr
    found = [
        (row["change"], row["nct_id"], row["outcome_before"], row["outcome"], row["reported_date"])
        for row in _lines(result)
    ]
    assert found == [
        ("newly_overdue", "NCT04267848", "not_yet_due", "overdue", None),
        ("newly_reported", "NCT90000001", "overdue", "reported_late", "2027-01-15"),  # in QC since that day
    ]


def test_changes_since_with_nothing_to_list_is_exit_1_like_grep(changing: Path) -> None:
    result = cli(changing, "compliance", "--changes-since", "2026-12-01", "--as-of", "2026-12-14", "--table")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.strip().startswith("0 changes from 2026-12-01 to 2026-12-14")
    quiet = cli(changing, "-q", "compliance", "--changes-since", "2026-12-01", "--as-of", "2026-12-14")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (1, "", "")


def test_changes_since_table_reads_well(changing: Path) -> None:
    result = cli(changing, "compliance", "--changes-since", "2027-01-14", "--as-of", "2027-01-15", "--table")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["change", "nct_id", "organisation", "before", "now", "due", "reported", "late"]
    assert lines[2].startswith("newly_overdue   NCT04267848") and lines[2].endswith("31")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--changes-since", "2027-01-15", "--as-of", "2027-01-15"), "is not before the as-of date"),
        (("--changes-since", "yesterday"), "--changes-since: 'yesterday' is not a date"),
        (("--changes-since", "2025-01-01", "--by-sponsor"), "does not combine"),
    ],
)
def test_changes_since_refuses_what_it_cannot_do(changing: Path, args: tuple[str, ...], fragment: str) -> None:
    assert_one_line_error(cli(changing, "compliance", *args), 2, fragment)


def test_a_trial_leaving_the_overdue_list_without_reporting_is_listed(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    """Built from NCT03418623: its version of 2019-06-01 gave a primary completion of 2020-03-13 (overdue from
    2021-04-13); the current record, updated on 2021-06-10, moved it to 2021-12-31."""
    path = tmp_path / "h.db"
    current = built("NCT03418623", primary_completion("2021-12-31"), last_updated("2021-06-10"))
    store = store_of(path, source, current)
    with store.transaction():
        add_version(store, "NCT03418623", 0, "2019-06-01", load_study("NCT03418623"), source)
    store.close()
    result = cli(path, "compliance", "--changes-since", "2021-06-01", "--as-of", "2021-06-15", "--json")
    assert result.exit_code == 0, result.stderr
    assert [(r["change"], r["outcome_before"], r["outcome"], r["due_date"]) for r in _lines(result)] == [
        ("no_longer_overdue", "overdue", "not_yet_due", "2022-12-31")
    ]


# -- the record that stood at the as-of date ---------------------------------------------------------------------


def test_as_of_judges_each_trial_by_the_version_that_stood_and_says_which(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    """Built from NCT03418623 (primary completion 2020-03-13, last update 2020-10-05): version 0 of 2018-01-25
    still gave 2019-12 (estimated); version 1 of 2020-04-01 the real date. The real NCT04207047, without
    stored versions, is judged by its record as it is."""
    path = tmp_path / "h.db"
    store = store_of(path, source, load_study("NCT03418623"), load_study("NCT04207047"))
    with store.transaction():
        add_version(store, "NCT03418623", 0, "2018-01-25", built("NCT03418623", primary_completion("2019-12")), source)
        add_version(store, "NCT03418623", 1, "2020-04-01", load_study("NCT03418623"), source)
    try:
        at = {
            day: {row[0]: row_dict(row) for row in compliance.trials(store.db.conn, dt.date.fromisoformat(day))}
            for day in ("2017-12-01", "2020-03-01", "2020-06-01", "2021-06-01")
        }
    finally:
        store.close()

    def seen(day: str, nct: str) -> tuple[Any, ...] | None:
        row = at[day].get(nct)
        return row and (row["version_used"], row["version_date"], row["completion_date_used"], row["due_date"])

    assert seen("2017-12-01", "NCT03418623") is None  # not registered yet (first version 2018-01-25)
    assert seen("2020-03-01", "NCT03418623") == (0, "2018-01-25", "2019-12-31", "2020-12-30")
    assert seen("2020-06-01", "NCT03418623") == (1, "2020-04-01", "2020-03-13", "2021-03-13")
    assert seen("2021-06-01", "NCT03418623") == (None, "2020-10-05", "2020-03-13", "2021-03-13")  # the current one
    assert seen("2020-03-01", "NCT04207047") == (None, "2019-12-18", "2018-10-31", "2019-10-31")
    assert seen("2017-12-01", "NCT04207047") is None  # first submitted 2019-12-17: not registered yet


def test_the_trial_table_says_which_version_was_judged(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    path = tmp_path / "h.db"
    store = store_of(path, source, load_study("NCT03418623"))
    with store.transaction():
        add_version(store, "NCT03418623", 0, "2018-01-25", built("NCT03418623", primary_completion("2019-12")), source)
    store.close()
    result = cli(path, "compliance", "--as-of", "2020-03-01", "--table")
    assert result.stdout.splitlines()[2].endswith("version 0 of 2018-01-25")


# -- --standard who ------------------------------------------------------------------------------------------------


def test_who_holds_every_interventional_trial_to_12_months(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    path = tmp_path / "h.db"
    store_of(path, source, *(load_study(nct) for nct in REAL)).close()
    result = cli(path, "compliance", "--standard", "who", "--as-of", "2025-01-01", "--json")
    assert result.exit_code == 0, result.stderr
    rows = {row["nct_id"]: row for row in _lines(result)}
    seen = {nct: (r["act_kind"], r["due_date"], r["outcome"], r["days_late"], r["standard"]) for nct, r in rows.items()}
    assert seen == {
        # not FDA-regulated, abroad, or completed before 2017: no ACTs, all held to report by the WHO
        "NCT00763412": (None, "2014-01-31", "reported_late", 892, "WHO"),
        "NCT01126879": (None, "2014-05-09", "reported_late", 1818, "WHO"),
        "NCT02210780": (None, "2016-09-15", "reported_late", 1282, "WHO"),
        "NCT03630471": (None, "2020-01-20", "overdue", 1808, "WHO"),
        "NCT04175379": (None, "2022-08-31", "overdue", 854, "WHO"),
        "NCT05531279": (None, "2026-06-05", "not_yet_due", None, "WHO"),
        # the FDAAA ACTs and pACT are interventional too
        "NCT02513394": ("pACT", "2021-11-30", "reported_late", 63, "WHO"),
        "NCT03418623": ("ACT", "2021-03-13", "overdue", 1390, "WHO"),
        "NCT04207047": ("ACT", "2019-10-31", "overdue", 1889, "WHO"),
        "NCT04267848": ("ACT", "2026-12-15", "not_yet_due", None, "WHO"),
    }  # NCT03475563 and NCT06171568 are observational
    assert {row["finable_days_late"] for row in rows.values()} == {None}  # no fines under the WHO's rule
    assert result.stderr.strip() == (
        "10 interventional trials as of 2025-01-01 (WHO): 4 overdue, 4 reported late, 0 reported on time, 2 not yet due"
    )


def test_who_counts_12_calendar_months_no_grace_and_no_certificate(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    """Built from NCT03418623 with its primary completion on 2019-06-15 and a certificate of delay: FDAAA's
    365 days end on 2020-06-14 (29 February 2020 is within) and the certificate gives 3 years; the WHO's 12
    months end on 2020-06-15, with no delay, and the trial is overdue the next day."""
    record = built("NCT03418623", completed("2019-06-15"), certificate("2019-07-01"))
    fdaaa = one(tmp_path / "f", source, record, as_of=dt.date(2020, 6, 16))
    who = one(tmp_path / "w", source, record, as_of=dt.date(2020, 6, 16), standard="who")
    assert (fdaaa["due_date"], fdaaa["outcome"]) == ("2022-06-15", "not_yet_due")
    assert (who["due_date"], who["outcome"], who["days_late"], who["finable_days_late"]) == (
        "2020-06-15",
        "overdue",
        1,
        None,
    )
    plain = one(tmp_path / "p", source, built("NCT03418623", completed("2019-06-15")), as_of=dt.date(2020, 6, 16))
    assert plain["due_date"] == "2020-06-14"


def test_who_per_organisation(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    path = tmp_path / "h.db"
    store_of(path, source, *(load_study(nct) for nct in REAL)).close()
    result = cli(path, "compliance", "--standard", "who", "--as-of", "2025-01-01", "--by-sponsor", "--table")
    assert result.exit_code == 0, result.stderr
    assert (
        result.stdout.splitlines()[0]
        == "results reporting as of 2025-01-01 (WHO; interventional trials), per organisation"
    )
    assert "Sangath" in result.stdout
