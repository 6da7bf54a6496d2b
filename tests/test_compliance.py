"""Results-reporting compliance (FDAAA 801) on real records and on cases built from them, at fixed as-of dates.

Every case is a real API v2 record from fixtures/ctgov/studies, as it is or with one thing changed (built), and
is named after both. The expected values were worked out by hand from the JSON by TrialsTracker's rules (and
checked with Python's datetime, not with the SQL under test): the deadline is the completion date used + 365
days (``models.py`` calculated_due_date), or + 3 years with a certificate of delay; a trial is overdue once 30
days have passed since it with nothing reported (the grace period of ``trial_computer.py``); days_late counts
from the deadline, finable_days_late from the deadline + 30 days. No test depends on today's date, except the
one that checks the view (as of today) against the verb at today's date, which holds on any day.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from harvest.query import compliance
from harvest.query.datasette import TABLES, metadata
from harvest.sources.ctgov import ClinicalTrialsGov
from harvest.store.database import Store
from harvest.store.tables import REBUILD_KEY, SCHEMA_VERSION
from tests.compliance_helpers import (
    AS_OF,
    REAL,
    Record,
    add_version,
    built,
    certificate,
    completed,
    fda_flags,
    judged,
    one,
    outcome_of,
    phases,
    primary_completion,
    purpose,
    renumbered,
    results_submitted,
    started,
    status,
    status_module,
    store_of,
    us_sites_in,
)
from tests.conftest import load_study
from tests.query_helpers import assert_one_line_error, cli

# -- the real records ------------------------------------------------------------------------------------------


def test_of_the_real_records_four_owe_results(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    rows = judged(tmp_path, source, *(load_study(nct) for nct in REAL))
    assert {nct: outcome_of(row) for nct, row in rows.items()} == {
        # PHASE3, no FDA flags, started 2015-08, primary completion 2020-11 (-> Nov 30), sites in 21 countries
        # with the United States: a pACT; deadline 2021-11-30, results submitted 2022-02-01: 63 days late,
        # 33 of them finable
        "NCT02513394": ("pACT", "2020-11-30", "2021-11-30", "reported_late", 63, 33),
        # PHASE2, FDA-regulated drug, started 2018-03-08, primary completion 2020-03-13, no results
        "NCT03418623": ("ACT", "2020-03-13", "2021-03-13", "overdue", 1390, 1360),
        # NA phase, FDA-regulated device, started 2018-10-02, primary completion 2018-10-31, no results
        "NCT04207047": ("ACT", "2018-10-31", "2019-10-31", "overdue", 1889, 1859),
        # PHASE3, FDA-regulated drug, started 2020-06-16, primary completion 2025-12-15 (estimated)
        "NCT04267848": ("ACT", "2025-12-15", "2026-12-15", "not_yet_due", None, None),
    }
    # NCT00763412, NCT01126879 and NCT02210780 completed before 2017-01-18; NCT03630471, NCT04175379 and
    # NCT05531279 say they are not FDA-regulated; NCT03475563 and NCT06171568 are observational.


def test_an_act_overdue_real_nct03418623(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    row = one(tmp_path, source, load_study("NCT03418623"))
    assert row == {
        "nct_id": "NCT03418623",
        "act_kind": "ACT",
        "lead_sponsor": "Laboratorio Farmaceutico Ct S.r.l.",
        "organisation": "Laboratorio Farmaceutico Ct S.r.l.",  # the only spelling of its key
        "parent": None,
        "overall_status": "COMPLETED",
        "completion_date_used": "2020-03-13",
        "defaulted_date": 0,
        "due_date": "2021-03-13",
        "has_certificate": 0,
        "results_submitted": None,
        "qc_submitted": None,
        "submission_cancelled": 0,
        "outcome": "overdue",
        "days_late": 1390,
        "finable_days_late": 1360,
        "status_discrepancy": 0,
        "late_certificate": 0,
        "flags_absent": 0,
        "became_act_on": None,  # no record history stored
        "completion_moved_after_due": None,
        "version_used": None,  # judged by the current record
        "version_date": "2020-10-05",  # its lastUpdateSubmitDate
        "standard": "FDAAA",
        "as_of": "2025-01-01",
    }


def test_an_act_not_yet_due_real_nct04267848_is_overdue_once_its_grace_period_has_passed(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    store = store_of(tmp_path / "h.db", source, load_study("NCT04267848"))
    try:
        at = {
            day: compliance.trials(store.db.conn, dt.date.fromisoformat(day))[0]
            for day in ("2026-06-01", "2026-12-16", "2027-01-14", "2027-01-15")
        }
    finally:
        store.close()
    index = [compliance.RESULT_COLUMNS.index(c) for c in ("outcome", "days_late", "finable_days_late")]
    assert {day: tuple(row[i] for i in index) for day, row in at.items()} == {
        "2026-06-01": ("not_yet_due", None, None),
        "2026-12-16": ("not_yet_due", None, None),  # the deadline (2026-12-15) has passed: the grace period runs
        "2027-01-14": ("not_yet_due", None, None),  # 30 days after it: still within
        "2027-01-15": ("overdue", 31, 1),  # days late count from the deadline, finable days from 30 days after
    }


def test_a_month_precision_date_real_nct02513394_counts_as_the_months_last_day(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    row = one(tmp_path, source, load_study("NCT02513394"), as_of=dt.date(2026, 6, 1))
    assert (row["completion_date_used"], row["defaulted_date"], row["due_date"]) == ("2020-11-30", 1, "2021-11-30")
    # completion 2025-09 (estimated) has passed and the status is still ACTIVE_NOT_RECRUITING
    assert row["status_discrepancy"] == 1


def test_a_pact_real_nct02513394_with_us_sites_and_no_fda_flags(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    row = one(tmp_path, source, load_study("NCT02513394"))
    assert (row["act_kind"], row["flags_absent"], row["outcome"], row["days_late"]) == ("pACT", 1, "reported_late", 63)
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
    assert outcome_of(row) == ("ACT", "2020-03-13", "2021-03-13", "reported_on_time", None, None)
    assert row["results_submitted"] == "2021-03-01"


def test_nct03418623_with_results_submitted_on_its_deadline_is_on_time_and_the_day_after_late(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    """The law's deadline is a year after completion; the 30 days after it are TrialsTracker's grace before it
    calls unreported results overdue, not more time to report."""
    on = one(tmp_path / "on", source, built("NCT03418623", results_submitted("2021-03-13")))
    after = one(tmp_path / "after", source, built("NCT03418623", results_submitted("2021-03-14")))
    assert (on["outcome"], on["days_late"]) == ("reported_on_time", None)
    assert (after["outcome"], after["days_late"], after["finable_days_late"]) == ("reported_late", 1, None)


def test_nct03418623_with_results_submitted_2021_06_01_is_reported_late(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    record = built("NCT03418623", results_submitted("2021-06-01"))
    row = one(tmp_path, source, record)
    assert outcome_of(row) == ("ACT", "2020-03-13", "2021-03-13", "reported_late", 80, 50)
    # at 2021-05-01 the results were not yet submitted: overdue, 49 days after the deadline, 19 of them finable
    before = one(tmp_path / "before", source, record, as_of=dt.date(2021, 5, 1))
    assert (before["outcome"], before["days_late"], before["finable_days_late"], before["results_submitted"]) == (
        "overdue",
        49,
        19,
        None,
    )


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
    assert outcome_of(row) == ("ACT", "2020-03-13", "2021-03-13", "overdue", 1390, 1360)


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


def test_nct02210780_completed_2017_03_15_with_its_certificate_of_delay_is_reported_5_days_late(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    # The real record: started 2014-08-05, no FDA flags, US sites, certificate submitted 2017-02-07, results
    # 2020-03-20. Its completion moved from 2015-09-15 to 2017-03-15 makes it a pACT.
    record = built("NCT02210780", completed("2017-03-15"))
    row = one(tmp_path, source, record)
    # the certificate postpones the deadline to 2017-03-15 + 3 years: the results came 5 days after it
    assert outcome_of(row) == ("pACT", "2017-03-15", "2020-03-15", "reported_late", 5, None)
    assert (row["has_certificate"], row["late_certificate"], row["flags_absent"]) == (1, 0, 1)
    # without the certificate the same results are 736 days late (2018-03-15 to 2020-03-20, 29 Feb 2020 within)
    plain = one(tmp_path / "plain", source, built("NCT02210780", completed("2017-03-15"), certificate(None)))
    assert outcome_of(plain) == ("pACT", "2017-03-15", "2018-03-15", "reported_late", 736, 706)
    assert plain["has_certificate"] == 0
    # before the certificate was submitted (2017-02-07) it does not count
    early = one(tmp_path / "early", source, record, as_of=dt.date(2017, 1, 1))
    assert (early["has_certificate"], early["due_date"], early["outcome"]) == (0, "2018-03-15", "not_yet_due")


def test_nct03418623_with_a_certificate_filed_2021_05_01_is_flagged_late_and_still_postponed(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    # filed more than a year after the completion date (2020-03-13); TrialsTracker still lets it postpone
    row = one(tmp_path, source, built("NCT03418623", certificate("2021-05-01")))
    assert outcome_of(row) == ("ACT", "2020-03-13", "2023-03-13", "overdue", 660, 630)
    assert (row["has_certificate"], row["late_certificate"]) == (1, 1)


@pytest.mark.parametrize(
    ("given", "used", "due"),
    [
        ("2018-10", "2018-10-31", "2019-10-31"),  # known to the month: the month's last day
        ("2018", "2018-12-31", "2019-12-31"),  # known to the year: Dec 31
        ("2018-10-31", "2018-10-31", "2019-10-31"),  # the real record: a day, nothing defaulted
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
        del status_module(record)["primaryCompletionDateStruct"]

    row = one(tmp_path, source, built("NCT04207047", drop))
    # completionDateStruct 2020-03-31 (estimated)
    assert (row["completion_date_used"], row["due_date"]) == ("2020-03-31", "2021-03-31")


def test_nct02513394_without_its_us_sites_is_no_pact(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    assert judged(tmp_path, source, built("NCT02513394", us_sites_in(None))) == {}


@pytest.mark.parametrize("territory", ["Puerto Rico", "Virgin Islands (U.S.)", "Guam"])
def test_nct02513394_with_its_us_sites_in_a_territory_is_a_pact(
    tmp_path: Path, source: ClinicalTrialsGov, territory: str
) -> None:
    assert one(tmp_path, source, built("NCT02513394", us_sites_in(territory)))["act_kind"] == "pACT"


def test_nct02513394_with_sites_in_a_country_whose_name_holds_united_states_is_a_pact(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    """TrialsTracker looks for the US names within the record's country list: "United States Minor Outlying
    Islands" holds "United States"; "U.S. Virgin Islands", a spelling it does not list, is not a US site."""
    outlying = judged(tmp_path / "a", source, built("NCT02513394", us_sites_in("United States Minor Outlying Islands")))
    spelled = judged(tmp_path / "b", source, built("NCT02513394", us_sites_in("U.S. Virgin Islands")))
    assert (outlying["NCT02513394"]["act_kind"], spelled) == ("pACT", {})


def interventions_typed(word: str) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        for intervention in record["protocolSection"]["armsInterventionsModule"]["interventions"]:
            intervention["type"] = word

    return change


@pytest.mark.parametrize(
    ("case", "changes", "expected"),
    [
        ("FDA drug flag, no US site", (fda_flags(True, False), us_sites_in(None)), "pACT"),
        ("FDA device flag, behavioural interventions", (fda_flags(False, True), interventions_typed("BEHAVIORAL")),
         "pACT"),
        ("no flags, behavioural interventions", (interventions_typed("BEHAVIORAL"),), None),
        ("no flags, no US site", (us_sites_in(None),), None),
    ],
)  # fmt: skip
def test_nct02513394_with_an_fda_flag_needs_neither_a_us_site_nor_an_intervention_type(
    tmp_path: Path, source: ClinicalTrialsGov, case: str, changes: tuple[Callable[[Record], None], ...], expected: str
) -> None:
    """TrialsTracker's converter makes a pre-2017 trial a pACT either way: FDA-regulated (a flag set), or with
    both flags absent, a US site and a drug, device, biological (...) intervention."""
    rows = judged(tmp_path, source, built("NCT02513394", *changes))
    assert (rows["NCT02513394"]["act_kind"] if rows else None) == expected, case


@pytest.mark.parametrize(
    ("certificate_day", "due", "late_certificate"),
    [(None, "2021-02-28", 0), ("2020-06-01", "2023-02-28", 0), ("2021-03-01", "2023-02-28", 1)],
)
def test_nct03418623_completed_on_29_february_is_due_on_28_february(
    tmp_path: Path, source: ClinicalTrialsGov, certificate_day: str | None, due: str, late_certificate: int
) -> None:
    """365 days after 2020-02-29 is 2021-02-28 (not 1 March, where SQLite's '+1 year' lands); three years, as
    Python's relativedelta counts them for TrialsTracker, end on 2023-02-28; a year after it is 2021-02-28, so
    a certificate filed on 1 March is late."""
    row = one(tmp_path, source, built("NCT03418623", primary_completion("2020-02-29"), certificate(certificate_day)))
    assert (row["completion_date_used"], row["due_date"], row["late_certificate"]) == (
        "2020-02-29",
        due,
        late_certificate,
    )


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


def test_sponsor_counts_are_trialstrackers_ranking_figures(compliance_db: Path) -> None:
    conn = sqlite3.connect(compliance_db)
    try:
        rows = compliance.sponsors(conn, AS_OF)
        (total,) = compliance.sponsors(conn, AS_OF, grouped=False)
    finally:
        conn.close()
    table = {row[0]: dict(zip(compliance.SPONSOR_COLUMNS, row, strict=True)) for row in rows}
    assert table[SPONSOR] == {
        "organisation": SPONSOR,
        "sponsor_names": json.dumps([SPONSOR]),
        "trials": 3,
        "pacts_flags_absent": 0,
        "not_yet_due": 0,
        "due": 3,
        "reported": 2,
        "reported_on_time": 1,
        "reported_late": 1,
        "overdue": 1,
        "percentage": 66,  # TrialsTracker's score: 2 x 100 / 3, kept as a whole number
        "rank": 2,  # after the Alliance's 100
        "share_compliant": 0.333,  # harvest's: only the one on time, over 3
        "days_late": 1390 + 80,
        "finable_days_late": 1360 + 50,
        "as_of": "2025-01-01",
    }
    assert table["Alliance Foundation Trials, LLC."]["pacts_flags_absent"] == 1
    assert (table["Alliance Foundation Trials, LLC."]["percentage"], table["LUTRONIC Corporation"]["rank"]) == (100, 3)
    nci = table["National Cancer Institute (NCI)"]
    assert (nci["share_compliant"], nci["percentage"], nci["rank"]) == (None, None, None)  # nothing due yet
    # most overdue first: LUTRONIC (1 trial, 1,889 days late) before the sponsor above (1 trial, 1,470 days)
    assert [row[0] for row in rows][:2] == ["LUTRONIC Corporation", SPONSOR]
    named = dict(zip(compliance.SPONSOR_COLUMNS, total, strict=True))
    assert (named["trials"], named["due"], named["overdue"], named["reported_on_time"], named["reported"]) == (
        6,
        5,
        2,
        1,
        3,
    )
    assert (named["percentage"], named["share_compliant"], named["organisation"], named["rank"]) == (
        60,
        0.2,
        None,
        None,
    )


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
    assert (objects[1]["outcome"], objects[1]["days_late"], objects[1]["finable_days_late"]) == ("overdue", 1390, 1360)
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
    assert [dict(zip(rows[0], row, strict=True)) for row in rows[1:]] == [
        {
            "nct_id": "NCT04267848",
            "act_kind": "ACT",
            "lead_sponsor": "National Cancer Institute (NCI)",
            "organisation": "National Cancer Institute (NCI)",
            "parent": "",
            "overall_status": "RECRUITING",
            "completion_date_used": "2025-12-15",
            "defaulted_date": "0",
            "due_date": "2026-12-15",
            "has_certificate": "0",
            "results_submitted": "",
            "qc_submitted": "",
            "submission_cancelled": "0",
            "outcome": "not_yet_due",
            "days_late": "",
            "finable_days_late": "",
            "status_discrepancy": "0",
            "late_certificate": "0",
            "flags_absent": "0",
            "became_act_on": "",
            "completion_moved_after_due": "",
            "version_used": "",
            "version_date": "2025-09-09",
            "standard": "FDAAA",
            "as_of": "2025-01-01",
        }
    ]


def test_cli_table(compliance_db: Path) -> None:
    result = cli(compliance_db, "compliance", "--as-of", "2025-01-01", "--table", "--sponsor", "alliance")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "nct_id",
        "kind",
        "organisation",
        "completion",
        "due",
        "reported",
        "outcome",
        "late",
        "finable",
        "notes",
    ]
    assert lines[2].split("  ")[0] == "NCT02513394"
    assert "2020-11-30  2021-11-30  2022-02-01  reported_late" in lines[2]
    cells = re.split(r"\s{2,}", lines[2])
    assert cells[-3:] == ["63", "33", "date defaulted, no FDA flags"]


def test_cli_by_sponsor_table_reads_well(compliance_db: Path) -> None:
    result = cli(compliance_db, "compliance", "--as-of", "2025-01-01", "--by-sponsor", "--table")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "results reporting as of 2025-01-01 (FDAAA 801; ACTs and pACTs), per organisation"
    header = lines[2]
    assert header.split("  ")[0].strip() == "organisation" and header.endswith("days late")
    width = len(header)
    body = lines[4:8]
    assert all(len(line) == width for line in body)  # numbers right-aligned under their headings
    assert body[0].startswith("LUTRONIC Corporation") and body[0].endswith("1,889")
    assert body[1].startswith(SPONSOR) and " 66% " in body[1] and " 33% " in body[1] and body[1].endswith("1,470")
    total = lines[9]
    assert total.startswith("all 4") and " 60% " in total and total.endswith("3,422")
    assert all(len(line) <= 130 for line in lines[:10])


def test_cli_by_sponsor_json_and_csv(compliance_db: Path) -> None:
    result = cli(
        compliance_db, "compliance", "--as-of", "2025-01-01", "--by-sponsor", "--json", "--sponsor", "lutronic"
    )
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {
            "organisation": "LUTRONIC Corporation",
            "sponsor_names": json.dumps(["LUTRONIC Corporation"]),
            "trials": 1,
            "pacts_flags_absent": 0,
            "not_yet_due": 0,
            "due": 1,
            "reported": 0,
            "reported_on_time": 0,
            "reported_late": 0,
            "overdue": 1,
            "percentage": 0,
            "rank": 1,  # the only one listed
            "share_compliant": 0.0,
            "days_late": 1889,
            "finable_days_late": 1859,
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
        for view in ("results_compliance", "sponsor_compliance", "sponsor_organisations"):
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({view})")]
            description, described = TABLES[view]
            assert description and list(described) == columns and all(described.values()), view
    finally:
        conn.close()
    tables = metadata("harvest")["databases"]["harvest"]["tables"]
    assert tables["results_compliance"]["facets"][0] == "outcome"


def test_a_schema_5_file_gains_the_new_tables_and_is_rebuilt_from_its_payloads(tmp_path: Path) -> None:
    """Schema 6 adds the QC tables, which only a re-parse of the stored payloads can fill: the upgrade marks the
    file for that rebuild (the next run or harvest reparse does it, tests/test_compliance_qc.py runs it)."""
    path = tmp_path / "h.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    for view in ("sponsor_compliance", "results_compliance"):
        conn.execute(f"DROP VIEW {view}")
    for table in ("submissions", "pending_results", "sponsor_organisations"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("INSERT INTO studies (nct_id) VALUES ('NCT03418623')")
    conn.execute("PRAGMA user_version = 5")
    conn.commit()
    conn.close()
    Store(path).close()
    conn = sqlite3.connect(path)
    try:
        names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('view', 'table')")}
        assert {"results_compliance", "sponsor_compliance", "submissions", "pending_results"} <= names
        assert "sponsor_organisations" in names
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT value FROM harvest_meta WHERE key = ?", (REBUILD_KEY,)).fetchall() == [("5",)]
    finally:
        conn.close()


# -- with the record history ----------------------------------------------------------------------------------


def test_history_says_when_a_trial_became_an_act_and_whether_its_completion_moved_once_due(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    """Built from NCT03418623 (an ACT, primary completion 2020-03-13, deadline 2021-03-13): its first version had
    no FDA flag (no ACT yet), the second set it; a version dated 2021-06-01, after the deadline, moved the date."""
    current = load_study("NCT03418623")
    store = store_of(tmp_path / "h.db", source, current)
    try:
        with store.transaction():
            add_version(store, "NCT03418623", 0, "2018-01-25", built("NCT03418623", fda_flags(False, False)), source)
            add_version(store, "NCT03418623", 1, "2019-06-01", current, source)
            store.conn.execute(
                "INSERT INTO version_changes (nct_id, version, version_date, field, old, new) VALUES (?,?,?,?,?,?)",
                ("NCT03418623", 2, "2021-06-01", "primary_completion_date",
                 '{"type": "ESTIMATED", "value": "2020-03-13"}', '{"type": "ACTUAL", "value": "2020-09-30"}'),
            )  # fmt: skip
        rows = {
            as_of: dict(zip(compliance.RESULT_COLUMNS, row, strict=True))
            for as_of in (dt.date(2019, 1, 1), dt.date(2019, 7, 1), dt.date(2021, 5, 1), dt.date(2025, 1, 1))
            for row in compliance.trials(store.db.conn, as_of)
        }
    finally:
        store.close()
    seen = {
        day: (r["became_act_on"], r["completion_moved_after_due"], r["version_used"], r["version_date"])
        for day, r in rows.items()
    }
    # On 2019-01-01 only the flag-less version stood: no ACT then, so no row. From 2020-10-05 (the current
    # record's last update) on, the current record is judged.
    assert seen == {
        dt.date(2019, 7, 1): ("2019-06-01", 0, 1, "2019-06-01"),  # judged by the version that stood
        dt.date(2021, 5, 1): ("2019-06-01", 0, None, "2020-10-05"),  # due, but not moved yet
        dt.date(2025, 1, 1): ("2019-06-01", 1, None, "2020-10-05"),  # moved eleven weeks after its deadline
    }


def test_a_move_before_the_due_date_is_not_flagged(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    current = load_study("NCT03418623")
    store = store_of(tmp_path / "h.db", source, current)
    try:
        with store.transaction():
            add_version(store, "NCT03418623", 0, "2019-06-01", current, source)
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


@pytest.mark.parametrize("command", [("compliance", "--as-of", "2025-01-01"), ("sponsors",)])
def test_a_file_an_older_harvest_made_is_refused_saying_what_to_do(
    tmp_path: Path, source: ClinicalTrialsGov, command: tuple[str, ...]
) -> None:
    """Read-only commands do not upgrade a file; the rules read tables schema 6 added."""
    path = tmp_path / "h.db"
    store_of(path, source, load_study("NCT03418623")).close()
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE submissions")
    conn.execute("PRAGMA user_version = 5")
    conn.commit()
    conn.close()
    assert_one_line_error(cli(path, *command), 3, "made by an older harvest (schema 5)", "harvest reparse")
