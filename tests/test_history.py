"""Record history: `harvest history`, `harvest run --history`, the tables, the views and the timeline, through the
replay server over fixtures/ctgov/history (versions rebuilt from real records: see its README.md)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from harvest.core.config import Settings
from harvest.core.errors import LayoutChanged
from harvest.net.http import HttpClient
from harvest.query.history import ANALYSES, ONE_TRIAL, analysis
from harvest.sources.ctgov import ClinicalTrialsGov
from harvest.sources.ctgov_history import CtgovHistory, history_base_url, parse_version_list
from harvest.store.compression import decompress
from harvest.store.lock import RunLock
from harvest.testing import FIXTURES, CtgovSite, ReplayServer, base_url_env
from tests.conftest import TEST_ENV, Cli, content, load_study, rows, scalar

HISTORY = FIXTURES / "ctgov" / "history"
TRIALS = ("NCT02210780", "NCT01126879", "NCT00763412")
VERSIONS = {"NCT02210780": 6, "NCT01126879": 5, "NCT00763412": 4}


def days(a: str, b: str) -> int:
    return (dt.date.fromisoformat(b) - dt.date.fromisoformat(a)).days


def failures(stderr: str) -> list[str]:
    """The one line each failed trial gets on stderr (after the log's time and level)."""
    return ["failed " + line.split(" failed ", 1)[1] for line in stderr.splitlines() if " failed ctgov" in line]


def history_requests(server: ReplayServer) -> list[str]:
    return [r for r in server.requests if r.startswith("/api/int/")]


@pytest.fixture(scope="module")
def harvested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A file with the fixtures harvested and the history of the three trials fetched (read, never written)."""
    db = tmp_path_factory.mktemp("history") / "h.db"
    with ReplayServer(CtgovSite.from_dir()) as server:
        cli = Cli({**TEST_ENV, **base_url_env({"ctgov": server}), "HARVEST_DB": str(db)})
        assert cli("run").exit_code == 0
        result = cli("history", *TRIALS)
        assert result.exit_code == 0, result.output
    yield db


# -- the endpoints ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://h/api/v2", "http://h/api/int"),
        ("http://h/api/v2/", "http://h/api/int"),
        ("https://clinicaltrials.gov/api/v2", "https://clinicaltrials.gov/api/int"),
        ("http://127.0.0.1:8123/ctgov/api/v2", "http://127.0.0.1:8123/ctgov/api/int"),
        ("http://h/proxy", "http://h/proxy/api/int"),
    ],
)
def test_the_history_base_url_follows_the_ctgov_base_url(base: str, expected: str) -> None:
    assert history_base_url(base) == expected


def test_harvest_ctgov_url_alone_points_the_history_reader() -> None:
    settings = Settings(env={"HARVEST_CTGOV_URL": "http://h/api/v2"})
    reader = CtgovHistory(ClinicalTrialsGov(HttpClient(settings.http()), settings))
    assert reader.list_url("nct02210780") == "http://h/api/int/studies/NCT02210780?history=true"
    assert reader.version_url("NCT02210780", 3) == "http://h/api/int/studies/NCT02210780/history/3"


def test_the_version_list_tolerates_unknown_keys_and_reads_words() -> None:
    body = {
        "history": {
            "changes": [
                {"version": 1, "date": "2015-01-12T00:00:00", "status": "Recruiting", "moduleLabels": ["Status"]},
                {"version": 0, "date": "2014-08-05", "status": "NOT_YET_RECRUITING", "new": True},
            ],
            "more": {},
        },
        "study": None,
    }
    entries = parse_version_list(body, "u")
    assert [(e.version, e.date, e.status) for e in entries] == [
        (0, "2014-08-05", "NOT_YET_RECRUITING"),
        (1, "2015-01-12", "RECRUITING"),
    ]
    assert parse_version_list({"history": {"changes": []}}, "u") == []


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        (json.loads((HISTORY / "broken" / "NCT03418623.versions.reconstructed.json").read_text()), "history.changes"),
        ({"history": None}, "history.changes"),
        ([], "history.changes"),
        ({"history": {"changes": [{"version": "0", "date": "2020-01-01"}]}}, "history.changes[0].version"),
        ({"history": {"changes": [{"version": 0, "date": "January 2020"}]}}, "history.changes[0].date"),
        ({"history": {"changes": [{"version": 0, "date": "2020-01-01"}] * 2}}, "a version listed twice"),
    ],
)
def test_a_version_list_without_its_shape_is_a_layout_error(body: object, missing: str) -> None:
    with pytest.raises(LayoutChanged) as caught:
        parse_version_list(body, "http://h/api/int/studies/NCT03418623?history=true")
    assert missing in caught.value.one_line() and "ctgov history" in caught.value.one_line()


# -- fetching -------------------------------------------------------------------------------------------


def test_history_fills_the_tables_then_asks_once_per_trial(cli: Cli, db_path: Path, ctgov_server: ReplayServer) -> None:
    assert cli("run").exit_code == 0
    ctgov_server.requests.clear()
    first = cli("history", *TRIALS)
    assert first.exit_code == 0, first.output
    assert "3 fetched, 3 new, 0 changed, 0 unchanged, 0 failed, 15 versions" in first.stderr
    assert len(history_requests(ctgov_server)) == 3 + 15  # each list, then each version
    assert dict(rows(db_path, "SELECT nct_id, count(*) FROM study_versions GROUP BY 1")) == VERSIONS
    assert rows(db_path, "SELECT command, mode, outcome, versions FROM runs ORDER BY id DESC LIMIT 1") == [
        ("history", "one-off", "ok", 15)
    ]
    listed = json.loads(cli("runs", "--json").stdout.splitlines()[0])
    assert (listed["command"], listed["versions"]) == ("history", 15)

    ctgov_server.requests.clear()
    again = cli("history", *TRIALS)
    assert again.exit_code == 0
    assert "3 unchanged, 0 failed, 0 versions" in again.stderr
    assert history_requests(ctgov_server) == [f"/api/int/studies/{nct}?history=true" for nct in TRIALS]
    assert [r for r in ctgov_server.requests if not r.startswith("/api/int/")] == ["/robots.txt"]


def test_a_new_version_upstream_costs_two_requests(
    cli: Cli, db_path: Path, ctgov_site: CtgovSite, ctgov_server: ReplayServer
) -> None:
    assert cli("history", "NCT02210780").exit_code == 0
    newer = copy.deepcopy(load_study("NCT02210780"))
    newer["protocolSection"]["conditionsModule"]["keywords"] = ["vaccine response"]
    assert ctgov_site.add_version(newer, "2021-03-01") == 6
    ctgov_server.requests.clear()
    result = cli("history", "NCT02210780")
    assert result.exit_code == 0
    assert "1 changed" in result.stderr and "1 versions" in result.stderr
    assert history_requests(ctgov_server) == [
        "/api/int/studies/NCT02210780?history=true",
        "/api/int/studies/NCT02210780/history/6",
    ]
    sql = "SELECT field, old, new FROM version_changes WHERE nct_id = 'NCT02210780' AND version = 6"
    assert rows(db_path, sql) == [("keywords", None, '["vaccine response"]')]


def test_a_layout_change_fails_that_trial_only(cli: Cli, db_path: Path, ctgov_site: CtgovSite) -> None:
    broken = json.loads((HISTORY / "broken" / "NCT03418623.versions.reconstructed.json").read_text())
    ctgov_site.history.put_list("NCT03418623", broken)
    result = cli("history", "NCT03418623", "NCT02210780")
    assert result.exit_code == 1
    assert failures(result.stderr) == [
        f"failed ctgov history {cli.env['HARVEST_CTGOV_URL'][:-2]}int/studies/NCT03418623?history=true: "
        "layout changed? ctgov history page lacks 'history.changes'"
    ]
    assert "PARTIAL: 1 fetched, 1 new, 0 changed, 0 unchanged, 1 failed, 6 versions" in result.stderr
    assert dict(rows(db_path, "SELECT nct_id, count(*) FROM study_versions GROUP BY 1")) == {"NCT02210780": 6}
    assert scalar(db_path, "SELECT outcome FROM runs") == "partial"


def test_a_version_without_study_stops_its_trial_and_the_next_command_resumes(
    cli: Cli, db_path: Path, ctgov_site: CtgovSite, ctgov_server: ReplayServer
) -> None:
    good = dict(ctgov_site.history.versions["NCT01126879"])
    ctgov_site.history.versions["NCT01126879"][2] = {"version": 2, "studyV3": good[2]["study"]}
    result = cli("history", "NCT01126879")
    assert result.exit_code == 1
    assert "history/2: layout changed? ctgov history page lacks 'study'" in result.stderr
    assert scalar(db_path, "SELECT group_concat(version) FROM study_versions") == "0,1"

    ctgov_site.history.versions["NCT01126879"] = good
    ctgov_server.requests.clear()
    assert cli("history", "NCT01126879").exit_code == 0
    assert history_requests(ctgov_server) == ["/api/int/studies/NCT01126879?history=true"] + [
        f"/api/int/studies/NCT01126879/history/{n}" for n in (2, 3, 4)
    ]
    assert scalar(db_path, "SELECT count(*) FROM study_versions") == 5


def test_history_requests_are_retried_like_any_other(cli: Cli, db_path: Path, ctgov_server: ReplayServer) -> None:
    ctgov_server.add_fault("status", r"/history/3$", status=503, times=1)
    ctgov_server.add_fault("reset", r"NCT02210780\?history=true", times=1)
    result = cli("history", "NCT02210780")
    assert result.exit_code == 0, result.output
    assert scalar(db_path, "SELECT retries FROM runs") == 2
    assert scalar(db_path, "SELECT count(*) FROM study_versions") == 6


def test_robots_txt_is_obeyed_for_the_history_endpoints(cli: Cli, db_path: Path, ctgov_site: CtgovSite) -> None:
    ctgov_site.robots = "User-agent: *\nDisallow: /api/int/\n"
    result = cli("history", "NCT02210780", "NCT01126879")
    assert result.exit_code == 1
    assert len(failures(result.stderr)) == 2 and "robots.txt forbids this URL" in result.stderr
    assert scalar(db_path, "SELECT count(*) FROM study_versions") == 0


def test_history_takes_the_lock(cli: Cli, db_path: Path, ctgov_server: ReplayServer) -> None:
    with RunLock(str(db_path), "harvest run"):
        result = cli("history", "NCT02210780")
    assert result.exit_code == 3
    assert result.stderr.startswith("harvest: another run holds the lock since")
    assert history_requests(ctgov_server) == []


def test_bad_input_is_refused_before_anything_is_asked(cli: Cli, ctgov_server: ReplayServer) -> None:
    assert cli("history", "NCT123").exit_code == 2
    mirror = cli("run", "--source", "veeva", "--history")
    assert mirror.exit_code == 2 and "--history reads the registry's record history" in mirror.stderr
    assert ctgov_server.requests == []


# -- harvest run --history -----------------------------------------------------------------------------


def test_run_history_fetches_the_history_of_new_then_changed_trials(
    cli: Cli, db_path: Path, ctgov_site: CtgovSite, ctgov_server: ReplayServer
) -> None:
    first = cli("run", "--history")
    assert first.exit_code == 0, first.output
    # 24 new trials: the three with a recorded history (15 versions) and 21 with one version each
    assert "24 new" in first.stderr and "36 versions" in first.stderr
    assert len(history_requests(ctgov_server)) == 24 + 36
    assert scalar(db_path, "SELECT count(DISTINCT nct_id) FROM study_versions") == 24
    assert scalar(db_path, "SELECT count(*) FROM history_queue") == 0
    assert scalar(db_path, "SELECT versions FROM runs") == 36

    ctgov_server.requests.clear()
    assert cli("run", "--full", "--history").exit_code == 0  # nothing changed: no history asked
    assert history_requests(ctgov_server) == []

    newer = copy.deepcopy(load_study("NCT00763412"))
    newer["protocolSection"]["designModule"]["enrollmentInfo"] = {"count": 32, "type": "ACTUAL"}
    ctgov_site.add_version(newer, "2018-01-09")
    ctgov_server.requests.clear()
    third = cli("run", "--full", "--history")
    assert third.exit_code == 0
    assert "1 changed" in third.stderr and "1 versions" in third.stderr
    assert history_requests(ctgov_server) == [
        "/api/int/studies/NCT00763412?history=true",
        "/api/int/studies/NCT00763412/history/4",
    ]
    assert rows(
        db_path, "SELECT enrollment, change FROM enrollment_history WHERE nct_id = 'NCT00763412' ORDER BY version"
    )[-1] == (32, 1)
    # the changes table (what runs saw) and version_changes (what the registry's versions say) agree on the field
    assert rows(db_path, "SELECT field, old, new FROM changes") == rows(
        db_path, "SELECT field, old, new FROM version_changes WHERE nct_id = 'NCT00763412' AND version = 4"
    )


def test_a_trial_whose_history_failed_stays_queued_for_the_next_run(
    cli: Cli, db_path: Path, ctgov_site: CtgovSite, ctgov_server: ReplayServer
) -> None:
    ctgov_server.add_fault("status", r"/api/int/studies/NCT02210780\?", status=404, times=-1)
    first = cli("run", "--history")
    assert first.exit_code == 1
    assert failures(first.stderr) == [
        f"failed ctgov history {cli.env['HARVEST_CTGOV_URL'][:-2]}int/studies/NCT02210780?history=true: "
        "not found: injected HTTP 404"
    ]
    assert rows(db_path, "SELECT nct_id FROM history_queue") == [("NCT02210780",)]
    assert scalar(db_path, "SELECT outcome FROM runs") == "partial"

    ctgov_server.clear_faults()
    ctgov_server.requests.clear()
    assert cli("run").exit_code == 0  # without --history the queue waits
    assert history_requests(ctgov_server) == []
    second = cli("run", "--history")
    assert second.exit_code == 0
    assert len(history_requests(ctgov_server)) == 1 + 6
    assert scalar(db_path, "SELECT count(*) FROM history_queue") == 0


# -- the newest version and the current record ------------------------------------------------------------


def test_the_newest_version_is_the_current_record_stored_once_as_each(harvested: Path) -> None:
    for nct in TRIALS:
        newest = json.loads((HISTORY / nct / f"v{VERSIONS[nct] - 1}.reconstructed.json").read_text())
        assert newest["study"] == load_study(nct)  # the fixtures say so
        (version_hash,) = rows(
            harvested, "SELECT content_hash FROM study_versions WHERE nct_id = ? ORDER BY version DESC LIMIT 1", (nct,)
        )[0]
        assert version_hash == scalar(harvested, "SELECT content_hash FROM source_records WHERE nct_id = ?", (nct,))
        assert version_hash == scalar(harvested, "SELECT content_hash FROM studies WHERE nct_id = ?", (nct,))
    # no duplicate rows: one row per (trial, version), one studies row and one source record per trial
    assert scalar(harvested, "SELECT count(*) FROM study_versions") == sum(VERSIONS.values())
    assert scalar(harvested, "SELECT count(*) FROM (SELECT DISTINCT nct_id, version FROM study_versions)") == 15
    assert scalar(harvested, "SELECT count(*) FROM studies") == 24
    assert scalar(harvested, "SELECT count(*) FROM source_records") == 24


def test_fetching_history_leaves_the_current_record_alone(cli: Cli, db_path: Path) -> None:
    assert cli("run").exit_code == 0
    before = content(db_path)
    assert cli("history", *TRIALS).exit_code == 0
    assert content(db_path) == before
    assert scalar(db_path, "SELECT count(*) FROM changes") == 0


def test_each_version_keeps_its_body_and_its_record(harvested: Path) -> None:

    raw, record, url = rows(
        harvested, "SELECT raw, record, url FROM study_versions WHERE nct_id = 'NCT01126879' AND version = 2"
    )[0]
    body = json.loads(decompress(raw))
    assert body == json.loads((HISTORY / "NCT01126879" / "v2.reconstructed.json").read_text())
    assert json.loads(record)["enrollment"] == 30
    assert url.endswith("/api/int/studies/NCT01126879/history/2")


# -- version_changes -----------------------------------------------------------------------------------------


def test_version_changes_name_fields_as_the_changes_table_does(harvested: Path) -> None:
    found = rows(
        harvested,
        "SELECT version, field, old, new FROM version_changes WHERE nct_id = 'NCT02210780' AND field IN "
        "('overall_status', 'enrollment', 'enrollment_type', 'primary_completion_date') ORDER BY version, field",
    )

    def date(value: str, kind: str = "ESTIMATED") -> str:
        return json.dumps({"type": kind, "value": value})

    assert found == [
        (1, "primary_completion_date", date("2015-04"), date("2015-07")),
        (2, "enrollment", "180", "194"),
        (2, "enrollment_type", '"ESTIMATED"', '"ACTUAL"'),
        (2, "overall_status", '"RECRUITING"', '"ACTIVE_NOT_RECRUITING"'),
        (2, "primary_completion_date", date("2015-07"), date("2015-09")),
        (3, "overall_status", '"ACTIVE_NOT_RECRUITING"', '"COMPLETED"'),
        (3, "primary_completion_date", date("2015-09"), date("2015-09-15", "ACTUAL")),
    ]
    lists = {f for (f,) in rows(harvested, "SELECT DISTINCT field FROM version_changes WHERE version = 1")}
    assert "design_outcomes" in lists  # child tables by their table name
    assert scalar(harvested, "SELECT count(*) FROM version_changes WHERE version = 0") == 0  # nothing before v0


# -- the four questions ----------------------------------------------------------------------------------------


def test_outcome_changes_after_the_start(harvested: Path) -> None:
    found = rows(
        harvested,
        "SELECT nct_id, version, version_date, outcome_type, change, old_measure, new_measure, old_time_frame, "
        "new_time_frame, after_start FROM outcome_changes ORDER BY nct_id, version, outcome_type",
    )
    tetanus = load_study("NCT02210780")["protocolSection"]["outcomesModule"]["primaryOutcomes"][0]["measure"]
    psa = "Measurement of PSA in Serum and Plasma by Nanotechnology"
    psa_frame = "At screening, after 1-month of treatment, at surgery and at 1 and 12 months after surgery"
    assert found == [
        ("NCT00763412", 2, "2012-09-04", "PRIMARY", "changed", "Inflammatory Markers (CRP)", "CRP",
         "2 year/end of study", "2 year/end of study", 1),
        ("NCT01126879", 2, "2012-06-20", "SECONDARY", "added", None, psa, None, psa_frame, 1),
        ("NCT02210780", 1, "2015-01-12", "PRIMARY", "changed", "Response to Tetanus Toxoid (Adacel) Vaccine",
         tetanus, "Week 12", "Week 16", 1),
        ("NCT02210780", 1, "2015-01-12", "SECONDARY", "removed",
         "Incidence of Treatment-Emergent Adverse Events (TEAEs)", None, "Baseline to Week 32", None, 1),
    ]  # fmt: skip


def test_outcome_changes_before_the_start_and_without_one(tmp_path: Path) -> None:
    """after_start is 0 for a version dated before its start date (month dates read as their first day)."""
    site = CtgovSite.from_dir()
    study = copy.deepcopy(load_study("NCT00763412"))
    study["protocolSection"]["statusModule"]["startDateStruct"] = {"date": "2019-03", "type": "ESTIMATED"}
    site.history.put_list("NCT00763412", {"history": {"changes": []}}, {})
    site.add_version(study, "2019-02-01")
    renamed = copy.deepcopy(study)
    renamed["protocolSection"]["outcomesModule"]["primaryOutcomes"][0]["measure"] = "Body Mass Index"
    site.add_version(renamed, "2019-02-28")  # before 2019-03-01
    started = copy.deepcopy(renamed)
    started["protocolSection"]["outcomesModule"]["primaryOutcomes"][0]["timeFrame"] = "3 years"
    site.add_version(started, "2019-03-02")
    unstarted = copy.deepcopy(started)
    del unstarted["protocolSection"]["statusModule"]["startDateStruct"]
    unstarted["protocolSection"]["outcomesModule"]["primaryOutcomes"].pop()
    site.add_version(unstarted, "2019-04-02")
    with ReplayServer(site) as server:
        db = tmp_path / "h.db"
        assert (
            Cli({**TEST_ENV, **base_url_env({"ctgov": server}), "HARVEST_DB": str(db)})(
                "history", "NCT00763412"
            ).exit_code
            == 0
        )
    assert rows(
        db, "SELECT version, change, old_measure, new_measure, new_time_frame, after_start FROM outcome_changes "
        "ORDER BY version"
    ) == [
        (1, "changed", "BMI", "Body Mass Index", "2 year/end of study", 0),
        (2, "changed", "Body Mass Index", "Body Mass Index", "3 years", 1),
        (3, "removed", "CRP", None, None, None),
    ]  # fmt: skip


def test_enrollment_anticipated_against_actual(harvested: Path) -> None:
    found = rows(
        harvested,
        "SELECT nct_id, version, version_date, previous_enrollment, previous_type, enrollment, enrollment_type, "
        "change, change_percent, became_actual, first_enrollment FROM enrollment_history ORDER BY nct_id, version",
    )
    assert found == [
        ("NCT00763412", 0, "2008-09-29", None, None, 60, "ESTIMATED", None, None, 0, 60),
        ("NCT00763412", 2, "2012-09-04", 60, "ESTIMATED", 31, "ACTUAL", -29, -48.3, 1, 60),
        ("NCT01126879", 0, "2010-05-18", None, None, 54, "ESTIMATED", None, None, 0, 54),
        ("NCT01126879", 2, "2012-06-20", 54, "ESTIMATED", 30, "ESTIMATED", -24, -44.4, 0, 54),
        ("NCT01126879", 3, "2013-06-14", 30, "ESTIMATED", 12, "ACTUAL", -18, -60.0, 1, 54),
        ("NCT02210780", 0, "2014-08-05", None, None, 180, "ESTIMATED", None, None, 0, 180),
        ("NCT02210780", 2, "2015-06-30", 180, "ESTIMATED", 194, "ACTUAL", 14, 7.8, 1, 180),
    ]
    # the anticipated figure at registration against the actual one, per trial
    assert rows(
        harvested,
        "SELECT nct_id, first_enrollment, enrollment, enrollment - first_enrollment FROM enrollment_history "
        "WHERE became_actual = 1 ORDER BY nct_id",
    ) == [("NCT00763412", 60, 31, -29), ("NCT01126879", 54, 12, -42), ("NCT02210780", 180, 194, 14)]


def test_completion_slips(harvested: Path) -> None:
    found = rows(
        harvested,
        "SELECT nct_id, version, old_date, new_date, new_type, days, move, total_days FROM completion_slips "
        "ORDER BY nct_id, version",
    )
    assert found == [
        ("NCT00763412", 1, "2010-06", "2012-06", "ESTIMATED", days("2010-06-01", "2012-06-01"), 1, 731),
        ("NCT00763412", 2, "2012-06", "2013-01", "ESTIMATED", days("2012-06-01", "2013-01-01"), 2, 945),
        ("NCT01126879", 1, "2012-07", "2012-12", "ESTIMATED", days("2012-07-01", "2012-12-01"), 1, 153),
        ("NCT01126879", 2, "2012-12", "2013-06", "ESTIMATED", days("2012-12-01", "2013-06-01"), 2, 335),
        ("NCT01126879", 3, "2013-06", "2013-05-09", "ACTUAL", -23, 3, days("2012-07-01", "2013-05-09")),
        ("NCT02210780", 1, "2015-04", "2015-07", "ESTIMATED", 91, 1, 91),
        ("NCT02210780", 2, "2015-07", "2015-09", "ESTIMATED", 62, 2, 153),
    ]
    # 2015-09 (ESTIMATED) -> 2015-09-15 (ACTUAL) and 2013-01 ESTIMATED -> ACTUAL are no moves
    assert rows(harvested, "SELECT nct_id, count(*), sum(days) FROM completion_slips GROUP BY 1 ORDER BY 1") == [
        ("NCT00763412", 2, 945),
        ("NCT01126879", 3, 312),
        ("NCT02210780", 2, 153),
    ]


def test_status_durations_as_cthist_counts_them(harvested: Path) -> None:
    found = rows(
        harvested,
        "SELECT nct_id, overall_status, days, versions, first_date, current FROM status_durations "
        "ORDER BY nct_id, first_date",
    )
    assert found == [
        ("NCT00763412", "RECRUITING", days("2008-09-29", "2012-09-04"), 2, "2008-09-29", 0),
        ("NCT00763412", "ACTIVE_NOT_RECRUITING", days("2012-09-04", "2017-05-03"), 1, "2012-09-04", 0),
        ("NCT00763412", "COMPLETED", 0, 1, "2017-05-03", 1),
        ("NCT01126879", "NOT_YET_RECRUITING", days("2010-05-18", "2011-02-10"), 1, "2010-05-18", 0),
        ("NCT01126879", "RECRUITING", days("2011-02-10", "2013-06-14"), 2, "2011-02-10", 0),
        ("NCT01126879", "TERMINATED", days("2013-06-14", "2019-08-27"), 2, "2013-06-14", 1),
        ("NCT02210780", "RECRUITING", 329, 2, "2014-08-05", 0),
        ("NCT02210780", "ACTIVE_NOT_RECRUITING", 225, 1, "2015-06-30", 0),
        ("NCT02210780", "COMPLETED", days("2016-02-10", "2020-04-23"), 3, "2016-02-10", 1),
    ]
    # days_to_date carries the current status on to today (cthist's default); the closed ones are as they are
    today = scalar(harvested, "SELECT date('now')")
    newest = {"NCT00763412": "2017-05-03", "NCT01126879": "2019-08-27", "NCT02210780": "2020-04-23"}
    for nct, status, closed, to_date, current in rows(
        harvested, "SELECT nct_id, overall_status, days, days_to_date, current FROM status_durations"
    ):
        assert to_date == closed + (days(newest[nct], today) if current else 0), (nct, status)


@pytest.mark.parametrize("view", sorted(ANALYSES))
def test_one_trials_analysis_reads_only_its_versions_and_gives_the_views_rows(harvested: Path, view: str) -> None:
    """The trial page and the CLI scope each analysis to the trials asked: the same rows as the view filtered,
    reached by the primary key (the view filtered from outside computes every stored trial first)."""
    conn = sqlite3.connect(f"file:{harvested}?mode=ro", uri=True)
    try:
        order = ANALYSES[view][0]
        for nct in TRIALS:
            expected = conn.execute(f"SELECT * FROM {view} WHERE nct_id = ? ORDER BY {order}", [nct]).fetchall()
            scoped = conn.execute(f"SELECT * FROM ({ONE_TRIAL[view]}) ORDER BY {order}", {"id": nct}).fetchall()
            assert scoped == expected
        assert (
            analysis(conn, view, TRIALS[:2])[1]
            == conn.execute(f"SELECT * FROM {view} WHERE nct_id IN (?, ?) ORDER BY {order}", TRIALS[:2]).fetchall()
        )
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {ONE_TRIAL[view]}", {"id": TRIALS[0]})]
        reads = [step for step in plan if "study_versions" in step]
        assert reads and all(step.startswith("SEARCH") and "nct_id=?" in step for step in reads), plan
    finally:
        conn.close()
    if view != "status_durations":  # every trial here has at least one row of the other three
        assert expected


def test_the_readme_query_by_sponsor_class(harvested: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    start = readme.index("-- trials whose primary outcome changed after they started, by sponsor class")
    sql = readme[start : readme.index("```", start)]
    assert rows(harvested, sql) == [("INDIV", 1), ("INDUSTRY", 1)]


# -- the commands that print ------------------------------------------------------------------------------------


def test_changes_prints_a_readable_timeline(harvested: Path) -> None:
    cli = Cli({"HARVEST_DB": str(harvested)})
    result = cli("history", "NCT02210780", "--offline")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "NCT02210780: 6 versions, 2014-08-05 to 2020-04-23"
    assert [line for line in lines if line.startswith("v")] == [
        "v0   2014-08-05  RECRUITING  (first version)",
        "v1   2015-01-12  RECRUITING",
        "v2   2015-06-30  ACTIVE_NOT_RECRUITING",
        "v3   2016-02-10  COMPLETED",
        "v4   2017-02-07  COMPLETED",
        "v5   2020-04-23  COMPLETED",
    ]
    text = " ".join(" ".join(line.split()) for line in lines)
    assert "primary_completion_date 2015-04 (ESTIMATED) → 2015-07 (ESTIMATED)" in text
    assert 'primary outcome changed after start: "Response to Tetanus Toxoid (Adacel) Vaccine" → "Percentage' in text
    assert 'secondary outcome removed after start: "Incidence of Treatment-Emergent Adverse Events (TEAEs)"' in text
    assert "enrollment 180 → 194" in text and "overall_status RECRUITING → ACTIVE_NOT_RECRUITING" in text
    assert "has_results no → yes" in text
    missing = cli("history", "NCT03418623", "--offline")
    assert missing.exit_code == 1 and "NCT03418623: no versions in the file" in missing.stdout


def test_changes_after_fetching(cli: Cli) -> None:
    result = cli("history", "NCT00763412", "--changes")
    assert result.exit_code == 0
    assert result.stdout.startswith("NCT00763412: 4 versions, 2008-09-29 to 2017-05-03\n")
    assert "1 new" in result.stderr


@pytest.mark.parametrize(
    ("command", "count"),
    [("outcome-changes", 4), ("enrollment-history", 7), ("completion-slips", 7), ("status-durations", 9)],
)
def test_one_command_per_analysis(harvested: Path, command: str, count: int) -> None:
    cli = Cli({"HARVEST_DB": str(harvested)})
    result = cli(command, "--json")
    assert result.exit_code == 0, result.output
    found = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(found) == count
    one = cli(command, "NCT01126879", "--json")
    assert {row["nct_id"] for row in map(json.loads, one.stdout.splitlines())} == {"NCT01126879"}


def test_the_tables_and_views_are_described_for_datasette(harvested: Path) -> None:
    from harvest.query.datasette import TABLES
    from harvest.query.history_docs import HISTORY_TABLES

    conn = sqlite3.connect(harvested)
    try:
        for name, (description, columns) in HISTORY_TABLES.items():
            assert TABLES[name] == (description, columns)
            assert sorted(columns) == sorted(r[1] for r in conn.execute(f"PRAGMA table_info({name})")), name
            assert all(columns.values())
        assert "versions" in TABLES["runs"][1]
    finally:
        conn.close()


def test_reparse_parses_the_stored_versions_again(cli: Cli, db_path: Path, ctgov_server: ReplayServer) -> None:
    assert cli("history", *TRIALS).exit_code == 0
    fresh = (
        content(db_path),
        rows(db_path, "SELECT * FROM study_versions ORDER BY 1, 2"),
        rows(db_path, "SELECT * FROM version_changes ORDER BY 1, 2, 4"),
    )
    conn = sqlite3.connect(db_path)  # what an older parser made of them: other records, no changes worked out
    conn.execute("UPDATE study_versions SET record = '{}', content_hash = 'old'")
    conn.execute("DELETE FROM version_changes")
    conn.commit()
    conn.close()
    ctgov_server.requests.clear()
    result = cli("reparse")
    assert result.exit_code == 0, result.output
    assert ctgov_server.requests == []  # offline
    again = (
        content(db_path),
        rows(db_path, "SELECT * FROM study_versions ORDER BY 1, 2"),
        rows(db_path, "SELECT * FROM version_changes ORDER BY 1, 2, 4"),
    )
    assert again == fresh
