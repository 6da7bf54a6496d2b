"""A quiet nightly cron job: gone pages, only new trouble is an error, conditional requests.

Every test harvests the Veeva fixtures over a real socket from the replay server (a private copy of
fixtures/veeva, so a test can take a page down or change it). That fixture set holds two links that answer
404 from the start (COVID_404, NCOV_404) and one page that lost its layout (BREG, quarantined).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from harvest.core.config import Settings
from harvest.pipeline.harvester import Harvester
from harvest.sources.veeva import Veeva
from harvest.store import tables
from harvest.store.database import Store
from harvest.testing import FIXTURES, CtgovSite, ReplayServer, StaticSite, base_url_env
from tests.conftest import TEST_ENV, Cli, rows, scalar

ORIGIN = "https://ctv.veeva.com"
SEED = "/study/evaluation-of-immunosuppression-in-septic-shock-biomarkers-and-pharmacological-restoration-immunos"
STEM_CELL = "/study/stem-cell-educator-therapy-in-diabetes"
SEPTIC = "/study/septic-shock-induced-immunosuppression"
BREG = "/study/descriptive-study-of-the-evolution-in-proportion-of-regulatory-b-lymphocytes-in-patients-hospitalize"
COVID_404 = "/study/stem-cell-educator-therapy-treat-the-viral-inflammation-in-covid-19"
NCOV_404 = "/study/immunoregulatory-therapy-for-2019-ncov"
SEED_TITLE = "Evaluation of Immunosuppression in Septic Shock: Biomarkers and Pharmacological Restoration"


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / "veeva", tmp_path / "veeva"))


@pytest.fixture
def site(site_dir: Path) -> StaticSite:
    return StaticSite(site_dir, origin=ORIGIN)


@pytest.fixture
def server(site: StaticSite) -> Iterator[ReplayServer]:
    with ReplayServer(site) as served:
        yield served


@pytest.fixture
def env(server: ReplayServer, ctgov_server: ReplayServer, ctgov_site: CtgovSite, db_path: Path) -> dict[str, str]:
    # CT.gov answers the seed page's title search with the one study of that title: the page resolves.
    ctgov_site.title_search_overrides[SEED_TITLE] = json.loads(
        (FIXTURES / "veeva" / "NCT02803346.title-search.reconstructed.json").read_text()
    )
    return {**TEST_ENV, **base_url_env({"ctgov": ctgov_server, "veeva": server}), "HARVEST_DB": str(db_path)}


@pytest.fixture
def vcli(env: dict[str, str]) -> Cli:
    return Cli(env)


@pytest.fixture
def harvester(env: dict[str, str], db_path: Path) -> Iterator[Harvester]:
    made = Harvester(str(db_path), Settings(env=env))
    yield made
    made.close()


def asked(server: ReplayServer, start: int = 0) -> list[tuple[str, int]]:
    """(path, status) of the study pages answered since ``start``."""
    return [(path, status) for path, status in server.answers[start:] if path.startswith("/study")]


def outcome(db: Path, server: ReplayServer, path: str) -> tuple[str, str | None]:
    return rows(db, "SELECT last_outcome, gone_since FROM pages WHERE url = ?", (server.url + path,))[0]


def today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


# -- 1. gone pages -----------------------------------------------------------------------------------------


def test_a_page_that_answers_404_or_410_twice_is_gone_kept_and_rarely_revisited(
    harvester: Harvester, vcli: Cli, site: StaticSite, site_dir: Path, server: ReplayServer, db_path: Path
) -> None:
    first = harvester.run("veeva")
    assert outcome(db_path, server, COVID_404) == ("not-found", None)  # once is not gone
    assert first.failed == 3 and first.gone == 0
    record = rows(db_path, "SELECT * FROM source_records WHERE record_key = ?", (SEPTIC,))
    study = rows(db_path, "SELECT * FROM studies WHERE nct_id = 'NCT04067674'")
    assert record and study

    site.answer(SEPTIC, 410)  # the site takes a stored page down
    second = harvester.run("veeva")
    assert outcome(db_path, server, SEPTIC) == ("not-found", None)
    assert outcome(db_path, server, COVID_404)[0] == outcome(db_path, server, NCOV_404)[0] == "gone"
    assert second.gone == 2 and second.failed == 1  # SEPTIC's first 410 is new trouble
    gone_since = outcome(db_path, server, COVID_404)[1]
    assert gone_since is not None and gone_since.startswith(today())

    third = harvester.run("veeva")
    assert third.gone == 1 and third.failed == 0 and third.exit_code == 0
    assert outcome(db_path, server, SEPTIC)[0] == "gone"
    assert outcome(db_path, server, COVID_404)[1] == gone_since  # the date it was first found gone stays
    # Nothing is deleted: the record, the study row and its sources are what they were.
    assert rows(db_path, "SELECT * FROM source_records WHERE record_key = ?", (SEPTIC,)) == record
    assert rows(db_path, "SELECT * FROM studies WHERE nct_id = 'NCT04067674'") == study
    assert scalar(db_path, "SELECT count(*) FROM quarantine WHERE error_type = 'NotFound'") == 0

    # Never every night: a gone page is not asked for again...
    start = len(server.answers)
    harvester.run("veeva")
    assert not {COVID_404, NCOV_404, SEPTIC} & {path for path, _ in asked(server, start)}
    # ...until its sitemap lastmod changes (moved to yesterday, by the clock of the run)...
    shard = site_dir / "sitemap-studies-1.xml"
    moved = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat(timespec="seconds")
    shard.write_text(shard.read_text().replace("2026-08-28T14:12:00+00:00", moved))
    start = len(server.answers)
    harvester.run("veeva")
    assert (COVID_404, 404) in asked(server, start) and SEPTIC not in {p for p, _ in asked(server, start)}
    assert outcome(db_path, server, COVID_404) == ("gone", gone_since)  # still gone, since the same day
    # ...or it was last asked for more than 30 days ago.
    conn = sqlite3.connect(db_path)
    with conn:
        long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%SZ")
        conn.execute("UPDATE pages SET last_fetched_at = ? WHERE url = ?", (long_ago, server.url + SEPTIC))
    conn.close()
    start = len(server.answers)
    harvester.run("veeva")
    assert (SEPTIC, 410) in asked(server, start) and COVID_404 not in {p for p, _ in asked(server, start)}

    # show --provenance says which page is gone, and since when; stats counts gone pages per source.
    shown = json.loads(vcli("show", "NCT04067674", "--provenance").stdout)
    assert shown["gone_pages"] == [
        {"source": "veeva", "url": server.url + SEPTIC, "gone_since": outcome(db_path, server, SEPTIC)[1]}
    ]
    assert shown["field_sources"]["overall_status"]["gone_since"] == outcome(db_path, server, SEPTIC)[1]
    stats = json.loads(vcli("stats", "--json").stdout)
    assert stats["sources"]["veeva"]["gone"] == 3
    assert scalar(db_path, "SELECT gone FROM runs WHERE id = ?", (third.run_id,)) == 1


def test_a_gone_page_that_answers_again_is_ok(
    harvester: Harvester, site: StaticSite, server: ReplayServer, db_path: Path
) -> None:
    harvester.run("veeva")
    site.routes[COVID_404] = {"file": "NCT03390231.reconstructed.html"}  # the link works again
    site.answer(NCOV_404, 404)
    harvester.run("veeva")
    assert outcome(db_path, server, COVID_404) == ("ok", None)
    assert outcome(db_path, server, NCOV_404)[0] == "gone"


# -- 2. only new trouble is an error -----------------------------------------------------------------------


def test_the_second_identical_night_is_silent_and_exits_0(
    vcli: Cli, site: StaticSite, server: ReplayServer, db_path: Path
) -> None:
    night_1 = vcli("--quiet", "run", "--source", "veeva")
    assert night_1.exit_code == 1  # two dead links and a page that lost its layout: all new
    assert night_1.stderr.count(" error ") == 3 and "PARTIAL" in night_1.stderr

    night_2 = vcli("--quiet", "run", "--source", "veeva")
    assert (night_2.exit_code, night_2.stdout, night_2.stderr) == (0, "", "")
    night_3 = vcli("--quiet", "run", "--source", "veeva")
    assert (night_3.exit_code, night_3.stdout, night_3.stderr) == (0, "", "")

    # Not quiet, the summary counts what is still failing, since when, and what is gone.
    since = scalar(db_path, "SELECT quarantined_at FROM quarantine WHERE url = ?", (server.url + BREG,))[:10]
    night_4 = vcli("run", "--source", "veeva")
    assert night_4.exit_code == 0
    assert f"1 still quarantined since {since}" in night_4.stderr
    assert " error " not in night_4.stderr
    assert rows(db_path, "SELECT outcome, failed, still_failing FROM runs ORDER BY id") == [
        ("partial", 3, 0),
        ("ok", 0, 1),
        ("ok", 0, 1),
        ("ok", 0, 1),
    ]

    # New trouble, and only it, is printed and decides the exit code.
    site.routes[STEM_CELL] = {"file": "breg-amiens.headings-only.reconstructed.html"}
    night_5 = vcli("--quiet", "run", "--source", "veeva")
    assert night_5.exit_code == 1
    errors = [line for line in night_5.stderr.splitlines() if " error " in line]
    assert len(errors) == 1 and STEM_CELL in errors[0] and BREG not in night_5.stderr


def test_a_quarantined_page_whose_bytes_change_is_new_trouble(
    vcli: Cli, site: StaticSite, server: ReplayServer, site_dir: Path
) -> None:
    assert vcli("--quiet", "run", "--source", "veeva").exit_code == 1
    assert vcli("--quiet", "run", "--source", "veeva").exit_code == 0
    page = site_dir / "breg-amiens.headings-only.reconstructed.html"
    page.write_bytes(page.read_bytes().replace(b"</body>", b"<p>another broken version</p></body>"))
    again = vcli("--quiet", "run", "--source", "veeva")
    assert again.exit_code == 1 and BREG in again.stderr


def test_unresolved_and_stats_list_what_is_still_failing(vcli: Cli, server: ReplayServer, db_path: Path) -> None:
    vcli("run", "--source", "veeva")
    vcli("run", "--source", "veeva")
    listed = [json.loads(line) for line in vcli("unresolved", "--json").stdout.splitlines()]
    assert sorted((entry["kind"], entry["url"]) for entry in listed) == sorted(
        [
            ("quarantined", server.url + BREG),
            ("gone", server.url + COVID_404),
            ("gone", server.url + NCOV_404),
        ]
    )
    table = vcli("unresolved").stdout.splitlines()
    assert table[0].split() == ["source", "kind", "url", "title", "reason", "candidates", "seen_at"]
    stats = json.loads(vcli("stats", "--json").stdout)["sources"]["veeva"]
    assert (stats["quarantined"], stats["gone"], stats["not_found"], stats["unresolved"]) == (1, 2, 0, 0)
    text = vcli("stats").stdout
    assert "1 quarantined (failed to fetch or parse), 0 unresolved (no NCT number), 0 not found, 2 gone" in text


# -- 3. conditional requests ---------------------------------------------------------------------------------


def test_revisits_are_conditional_and_a_304_is_unchanged_without_a_parse(
    harvester: Harvester, site_dir: Path, server: ReplayServer, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    harvester.run("veeva")
    etag, modified = rows(db_path, "SELECT etag, last_modified FROM pages WHERE url = ?", (server.url + SEPTIC,))[0]
    assert etag and etag.startswith('"') and modified.endswith("GMT")
    # A page that did not answer 200 has nothing to be recognised by.
    assert rows(db_path, "SELECT etag, last_modified FROM pages WHERE url = ?", (server.url + COVID_404,)) == [
        (None, None)
    ]

    parsed: list[str] = []
    original = Veeva.parse
    monkeypatch.setattr(Veeva, "parse", lambda self, page: parsed.append(page.url) or original(self, page))
    start = len(server.answers)
    second = harvester.run("veeva")
    # The stored pages and the quarantined one answer 304: no body, nothing parsed.
    assert sorted(asked(server, start)) == sorted(
        [(SEED, 304), (STEM_CELL, 304), (SEPTIC, 304), (BREG, 304), (COVID_404, 404), (NCOV_404, 404)]
    )
    assert parsed == []
    assert (second.unchanged, second.still_failing, second.gone, second.stats.not_modified) == (3, 1, 2, 4)
    assert rows(db_path, "SELECT not_modified, unchanged FROM runs WHERE id = ?", (second.run_id,)) == [(4, 3)]
    assert "4 not modified (304)" in second.summary()

    # A page that changed answers 200 with its new bytes and new validators, and is parsed again.
    page = site_dir / "NCT04067674.reconstructed.html"
    page.write_bytes(page.read_bytes().replace(b"</body>", b"<!-- edited --></body>"))
    start = len(server.answers)
    harvester.run("veeva")
    assert (SEPTIC, 200) in asked(server, start)
    assert parsed == [server.url + SEPTIC]
    assert scalar(db_path, "SELECT etag FROM pages WHERE url = ?", (server.url + SEPTIC,)) != etag


def test_the_replay_server_answers_conditional_requests(server: ReplayServer) -> None:
    import httpx

    first = httpx.get(server.url + SEPTIC)
    assert first.status_code == 200 and first.headers["etag"] and first.headers["last-modified"]
    by_etag = httpx.get(server.url + SEPTIC, headers={"If-None-Match": first.headers["etag"]})
    assert (by_etag.status_code, by_etag.content, by_etag.headers["etag"]) == (304, b"", first.headers["etag"])
    by_date = httpx.get(server.url + SEPTIC, headers={"If-Modified-Since": first.headers["last-modified"]})
    assert by_date.status_code == 304
    other = httpx.get(server.url + SEPTIC, headers={"If-None-Match": '"something else"'})
    assert other.status_code == 200 and other.content == first.content


def test_an_older_file_gains_the_new_columns_in_place(db_path: Path) -> None:
    Store(db_path).close()
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("INSERT INTO pages (source, url, last_outcome) VALUES ('veeva', 'https://x/study/a', 'ok')")
        for table in ("pages", "runs"):  # (what schema 4 added to studies: tests/test_upgrade.py)
            for column in tables.ADDED_COLUMNS[table]:
                conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.execute("PRAGMA user_version = 3")
    conn.close()
    Store(db_path).close()
    assert scalar(db_path, "PRAGMA user_version") == tables.SCHEMA_VERSION
    columns = {table: {r[1] for r in rows(db_path, f"PRAGMA table_info({table})")} for table in ("pages", "runs")}
    assert {"etag", "last_modified", "gone_since"} <= columns["pages"]
    assert {"not_modified", "gone", "still_failing"} <= columns["runs"]
    assert rows(db_path, "SELECT url, last_outcome, etag FROM pages") == [("https://x/study/a", "ok", None)]
