"""Results-reporting compliance (FDAAA 801) on real records and on cases built from them, at fixed as-of dates.

Every case is a real API v2 record from fixtures/ctgov/studies, as it is or with one thing changed, and is named
after both. The expected dates were worked out by hand from the JSON (and checked with Python's datetime, not
with the SQL under test): completion date used + 1 year + 30 days, or + 3 years + 30 days with a certificate of
delay. No test depends on today's date, except the one that checks the view (as of today) against the verb at
today's date, which holds on any day.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harvest.core.records import SourceRecord
from harvest.query import compliance
from harvest.query.datasette import TABLES, metadata
from harvest.sources.base import Batch
from harvest.sources.ctgov import ClinicalTrialsGov
from harvest.store.database import Store
from harvest.store.tables import REBUILD_KEY, SCHEMA_VERSION
from tests.conftest import STUDIES, apply, load_study, parse_ctgov
from tests.query_helpers import assert_one_line_error, cli

AS_OF = dt.date(2025, 1, 1)
REAL = sorted(p.name.removesuffix(".json") for p in STUDIES.glob("NCT*.json") if ".reconstructed." not in p.name)

Record = dict[str, Any]


def built(nct: str, *changes: Callable[[Record], None]) -> Record:
    """A copy of the real record ``nct`` with ``changes`` applied."""
    record = copy.deepcopy(load_study(nct))
    for change in changes:
        change(record)
    return record


def _status(record: Record) -> Record:
    return record["protocolSection"]["statusModule"]


def results_submitted(day: str | None) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        if day is None:
            _status(record).pop("resultsFirstSubmitDate", None)
        else:
            _status(record)["resultsFirstSubmitDate"] = day

    return change


def certificate(day: str | None) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        if day is None:
            _status(record).pop("dispFirstSubmitDate", None)
        else:
            _status(record)["dispFirstSubmitDate"] = day

    return change


def completed(day: str) -> Callable[[Record], None]:
    """Both completion dates moved to ``day``."""

    def change(record: Record) -> None:
        _status(record)["primaryCompletionDateStruct"] = {"date": day, "type": "ACTUAL"}
        _status(record)["completionDateStruct"] = {"date": day, "type": "ACTUAL"}

    return change


def primary_completion(day: str) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        _status(record)["primaryCompletionDateStruct"] = {"date": day, "type": "ACTUAL"}

    return change


def started(day: str) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        _status(record)["startDateStruct"] = {"date": day, "type": "ACTUAL"}

    return change


def status(word: str) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        _status(record)["overallStatus"] = word

    return change


def phases(*words: str) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        record["protocolSection"]["designModule"]["phases"] = list(words)

    return change


def purpose(word: str) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        record["protocolSection"]["designModule"]["designInfo"]["primaryPurpose"] = word

    return change


def fda_flags(drug: bool, device: bool) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        oversight = record["protocolSection"].setdefault("oversightModule", {})
        oversight["isFdaRegulatedDrug"] = drug
        oversight["isFdaRegulatedDevice"] = device

    return change


def us_sites_in(country: str | None) -> Callable[[Record], None]:
    """Every United States site moved to ``country``, or dropped (None)."""

    def change(record: Record) -> None:
        module = record["protocolSection"]["contactsLocationsModule"]
        kept = []
        for location in module["locations"]:
            if location.get("country") == "United States":
                if country is None:
                    continue
                location["country"] = country
            kept.append(location)
        module["locations"] = kept

    return change


def renumbered(nct: str) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        record["protocolSection"]["identificationModule"]["nctId"] = nct

    return change


def store_of(path: Path, source: ClinicalTrialsGov, *records: Record) -> Store:
    store = Store(path)
    batch = []
    for raw in records:
        study = parse_ctgov(source, raw)
        batch.append(
            SourceRecord("ctgov", f"/studies/{study.nct_id}", study.provenance.url, study, json.dumps(raw).encode())
        )
    apply(store, Batch(records=batch), source="ctgov")
    return store


def judged(
    tmp_path: Path, source: ClinicalTrialsGov, *records: Record, as_of: dt.date = AS_OF
) -> dict[str, dict[str, Any]]:
    """NCT number -> its results_compliance row at ``as_of``, for a file holding ``records``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    store = store_of(tmp_path / "h.db", source, *records)
    try:
        rows = compliance.trials(store.db.conn, as_of)
    finally:
        store.close()
    return {row[0]: dict(zip(compliance.RESULT_COLUMNS, row, strict=True)) for row in rows}


def one(tmp_path: Path, source: ClinicalTrialsGov, record: Record, as_of: dt.date = AS_OF) -> dict[str, Any]:
    (row,) = judged(tmp_path, source, record, as_of=as_of).values()
    return row


def outcome_of(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["act_kind"], row["completion_date_used"], row["due_date"], row["outcome"], row["days_overdue"])


# -- the real records ------------------------------------------------------------------------------------------


def test_of_the_real_records_four_owe_results(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    rows = judged(tmp_path, source, *(load_study(nct) for nct in REAL))
    assert {nct: outcome_of(row) for nct, row in rows.items()} == {
        # PHASE3, no FDA flags, started 2015-08, primary completion 2020-11 (-> Nov 30), sites in 21 countries
        # with the United States: a pACT; results submitted 2022-02-01, 33 days after 2021-12-30
        "NCT02513394": ("pACT", "2020-11-30", "2021-12-30", "reported_late", 33),
        # PHASE2, FDA-regulated drug, started 2018-03-08, primary completion 2020-03-13, no results
        "NCT03418623": ("ACT", "2020-03-13", "2021-04-12", "overdue", 1360),
        # NA phase, FDA-regulated device, started 2018-10-02, primary completion 2018-10-31, no results
        "NCT04207047": ("ACT", "2018-10-31", "2019-11-30", "overdue", 1859),
        # PHASE3, FDA-regulated drug, started 2020-06-16, primary completion 2025-12-15 (estimated)
        "NCT04267848": ("ACT", "2025-12-15", "2027-01-14", "not_yet_due", 0),
    }
    # NCT00763412, NCT01126879 and NCT02210780 completed before 2017-01-18; NCT03630471, NCT04175379 and
    # NCT05531279 say they are not FDA-regulated; NCT03475563 and NCT06171568 are observational.


def test_an_act_overdue_real_nct03418623(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    row = one(tmp_path, source, load_study("NCT03418623"))
    assert row == {
        "nct_id": "NCT03418623",
        "act_kind": "ACT",
        "lead_sponsor": "Laboratorio Farmaceutico Ct S.r.l.",
        "overall_status": "COMPLETED",
        "completion_date_used": "2020-03-13",
        "defaulted_date": 0,
        "due_date": "2021-04-12",
        "has_certificate": 0,
        "results_submitted": None,
        "outcome": "overdue",
        "days_overdue": 1360,
        "status_discrepancy": 0,
        "late_certificate": 0,
        "flags_absent": 0,
        "became_act_on": None,  # no record history stored
        "completion_moved_after_due": None,
        "as_of": "2025-01-01",
    }


def test_an_act_not_yet_due_real_nct04267848_falls_due_the_day_after_its_due_date(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    store = store_of(tmp_path / "h.db", source, load_study("NCT04267848"))
    try:
        at = {
            day: compliance.trials(store.db.conn, dt.date.fromisoformat(day))[0]
            for day in ("2026-06-01", "2027-01-14", "2027-01-15")
        }
    finally:
        store.close()
    outcome, days = compliance.RESULT_COLUMNS.index("outcome"), compliance.RESULT_COLUMNS.index("days_overdue")
    assert {day: (row[outcome], row[days]) for day, row in at.items()} == {
        "2026-06-01": ("not_yet_due", 0),
        "2027-01-14": ("not_yet_due", 0),  # due on 2027-01-14: overdue only once that day has passed
        "2027-01-15": ("overdue", 1),
    }


def test_a_month_precision_date_real_nct02513394_counts_as_the_months_last_day(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    row = one(tmp_path, source, load_study("NCT02513394"), as_of=dt.date(2026, 6, 1))
    assert (row["completion_date_used"], row["defaulted_date"], row["due_date"]) == ("2020-11-30", 1, "2021-12-30")
    # completion 2025-09 (estimated) has passed and the status is still ACTIVE_NOT_RECRUITING
    assert row["status_discrepancy"] == 1


def test_a_pact_real_nct02513394_with_us_sites_and_no_fda_flags(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    row = one(tmp_path, source, load_study("NCT02513394"))
    assert (row["act_kind"], row["flags_absent"], row["outcome"], row["days_overdue"]) == (
        "pACT",
        1,
        "reported_late",
        33,
    )
    assert row["status_discrepancy"] == 0  # its completion date (2025-09) is after 2025-01-01


def test_a_device_act_real_nct04207047_with_an_unknown_status_is_flagged(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    row = one(tmp_path, source, load_study("NCT04207047"))
    # primary completion 2018-10-31 and completion 2020-03-31 (estimated) both passed; status UNKNOWN
    assert (row["act_kind"], row["status_discrepancy"], row["defaulted_date"]) == ("ACT", 1, 0)


# -- cases built from real records ----------------------------------------------------------------------------


def test_nct03418623_with_results_submitted_2021_03_01_is_reported_on_time(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    row = one(tmp_path, source, built("NCT03418623", results_submitted("2021-03-01")))
    assert outcome_of(row) == ("ACT", "2020-03-13", "2021-04-12", "reported_on_time", 0)
    assert row["results_submitted"] == "2021-03-01"


def test_nct03418623_with_results_submitted_on_its_due_date_is_reported_on_time(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    row = one(tmp_path, source, built("NCT03418623", results_submitted("2021-04-12")))
    assert (row["outcome"], row["days_overdue"]) == ("reported_on_time", 0)


def test_nct03418623_with_results_submitted_2021_06_01_is_reported_late(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    record = built("NCT03418623", results_submitted("2021-06-01"))
    row = one(tmp_path, source, record)
    assert outcome_of(row) == ("ACT", "2020-03-13", "2021-04-12", "reported_late", 50)
    # at 2021-05-01 the results were not yet submitted: overdue by 19 days then
    before = one(tmp_path / "before", source, record, as_of=dt.date(2021, 5, 1))
    assert (before["outcome"], before["days_overdue"], before["results_submitted"]) == ("overdue", 19, None)


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("phase 1", phases("PHASE1")),
        ("early phase 1", phases("EARLY_PHASE1")),
        ("withdrawn", status("WITHDRAWN")),
        ("for device feasibility", purpose("DEVICE_FEASIBILITY")),
        ("not FDA-regulated", fda_flags(drug=False, device=False)),
    ],
)
def test_nct03418623_changed_is_no_act(
    tmp_path: Path, source: ClinicalTrialsGov, case: str, change: Callable[[Record], None]
) -> None:
    assert judged(tmp_path, source, built("NCT03418623", change)) == {}, case


def test_nct03418623_as_phase_1_phase_2_is_still_an_act(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    row = one(tmp_path, source, built("NCT03418623", phases("PHASE1", "PHASE2")))
    assert outcome_of(row) == ("ACT", "2020-03-13", "2021-04-12", "overdue", 1360)


def test_nct03418623_started_on_the_effective_date_is_an_act_and_the_day_before_a_pact(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    on = one(tmp_path / "on", source, built("NCT03418623", started("2017-01-18")))
    before = one(tmp_path / "before", source, built("NCT03418623", started("2017-01-17")))
    # the day before: a drug trial with US sites, completed after 2017-01-18, FDA flags present and true
    assert (on["act_kind"], before["act_kind"], before["flags_absent"]) == ("ACT", "pACT", 0)
    # known to the month only, December 2016 counts as Dec 31: before the effective date
    month = one(tmp_path / "month", source, built("NCT03418623", started("2016-12")))
    assert month["act_kind"] == "pACT"


def test_nct02210780_completed_2017_03_15_with_its_certificate_of_delay_is_reported_on_time(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    # The real record: started 2014-08-05, no FDA flags, US sites, certificate submitted 2017-02-07, results
    # 2020-03-20. Its completion moved from 2015-09-15 to 2017-03-15 makes it a pACT.
    record = built("NCT02210780", completed("2017-03-15"))
    row = one(tmp_path, source, record)
    # the certificate postpones the deadline to 2017-03-15 + 3 years + 30 days
    assert outcome_of(row) == ("pACT", "2017-03-15", "2020-04-14", "reported_on_time", 0)
    assert (row["has_certificate"], row["late_certificate"], row["flags_absent"]) == (1, 0, 1)
    # without the certificate the same results are 706 days late
    plain = one(tmp_path / "plain", source, built("NCT02210780", completed("2017-03-15"), certificate(None)))
    assert outcome_of(plain) == ("pACT", "2017-03-15", "2018-04-14", "reported_late", 706)
    assert plain["has_certificate"] == 0
    # before the certificate was submitted (2017-02-07) it does not count
    early = one(tmp_path / "early", source, record, as_of=dt.date(2017, 1, 1))
    assert (early["has_certificate"], early["due_date"], early["outcome"]) == (0, "2018-04-14", "not_yet_due")


def test_nct03418623_with_a_certificate_filed_2021_05_01_is_flagged_late_and_still_postponed(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    # filed more than a year after the completion date (2020-03-13); TrialsTracker still lets it postpone
    row = one(tmp_path, source, built("NCT03418623", certificate("2021-05-01")))
    assert outcome_of(row) == ("ACT", "2020-03-13", "2023-04-12", "overdue", 630)
    assert (row["has_certificate"], row["late_certificate"]) == (1, 1)


@pytest.mark.parametrize(
    ("given", "used", "due"),
    [
        ("2018-10", "2018-10-31", "2019-11-30"),  # known to the month: the month's last day
        ("2018", "2018-12-31", "2020-01-30"),  # known to the year: Dec 31
        ("2018-10-31", "2018-10-31", "2019-11-30"),  # the real record: a day, nothing defaulted
    ],
)
def test_nct04207047_with_its_primary_completion_at_month_or_year_precision_is_defaulted(
    tmp_path: Path, source: ClinicalTrialsGov, given: str, used: str, due: str
) -> None:
    row = one(tmp_path, source, built("NCT04207047", primary_completion(given)))
    assert (row["completion_date_used"], row["due_date"], row["defaulted_date"]) == (used, due, int(len(given) < 10))


def test_nct04207047_without_a_primary_completion_date_uses_the_completion_date(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    def drop(record: Record) -> None:
        del _status(record)["primaryCompletionDateStruct"]

    row = one(tmp_path, source, built("NCT04207047", drop))
    # completionDateStruct 2020-03-31 (estimated)
    assert (row["completion_date_used"], row["due_date"]) == ("2020-03-31", "2021-04-30")


def test_nct02513394_without_its_us_sites_is_no_pact(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    assert judged(tmp_path, source, built("NCT02513394", us_sites_in(None))) == {}


@pytest.mark.parametrize("territory", ["Puerto Rico", "Virgin Islands (U.S.)", "Guam"])
def test_nct02513394_with_its_us_sites_in_a_territory_is_a_pact(
    tmp_path: Path, source: ClinicalTrialsGov, territory: str
) -> None:
    assert one(tmp_path, source, built("NCT02513394", us_sites_in(territory)))["act_kind"] == "pACT"


@pytest.mark.parametrize(
    ("drug", "device", "expected"),
    [(True, False, ("pACT", 0)), (False, True, ("pACT", 0)), (False, False, None)],
)
def test_nct02513394_with_fda_flags_set(
    tmp_path: Path, source: ClinicalTrialsGov, drug: bool, device: bool, expected: tuple[str, int] | None
) -> None:
    rows = judged(tmp_path, source, built("NCT02513394", fda_flags(drug, device)))
    assert ((rows["NCT02513394"]["act_kind"], rows["NCT02513394"]["flags_absent"]) if rows else None) == expected


# -- per sponsor, the CLI, the views ----------------------------------------------------------------------------

# One sponsor with three trials: the real NCT03418623 (overdue) and two copies under new numbers.
SPONSOR = "Laboratorio Farmaceutico Ct S.r.l."


def sponsor_records() -> list[Record]:
    return [
        *(load_study(nct) for nct in REAL),
        built("NCT03418623", renumbered("NCT93418623"), results_submitted("2021-03-01")),  # on time
        built("NCT03418623", renumbered("NCT93418624"), results_submitted("2021-06-01")),  # 50 days late
    ]


@pytest.fixture(scope="module")
def compliance_db(tmp_path_factory: pytest.TempPathFactory, source: ClinicalTrialsGov) -> Path:
    path = tmp_path_factory.mktemp("compliance") / "harvest.db"
    store_of(path, source, *sponsor_records()).close()
    return path


def test_sponsor_counts(compliance_db: Path) -> None:
    conn = sqlite3.connect(compliance_db)
    try:
        rows = compliance.sponsors(conn, AS_OF)
        (total,) = compliance.sponsors(conn, AS_OF, grouped=False)
    finally:
        conn.close()
    table = {row[0]: dict(zip(compliance.SPONSOR_COLUMNS, row, strict=True)) for row in rows}
    assert table[SPONSOR] == {
        "lead_sponsor": SPONSOR,
        "trials": 3,
        "pacts_flags_absent": 0,
        "not_yet_due": 0,
        "due": 3,
        "reported_on_time": 1,
        "reported_late": 1,
        "overdue": 1,
        "share_compliant": 0.333,
        "days_overdue": 1360 + 50,
        "as_of": "2025-01-01",
    }
    assert table["Alliance Foundation Trials, LLC."]["pacts_flags_absent"] == 1
    assert table["National Cancer Institute (NCI)"]["share_compliant"] is None  # nothing due yet
    # most overdue first: LUTRONIC (1 trial, 1,859 days) before the sponsor above (1 trial, 1,410 days)
    assert [row[0] for row in rows][:2] == ["LUTRONIC Corporation", SPONSOR]
    named = dict(zip(compliance.SPONSOR_COLUMNS, total, strict=True))
    assert (named["trials"], named["due"], named["overdue"], named["reported_on_time"]) == (6, 5, 2, 1)
    assert named["share_compliant"] == 0.2


def test_cli_json_prints_one_object_per_trial_with_the_views_columns(compliance_db: Path) -> None:
    result = cli(compliance_db, "compliance", "--as-of", "2025-01-01", "--json")
    assert result.exit_code == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["nct_id"] for o in objects] == [
        "NCT02513394",
        "NCT03418623",
        "NCT04207047",
        "NCT04267848",
        "NCT93418623",
        "NCT93418624",
    ]
    assert all(list(o) == list(compliance.RESULT_COLUMNS) for o in objects)
    assert objects[1]["outcome"] == "overdue" and objects[1]["days_overdue"] == 1360
    assert result.stderr.strip() == (
        "6 trials (5 ACT, 1 pACT) as of 2025-01-01: 2 overdue, 2 reported late, 1 reported on time, 1 not yet due;"
        " 1 pACT has no FDA-regulation flags (counted as pACTs, see README)"
    )


def test_cli_filters_by_sponsor_and_outcome(compliance_db: Path) -> None:
    result = cli(compliance_db, "compliance", "--as-of", "2025-01-01", "--json", "--sponsor", "laboratorio farm")
    assert [json.loads(line)["nct_id"] for line in result.stdout.splitlines()] == [
        "NCT03418623",
        "NCT93418623",
        "NCT93418624",
    ]
    result = cli(
        compliance_db,
        "compliance",
        "--as-of",
        "2025-01-01",
        "--json",
        "--outcome",
        "overdue",
        "--outcome",
        "reported_late",
    )
    found = {json.loads(line)["nct_id"]: json.loads(line)["outcome"] for line in result.stdout.splitlines()}
    assert found == {
        "NCT02513394": "reported_late",
        "NCT03418623": "overdue",
        "NCT04207047": "overdue",
        "NCT93418624": "reported_late",
    }
    # LIKE's wildcards in --sponsor are plain characters
    result = cli(compliance_db, "compliance", "--as-of", "2025-01-01", "--json", "--sponsor", "%")
    assert result.exit_code == 0 and result.stdout == ""


def test_cli_csv(compliance_db: Path) -> None:
    result = cli(compliance_db, "compliance", "--as-of", "2025-01-01", "--csv", "--outcome", "not_yet_due")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == list(compliance.RESULT_COLUMNS)
    assert rows[1:] == [
        [
            "NCT04267848",
            "ACT",
            "National Cancer Institute (NCI)",
            "RECRUITING",
            "2025-12-15",
            "0",
            "2027-01-14",
            "0",
            "",
            "not_yet_due",
            "0",
            "0",
            "0",
            "0",
            "",
            "",
            "2025-01-01",
        ]
    ]


def test_cli_table(compliance_db: Path) -> None:
    result = cli(compliance_db, "compliance", "--as-of", "2025-01-01", "--table", "--sponsor", "alliance")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "nct_id",
        "kind",
        "lead",
        "sponsor",
        "completion",
        "due",
        "results",
        "outcome",
        "days",
        "notes",
    ]
    assert lines[2].split("  ")[0] == "NCT02513394"
    assert "2020-11-30  2021-12-30  2022-02-01  reported_late" in lines[2]
    assert lines[2].endswith("33  date defaulted, no FDA flags")


def test_cli_by_sponsor_table_reads_well(compliance_db: Path) -> None:
    result = cli(compliance_db, "compliance", "--as-of", "2025-01-01", "--by-sponsor", "--table")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "results reporting as of 2025-01-01 (FDAAA 801; ACTs and pACTs)"
    header = lines[2]
    assert header.split("  ")[0].strip() == "lead sponsor" and header.endswith("days overdue")
    width = len(header)
    body = lines[4:8]
    assert all(len(line) == width for line in body)  # numbers right-aligned under their headings
    assert body[0].startswith("LUTRONIC Corporation") and body[0].endswith("1,859")
    assert body[1].startswith(SPONSOR) and " 33% " in body[1] and body[1].endswith("1,410")
    total = lines[9]
    assert total.startswith("all 4 sponsors") and total.endswith("3,302")
    assert all(len(line) <= 120 for line in lines[:10])


def test_cli_by_sponsor_json_and_csv(compliance_db: Path) -> None:
    result = cli(
        compliance_db, "compliance", "--as-of", "2025-01-01", "--by-sponsor", "--json", "--sponsor", "lutronic"
    )
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {
            "lead_sponsor": "LUTRONIC Corporation",
            "trials": 1,
            "pacts_flags_absent": 0,
            "not_yet_due": 0,
            "due": 1,
            "reported_on_time": 0,
            "reported_late": 0,
            "overdue": 1,
            "share_compliant": 0.0,
            "days_overdue": 1859,
            "as_of": "2025-01-01",
        }
    ]
    result = cli(compliance_db, "compliance", "--as-of", "2025-01-01", "--by-sponsor", "--csv")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == list(compliance.SPONSOR_COLUMNS) and len(rows) == 5


@pytest.mark.parametrize("bad", ["2025-13-01", "tomorrow", "2025-02-30"])
def test_cli_an_invalid_as_of_date_is_exit_2_with_one_line(compliance_db: Path, bad: str) -> None:
    assert_one_line_error(cli(compliance_db, "compliance", "--as-of", bad), 2, "--as-of", repr(bad))


def test_cli_outcome_with_by_sponsor_is_exit_2(compliance_db: Path) -> None:
    result = cli(compliance_db, "compliance", "--by-sponsor", "--outcome", "overdue", "--as-of", "2025-01-01")
    assert_one_line_error(result, 2, "--outcome")


def test_the_views_are_the_verb_at_todays_date(compliance_db: Path) -> None:
    conn = sqlite3.connect(compliance_db)
    try:
        today = dt.date.fromisoformat(conn.execute("SELECT date('now')").fetchone()[0])
        assert conn.execute("SELECT * FROM results_compliance").fetchall() == compliance.trials(conn, today)
        assert conn.execute("SELECT * FROM sponsor_compliance").fetchall() == compliance.sponsors(conn, today)
    finally:
        conn.close()


def test_the_views_are_described_for_datasette_with_a_facet_on_outcome(compliance_db: Path) -> None:
    conn = sqlite3.connect(compliance_db)
    try:
        for view in ("results_compliance", "sponsor_compliance"):
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({view})")]
            description, described = TABLES[view]
            assert description and list(described) == columns and all(described.values()), view
    finally:
        conn.close()
    tables = metadata("harvest")["databases"]["harvest"]["tables"]
    assert tables["results_compliance"]["facets"][0] == "outcome"


def test_a_schema_4_file_gains_the_views_without_a_rebuild(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("DROP VIEW sponsor_compliance")
    conn.execute("DROP VIEW results_compliance")
    conn.execute("INSERT INTO studies (nct_id) VALUES ('NCT03418623')")
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()
    Store(path).close()
    conn = sqlite3.connect(path)
    try:
        views = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
        assert {"results_compliance", "sponsor_compliance"} <= views
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 5
        assert conn.execute("SELECT value FROM harvest_meta WHERE key = ?", (REBUILD_KEY,)).fetchall() == []
    finally:
        conn.close()


# -- with the record history ----------------------------------------------------------------------------------


def _version(store: Store, nct: str, version: int, day: str, record: Record, source: ClinicalTrialsGov) -> None:
    study = parse_ctgov(source, record)
    text, digest = study.record_json()
    store.conn.execute(
        "INSERT INTO study_versions (nct_id, version, version_date, overall_status, content_hash, record) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (nct, version, day, study.overall_status, digest, text),
    )


def test_history_says_when_a_trial_became_an_act_and_whether_its_completion_moved_once_due(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    """Built from NCT03418623 (an ACT, primary completion 2020-03-13, due 2021-04-12): its first version had no
    FDA flag (no ACT yet), the second set it; a version dated 2021-06-01, after the due date, moved the date."""
    current = load_study("NCT03418623")
    store = store_of(tmp_path / "h.db", source, current)
    try:
        with store.transaction():
            _version(store, "NCT03418623", 0, "2018-01-25", built("NCT03418623", fda_flags(False, False)), source)
            _version(store, "NCT03418623", 1, "2019-06-01", current, source)
            store.conn.execute(
                "INSERT INTO version_changes (nct_id, version, version_date, field, old, new) VALUES (?,?,?,?,?,?)",
                ("NCT03418623", 2, "2021-06-01", "primary_completion_date",
                 '{"type": "ESTIMATED", "value": "2020-03-13"}', '{"type": "ACTUAL", "value": "2020-09-30"}'),
            )  # fmt: skip
        rows = {
            as_of: dict(zip(compliance.RESULT_COLUMNS, row, strict=True))
            for as_of in (dt.date(2019, 1, 1), dt.date(2021, 5, 1), dt.date(2025, 1, 1))
            for row in compliance.trials(store.db.conn, as_of)
        }
    finally:
        store.close()
    seen = {day: (r["became_act_on"], r["completion_moved_after_due"]) for day, r in rows.items()}
    assert seen == {
        dt.date(2019, 1, 1): (None, 0),  # only the flag-less version existed then
        dt.date(2021, 5, 1): ("2019-06-01", 0),  # due, but not moved yet
        dt.date(2025, 1, 1): ("2019-06-01", 1),  # moved seven weeks after it fell due
    }


def test_a_move_before_the_due_date_is_not_flagged(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    current = load_study("NCT03418623")
    store = store_of(tmp_path / "h.db", source, current)
    try:
        with store.transaction():
            _version(store, "NCT03418623", 0, "2019-06-01", current, source)
            store.conn.execute(
                "INSERT INTO version_changes (nct_id, version, version_date, field, old, new) VALUES (?,?,?,?,?,?)",
                ("NCT03418623", 1, "2020-06-01", "primary_completion_date",
                 '{"type": "ESTIMATED", "value": "2020-03"}', '{"type": "ACTUAL", "value": "2020-03-13"}'),
            )  # fmt: skip
        (row,) = compliance.trials(store.db.conn, dt.date(2025, 1, 1))
    finally:
        store.close()
    judged_row = dict(zip(compliance.RESULT_COLUMNS, row, strict=True))
    assert (judged_row["became_act_on"], judged_row["completion_moved_after_due"]) == ("2019-06-01", 0)
