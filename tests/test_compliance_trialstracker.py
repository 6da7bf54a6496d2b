"""harvest against FDAAA TrialsTracker's own test rows: the outcome, the deadline and both day counts equal what
TrialsTracker's code gives, row for row (fixtures/compliance/trialstracker, README there).

- Its tracker's tests (``test_models.py``, ``test_import.py`` with ``sample_bq.csv``) give a trial's completion
  date, results, QC submissions and a day, and assert its status, ``days_late``, ``finable_days_late`` or
  ``calculated_due_date``; its sponsor ranking tests assert ``percentage``, ``rank`` and the summed days. They
  are transcribed in ``tracker_cases.csv``, ``tracker_rankings*.csv``. Their dates lie before 2017, when no
  trial could be an ACT, so each is built from the real ACT NCT03418623 with every date moved 8 years on (the
  Gregorian leap years repeat every 4 years from 1901 to 2099: every interval, 29 February included, is kept).
- Its converter's test (``expected_trials_data.csv``, five real trials at 2020-01-01) gives the ACT and pACT
  flags, ``results_due`` and the data-quality flags; each trial is built from a real record with the row's
  values, and the tracker's figures for those rows were worked out by hand from ``trial_computer.py``.
- The exception is the January 2017 snapshot of the old "FDA regulated" field, which harvest does not hold:
  a pACT with both flags absent is counted, and counted apart (``flags_absent``); the excerpt of the snapshot
  for these trials shows where TrialsTracker would leave one out.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harvest.query import compliance
from harvest.sources.ctgov import ClinicalTrialsGov
from tests.compliance_helpers import (
    Record,
    built,
    certificate,
    completed,
    fda_flags,
    lead_sponsor,
    one,
    phases,
    purpose,
    renumbered,
    results_submitted,
    row_dict,
    started,
    status,
    status_module,
    store_of,
    submitted_to_qc,
)
from tests.conftest import FIXTURES

HERE = FIXTURES / "compliance" / "trialstracker"
SHIFT_YEARS = 8
# TrialsTracker's statuses as harvest's outcomes (and whether a cancelled QC submission is why it is overdue)
STATUS = {
    "ongoing": ("not_yet_due", 0),
    "reported": ("reported_on_time", 0),
    "reported-late": ("reported_late", 0),
    "overdue": ("overdue", 0),
    "overdue-cancelled": ("overdue", 1),
}


def _read(name: str) -> list[dict[str, str]]:
    with (HERE / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def shifted(day: str) -> str:
    """``day`` 8 years on (a 29 February lands on one)."""
    value = dt.date.fromisoformat(day)
    return value.replace(year=value.year + SHIFT_YEARS).isoformat()


def _shift_qc(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: shifted(v) if k.endswith("Date") else v for k, v in item.items()} for item in items]


def _expected(value: str) -> Any:
    """A value the test asserts: a number, None (TrialsTracker's None), or absent (not asserted: "")."""
    if value == "None":
        return None
    return int(value) if value.lstrip("-").isdigit() else value


def tracker_trial(case: dict[str, str], number: int) -> Record:
    """The case as a trial: NCT03418623 (an FDA-regulated drug, PHASE2) renumbered, its dates the case's."""
    completion = shifted(case["completion_date"])
    changes: list[Callable[[Record], None]] = [
        renumbered(f"NCT9{number:07d}"),
        completed(completion),
        started(shifted(case["start_date"] or "2015-01-01")),  # makeTrial's default start
        results_submitted(shifted(case["results_submitted"]) if case["results_submitted"] else None),
        # the tests give an exemption, not the certificate's date: filed at completion, it counts from then
        certificate(completion if case["has_certificate"] == "1" else None),
        lead_sponsor(case["sponsor"] or "Sponsor 1"),
    ]
    if qc := json.loads(case["qc"]):
        changes.append(submitted_to_qc(*_shift_qc(qc)))
    return built("NCT03418623", *changes)


def judged_at_their_dates(path: Path, source: ClinicalTrialsGov, cases: list[dict[str, str]]) -> dict[str, Any]:
    """case -> its row, each judged at its own (shifted) as-of date, all from one file."""
    store = store_of(path, source, *(tracker_trial(case, n) for n, case in enumerate(cases, 1)))
    try:
        out = {}
        for as_of in sorted({case["as_of"] for case in cases}):
            rows = {
                row[0]: row_dict(row) for row in compliance.trials(store.db.conn, dt.date.fromisoformat(shifted(as_of)))
            }
            for n, case in enumerate(cases, 1):
                if case["as_of"] == as_of:
                    out[case["case"]] = rows.get(f"NCT9{n:07d}")
        return out
    finally:
        store.close()


@pytest.fixture(scope="module")
def tracker_rows(tmp_path_factory: pytest.TempPathFactory, source: ClinicalTrialsGov) -> dict[str, Any]:
    return judged_at_their_dates(tmp_path_factory.mktemp("tracker") / "h.db", source, _read("tracker_cases.csv"))


CASES = _read("tracker_cases.csv")


@pytest.mark.parametrize("case", CASES, ids=[case["case"] for case in CASES])
def test_the_tracker_test_rows(tracker_rows: dict[str, Any], case: dict[str, str]) -> None:
    row = tracker_rows[case["case"]]
    assert row is not None, f"{case['case']} ({case['test']}) is no ACT or pACT in harvest"
    asserted: dict[str, Any] = {}
    found: dict[str, Any] = {}
    if case["status"]:
        asserted["outcome"] = STATUS[case["status"]]
        found["outcome"] = (row["outcome"], row["submission_cancelled"])
    for column in ("days_late", "finable_days_late"):
        if case[column]:
            asserted[column], found[column] = _expected(case[column]), row[column]
    if case["due_date"]:
        asserted["due_date"], found["due_date"] = shifted(case["due_date"]), row["due_date"]
    assert asserted, "every row asserts something"
    assert found == asserted, case["test"]


def test_a_reported_trial_under_qa_is_reported_on_its_first_submission(tracker_rows: dict[str, Any]) -> None:
    # TrialsTracker's calculated_reported_date: the first QA submission when nothing is posted (2016-02-01)
    assert tracker_rows["reported_trial_under_qa"]["qc_submitted"] == shifted("2016-02-01")
    # and qa_start_dates(overdueinqa)[0] == 2017-11-13
    assert tracker_rows["overdueinqa"]["qc_submitted"] == shifted("2017-11-13")


def test_the_tracker_sponsor_rankings(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    """RankingTestCase imports three snapshots (each its own file here); test_import ranks the sample_bq.csv
    sponsors, "3M" and "3m" being one sponsor (TrialsTracker's slug folds case; harvest's key does too)."""
    expected = {(row["snapshot"], row["sponsor"]): row for row in _read("tracker_rankings_expected.csv")}
    found: dict[tuple[str, str], dict[str, Any]] = {}
    trials = _read("tracker_rankings.csv")
    for snapshot in sorted({row["snapshot"] for row in trials}):
        cases = [
            {"case": f"{snapshot}-{n}", "completion_date": "2016-01-01", "has_certificate": "0", "qc": "[]",
             "results_submitted": snapshot if row["has_results"] == "1" else "", "start_date": "",
             "sponsor": row["sponsor"]}
            for n, row in enumerate(trials) if row["snapshot"] == snapshot
        ]  # fmt: skip
        found.update(_ranking(tmp_path / snapshot, source, cases, "2018-03-01", snapshot))
    sample = [case for case in CASES if case["test"].startswith("test_import.py")]
    found.update(_ranking(tmp_path / "sample", source, sample, "2018-01-01", "sample_bq"))
    for key, want in expected.items():
        got = found[key]
        for column in ("percentage", "rank", "days_late", "finable_days_late"):
            if want[column]:
                assert got[column] == _expected(want[column]), (key, column, want["test"])


def _ranking(
    path: Path, source: ClinicalTrialsGov, cases: list[dict[str, str]], as_of: str, label: str
) -> dict[tuple[str, str], dict[str, Any]]:
    path.mkdir(parents=True)
    store = store_of(path / "h.db", source, *(tracker_trial(case, n) for n, case in enumerate(cases, 1)))
    try:
        rows = compliance.sponsors(store.db.conn, dt.date.fromisoformat(shifted(as_of)))
    finally:
        store.close()
    return {(label, row[0]): dict(zip(compliance.SPONSOR_COLUMNS, row, strict=True)) for row in rows}


# -- the converter's test rows ------------------------------------------------------------------------------------

PHASES = {"Phase 2": "PHASE2", "Phase 3": "PHASE3", "N/A": "NA"}
# What TrialsTracker's tracker makes of the converter's rows at 2020-01-01 (worked out by hand from
# trial_computer.py: deadline = completion + 365 days, or + 3 years with a certificate).
TRACKED = {
    "NCT01275365": ("2018-01-19", "reported_on_time", None, None),  # results on the deadline itself
    "NCT02251236": ("2018-01-18", "overdue", 713, 683),
    "NCT01891968": ("2018-01-18", "overdue", 713, 683),
    "NCT03400163": ("2020-01-18", "not_yet_due", None, None),  # certificate: due 3 years after completion
    "NCT02413372": ("2020-01-18", "not_yet_due", None, None),
}


def converter_trial(row: dict[str, str]) -> Record:
    """A converter row as a trial: NCT02210780 (no FDA flags, US sites, drugs) when the row has no flags, else
    NCT03418623 (an FDA-regulated drug), with the row's NCT number, sponsor, dates, phase, status, purpose."""
    flagged = bool(row["fda_reg_drug"] or row["fda_reg_device"])
    changes: list[Callable[[Record], None]] = [
        renumbered(row["nct_id"]),
        lead_sponsor(row["sponsor"]),
        started(row["start_date"]),
        completed(row["available_completion_date"]),
        results_submitted(row["results_submitted_date"] or None),
        certificate(row["certificate_date"] or None),
        phases(PHASES[row["phase"]]),
        status(row["study_status"].upper()),
        purpose(row["primary_purpose"].upper()),
    ]
    if flagged:
        changes.append(fda_flags(row["fda_reg_drug"] == "Yes", row["fda_reg_device"] == "Yes"))
    return built("NCT03418623" if flagged else "NCT02210780", *changes)


def test_the_converter_test_rows(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    converter = _read("converter_expected_trials_data.csv")
    store = store_of(tmp_path / "h.db", source, *(converter_trial(row) for row in converter))
    try:
        rows = {row[0]: row_dict(row) for row in compliance.trials(store.db.conn, dt.date(2020, 1, 1))}
    finally:
        store.close()
    for expected in converter:
        row = rows[expected["nct_id"]]
        kind = "ACT" if expected["act_flag"] == "1" else "pACT" if expected["included_pact_flag"] == "1" else None
        assert (
            row["act_kind"],
            int(row["outcome"] != "not_yet_due"),  # the converter's results_due
            row["status_discrepancy"],
            row["late_certificate"],
            row["defaulted_date"],
        ) == (
            kind,
            int(expected["results_due"]),
            int(expected["discrep_date_status"]),
            int(expected["late_cert"]),
            int(expected["defaulted_date"]),
        ), expected["nct_id"]
        assert (row["due_date"], row["outcome"], row["days_late"], row["finable_days_late"]) == TRACKED[
            expected["nct_id"]
        ]


def test_the_january_2017_snapshot_is_the_one_difference_and_is_counted_apart(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    """harvest counts a pACT with both FDA flags absent; TrialsTracker decides it with the snapshot. Of the
    real records, NCT02513394 and NCT02210780 have no flags and the snapshot says FDA-regulated: both agree.
    NCT00763412, built without its flags and completed after 2017-01-18, is one the snapshot says was not:
    TrialsTracker would leave it out, harvest lists it with flags_absent = 1 and counts it apart."""
    snapshot = {row["nct_id"]: row["is_fda_regulated"] for row in _read("fdaaa_regulatory_snapshot_excerpt.csv")}

    def no_flags(record: Record) -> None:
        record["protocolSection"].pop("oversightModule", None)

    apart = built("NCT00763412", no_flags, completed("2017-06-30"))
    rows = {}
    for n, record in enumerate([apart, built("NCT02513394"), built("NCT02210780", completed("2017-03-15"))]):
        row = one(tmp_path / str(n), source, record)
        rows[row["nct_id"]] = row
    assert {nct: (row["act_kind"], row["flags_absent"], snapshot[nct]) for nct, row in rows.items()} == {
        "NCT00763412": ("pACT", 1, "false"),  # the exception: TrialsTracker's snapshot leaves it out
        "NCT02513394": ("pACT", 1, "true"),
        "NCT02210780": ("pACT", 1, "true"),
    }
    line = compliance.summary([tuple(row.values()) for row in rows.values()], dt.date(2025, 1, 1))
    assert line.endswith("3 pACTs have no FDA-regulation flags (counted as pACTs, see README)")


def test_a_trial_built_from_a_converter_row_carries_only_the_rows_dates() -> None:
    """The harness itself: no date of the real record the trial is built from leaks into it."""
    row = _read("converter_expected_trials_data.csv")[1]
    record = converter_trial(row)
    dates = status_module(record)
    assert (dates["startDateStruct"]["date"], dates["primaryCompletionDateStruct"]["date"]) == (
        row["start_date"],
        row["available_completion_date"],
    )
    assert "resultsFirstSubmitDate" not in dates and "dispFirstSubmitDate" not in dates
