"""`harvest serve` over a real socket: `harvest --db harvest.db serve` runs as a subprocess on a free 127.0.0.1
port over a harvest of the fixtures, and the tests read its pages with httpx, as a browser would fetch them.

The command line's own choices (arguments, the 0.0.0.0 warning, missing datasette or file) are checked in
process with datasette's entry point replaced, so they start no server.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harvest.core.errors import EXIT_CANNOT_RUN
from harvest.testing import CtgovSite, ReplayServer, base_url_env
from harvest.web import HIDDEN, SEARCH_HITS, SETTINGS, TEMPLATES, site_metadata
from tests.conftest import TEST_ENV, Cli
from tests.query_helpers import assert_one_line_error, cli, harvested_db
from tests.serve_helpers import free_port, rows, serving

WITH_RESULTS = "NCT02210780"  # dupilumab and vaccine responses: 42 sites, results posted
MANY_SITES = "NCT02513394"  # PALLAS: 437 sites, results posted


@pytest.fixture(scope="module")
def harvest_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixtures harvested, and the registry's past versions of WITH_RESULTS (MANY_SITES has none)."""
    db = harvested_db(tmp_path_factory)
    with ReplayServer(CtgovSite.from_dir()) as server:
        fetched = Cli({**TEST_ENV, **base_url_env({"ctgov": server}), "HARVEST_DB": str(db)})("history", WITH_RESULTS)
    assert fetched.exit_code == 0, fetched.output
    return db


@pytest.fixture(scope="module")
def site(harvest_db: Path) -> Iterator[str]:
    """The base URL of `harvest serve` on the harvest; stopped after the module."""
    with serving(harvest_db) as base:
        yield base


def page(base: str, path: str, **params: Any) -> str:
    response = httpx.get(base + path, params=params, timeout=30)
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    return response.text


def positions(text: str, *needles: str) -> list[int]:
    found = [text.find(needle) for needle in needles]
    assert -1 not in found, [n for n, at in zip(needles, found, strict=True) if at == -1]
    return found


# -- home page ------------------------------------------------------------------------------------


def test_home_page_starts_with_a_search_box_then_the_tables_in_a_readers_order(site: str) -> None:
    home = page(site, "/")
    order = positions(
        home,
        'action="/harvest/search_studies"',
        'href="/harvest/study_overview"',
        'href="/harvest/search_studies"',
        'href="/harvest/studies"',
        'href="/harvest/conditions"',
        'href="/harvest/interventions"',
        'href="/harvest/locations"',
        'href="/harvest/results_overview"',
        'href="/harvest/changes"',
    )
    assert order == sorted(order)
    assert 'name="q"' in home
    for name in ("harvest_state", "pages", "quarantine", "runs", "studies_fts"):
        assert f'href="/harvest/{name}"' not in home


def test_bookkeeping_is_hidden_from_the_lists_and_still_reachable_by_url(site: str) -> None:
    listing = page(site, "/harvest")
    for name in ("harvest_state", "harvest_meta", "pages", "quarantine", "runs", "unresolved", "studies_fts_data"):
        assert f'href="/harvest/{name}"' not in listing, name
    assert 'href="/harvest/studies"' in listing
    assert "harvest_state" in page(site, "/harvest/harvest_state")
    assert "<h1" in page(site, "/harvest/runs")


def test_the_metadata_can_be_built_twice_in_one_process() -> None:
    first, second = site_metadata("harvest"), site_metadata("harvest")
    assert first == second  # the shared description of the queries is copied, not changed in place
    assert first["databases"]["harvest"]["queries"]["search_studies"]["sql"].count("LIMIT") == 1


def test_the_metadata_hides_the_bookkeeping_and_keeps_the_descriptions() -> None:
    tables = site_metadata("x")["databases"]["x"]["tables"]
    assert all(tables[name]["hidden"] for name in HIDDEN)
    assert not tables["studies"].get("hidden")
    assert tables["studies"]["columns"]["overall_status"].startswith("Recruitment status")
    assert tables["studies"]["facets"] == ["overall_status", {"array": "phases"}, "study_type", "has_results"]
    search = site_metadata("x")["databases"]["x"]["queries"]["search_studies"]
    assert search["hide_sql"] and search["sql"].endswith(" LIMIT 100")  # the best 100: snippets for those only


# -- search ---------------------------------------------------------------------------------------


def test_the_search_box_finds_the_best_match_first_linked_to_its_trial_page(site: str, harvest_db: Path) -> None:
    found = cli(harvest_db, "search", "septic shock", "--limit", "1", "--json")
    first = re.search(r'"nct_id": "(NCT\d{8})"', found.stdout)
    assert first, found.stdout
    results = page(site, "/harvest/search_studies", q="septic shock")
    cells = re.findall(r'<td class="col-nct_id"><a href="/harvest/studies/(NCT\d{8})">', results)
    assert cells and cells[0] == first.group(1)
    assert "<mark>" in results  # the snippet shows where the words matched


def test_the_search_page_speaks_of_trials_not_sql(site: str, harvest_db: Path) -> None:
    results = page(site, "/harvest/search_studies", q="septic shock")
    found = cli(harvest_db, "search", "septic shock", "--limit", "1000", "--json").stdout.splitlines()
    count = len(found)
    assert 0 < count < SEARCH_HITS
    assert f"{count} trial{'' if count == 1 else 's'}, best match first." in results
    assert 'value="septic shock"' in results  # the words stay in the box, to refine them
    for wording in ("Custom SQL query", "Query parameters", "Run SQL"):
        assert wording not in results
    first = json.loads(found[0])
    title = f'<a href="/harvest/studies/{first["nct_id"]}">{first["brief_title"]}</a>'
    assert title.replace("'", "&#39;") in results  # the title links to the trial page too
    assert f'class="badge status-{first["overall_status"]}"' in results
    assert "<pre" not in results and "_show_sql=1" in results  # the SQL is one click away, not in the way


def test_a_search_with_no_hit_says_so_and_the_empty_page_is_a_search_box(site: str) -> None:
    nothing = page(site, "/harvest/search_studies", q="zzyzx qwertyuiop")
    assert "No trial matches every one of these words." in nothing
    assert "<table" not in nothing
    empty = page(site, "/harvest/search_studies")
    assert '<input type="search" id="harvest-q" name="q" value=""' in empty
    assert "No trial matches" not in empty


def test_the_search_page_says_when_it_shows_only_the_best(harvest_db: Path) -> None:
    """With the page keeping 2 hits (the fixtures hold fewer than 100 matches of anything), in process."""
    from datasette.app import Datasette

    hits = cli(harvest_db, "search", "study", "--limit", "1000", "--json").stdout.splitlines()
    assert len(hits) > 2
    ds = Datasette([str(harvest_db)], metadata=site_metadata("harvest", search_hits=2), template_dir=str(TEMPLATES))
    shown = asyncio.run(ds.client.get("/harvest/search_studies?q=study")).text
    assert "The best 2 trials, best match first" in shown and '<code>harvest search "study" --limit N</code>' in shown
    assert [json.loads(hit)["nct_id"] for hit in hits[:2]] == re.findall(r'<td class="col-nct_id">(NCT\d{8})', shown)


def test_other_queries_keep_datasettes_query_page(site: str) -> None:
    assert "Custom SQL query" in page(site, "/harvest", sql="select 1")


# -- table pages ----------------------------------------------------------------------------------


def test_a_table_page_folds_its_column_notes_truncates_cells_and_facets_few_columns(site: str) -> None:
    studies = page(site, "/harvest/studies")
    notes, first_row = positions(studies, '<details class="column-notes">', '<table class="rows-and-columns">')
    assert notes < first_row  # folded, so the data is still near the top
    descriptions = studies.index('<dl class="column-descriptions">')
    assert notes < descriptions < studies.index("</details>", descriptions)  # the notes are inside the fold
    facets = set(re.findall(r'class="facet-info facet-harvest-studies-(\w+)"', studies))
    assert facets == {"overall_status", "phases", "study_type", "has_results"}
    assert "suggested-facets" not in studies
    longest = max(
        len(cell) for cell in re.findall(r'<td class="col-brief_summary[^"]*"[^>]*>(.*?)</td>', studies, re.S)
    )
    assert longest < 400  # summaries are thousands of characters; cells are cut at 200


# -- the trial page -------------------------------------------------------------------------------


@pytest.mark.parametrize("nct_id", [WITH_RESULTS, MANY_SITES])
def test_the_trial_page_shows_the_record(site: str, harvest_db: Path, nct_id: str) -> None:
    trial = page(site, f"/harvest/studies/{nct_id}")
    ((title, status),) = rows(harvest_db, "SELECT title, overall_status FROM studies WHERE nct_id = ?", nct_id)
    assert f"<h1>{title}</h1>" in trial
    assert f'href="https://clinicaltrials.gov/study/{nct_id}"' in trial
    assert f'class="badge status-{status}"' in trial
    conditions = [name for (name,) in rows(harvest_db, "SELECT name FROM conditions WHERE nct_id = ?", nct_id)]
    assert conditions
    for condition in conditions:
        assert f'<li class="condition">{condition}</li>' in trial
    ((sites,),) = rows(harvest_db, "SELECT count(*) FROM locations WHERE nct_id = ?", nct_id)
    assert f'<span class="site-count">{sites:,}</span>' in trial
    primary = rows(
        harvest_db, "SELECT measure FROM design_outcomes WHERE nct_id = ? AND outcome_type = 'primary'", nct_id
    )
    assert primary
    for (measure,) in primary:
        assert measure.replace("'", "&#39;").replace('"', "&#34;") in trial
    assert "Links from other tables" not in trial  # a page, not a one-row table


def test_a_trial_with_results_shows_them_in_brief(site: str, harvest_db: Path) -> None:
    trial = page(site, f"/harvest/studies/{WITH_RESULTS}")
    ((outcome, serious),) = rows(
        harvest_db, "SELECT primary_outcome, serious_events FROM results_overview WHERE nct_id = ?", WITH_RESULTS
    )
    results = trial[trial.index('id="results"') :]
    assert "Results in brief" in results
    assert outcome in results.replace("&#39;", "'")
    assert serious in results


def test_a_trial_with_437_sites_folds_the_list_and_counts_per_country(site: str, harvest_db: Path) -> None:
    trial = page(site, f"/harvest/studies/{MANY_SITES}")
    sites = trial[trial.index('id="sites"') :]
    assert '<span class="site-count">437</span>' in sites
    assert sites.index("<details>") < sites.index("</details>")
    for country, count in rows(
        harvest_db, "SELECT country, count(*) FROM locations WHERE nct_id = ? GROUP BY 1", MANY_SITES
    ):
        assert f"<tr><td>{country}</td><td>{count}</td></tr>" in sites


def test_the_trial_page_shows_the_registrys_versions_and_what_moved(site: str, harvest_db: Path) -> None:
    trial = page(site, f"/harvest/studies/{WITH_RESULTS}")
    history = trial[trial.index('id="history"') :]
    versions = rows(
        harvest_db, "SELECT version, version_date FROM study_versions WHERE nct_id = ? ORDER BY 1", WITH_RESULTS
    )
    assert len(versions) == 6  # fixtures/ctgov/history/NCT02210780: v0 .. v5
    assert f'<span class="version-count">6</span> versions, {versions[0][1]} to {versions[-1][1]}' in history
    assert history.count('<tr class="version">') == 6
    # v1 reworded the primary outcome after the start (the fixture README's account of the versions)
    change = history[history.index('class="outcome-change"') :]
    assert "Primary outcome changed in version 1 (2015-01-12), <strong>after the trial started</strong>" in change
    assert "<q>Response to Tetanus Toxoid (Adacel) Vaccine</q> [Week 12]" in change
    slips = rows(harvest_db, "SELECT old_date, new_date FROM completion_slips WHERE nct_id = ?", WITH_RESULTS)
    assert slips == [("2015-04", "2015-07"), ("2015-07", "2015-09")]
    assert "Primary completion date moved 2 times: 2015-04 → 2015-07" in history and "+153 days in all" in history
    assert 'Enrollment: 180 <span class="muted">estimated</span> (v0) → 194' in history
    assert '<td>5</td><td>2020-04-23</td><td>completed</td><td class="muted">results posted (' in history
    assert "last_update_posted" not in history.split("Changes harvest saw")[0]  # routine stamps left out


def test_a_trial_without_stored_versions_has_no_history_list_and_says_how_to_get_it(site: str) -> None:
    trial = page(site, f"/harvest/studies/{MANY_SITES}")
    assert 'id="versions"' not in trial
    assert f"<code>harvest history {MANY_SITES}</code>" in trial


def test_other_row_pages_keep_datasettes_row_page(site: str) -> None:
    location = page(site, f"/harvest/locations/{MANY_SITES},0")
    assert "locations:" in location and 'class="badge' not in location


def test_the_charts_page_draws_starts_by_status_and_due_vs_overdue(site: str) -> None:
    charts = page(site, "/-/charts")
    assert charts.count("<svg") == 2
    assert "Trials by start year, stacked by status" in charts and "due vs. overdue" in charts
    assert 'href="/-/charts"' in page(site, "/")


# -- what the pages load, and what they cannot do ---------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/", "/harvest", "/harvest/studies", "/harvest/search_studies?q=cancer", f"/harvest/studies/{MANY_SITES}",
     "/harvest?sql=select+1", "/-/charts"],
)  # fmt: skip
def test_no_script_or_style_comes_from_another_host(site: str, path: str) -> None:
    text = page(site, path)
    loaded = re.findall(r"<script[^>]*\ssrc=\"([^\"]+)\"", text) + re.findall(r"<link[^>]*\shref=\"([^\"]+)\"", text)
    assert loaded
    elsewhere = [url for url in loaded if re.match(r"(https?:)?//", url) and not url.startswith(site + "/")]
    assert elsewhere == []
    assert "/harvest-static/site.css" in loaded


@pytest.mark.parametrize(
    "sql",
    ["DELETE FROM studies", "WITH x AS (SELECT 1) DELETE FROM studies", "DROP TABLE conditions",
     "UPDATE studies SET title = 'x'"],
)  # fmt: skip
def test_the_sql_box_refuses_a_write_and_changes_nothing(site: str, harvest_db: Path, sql: str) -> None:
    before = rows(harvest_db, "SELECT count(*), max(title) FROM studies")
    response = httpx.get(site + "/harvest", params={"sql": sql}, timeout=30)
    assert response.status_code >= 400
    assert rows(harvest_db, "SELECT count(*), max(title) FROM studies") == before
    assert rows(harvest_db, "SELECT count(*) FROM conditions")[0][0] > 0
    post = httpx.post(site + "/harvest/studies/-/insert", json={"row": {"nct_id": "NCT99999999"}}, timeout=30)
    assert post.status_code >= 400
    assert rows(harvest_db, "SELECT count(*) FROM studies WHERE nct_id = 'NCT99999999'") == [(0,)]


# -- what one statement may cost (issue 24, item 4) ---------------------------------------------------------
# Datasette's 2 s limit is checked between the steps of a statement, and one function call is one step: a huge
# zeroblob, printf width or replace ran 23 s and took 5.9 GB; three at once stalled the trial pages. Each bomb
# below is sized to pass harvest's cap on one value (64 MB) while a stock SQLite (1 GB) computes it, in seconds.
VALUE_BOMBS = {
    "hex-zeroblob": "SELECT length(hex(zeroblob(100000000)))",  # 200 MB of text
    "printf-width": "SELECT length(printf('%.*c', 100000000, 'x'))",  # 100 MB
    "replace": "SELECT length(replace(printf('%.*c', 20000000, 'a'), 'a', 'aaaaa'))",  # 100 MB
    "concat": "SELECT length(printf('%.*c', 40000000, 'a') || printf('%.*c', 40000000, 'a'))",  # 80 MB
}
# One step whose time grows with the product of its arguments' lengths: some 10 s in a stock SQLite.
COMPUTE_BOMB = "SELECT length(ltrim(printf('%.*c', 70000, 'a'), printf('%.*c', 70000, 'b') || 'a'))"


def sql_box(site: str, sql: str) -> dict[str, Any]:
    response = httpx.get(site + "/harvest.json", params={"sql": sql, "_shape": "objects"}, timeout=60)
    return response.json()


@pytest.mark.parametrize("sql", [*VALUE_BOMBS.values(), COMPUTE_BOMB], ids=[*VALUE_BOMBS, "ltrim-product"])
def test_a_statement_that_would_build_a_huge_value_is_cut_off_saying_why(site: str, sql: str) -> None:
    answer = sql_box(site, sql)
    assert answer["ok"] is False and "string or blob too big" in answer["error"], answer
    assert sql_box(site, "SELECT 1 AS one")["rows"] == [{"one": 1}]  # the site goes on


def test_what_the_caps_leave_alone_still_runs(site: str, harvest_db: Path) -> None:
    """The caps refuse a value or a product of lengths no query over the file needs; the file's own largest
    values, and these functions on them, are read as before."""
    ((largest,),) = rows(harvest_db, "SELECT max(length(record)) FROM source_records")
    answer = sql_box(
        site,
        "SELECT max(length(record)) AS n, max(length(replace(record, '\"', ''))) > 0 AS r, "
        "max(instr(record, 'nct_id')) > 0 AS i, max(length(trim(record))) AS t FROM source_records",
    )
    assert answer["ok"], answer
    assert answer["rows"] == [{"n": largest, "r": 1, "i": 1, "t": largest}]
    assert sql_box(site, "SELECT printf('%05d|%s', 42, 'x') AS p, replace('aXbX', 'X', '-') AS r")["rows"] == [
        {"p": "00042|x", "r": "a-b-"}
    ]


def test_a_trial_page_answers_while_heavy_statements_run(site: str) -> None:
    """Three statements at once took every SQL thread Datasette has, for as long as each ran: the trial pages
    waited. Now each is refused at once, and the trial page answers long before such a statement would end."""
    answers: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: answers.append(sql_box(site, COMPUTE_BOMB))) for _ in range(3)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    trial = httpx.get(f"{site}/harvest/studies/{WITH_RESULTS}", timeout=60)
    answered_in = time.monotonic() - started
    for thread in threads:
        thread.join()
    assert trial.status_code == 200 and WITH_RESULTS in trial.text
    assert answered_in < 5, answered_in  # a generous bound: each statement alone ran some 10 s uncapped
    assert [a["ok"] for a in answers] == [False, False, False]


# -- the command line -----------------------------------------------------------------------------


@pytest.fixture
def datasette_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Replace datasette's entry point: record the arguments `harvest serve` gives it, start nothing (and bind
    nothing: the port check would otherwise depend on what else runs on this machine)."""
    from datasette.cli import cli as datasette_cli

    from harvest.cli import serve

    monkeypatch.setattr(serve, "refuse_busy_address", lambda host, port: None)

    calls: list[list[str]] = []

    def fake_main(args: list[str], **_: Any) -> None:
        metadata = Path(args[args.index("--metadata") + 1])
        assert '"hidden": true' in metadata.read_text(encoding="utf-8").replace(": True", ": true")
        calls.append(args)

    monkeypatch.setattr(datasette_cli, "main", fake_main)
    return calls


def test_serve_binds_localhost_read_only_with_its_settings(harvest_db: Path, datasette_calls: list[list[str]]) -> None:
    result = cli(harvest_db, "serve")
    assert result.exit_code == 0, result.stderr
    ((args),) = datasette_calls
    assert args[:2] == ["serve", str(harvest_db)]
    assert args[args.index("--host") + 1] == "127.0.0.1" and args[args.index("--port") + 1] == "8001"
    assert "-i" not in args and "--immutable" not in args and "--open" not in args
    settings = {args[i + 1]: args[i + 2] for i, arg in enumerate(args) if arg == "--setting"}
    assert settings == {name: str(value) for name, value in SETTINGS.items()}
    assert settings["sql_time_limit_ms"] == "2000"
    assert "warning" not in result.stderr
    from datasette.plugins import pm

    from harvest.web import plugin

    assert not pm.is_registered(plugin)  # registered for the serve only


def test_serve_warns_when_it_binds_every_address(harvest_db: Path, datasette_calls: list[list[str]]) -> None:
    result = cli(harvest_db, "serve", "--host", "0.0.0.0", "--port", "9000", "--open")
    assert result.exit_code == 0, result.stderr
    assert "warning: --host 0.0.0.0" in result.stderr
    assert "--open" in datasette_calls[0]


def test_serve_without_datasette_is_one_line_and_exit_3(harvest_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasette.cli", None)  # `import datasette.cli` now raises ImportError
    assert_one_line_error(cli(harvest_db, "serve"), EXIT_CANNOT_RUN, "pip install 'harvest[web]'")


def test_serve_a_missing_file_is_one_line_and_exit_3(tmp_path: Path, datasette_calls: list[list[str]]) -> None:
    assert_one_line_error(cli(tmp_path / "none.db", "serve"), EXIT_CANNOT_RUN, "does not exist")
    assert datasette_calls == []


# -- a busy port, and where the access log goes (issue 24, item 11) ----------------------------------------


def test_serve_on_a_busy_port_is_one_line_and_exit_3(harvest_db: Path) -> None:
    """It printed a false "serving at" line, then three of the web server's own."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "harvest", "--db", str(harvest_db), "serve", "--port", str(port)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert result.returncode == EXIT_CANNOT_RUN, result.stderr
    assert result.stderr == f"harvest: cannot serve on 127.0.0.1:{port}: address already in use\n"
    assert result.stdout == ""


def test_serve_writes_its_access_log_to_stderr_and_nothing_to_stdout(harvest_db: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "harvest", "--db", str(harvest_db), "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/-/versions.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None, "harvest serve did not start"
                time.sleep(0.2)
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=30)
    assert stdout == ""
    assert '"GET /-/versions.json HTTP/1.1" 200' in stderr


def test_serve_reads_a_snapshot_when_the_wal_index_cannot_be_made(
    harvest_db: Path, tmp_path: Path, datasette_calls: list[list[str]]
) -> None:
    """Issue 24, item 7: a reader who cannot create the -shm file beside the file is served it as an immutable
    snapshot (datasette's -i), saying so, instead of failing on every page."""
    copy = tmp_path / "trials.db"
    copy.write_bytes(harvest_db.read_bytes())
    Path(f"{copy}-shm").symlink_to(tmp_path / "no-such-folder" / "trials.db-shm")
    result = cli(copy, "serve")
    assert result.exit_code == 0, result.stderr
    assert "read as an immutable snapshot" in result.stderr
    ((args),) = datasette_calls
    assert args[:3] == ["serve", "-i", str(copy)]
