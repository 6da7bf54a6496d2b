"""Results in the registry's quality control (QC): the ``submissions`` and ``pending_results`` tables, and how
the compliance rules count a submission (as TrialsTracker does since 2025: the first submission is the report
unless the sponsor cancelled it).

No real record with ``submissionTracking`` is at hand, so the QC cases are built: the real NCT03418623 (an ACT,
primary completion 2020-03-13, deadline 2021-03-13, no results) plus the block as the OpenAPI spec declares it
(``tests.compliance_helpers.submitted_to_qc``). ``pending_results`` is checked against AACT's own fixture and
the rows AACT's test expects of it.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from harvest.sources.ctgov import ClinicalTrialsGov
from harvest.store.tables import REWRITTEN_KEY
from tests.compliance_helpers import built, judged, one, results_submitted, store_of, submitted_to_qc
from tests.conftest import FIXTURES, parse_ctgov
from tests.query_helpers import cli

AACT_FIXTURE = FIXTURES / "compliance" / "aact_pending_result.json"


def _rows(path: Path, table: str, columns: str, order: str = "nct_id, position") -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT {columns} FROM {table} ORDER BY {order}").fetchall()
    finally:
        conn.close()


# -- the tables -------------------------------------------------------------------------------------------------


def test_pending_results_hold_what_aact_makes_of_its_own_fixture(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    """AACT's fixture (spec/support/json_data/pending_result.json) holds only an annotationSection; put into the
    real NCT03418623 (built), it gives the rows AACT's spec/models/pending_result_spec.rb expects."""
    annotation = json.loads(AACT_FIXTURE.read_text(encoding="utf-8"))["annotationSection"]

    def with_aact_annotation(record: dict[str, Any]) -> None:
        record["annotationSection"] = annotation

    store_of(tmp_path / "h.db", source, built("NCT03418623", with_aact_annotation)).close()
    # AACT's expected rows, event / event_date_description / event_date (its ids left out, as its test does)
    assert _rows(tmp_path / "h.db", "pending_results", "event, event_date_description, event_date") == [
        ("RELEASE", "2022-12-23", "2022-12-23"),
        ("RESET", "2023-10-20", "2023-10-20"),
        ("UNRELEASE", "2024-08-24", "2024-08-24"),
    ]


def test_submissions_hold_each_submission_with_its_return_and_cancellation(source: ClinicalTrialsGov) -> None:
    record = built(
        "NCT03418623",
        submitted_to_qc(
            {"releaseDate": "2021-02-01", "resetDate": "2021-03-01"},
            {"releaseDate": "2021-04-01", "unreleaseDate": "2021-04-20"},
            {"releaseDate": "2021-05-03", "unreleaseDateUnknown": True},
        ),
    )
    study = parse_ctgov(source, record)
    assert [tuple(row.model_dump().values()) for row in study.submissions] == [
        ("2021-02-01", "2021-03-01", None, None, 1),
        ("2021-04-01", None, "2021-04-20", None, 2),
        ("2021-05-03", None, None, True, 3),
    ]
    assert [(row.event, row.event_date) for row in study.pending_results] == [
        ("RELEASE", "2021-02-01"),
        ("RESET", "2021-03-01"),
        ("RELEASE", "2021-04-01"),
        ("UNRELEASE", "2021-04-20"),
        ("RELEASE", "2021-05-03"),
        ("UNRELEASE", None),  # a cancellation of unknown date: no date, no crash
    ]


def test_a_reparse_fills_the_qc_tables_from_the_stored_payloads_without_a_fetch(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    """A file of schema 5 stored the raw JSON but had no QC tables: the upgrade marks it, `harvest reparse` fills
    them (no base URL is set: a fetch would fail)."""
    path = tmp_path / "h.db"
    record = built("NCT03418623", submitted_to_qc({"releaseDate": "2021-02-01", "resetDate": "2021-03-01"}))
    store_of(path, source, record).close()
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE submissions")
    conn.execute("DROP TABLE pending_results")
    conn.execute("PRAGMA user_version = 5")
    conn.commit()
    conn.close()
    result = cli(path, "reparse")
    assert result.exit_code == 0, result.stderr
    assert _rows(path, "submissions", "nct_id, release_date, reset_date") == [
        ("NCT03418623", "2021-02-01", "2021-03-01")
    ]
    assert len(_rows(path, "pending_results", "event")) == 2
    # the rebuild is done and forgotten; the older file's record JSON was dropped, and when that was is kept
    assert _rows(path, "harvest_meta", "key", order="key") == [(REWRITTEN_KEY,)]


# -- how the rules count a submission ------------------------------------------------------------------------------


def _counted(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["outcome"],
        row["qc_submitted"],
        row["submission_cancelled"],
        row["days_late"],
        row["finable_days_late"],
    )


def test_nct03418623_built_with_results_in_qc_before_its_deadline_is_reported_on_time(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    record = built("NCT03418623", submitted_to_qc({"releaseDate": "2021-02-01", "resetDate": "2021-03-01"}))
    row = one(tmp_path, source, record)
    assert _counted(row) == ("reported_on_time", "2021-02-01", 0, None, None)
    assert row["results_submitted"] is None  # nothing posted: the submission in QC is the report


def test_nct03418623_built_with_results_in_qc_after_its_deadline_is_reported_late(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    # 2021-06-01 is 80 days after the deadline (2021-03-13), 50 after the grace period
    record = built("NCT03418623", submitted_to_qc({"releaseDate": "2021-06-01"}, {"releaseDate": "2021-09-01"}))
    row = one(tmp_path, source, record)
    assert _counted(row) == ("reported_late", "2021-06-01", 0, 80, 50)


def test_nct03418623_built_with_its_only_submission_cancelled_is_overdue(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    """A cancelled submission (unrelease) does not count: overdue from the deadline, as TrialsTracker's
    'overdue-cancelled'; the finable days count from the first submission, which was in time: none."""
    record = built("NCT03418623", submitted_to_qc({"releaseDate": "2021-02-01", "unreleaseDate": "2021-02-10"}))
    row = one(tmp_path, source, record)
    assert _counted(row) == ("overdue", None, 1, 1390, None)
    # before it was cancelled, the submission counted
    early = one(tmp_path / "early", source, record, as_of=dt.date(2021, 2, 5))
    assert (early["qc_submitted"], early["submission_cancelled"]) == ("2021-02-01", 0)


def test_nct03418623_built_with_a_cancellation_of_unknown_date_is_overdue_and_does_not_crash(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    record = built("NCT03418623", submitted_to_qc({"releaseDate": "2021-02-01", "unreleaseDateUnknown": True}))
    assert _counted(one(tmp_path, source, record)) == ("overdue", None, 1, 1390, None)


def test_nct03418623_built_cancelled_then_submitted_again_counts_the_new_submission(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    """TrialsTracker's restart date: the first submission after the last cancelled one. Days late count from
    it (2021-04-01: 19 days); finable days from the first submission (2021-02-01, in time: none)."""
    record = built(
        "NCT03418623",
        submitted_to_qc(
            {"releaseDate": "2021-02-01", "unreleaseDate": "2021-02-10"},
            {"releaseDate": "2021-04-01", "resetDate": "2021-05-01"},
            {"releaseDate": "2021-06-01"},
        ),
    )
    assert _counted(one(tmp_path, source, record)) == ("reported_late", "2021-04-01", 0, 19, None)


def test_nct03418623_built_with_a_submission_before_the_grace_period_ends_is_not_yet_due(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    """TrialsTracker reads QC only for trials whose results are due: within the grace period a trial in QC is
    'ongoing', as one with nothing submitted."""
    record = built("NCT03418623", submitted_to_qc({"releaseDate": "2021-02-01"}))
    row = one(tmp_path, source, record, as_of=dt.date(2021, 3, 20))
    assert _counted(row) == ("not_yet_due", "2021-02-01", 0, None, None)


def test_posted_results_are_counted_before_any_submission_in_qc(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    record = built("NCT03418623", submitted_to_qc({"releaseDate": "2021-02-01"}), results_submitted("2021-06-01"))
    row = one(tmp_path, source, record)
    assert (row["outcome"], row["results_submitted"], row["qc_submitted"], row["days_late"]) == (
        "reported_late",
        "2021-06-01",
        None,
        80,
    )


@pytest.mark.parametrize("standard", ["fdaaa", "who"])
def test_a_submission_dated_after_the_as_of_date_does_not_count(
    tmp_path: Path, source: ClinicalTrialsGov, standard: str
) -> None:
    record = built("NCT03418623", submitted_to_qc({"releaseDate": "2021-06-01"}))
    (row,) = judged(tmp_path, source, record, as_of=dt.date(2021, 5, 1), standard=standard).values()
    assert (row["outcome"], row["qc_submitted"]) == ("overdue", None)
