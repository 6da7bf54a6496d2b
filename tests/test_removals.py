"""Studies the registry no longer shows, found and marked, never lost: by a full run and by `harvest reconcile`.

Night 1 harvests the 24 fixture studies from the replay server; between nights the emulated registry withdraws a
study (404 from then on), merges one into another (301 to it), or lists badly. Each night is the command a user
runs, and every assertion is about the SQLite file or what the command printed.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harvest.store.lock import RunLock
from harvest.testing import CtgovSite, ReplayServer, base_url_env
from tests.conftest import CLOCK_COLUMNS, TEST_ENV, Cli, content, load_study, rows, scalar
from tests.mirror_helpers import served_mirror
from tests.serve_helpers import serving

REMOVED = "NCT03418623"  # a real record (fixtures/ctgov/studies)
MERGED, INTO = "NCT06171568", "NCT03475563"  # two real observational records
SINGLE = "/api/v2/studies/NCT"  # a request for one study alone


def today() -> str:
    """The day a listing begins (UTC), which is what a study it finds removed is marked with."""
    return dt.datetime.now(dt.UTC).date().isoformat()


def asked_alone(server: ReplayServer, start: int) -> list[tuple[str, int]]:
    return [(path, status) for path, status in server.answers[start:] if path.startswith(SINGLE)]


def marks(db: Path) -> list[tuple[str, str]]:
    return rows(db, "SELECT nct_id, removed_on FROM studies WHERE removed_on IS NOT NULL ORDER BY nct_id")


def removal_changes(db: Path) -> list[tuple[str, str | None, str | None]]:
    return rows(db, "SELECT nct_id, old, new FROM changes WHERE field = 'removed_on' ORDER BY id")


def without_marks(snapshot: dict[str, list[tuple]], db: Path) -> dict[str, list[tuple]]:
    """A content snapshot with the studies' removed_on column and the count of changes left out."""
    kept = {table: found for table, found in snapshot.items() if table != "changes"}
    conn = sqlite3.connect(db)
    try:
        names = [d[0] for d in conn.execute("SELECT * FROM studies LIMIT 0").description]
    finally:
        conn.close()
    columns = [n for n in names if n not in CLOCK_COLUMNS]
    at = columns.index("removed_on")
    kept["studies"] = [row[:at] + row[at + 1 :] for row in snapshot["studies"]]
    return kept


@pytest.mark.parametrize("night", [("run", "--full"), ("reconcile",)], ids=["full-run", "reconcile"])
def test_a_study_the_registry_no_longer_shows_is_marked_and_every_row_kept(
    cli: Cli, ctgov_site: CtgovSite, ctgov_server: ReplayServer, db_path: Path, night: tuple[str, ...]
) -> None:
    assert cli("run").exit_code == 0
    before = content(db_path)
    ctgov_site.remove(REMOVED)

    start = len(ctgov_server.answers)
    result = cli(*night)
    assert result.exit_code == 0, result.output
    assert asked_alone(ctgov_server, start) == [(f"/api/v2/studies/{REMOVED}", 404)]  # only the missing one
    assert marks(db_path) == [(REMOVED, today())]
    assert removal_changes(db_path) == [(REMOVED, None, json.dumps(today()))]
    # nothing deleted, nothing else changed
    assert without_marks(content(db_path), db_path) == without_marks(before, db_path)
    assert "23 listed of 23 (totalCount), 1 removed, 0 merged, 0 restored" in result.stderr
    shown = json.loads(cli("show", REMOVED).stdout)
    assert (shown["nct_id"], shown["removed_on"], shown["sources"]) == (REMOVED, today(), ["ctgov"])
    assert json.loads(cli("show", INTO).stdout)["removed_on"] is None
    assert scalar(db_path, "SELECT count(*) FROM listed_studies") == 0  # the listing is done with

    # Asked again the next time, it is not looked for again and keeps the first day it was missed.
    start = len(ctgov_server.answers)
    again = cli(*night)
    assert again.exit_code == 0 and asked_alone(ctgov_server, start) == []
    assert marks(db_path) == [(REMOVED, today())] and len(removal_changes(db_path)) == 1


def test_reconcile_lists_nct_numbers_only_and_leaves_the_file_a_full_run_leaves(
    ctgov_site: CtgovSite, ctgov_server: ReplayServer, tmp_path: Path
) -> None:
    """The cheap way and the thorough way agree: the same marks, aliases, changes and rows, table by table."""
    env = {**TEST_ENV, **base_url_env({"ctgov": ctgov_server})}
    by_run, by_reconcile = (
        Cli({**env, "HARVEST_DB": str(tmp_path / "run.db")}),
        Cli({**env, "HARVEST_DB": str(tmp_path / "reconcile.db")}),
    )
    assert by_run("run").exit_code == 0 and by_reconcile("run").exit_code == 0
    ctgov_site.remove(REMOVED)
    ctgov_site.merge(MERGED, INTO)

    assert by_run("run", "--full").exit_code == 0
    start = len(ctgov_server.answers)
    result = by_reconcile("reconcile")
    assert result.exit_code == 0, result.output
    listing = [path for path, _ in ctgov_server.answers[start:] if path.startswith("/api/v2/studies?")]
    assert listing and all("fields=NCTId" in path for path in listing)
    assert asked_alone(ctgov_server, start) == [
        (f"/api/v2/studies/{REMOVED}", 404),
        (f"/api/v2/studies/{MERGED}", 301),  # merged: redirected to the study it now belongs to
        (f"/api/v2/studies/{INTO}", 200),
    ]
    assert "1 removed, 1 merged, 0 restored" in result.stderr

    for db in (tmp_path / "run.db", tmp_path / "reconcile.db"):
        assert marks(db) == [(REMOVED, today())]
        assert rows(db, "SELECT alias, nct_id FROM nct_aliases") == [(MERGED, INTO)]
        assert scalar(db, "SELECT count(*) FROM studies WHERE nct_id = ?", (MERGED,)) == 0  # merged into INTO
        assert json.loads(scalar(db, "SELECT nct_aliases FROM studies WHERE nct_id = ?", (INTO,))) == [MERGED]
    assert content(tmp_path / "reconcile.db") == content(tmp_path / "run.db")
    changes = "SELECT nct_id, field, old, new FROM changes ORDER BY nct_id, field"
    assert rows(tmp_path / "reconcile.db", changes) == rows(tmp_path / "run.db", changes)
    shown = json.loads(by_reconcile("show", MERGED).stdout)
    assert shown["nct_id"] == INTO and shown["removed_on"] is None


@pytest.mark.parametrize("night", [("run", "--full"), ("reconcile",)], ids=["full-run", "reconcile"])
def test_a_redirect_the_current_record_does_not_name_is_a_merge_too(
    cli: Cli, ctgov_site: CtgovSite, ctgov_server: ReplayServer, db_path: Path, night: tuple[str, ...]
) -> None:
    assert cli("run").exit_code == 0
    ctgov_site.remove(MERGED)
    ctgov_site.aliases[MERGED] = INTO  # the registry redirects the number; INTO's record does not list it (yet)
    start = len(ctgov_server.answers)
    result = cli(*night)
    assert result.exit_code == 0, result.output
    assert (f"/api/v2/studies/{MERGED}", 301) in asked_alone(ctgov_server, start)
    assert "0 removed, 1 merged" in result.stderr and marks(db_path) == []
    assert rows(db_path, "SELECT alias, nct_id FROM nct_aliases") == [(MERGED, INTO)]
    assert scalar(db_path, "SELECT count(*) FROM studies WHERE nct_id = ?", (MERGED,)) == 0
    assert scalar(db_path, "SELECT count(*) FROM source_records WHERE nct_id = ?", (MERGED,)) == 0  # superseded
    assert json.loads(cli("show", MERGED).stdout)["nct_id"] == INTO


@pytest.mark.parametrize("night", [("run", "--full"), ("reconcile",)], ids=["full-run", "reconcile"])
def test_a_study_that_comes_back_is_unmarked_and_changes_records_both(
    cli: Cli, ctgov_site: CtgovSite, db_path: Path, night: tuple[str, ...]
) -> None:
    assert cli("run").exit_code == 0
    study = ctgov_site.studies[REMOVED]
    ctgov_site.remove(REMOVED)
    assert cli(*night).exit_code == 0
    assert marks(db_path) == [(REMOVED, today())]

    ctgov_site.put(study)  # the registry shows it again
    back = cli(*night)
    assert back.exit_code == 0 and "0 removed, 0 merged, 1 restored" in back.stderr
    assert marks(db_path) == []
    day = json.dumps(today())
    assert removal_changes(db_path) == [(REMOVED, None, day), (REMOVED, day, None)]
    printed = cli("changes", "--since", today(), "--field", "removed_on").stdout
    listed = [json.loads(line) for line in printed.splitlines()]
    assert [(c["nct_id"], c["old"], c["new"]) for c in listed] == [(REMOVED, None, day), (REMOVED, day, None)]


def test_an_incremental_run_or_a_fetch_that_meets_a_removed_study_unmarks_it(
    cli: Cli, ctgov_site: CtgovSite, db_path: Path
) -> None:
    assert cli("run").exit_code == 0
    study = ctgov_site.studies[REMOVED]
    ctgov_site.remove(REMOVED)
    assert cli("reconcile").exit_code == 0 and marks(db_path)
    ctgov_site.put(study)
    assert cli("fetch", REMOVED).exit_code == 0
    assert marks(db_path) == [] and len(removal_changes(db_path)) == 2


# -- a listing glitch never marks anything ----------------------------------------------------------------


@pytest.fixture
def paged_site() -> CtgovSite:
    return CtgovSite.from_dir(max_page_size=5)  # 24 studies in 5 pages


@pytest.fixture
def paged_server(paged_site: CtgovSite) -> Iterator[ReplayServer]:
    with ReplayServer(paged_site) as server:
        yield server


@pytest.fixture
def paged(paged_server: ReplayServer, db_path: Path) -> Cli:
    return Cli({**TEST_ENV, **base_url_env({"ctgov": paged_server}), "HARVEST_DB": str(db_path)})


@pytest.mark.parametrize("night", [("run", "--full"), ("reconcile",)], ids=["full-run", "reconcile"])
def test_a_listing_that_ends_early_marks_nothing_and_exits_3(
    paged: Cli, paged_site: CtgovSite, paged_server: ReplayServer, db_path: Path, night: tuple[str, ...]
) -> None:
    assert paged("run").exit_code == 0
    paged_site.remove(REMOVED)
    paged_site.listing_ends_after = 2  # 10 of the 23 studies, then no nextPageToken
    start = len(paged_server.answers)
    result = paged(*night)
    assert result.exit_code == 3, result.output
    assert "the registry listed 10 studies of 23 (its totalCount): a listing that ends early marks nothing" in (
        result.stderr
    )
    assert asked_alone(paged_server, start) == [] and marks(db_path) == []
    assert rows(db_path, "SELECT outcome FROM runs ORDER BY id DESC LIMIT 1") == [("failed",)]
    # Nothing of the broken listing is kept to resume from: the next one starts over, and sees right.
    assert scalar(db_path, "SELECT count(*) FROM listed_studies") == 0
    assert scalar(db_path, "SELECT count(*) FROM harvest_state WHERE cursor IS NOT NULL") == 0
    paged_site.listing_ends_after = None
    assert paged(*night).exit_code == 0 and marks(db_path) == [(REMOVED, today())]


def test_a_study_missing_from_the_listing_that_answers_alone_is_not_marked(
    cli: Cli, ctgov_site: CtgovSite, ctgov_server: ReplayServer, db_path: Path
) -> None:
    assert cli("run").exit_code == 0
    ctgov_site.unlisted = {REMOVED}  # not listed, not counted, yet served: the listing is wrong, not the study
    start = len(ctgov_server.answers)
    result = cli("reconcile")
    assert result.exit_code == 0, result.output
    assert asked_alone(ctgov_server, start) == [(f"/api/v2/studies/{REMOVED}", 200)]
    assert marks(db_path) == []
    assert f"{REMOVED} is on the registry but was not in its listing; nothing marked" in result.stderr


def test_a_study_that_answers_5xx_alone_is_not_marked_and_is_asked_again_next_time(
    cli: Cli, ctgov_site: CtgovSite, ctgov_server: ReplayServer, db_path: Path
) -> None:
    assert cli("run").exit_code == 0
    ctgov_site.remove(REMOVED)
    ctgov_server.add_fault("status", rf"^/api/v2/studies/{REMOVED}$", times=-1, status=503)
    result = cli("reconcile")
    assert result.exit_code == 1, result.output  # a failure, new trouble; not a removal
    assert f"failed ctgov {ctgov_server.url}/api/v2/studies/{REMOVED}: HTTP 503 after 4 attempts" in result.stderr
    assert marks(db_path) == []
    ctgov_server.clear_faults()
    assert cli("reconcile").exit_code == 0 and marks(db_path) == [(REMOVED, today())]


def test_a_reconcile_that_would_mark_more_than_a_small_share_refuses(
    cli: Cli, env: dict[str, str], ctgov_site: CtgovSite, ctgov_server: ReplayServer, db_path: Path
) -> None:
    assert cli("run").exit_code == 0
    gone = sorted(ctgov_site.studies)[:11]  # more than the 10 always allowed, and far more than 1% of 24
    for nct in gone:
        ctgov_site.remove(nct)
    start = len(ctgov_server.answers)
    refused = cli("reconcile")
    assert refused.exit_code == 3
    assert (
        "harvest reconcile ctgov [full] FAILED" in refused.stderr
        and "11 of the 24 stored studies are not in the registry's listing, more than 1.0% of the file "
        "(HARVEST_REMOVAL_MAX_SHARE): taken for a listing glitch; nothing marked"
        in refused.stderr
    )
    assert asked_alone(ctgov_server, start) == [] and marks(db_path) == []

    assert Cli({**env, "HARVEST_REMOVAL_MAX_SHARE": "2"})("reconcile").exit_code == 2  # not a share
    allowed = Cli({**env, "HARVEST_REMOVAL_MAX_SHARE": "0.5"})("reconcile")  # the user knows: half may go
    assert allowed.exit_code == 0, allowed.output
    assert [nct for nct, _ in marks(db_path)] == gone


def test_the_max_share_option_overrides_the_setting(
    cli: Cli, ctgov_site: CtgovSite, db_path: Path, env: dict[str, str]
) -> None:
    assert cli("run").exit_code == 0
    for nct in sorted(ctgov_site.studies)[:11]:
        ctgov_site.remove(nct)
    assert Cli({**env, "HARVEST_REMOVAL_MAX_SHARE": "0.9"})("reconcile", "--max-share", "0.01").exit_code == 3
    assert cli("reconcile", "--max-share", "0.5").exit_code == 0 and len(marks(db_path)) == 11
    assert cli("reconcile", "--max-share", "1.5").exit_code == 2


# -- where users look ------------------------------------------------------------------------------------


def test_stats_shows_how_complete_the_file_is(cli: Cli, ctgov_site: CtgovSite, db_path: Path) -> None:
    assert cli("run").exit_code == 0
    before = json.loads(cli("stats", "--json").stdout)["completeness"]
    assert before["last_reconcile"] is None and before["registry_total"] == 24  # the first run listed it all
    assert "last reconcile never" in cli("stats").stdout

    ctgov_site.remove(REMOVED)
    assert cli("reconcile").exit_code == 0
    reconcile_id = scalar(db_path, "SELECT max(id) FROM runs")
    figures = json.loads(cli("stats", "--json").stdout)["completeness"]
    assert figures["last_reconcile"].startswith(today())
    assert {k: figures[k] for k in ("studies", "live", "removed", "removed_since", "registry_total")} == {
        "studies": 24,
        "live": 23,
        "removed": 1,
        "removed_since": today(),
        "registry_total": 23,
    }
    assert figures["last_listing"]["command"] == "reconcile" and figures["last_listing"]["run_id"] == reconcile_id
    text = cli("stats").stdout
    assert f"completeness: 24 studies stored, 23 live, 1 removed from the registry (the first on {today()}" in text
    assert f"the registry counted 23 at its last full listing (reconcile #{reconcile_id}, {today()}; 23 listed)" in (
        text
    )
    assert f"last reconcile {today()}" in text
    run = json.loads(cli("runs", "--json", "--limit", "1").stdout)
    assert {k: run[k] for k in ("command", "listed", "registry_total", "removed", "merged", "restored")} == {
        "command": "reconcile",
        "listed": 23,
        "registry_total": 23,
        "removed": 1,
        "merged": 0,
        "restored": 0,
    }


def test_a_removed_study_keeps_its_mirror_records_through_mirror_runs_and_reparse(
    ctgov_site: CtgovSite, ctgov_server: ReplayServer, db_path: Path
) -> None:
    with served_mirror("veeva") as veeva:
        both = Cli({**TEST_ENV, **base_url_env({"ctgov": ctgov_server, "veeva": veeva}), "HARVEST_DB": str(db_path)})
        assert both("run").exit_code == 0
        both("run", "--source", "veeva")
        nct = "NCT04067674"  # carried by the registry and by a veeva page
        of_trial = "SELECT source, record_key, content_hash FROM source_records WHERE nct_id = ?"
        records = rows(db_path, of_trial, (nct,))
        assert {source for source, _, _ in records} == {"ctgov", "veeva"}
        ctgov_site.remove(nct)
        assert both("reconcile").exit_code == 0
        both("run", "--source", "veeva")
        assert both("reparse").exit_code == 0  # every row rebuilt from its records: the mark is the file's own
        assert marks(db_path) == [(nct, today())]
        assert rows(db_path, of_trial, (nct,)) == records
        shown = json.loads(both("show", nct).stdout)
        assert shown["removed_on"] == today() and shown["sources"] == ["ctgov", "veeva"]


def test_the_readme_query_lists_the_removed_studies(cli: Cli, ctgov_site: CtgovSite, db_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    query = next(line for line in readme.splitlines() if "WHERE removed_on IS NOT NULL ORDER BY removed_on" in line)
    assert cli("run").exit_code == 0
    ctgov_site.remove(REMOVED)
    assert cli("reconcile").exit_code == 0
    found = [json.loads(line) for line in cli("query", query, "--json").stdout.splitlines()]
    assert [(row["nct_id"], row["removed_on"]) for row in found] == [(REMOVED, today())]
    assert found[0]["brief_title"] == load_study(REMOVED)["protocolSection"]["identificationModule"]["briefTitle"]


def test_the_trial_page_says_the_registry_no_longer_shows_it(cli: Cli, ctgov_site: CtgovSite, db_path: Path) -> None:
    assert cli("run").exit_code == 0
    ctgov_site.remove(REMOVED)
    assert cli("reconcile").exit_code == 0
    with serving(db_path) as site:
        removed = httpx.get(f"{site}/{db_path.stem}/studies/{REMOVED}", timeout=30).text
        live = httpx.get(f"{site}/{db_path.stem}/studies/{INTO}", timeout=30).text
    assert '<span class="badge removed"' in removed and f"no longer on ClinicalTrials.gov since {today()}" in removed
    assert 'class="badge removed"' not in live


def test_a_merged_study_takes_its_mirror_records_to_the_study_it_now_belongs_to(
    ctgov_site: CtgovSite, ctgov_server: ReplayServer, db_path: Path
) -> None:
    with served_mirror("veeva") as veeva:
        both = Cli({**TEST_ENV, **base_url_env({"ctgov": ctgov_server, "veeva": veeva}), "HARVEST_DB": str(db_path)})
        assert both("run").exit_code == 0
        both("run", "--source", "veeva")
        nct = "NCT04067674"  # carried by the registry and by a veeva page
        ctgov_site.remove(nct)
        ctgov_site.aliases[nct] = INTO  # merged into INTO, whose record (unchanged, stored) does not say so
        assert both("reconcile").exit_code == 0
        assert rows(
            db_path,
            "SELECT source, nct_id FROM source_records WHERE record_key LIKE '/study/%' AND nct_id IN (?, ?)",
            (nct, INTO),
        ) == [("veeva", INTO)]
        assert json.loads(scalar(db_path, "SELECT sources FROM studies WHERE nct_id = ?", (INTO,))) == [
            "ctgov",
            "veeva",
        ]
        assert scalar(db_path, "SELECT count(*) FROM studies WHERE nct_id = ?", (nct,)) == 0
        shown = json.loads(both("show", nct).stdout)
        assert shown["nct_id"] == INTO and shown["sources"] == ["ctgov", "veeva"]


def test_reconcile_takes_the_lock_like_a_run(cli: Cli, db_path: Path) -> None:
    assert cli("run").exit_code == 0
    with RunLock(str(db_path), "harvest run --source ctgov"):
        held = cli("reconcile")
    assert held.exit_code == 3 and held.stderr.startswith("harvest: another run holds the lock since")
    assert rows(db_path, "SELECT command FROM runs ORDER BY id") == [("run",)]  # refused before it began
