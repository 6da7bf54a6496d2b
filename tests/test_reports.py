"""What the reading commands report after real harvests: stats' sources and last runs, every counter in
`runs --json`, conflict values as JSON values, and `harvest fetch` of a mirror page printing the merged record.

CT.gov and Veeva are served by the replay server on 127.0.0.1 (the Veeva fixtures hold two links that answer
404 and one page that lost its layout).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from harvest.pipeline.report import COUNTERS
from harvest.testing import ReplayServer, base_url_env
from tests.conftest import TEST_ENV, Cli, rows, scalar
from tests.mirror_helpers import served_mirror

SEPTIC = "/study/septic-shock-induced-immunosuppression"  # NCT04067674, also in the CT.gov fixtures


@pytest.fixture
def veeva_server() -> Iterator[ReplayServer]:
    with served_mirror("veeva") as server:
        yield server


@pytest.fixture
def both(ctgov_server: ReplayServer, veeva_server: ReplayServer, db_path: Path) -> Cli:
    return Cli({**TEST_ENV, **base_url_env({"ctgov": ctgov_server, "veeva": veeva_server}), "HARVEST_DB": str(db_path)})


# -- 4. stats ------------------------------------------------------------------------------------------------


def test_stats_last_run_is_the_last_harvest_run_and_only_real_sources_are_listed(both: Cli, db_path: Path) -> None:
    assert both("run").exit_code == 0
    run_id = scalar(db_path, "SELECT max(id) FROM runs")
    assert both("fetch", "NCT03418623").exit_code == 0
    assert both("reparse").exit_code == 0  # recorded as source 'all'
    stats = json.loads(both("stats", "--json").stdout)
    assert list(stats["sources"]) == ["ctgov"]
    last = stats["sources"]["ctgov"]["last_run"]
    assert (last["id"], last["command"]) == (run_id, "run")
    text = both("stats").stdout
    assert f"ctgov: 24 records of 24 studies; last run #{run_id} run full" in text
    assert "  all:" not in text


def test_stats_counts_a_404_as_not_found_or_gone_never_as_a_failed_parse(
    both: Cli, veeva_server: ReplayServer, db_path: Path
) -> None:
    both("run", "--source", "veeva")
    # A file from before schema 4 kept its 404s in quarantine: they are not failed parses either.
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "INSERT INTO quarantine (source, url, error_type, error) VALUES ('veeva', 'https://x/study/old', "
            "'NotFound', 'not found: HTTP 404')"
        )
    conn.close()
    veeva = json.loads(both("stats", "--json").stdout)["sources"]["veeva"]
    assert (veeva["quarantined"], veeva["not_found"], veeva["gone"]) == (1, 2, 0)  # the layout change only
    assert veeva["last_run"]["command"] == "run"
    both("run", "--source", "veeva")
    stats = json.loads(both("stats", "--json").stdout)
    assert (stats["sources"]["veeva"]["not_found"], stats["sources"]["veeva"]["gone"]) == (0, 2)
    assert (stats["quarantined"], stats["gone"]) == (1, 2)
    assert "needs attention: 1 quarantined (failed to fetch or parse)" in both("stats").stdout


# -- 5. runs --json ------------------------------------------------------------------------------------------


def test_runs_json_carries_every_counter_of_the_run(both: Cli, db_path: Path) -> None:
    both("run", "--source", "veeva")
    both("run", "--source", "veeva")
    listed = [json.loads(line) for line in both("runs", "--json").stdout.splitlines()]
    assert {"unresolved", "requests", "not_modified", "gone", "still_failing"} <= set(COUNTERS)
    table_columns = {r[1] for r in rows(db_path, "PRAGMA table_info(runs)")}
    assert set(COUNTERS) <= table_columns
    for run in listed:
        assert set(COUNTERS) <= set(run)
        stored = dict(
            zip(
                COUNTERS,
                rows(db_path, f"SELECT {', '.join(COUNTERS)} FROM runs WHERE id = ?", (run["id"],))[0],
                strict=True,
            )
        )
        assert {name: run[name] for name in COUNTERS} == stored
    latest = listed[0]
    # SEED (unresolved: no title match offered), two gone links, and 304s for the stored and quarantined pages
    assert (latest["gone"], latest["still_failing"], latest["not_modified"], latest["unresolved"]) == (2, 1, 3, 1)
    assert latest["requests"] >= 6


# -- 6. conflicts --json ---------------------------------------------------------------------------------------


def test_conflicts_json_gives_values_as_json_values(both: Cli, veeva_server: ReplayServer, db_path: Path) -> None:
    assert both("run").exit_code == 0
    assert both("fetch", veeva_server.url + SEPTIC).exit_code == 0
    conn = sqlite3.connect(db_path)
    with conn:  # a list-valued disagreement, written as the merge writes values (JSON text)
        conn.execute(
            "INSERT INTO conflicts (nct_id, field, source, value) VALUES ('NCT04067674', 'phases', 'veeva', ?)",
            (json.dumps(["PHASE2"]),),
        )
    listed = [json.loads(line) for line in both("conflicts", "NCT04067674", "--json").stdout.splitlines()]
    values = {(entry["field"], entry["source"]): entry["value"] for entry in listed}
    assert values[("lead_sponsor", "ctgov")] == "Hospices Civils de Lyon"
    assert values[("lead_sponsor", "veeva")] == "Civil Hospices of Lyon"
    assert values[("phases", "veeva")] == ["PHASE2"]
    # the table for people still shows the stored text
    assert '["PHASE2"]' in both("conflicts", "NCT04067674").stdout


# -- 7. harvest fetch URL of a mirror page ------------------------------------------------------------------


def test_fetch_of_a_mirror_page_prints_the_merged_record_and_as_parsed_the_page(
    both: Cli, veeva_server: ReplayServer
) -> None:
    assert both("run").exit_code == 0
    fetched = both("fetch", veeva_server.url + SEPTIC)
    assert fetched.exit_code == 0, fetched.output
    shown = both("show", "NCT04067674")
    assert json.loads(fetched.stdout) == json.loads(shown.stdout)
    merged = json.loads(fetched.stdout)
    assert merged["sources"] == ["ctgov", "veeva"]
    assert merged["lead_sponsor"] == "Hospices Civils de Lyon"  # the registry's value wins the merge

    parsed = json.loads(both("fetch", "--as-parsed", veeva_server.url + SEPTIC).stdout)
    assert parsed["provenance"]["source"] == "veeva"
    assert parsed["lead_sponsor"] == "Civil Hospices of Lyon"  # what the page itself says
