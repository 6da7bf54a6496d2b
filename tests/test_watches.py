"""`harvest watch`: a search, a SQL condition, a list of trials and the compliance watch, each reporting exactly
what two nights on the replay server changed, once (see tests/watch_helpers.py for the nights and the records
built for them); then what a user meets around them: bad input, the lock, `run --report-watches`, `--since`,
and a file of schema 6 upgraded in place."""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from harvest.core.errors import EXIT_BAD_INPUT, EXIT_CANNOT_RUN
from harvest.store.lock import RunLock
from harvest.store.tables import REBUILD_KEY, SCHEMA_VERSION
from harvest.testing import CtgovSite, ReplayServer, base_url_env, default_sites, serve_fixtures
from tests.conftest import TEST_ENV, Cli, content, rows, scalar
from tests.watch_helpers import (
    COMPLETION,
    DAY_2,
    EXPECTED,
    NEW,
    NEW_SITE,
    NIGHT_2,
    RESULTS,
    STATUS_AND_SITE,
    TwoNights,
    kinds,
    next_second,
    night_one,
    night_two,
    two_nights,
    updated_on,
)


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> TwoNights:
    return two_nights(tmp_path_factory.mktemp("watches") / "harvest.db")


def copy_of(db: Path, target: Path) -> Path:
    """A copy of a harvest file (its WAL included), for a test that writes to it."""
    source, copied = sqlite3.connect(db), sqlite3.connect(target)
    try:
        source.backup(copied)
    finally:
        source.close()
        copied.close()
    return target


def change_row(db: Path, nct: str, field: str) -> tuple[Any, ...]:
    (found,) = rows(db, "SELECT id, old, new, changed_at FROM changes WHERE nct_id = ? AND field = ?", (nct, field))
    return found


def test_the_report_right_after_adding_the_watches_is_empty(nights: TwoNights) -> None:
    assert (nights.after_night_1.exit_code, nights.after_night_1.stdout, nights.after_night_1.stderr) == (1, "", "")


def test_each_kind_of_watch_reports_exactly_the_nights_changes(nights: TwoNights) -> None:
    assert nights.report.exit_code == 0, nights.report.output
    for watch, expected in EXPECTED.items():
        found = [e for e in nights.entries if e["watch"] == watch]
        assert kinds(nights.entries, watch) == expected, watch
        assert len(found) == len(expected), watch  # each once
    assert {e["watch"] for e in nights.entries} == set(EXPECTED)


def test_a_change_is_reported_as_the_changes_table_has_it(nights: TwoNights) -> None:
    """Old and new values and the date are the `changes` row's, as JSON values."""
    db = nights.db
    for entry in (e for e in nights.entries if e["kind"] == "changed"):
        _, old, new, changed_at = change_row(db, entry["nct_id"], entry["field"])
        assert (entry["old"], entry["new"], entry["date"]) == (json.loads(old or "null"), json.loads(new), changed_at)
    by = {(e["watch"], e["nct_id"], e["field"]): e for e in nights.entries}
    status = by[("big", STATUS_AND_SITE, "overall_status")]
    assert (status["old"], status["new"], status["text"]) == (
        "RECRUITING",
        "ACTIVE_NOT_RECRUITING",
        "status: RECRUITING → ACTIVE_NOT_RECRUITING",
    )
    sites = by[("big", STATUS_AND_SITE, "locations")]
    assert (len(sites["old"]), len(sites["new"])) == (1148, 1149)
    assert sites["text"] == f"sites: 1,148 → 1,149 (added: {NEW_SITE}, Mobile, United States)"
    moved = by[("mine", COMPLETION, "primary_completion_date")]
    assert (moved["old"], moved["new"]) == (
        {"type": "ESTIMATED", "value": "2027-04-15"},
        {"type": "ACTUAL", "value": "2025-10-31"},
    )
    posted = by[("mine", RESULTS, "results_first_posted")]
    assert (posted["old"], posted["new"]) == (None, {"type": "ACTUAL", "value": "2022-04-13"})
    assert (by[("mine", RESULTS, "has_results")]["old"], by[("mine", RESULTS, "has_results")]["new"]) == (False, True)


def test_newly_matching_and_no_longer_matching_trials_are_dated_by_what_moved_them(nights: TwoNights) -> None:
    by = {(e["watch"], e["kind"], e["nct_id"]): e for e in nights.entries}
    first_seen = scalar(nights.db, "SELECT first_seen_at FROM studies WHERE nct_id = ?", (NEW,))
    assert by[("cancer-recruiting", "matched", NEW)]["date"] == first_seen  # new in the file on night 2
    left = by[("cancer-recruiting", "unmatched", STATUS_AND_SITE)]
    assert left["date"] == change_row(nights.db, STATUS_AND_SITE, "overall_status")[3]  # its status changed
    assert left["title"].startswith("Testing the Addition of a Type of Drug Called Immunotherapy")


def test_the_compliance_watch_reports_trials_newly_due_overdue_and_reported(nights: TwoNights) -> None:
    found = {(e["kind"], e["nct_id"]): e for e in nights.entries if e["watch"] == "compliance"}
    assert {key: (e["old"], e["new"], e["date"]) for key, e in found.items()} == {
        ("newly_due", STATUS_AND_SITE): ("not_yet_due", "not_yet_due", DAY_2),  # due 2026-12-15: in its grace
        ("newly_due", COMPLETION): ("not_yet_due", "overdue", DAY_2),
        ("newly_overdue", COMPLETION): ("not_yet_due", "overdue", DAY_2),
        ("newly_reported", RESULTS): ("overdue", "reported_late", DAY_2),
    }
    assert found[("newly_due", STATUS_AND_SITE)]["detail"]["due_date"] == "2026-12-15"
    assert found[("newly_overdue", COMPLETION)]["detail"]["due_date"] == "2026-10-31"
    assert found[("newly_reported", RESULTS)]["detail"]["reported_date"] == "2022-02-01"


def test_a_second_report_with_no_new_night_prints_nothing_and_exits_1(nights: TwoNights) -> None:
    assert (nights.again.exit_code, nights.again.stdout, nights.again.stderr) == (1, "", "")


def test_since_prints_again_what_was_reported_and_remembers_nothing(nights: TwoNights, tmp_path: Path) -> None:
    cli = Cli({**TEST_ENV, "HARVEST_DB": str(copy_of(nights.db, tmp_path / "copy.db"))})
    looked = cli("watch", "report", "mine", "big", "--since", "2026-01-01", "--as-of", DAY_2)
    assert looked.exit_code == 0, looked.output
    text = looked.stdout
    assert text.startswith("big: where enrollment >= 1000 (4 entries since 2026-01-01)\n")
    recorded = change_row(nights.db, STATUS_AND_SITE, "overall_status")[3][:10]  # the day the run recorded it
    assert f"\n    {recorded}  status: RECRUITING → ACTIVE_NOT_RECRUITING\n" in text
    assert "primary completion date: 2027-04-15 (estimated) → 2025-10-31 (actual)" in text
    assert "results first posted: none → 2022-04-13 (actual)" in text
    assert "cancer-recruiting" not in text  # only the watches named
    again = cli("watch", "report", "--as-of", DAY_2)
    assert (again.exit_code, again.stdout) == (1, "")


def test_since_looks_back_before_a_watch_was_added(nights: TwoNights, tmp_path: Path) -> None:
    cli = Cli({**TEST_ENV, "HARVEST_DB": str(copy_of(nights.db, tmp_path / "copy.db"))})
    assert cli("watch", "add", "late", "--nct", STATUS_AND_SITE).exit_code == 0
    assert cli("watch", "report", "late").exit_code == 1  # nothing since it was added
    looked = cli("watch", "report", "late", "--since", "2026-01-01", "--json")
    assert looked.exit_code == 0
    assert {(e["kind"], e["field"]) for e in map(json.loads, looked.stdout.splitlines())} == {
        ("changed", "overall_status"),
        ("changed", "locations"),
    }


def test_fields_choose_which_changes_count(nights: TwoNights, tmp_path: Path) -> None:
    db = copy_of(nights.db, tmp_path / "copy.db")
    cli = Cli({**TEST_ENV, "HARVEST_DB": str(db)})
    trials = f"{STATUS_AND_SITE},{COMPLETION},{RESULTS}"
    assert cli("watch", "add", "status-only", "--nct", trials, "--fields", "status").exit_code == 0
    assert cli("watch", "add", "everything", "--nct", COMPLETION, "--fields", "all").exit_code == 0
    looked = cli("watch", "report", "status-only", "everything", "--since", "2026-01-01", "--json")
    found = [json.loads(line) for line in looked.stdout.splitlines()]
    assert kinds(found, "status-only") == {("changed", STATUS_AND_SITE, "overall_status")}
    every = rows(db, "SELECT field FROM changes WHERE nct_id = ?", (COMPLETION,))
    assert sorted(e["field"] for e in found if e["watch"] == "everything") == sorted(f for (f,) in every)
    assert "last_update_posted" in {f for (f,) in every}


def test_watch_list_says_what_each_follows(nights: TwoNights) -> None:
    listed = Cli({**TEST_ENV, "HARVEST_DB": str(nights.db)})("watch", "list", "--json")
    found = {row["name"]: row for row in map(json.loads, listed.stdout.splitlines())}
    assert found["cancer-recruiting"]["follows"] == "search 'cancer' --status RECRUITING"
    assert found["mine"]["follows"] == f"trials {COMPLETION} {RESULTS}"
    assert found["compliance"]["follows"] == "results reporting (FDAAA 801)"
    assert found["big"]["trials"] == 2 and found["cancer-recruiting"]["trials"] == 1  # matched now: NEW alone
    assert found["big"]["feed"] == "/-/feeds/watch/big.atom"


def test_run_report_watches_prints_the_report_after_the_run(cli: Cli, ctgov_site: CtgovSite, db_path: Path) -> None:
    new = night_one(ctgov_site)
    assert cli("run").exit_code == 0
    assert cli("watch", "add", "cancer-recruiting", "--search", "cancer", "--status", "RECRUITING").exit_code == 0
    next_second()
    night_two(ctgov_site, new)
    night = cli("--quiet", "run", "--since", NIGHT_2, "--report-watches")
    assert night.exit_code == 0, night.output
    assert night.stderr == ""  # --quiet: a night with no trouble says nothing but its news
    lines = night.stdout.splitlines()
    assert lines[0] == "cancer-recruiting: search 'cancer' --status RECRUITING (4 entries since " + lines[0][-21:]
    assert any(line.endswith("no longer matches") for line in lines)
    assert any(line.endswith("newly matches") for line in lines)
    after = cli("watch", "report")
    assert (after.exit_code, after.stdout) == (1, "")


def test_run_all_report_watches_reports_after_every_source(tmp_path: Path) -> None:
    """The exit code stays the run's: 1 on the first night (the veeva fixtures hold pages failing for the first
    time), 0 on the second, whatever the report says."""
    servers = serve_fixtures(default_sites())
    try:
        cli = Cli({**TEST_ENV, **base_url_env(servers), "HARVEST_DB": str(tmp_path / "harvest.db")})
        site = servers["ctgov"].site
        assert isinstance(site, CtgovSite)
        assert cli("watch", "add", "mine", "--nct", STATUS_AND_SITE).exit_code == 0  # a file not harvested yet
        first = cli("run", "--all", "--report-watches")
        changed = copy.deepcopy(site.studies[STATUS_AND_SITE])
        changed["protocolSection"]["statusModule"]["overallStatus"] = "ACTIVE_NOT_RECRUITING"
        site.put(changed)
        second = cli("run", "--all", "--full", "--report-watches")
    finally:
        for server in servers.values():
            server.stop()
    assert first.exit_code == 1 and "harvest run --all: ctgov OK, veeva PARTIAL" in first.stderr, first.output
    heading, trial, entry = first.stdout.splitlines()
    assert heading.startswith(f"mine: trials {STATUS_AND_SITE} (1 entry since ")
    assert trial.startswith(f"  {STATUS_AND_SITE}  Testing the Addition") and entry.endswith("  newly matches")
    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines()[-1].endswith("status: RECRUITING → ACTIVE_NOT_RECRUITING")
    assert cli("watch", "report").exit_code == 1


# -- what a user can get wrong ------------------------------------------------------------------------------


@pytest.fixture
def small(cli: Cli) -> Cli:
    assert cli("run").exit_code == 0
    return cli


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("bad/name", "--search", "cancer"), "is not a watch name"),
        (("x",), "what should x follow?"),
        (("x", "--search", "cancer", "--fields", "colour"), "--fields 'colour': not a group"),
        (("x", "--where", "no_such_column = 1"), "bad --where 'no_such_column = 1': no such column"),
        (("x", "--where", "1); DELETE FROM studies; --"), "bad --where"),
        (("x", "--where", "load_extension('/tmp/x') IS NULL"), "bad --where"),
        (("x", "--nct", "NCT123"), "'NCT123' is not an NCT number"),
        (("x", "--search", "cancer", "--start-from", "soon"), "start from 'soon' is not a date"),
        (("x", "--search", "cancer", "--compliance"), "a compliance watch follows the trials that must report"),
        (("x", "--search", "cancer", "--sponsor", "pfizer"), "--sponsor, --standard and --as-of are for"),
        (("compliance", "--as-of", "someday"), "--as-of: 'someday' is not a date"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_and_writes_nothing(
    small: Cli, db_path: Path, args: tuple[str, ...], says: str
) -> None:
    before = content(db_path)
    result = small("watch", "add", *args)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert result.stderr.startswith("harvest: ") and says in result.stderr and result.stderr.count("\n") == 1
    assert content(db_path) == before
    assert scalar(db_path, "SELECT count(*) FROM watches") == 0


def test_a_name_is_taken_once_and_remove_forgets_everything(small: Cli, db_path: Path) -> None:
    assert small("watch", "add", "mine", "--nct", STATUS_AND_SITE).exit_code == 0
    again = small("watch", "add", "mine", "--nct", COMPLETION)
    assert again.exit_code == EXIT_BAD_INPUT and "a watch named 'mine' exists" in again.stderr
    assert small("watch", "report", "nope").exit_code == EXIT_BAD_INPUT
    assert small("watch", "report", "--since", "yesterday").exit_code == EXIT_BAD_INPUT
    assert small("watch", "remove", "mine").exit_code == 0
    assert [scalar(db_path, f"SELECT count(*) FROM {t}") for t in ("watches", "watch_matches", "watch_entries")] == [
        0,
        0,
        0,
    ]
    gone = small("watch", "remove", "mine")
    assert gone.exit_code == EXIT_BAD_INPUT and "no watch named 'mine'" in gone.stderr


def test_writing_commands_wait_for_no_one_the_lock_refuses_them(small: Cli, db_path: Path) -> None:
    with RunLock(str(db_path), "harvest run"):
        for args in (("add", "mine", "--nct", STATUS_AND_SITE), ("report",), ("remove", "mine")):
            refused = small("watch", *args)
            assert refused.exit_code == EXIT_CANNOT_RUN and "another run holds the lock" in refused.stderr, args
    assert small("watch", "list").exit_code == 0  # reading needs no lock


def test_no_watches_report_nothing(small: Cli) -> None:
    result = small("watch", "report")
    assert (result.exit_code, result.stdout) == (1, "")
    assert "no watches" in result.stderr
    assert small("--quiet", "watch", "report").stderr == ""


def test_a_schema_6_file_gains_the_watch_tables_in_place(small: Cli, db_path: Path) -> None:
    """A file main's schema 6 made (no watch tables, user_version 6) is upgraded when opened for writing, and
    nothing else changes: no rebuild."""
    conn = sqlite3.connect(db_path)
    with conn:
        for table in ("watch_entries", "watch_matches", "watches"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("PRAGMA user_version = 6")
    conn.close()
    before = content(db_path)
    listed = small("watch", "list")  # read-only: an older file simply has none
    assert listed.exit_code == 0 and "no watches" in listed.stderr
    assert small("watch", "add", "mine", "--nct", STATUS_AND_SITE).exit_code == 0
    assert scalar(db_path, "PRAGMA user_version") == SCHEMA_VERSION == 7
    assert scalar(db_path, "SELECT count(*) FROM harvest_meta WHERE key = ?", (REBUILD_KEY,)) == 0
    assert content(db_path) == before
    assert rows(db_path, "SELECT watch, nct_id FROM watch_matches") == [("mine", STATUS_AND_SITE)]


def test_a_watched_trial_the_file_lacks_newly_matches_when_harvested(
    cli: Cli, ctgov_site: CtgovSite, ctgov_server: ReplayServer, db_path: Path
) -> None:
    new = night_one(ctgov_site)
    assert cli("run").exit_code == 0
    assert cli("watch", "add", "wanted", "--nct", NEW).exit_code == 0
    assert cli("watch", "report").exit_code == 1
    ctgov_site.put(new)
    assert cli("fetch", NEW).exit_code == 0
    result = cli("watch", "report", "--json")
    assert [(e["kind"], e["nct_id"]) for e in map(json.loads, result.stdout.splitlines())] == [("matched", NEW)]


def test_a_watch_that_no_longer_runs_spoils_no_other(small: Cli, ctgov_site: CtgovSite, db_path: Path) -> None:
    """A condition over a table of the user's own, dropped since: that watch fails with one line, exit 2, and the
    others report (and remember) as usual."""
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("CREATE TABLE my_trials (nct_id TEXT)")
        conn.execute("INSERT INTO my_trials VALUES (?)", (STATUS_AND_SITE,))
    assert small("watch", "add", "listed", "--where", "nct_id IN (SELECT nct_id FROM my_trials)").exit_code == 0
    assert small("watch", "add", "mine", "--nct", STATUS_AND_SITE).exit_code == 0
    with conn:
        conn.execute("DROP TABLE my_trials")
    conn.close()
    changed = copy.deepcopy(ctgov_site.studies[STATUS_AND_SITE])
    changed["protocolSection"]["statusModule"]["overallStatus"] = "ACTIVE_NOT_RECRUITING"
    ctgov_site.put(updated_on(changed))
    assert small("run", "--since", NIGHT_2).exit_code == 0
    result = small("watch", "report")
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr == (
        "harvest: watch listed: bad --where 'nct_id IN (SELECT nct_id FROM my_trials)': no such table: my_trials\n"
    )
    assert result.stdout.startswith(f"mine: trials {STATUS_AND_SITE} (1 entry since ")
    again = small("watch", "report")
    assert (again.exit_code, again.stdout) == (EXIT_BAD_INPUT, "")  # mine's news was kept; listed still fails
