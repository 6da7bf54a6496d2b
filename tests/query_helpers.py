"""Helpers for the query tests: a real harvest of the fixtures, file fingerprints, and the CLI."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from harvest.cli import main
from harvest.core.config import Settings
from harvest.pipeline.harvester import Harvester
from harvest.pipeline.report import RunReport
from harvest.testing import FIXTURES, CtgovSite, ReplayServer, base_url_env, default_sites, serve_fixtures

CTGOV_FIXTURES = FIXTURES / "ctgov"

# Search anchors: words found only in real API records (fixtures/ctgov/studies/NCT….json and the studies inside
# fixtures/ctgov/lists/*.json), in none of the reconstructed cross-site records. Written out by hand after
# reading the JSON; test_search.py::test_search_anchors_are_real_records checks them against the JSON.
ALCOHOL_TRIALS = {
    "NCT01511679",  # condition "Alcohol Abuse" (lists/studies_page1_nextPageToken.json)
    "NCT03418623",  # condition "Alcohol Use Disorder" (studies/NCT03418623.json)
}
CANCER_TRIALS = {
    "NCT01126879",  # brief title "… Prostate Cancer" (studies/NCT01126879.json)
    "NCT04267848",  # brief title "… Non-small Cell Lung Cancer …" (studies/NCT04267848.json)
    "NCT02513394",  # condition "Breast Cancer", not in its brief title (studies/NCT02513394.json)
    "NCT04523987",  # detailed description only (lists/studies_pageSize1_nextPageToken.json)
}


def fixture_studies() -> dict[str, dict[str, Any]]:
    """Every study the replay server serves, read straight from the fixture JSON (not through harvest):
    NCT number -> API v2 record. The 20 real ones and the 4 reconstructed ones (see ``reconstructed_ids``)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((CTGOV_FIXTURES / "lists").glob("*.json")):
        for study in json.loads(path.read_text(encoding="utf-8"))["studies"]:
            found[study["protocolSection"]["identificationModule"]["nctId"]] = study
    for path in sorted((CTGOV_FIXTURES / "studies").glob("*.json")):
        study = json.loads(path.read_text(encoding="utf-8"))
        found[study["protocolSection"]["identificationModule"]["nctId"]] = study
    return found


def reconstructed_ids() -> set[str]:
    """The hand-built cross-site records (``studies/NCT….reconstructed.json``, fixtures/ctgov/RECONSTRUCTED.md)."""
    return {path.name.split(".")[0] for path in (CTGOV_FIXTURES / "studies").glob("*.reconstructed.json")}


def words(text: str | None) -> set[str]:
    """The words of ``text``, lower-cased, accents removed, not stemmed."""
    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode("ascii").lower()
    return set(re.findall(r"[a-z0-9]+", folded))


def searchable_words(study: dict[str, Any]) -> set[str]:
    """The words of what `harvest search` is documented to search in an API v2 record: titles, acronym,
    summaries, lead sponsor, conditions, intervention names and keywords."""
    section = study["protocolSection"]
    ident = section.get("identificationModule", {})
    description = section.get("descriptionModule", {})
    conditions = section.get("conditionsModule", {})
    texts = [
        ident.get("briefTitle"),
        ident.get("officialTitle"),
        ident.get("acronym"),
        description.get("briefSummary"),
        description.get("detailedDescription"),
        section.get("sponsorCollaboratorsModule", {}).get("leadSponsor", {}).get("name"),
        *conditions.get("conditions", []),
        *conditions.get("keywords", []),
        *(item.get("name") for item in section.get("armsInterventionsModule", {}).get("interventions", [])),
    ]
    return set().union(*(words(text) for text in texts))


def studies_with_word(word: str) -> set[str]:
    """Served studies whose searchable text has ``word`` as a whole word (case and accents ignored, no
    stemming), read from the fixture JSON: the expected hits of a one-word search, found without harvest."""
    return {nct for nct, study in fixture_studies().items() if word in searchable_words(study)}


def harvest(db_path: Path, site: CtgovSite | None = None, *, full: bool = False) -> RunReport:
    """Run `harvest run` for ClinicalTrials.gov against the replay server over ``site`` (default: the fixtures)."""
    with ReplayServer(site or CtgovSite.from_dir()) as server:
        settings = Settings(env={**base_url_env({"ctgov": server}), "HARVEST_BACKOFF": "0.01"})
        harvester = Harvester(str(db_path), settings)
        try:
            report = harvester.run("ctgov", full=full)
        finally:
            harvester.close()
    assert report.outcome == "ok", report.summary()
    return report


def harvested_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file harvested from the fixtures, named harvest.db (Datasette serves it as /harvest).

    Test modules build one in a module-scoped fixture; tests must not write to it (see ``writable_copy``).
    """
    path = tmp_path_factory.mktemp("harvest") / "harvest.db"
    harvest(path)
    return path


def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file harvested as `make demo` does: the registry, then every mirror, from the bundled fixtures (one
    veeva page is refused by its parser, as in the demo). Named demo.db (Datasette serves it as /demo)."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    servers = serve_fixtures(default_sites())
    try:
        settings = Settings(env={**base_url_env(servers), "HARVEST_BACKOFF": "0.01", "HARVEST_RETRIES": "1"})
        for name in servers:  # the registry first, as `make demo`
            harvester = Harvester(str(path), settings)
            try:
                harvester.run(name)
            finally:
                harvester.close()
    finally:
        for server in servers.values():
            server.stop()
    return path


# The trials whose record history is recorded in fixtures/ctgov/history (what `make demo` fetches).
HISTORIES = ("NCT02210780", "NCT01126879", "NCT00763412")


def demo_harvest(path: Path) -> Path:
    """What `make demo` harvests (scripts/demo.py), in process: every source in turn from the replay server over
    fixtures/ (`harvest run --all`), then the record history of ``HISTORIES`` (`harvest history`)."""
    servers = serve_fixtures(default_sites())
    try:
        harvester = Harvester(str(path), Settings(env={**base_url_env(servers), "HARVEST_BACKOFF": "0.01"}))
        try:
            reports = harvester.run_all()
            reports.append(harvester.history(HISTORIES))
        finally:
            harvester.close()
    finally:
        for server in servers.values():
            server.stop()
    # veeva's fixtures hold pages that fail on purpose (PARTIAL); nothing may be refused or unreachable
    assert all(report.outcome in ("ok", "partial") for report in reports), [report.summary() for report in reports]
    return path


def writable_copy(source: Path, folder: Path) -> Path:
    """A private copy of a harvested file, for tests that change it."""
    target = folder / "harvest.db"
    with sqlite3.connect(source) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    shutil.copy(source, target)
    return target


def fingerprint(path: Path) -> tuple[str, int, int]:
    """The file's bytes (hash), size and mtime: a command that claims not to write must leave all three."""
    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data), path.stat().st_mtime_ns


def counts(path: Path, tables: Sequence[str] = ("studies", "conditions", "locations", "source_records")) -> dict:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        conn.close()


def query(path: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def cli(path: Path, *args: str) -> Result:
    """`harvest --db PATH ARGS...`, in process, stdout and stderr kept apart."""
    return CliRunner().invoke(main, ["--db", str(path), *args], catch_exceptions=False)


def assert_one_line_error(result: Result, code: int, *fragments: str) -> None:
    """A rejected command: the exit code, one line on stderr naming the problem, nothing on stdout."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("harvest: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert result.stdout == ""


def unchanged(path: Path) -> Callable[[], None]:
    """Snapshot the file now; the returned check asserts its bytes, mtime and row counts are the same."""
    before, rows = fingerprint(path), counts(path)

    def check() -> None:
        assert fingerprint(path) == before
        assert counts(path) == rows

    return check
