"""The vertical slice as users meet it: `harvest run`, `fetch`, `show`, `query`, `runs` against the replay server."""

from __future__ import annotations

import copy
import datetime as dt
import json
import sqlite3
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from harvest.sources.ctgov import ClinicalTrialsGov
from harvest.testing import CtgovSite, ReplayServer
from tests.conftest import STUDIES as STUDY_FILES
from tests.conftest import Cli, load_study, rows, scalar

N_FIXTURE_STUDIES = 24  # 20 real studies (studies/ + the two list pages) + 4 reconstructed cross-site records


def test_first_run_harvests_everything_then_incremental(cli: Cli, db_path: Path, ctgov_server: ReplayServer) -> None:
    result = cli("run")
    assert result.exit_code == 0, result.output
    assert "[full] OK" in result.stderr and f"{N_FIXTURE_STUDIES} new" in result.stderr
    assert scalar(db_path, "SELECT count(*) FROM studies") == N_FIXTURE_STUDIES
    assert scalar(db_path, "SELECT count(*) FROM source_records WHERE source = 'ctgov'") == N_FIXTURE_STUDIES
    assert scalar(db_path, "SELECT count(*) FROM locations WHERE nct_id = 'NCT04267848'") == 1148
    row = rows(
        db_path,
        "SELECT overall_status, last_known_status, study_type, phases, start_date, start_date_type, "
        "enrollment, enrollment_type, lead_sponsor FROM studies WHERE nct_id = 'NCT03475563'",
    )[0]
    raw = load_study("NCT03475563")["protocolSection"]
    assert row == (
        "UNKNOWN",
        "RECRUITING",
        "OBSERVATIONAL",
        None,
        raw["statusModule"]["startDateStruct"]["date"],
        raw["statusModule"]["startDateStruct"].get("type"),
        raw["designModule"]["enrollmentInfo"]["count"],
        raw["designModule"]["enrollmentInfo"].get("type"),
        raw["sponsorCollaboratorsModule"]["leadSponsor"]["name"],
    )
    assert scalar(db_path, "SELECT phases FROM studies WHERE nct_id = 'NCT02513394'") == '["PHASE3"]'
    run = rows(db_path, "SELECT mode, outcome, fetched, new, watermark FROM runs")
    assert run[0][:4] == ("full", "ok", N_FIXTURE_STUDIES, N_FIXTURE_STUDIES)
    watermark = run[0][4]
    assert scalar(db_path, "SELECT watermark FROM harvest_state WHERE source = 'ctgov'") == watermark

    second = cli("run")
    assert second.exit_code == 0, second.output
    assert "[incremental] OK" in second.stderr
    list_requests = [r for r in ctgov_server.requests if r.startswith("/api/v2/studies?")]
    query = parse_qs(urlsplit(list_requests[-1]).query)
    assert query["filter.advanced"] == [f"AREA[LastUpdatePostDate]RANGE[{_minus_days(watermark, 3)},MAX]"]
    assert query["pageSize"] == ["1000"]


def _minus_days(date: str, days: int) -> str:
    import datetime as dt

    return (dt.date.fromisoformat(date) - dt.timedelta(days=days)).isoformat()


def test_paging_follows_next_page_token_repeating_parameters(
    env: dict[str, str], db_path: Path, ctgov_site: CtgovSite
) -> None:
    ctgov_site.max_page_size = 7  # the server caps pageSize, as the real API caps at 1000
    with ReplayServer(ctgov_site) as server:
        result = Cli({**env, "HARVEST_CTGOV_URL": server.url + "/api/v2"})("run", "--full")
    assert result.exit_code == 0, result.output
    pages = [r for r in server.requests if r.startswith("/api/v2/studies?")]
    assert len(pages) == 4  # 24 studies in pages of 7
    first = parse_qs(urlsplit(pages[0]).query)
    for later in pages[1:]:
        params = parse_qs(urlsplit(later).query)
        assert params.pop("pageToken")
        assert params == first
    assert scalar(db_path, "SELECT count(*) FROM studies") == N_FIXTURE_STUDIES


def test_since_flag_filters_by_last_update(cli: Cli, db_path: Path, ctgov_server: ReplayServer) -> None:
    result = cli("run", "--since", "2025-01-01")
    assert result.exit_code == 0, result.output
    stored = {r[0] for r in rows(db_path, "SELECT nct_id FROM studies")}
    assert "NCT04267848" in stored  # last update 2025-09-10
    assert "NCT03418623" not in stored  # last update 2020-10-08
    assert scalar(db_path, "SELECT since FROM runs") == "2025-01-01"


def test_fetch_prints_canonical_json_and_stores(cli: Cli, db_path: Path) -> None:
    result = cli("fetch", "NCT03418623", "nct04207047")
    assert result.exit_code == 0, result.output
    printed = [json.loads(chunk) for chunk in _json_documents(result.stdout)]
    assert [p["nct_id"] for p in printed] == ["NCT03418623", "NCT04207047"]
    assert printed[0]["enrollment"] == 24 and printed[0]["phases"] == ["PHASE2"]
    assert printed[0]["provenance"]["source"] == "ctgov"
    assert scalar(db_path, "SELECT count(*) FROM studies") == 2
    assert rows(db_path, "SELECT command, outcome, fetched, new FROM runs") == [("fetch", "ok", 2, 2)]


def _json_documents(text: str) -> list[str]:
    decoder = json.JSONDecoder()
    docs, index = [], 0
    text = text.strip()
    while index < len(text):
        obj, end = decoder.raw_decode(text, index)
        docs.append(json.dumps(obj))
        index = end
        while index < len(text) and text[index].isspace():
            index += 1
    return docs


def test_fetch_alias_follows_301_and_stores_under_current_id(
    cli: Cli, db_path: Path, ctgov_site: CtgovSite, ctgov_server: ReplayServer
) -> None:
    study = copy.deepcopy(load_study("NCT04207047"))
    study["protocolSection"]["identificationModule"]["nctIdAliases"] = ["NCT00000991"]
    ctgov_site.put(study)
    result = cli("fetch", "NCT00000991")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["nct_id"] == "NCT04207047"
    assert "/api/v2/studies/NCT00000991" in ctgov_server.requests
    assert "/api/v2/studies/NCT04207047" in ctgov_server.requests
    assert rows(db_path, "SELECT nct_id, nct_aliases FROM studies") == [("NCT04207047", '["NCT00000991"]')]
    assert rows(db_path, "SELECT alias, nct_id FROM nct_aliases") == [("NCT00000991", "NCT04207047")]
    shown = cli("show", "NCT00000991")
    assert shown.exit_code == 0 and json.loads(shown.stdout)["nct_id"] == "NCT04207047"


def test_bad_nct_ids_exit_2_and_write_nothing(cli: Cli, db_path: Path, ctgov_server: ReplayServer) -> None:
    for bad in ("NCT123", "foo", "NCT1234567890"):
        result = cli("fetch", bad)
        assert result.exit_code == 2, (bad, result.output)
        assert result.stderr.count("\n") == 1 and "is not an NCT number" in result.stderr
    assert not db_path.exists()  # nothing was written, not even an empty file
    assert not [r for r in ctgov_server.requests if "/studies" in r]  # and nothing was asked of the site


def test_unknown_nct_is_not_found_and_loses_nothing(cli: Cli, db_path: Path) -> None:
    assert cli("fetch", "NCT03418623").exit_code == 0
    before = rows(db_path, "SELECT * FROM studies")
    result = cli("fetch", "NCT09999999")
    assert result.exit_code == 1
    assert "NCT09999999 not found" in result.stderr
    assert rows(db_path, "SELECT * FROM studies") == before


def test_400_text_body_is_reported_in_one_line(cli: Cli, db_path: Path, ctgov_server: ReplayServer) -> None:
    ctgov_server.add_fault("status", r"/studies/NCT03418623", status=400, times=1)
    result = cli("fetch", "NCT03418623")
    assert result.exit_code == 1
    assert "HTTP 400: injected HTTP 400" in result.stderr
    assert [r for r in ctgov_server.requests if r.endswith("NCT03418623")] == ["/api/v2/studies/NCT03418623"]
    assert scalar(db_path, "SELECT count(*) FROM studies") == 0


def test_truncated_and_garbage_bodies_never_overwrite_good_data(
    cli: Cli, db_path: Path, ctgov_server: ReplayServer
) -> None:
    assert cli("fetch", "NCT03418623").exit_code == 0
    before = rows(db_path, "SELECT * FROM studies")
    records_before = rows(db_path, "SELECT content_hash, changed_at FROM source_records")
    ctgov_server.add_fault("truncate", r"/studies/NCT03418623", times=-1)
    truncated = cli("fetch", "NCT03418623")
    assert truncated.exit_code == 1
    assert "after 4 attempts" in truncated.stderr
    ctgov_server.clear_faults()
    ctgov_server.add_fault("garbage", r"/studies/NCT03418623", times=-1)
    garbage = cli("fetch", "NCT03418623")
    assert garbage.exit_code == 1
    assert "not valid JSON" in garbage.stderr
    assert rows(db_path, "SELECT * FROM studies") == before
    assert rows(db_path, "SELECT content_hash, changed_at FROM source_records") == records_before
    assert [r[0] for r in rows(db_path, "SELECT outcome FROM runs ORDER BY id")] == ["ok", "partial", "partial"]


def test_vanished_field_becomes_null_and_is_recorded_as_a_change(
    cli: Cli, db_path: Path, ctgov_site: CtgovSite
) -> None:
    assert cli("run").exit_code == 0
    study = copy.deepcopy(load_study("NCT03418623"))
    del study["protocolSection"]["identificationModule"]["officialTitle"]
    # Updated today, by the clock of the run: inside the incremental window (watermark minus 3 days) whatever
    # the date the suite runs on.
    today = dt.datetime.now(dt.UTC).date().isoformat()
    study["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = today
    ctgov_site.put(study)
    result = cli("run")
    assert result.exit_code == 0, result.output
    assert "1 changed" in result.stderr
    assert scalar(db_path, "SELECT official_title FROM studies WHERE nct_id = 'NCT03418623'") is None
    changes = rows(db_path, "SELECT field, new FROM changes WHERE nct_id = 'NCT03418623' ORDER BY field")
    assert changes == [("last_update_posted", f'{{"type": "ACTUAL", "value": "{today}"}}'), ("official_title", None)]


def test_new_data_release_alone_rewrites_nothing(cli: Cli, db_path: Path, ctgov_site: CtgovSite) -> None:
    assert cli("run").exit_code == 0
    snapshot = rows(db_path, "SELECT nct_id, updated_at, content_hash FROM studies ORDER BY nct_id")
    records = rows(db_path, "SELECT record_key, changed_at, raw FROM source_records ORDER BY record_key")
    ctgov_site.version_holder = "2026-11-21"  # every study's versionHolder changes, nothing else
    result = cli("run", "--full")
    assert result.exit_code == 0, result.output
    assert f"0 new, 0 changed, {N_FIXTURE_STUDIES} unchanged" in result.stderr
    assert rows(db_path, "SELECT nct_id, updated_at, content_hash FROM studies ORDER BY nct_id") == snapshot
    assert rows(db_path, "SELECT record_key, changed_at, raw FROM source_records ORDER BY record_key") == records
    assert scalar(db_path, "SELECT count(*) FROM changes") == 0


def test_show_reads_the_file_without_network(cli: Cli, db_path: Path, ctgov_server: ReplayServer) -> None:
    assert cli("fetch", "NCT04175379").exit_code == 0
    ctgov_server.stop()  # no network from here on
    result = cli("show", "NCT04175379")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["nct_id"] == "NCT04175379" and data["lead_sponsor"] == "Yonsei University"
    assert data["sources"] == ["ctgov"]
    missing = cli("show", "NCT04175379", "NCT00000001")
    assert missing.exit_code == 1 and "not in" in missing.stderr and "NCT00000001" in missing.stderr


def test_query_is_read_only(cli: Cli, db_path: Path) -> None:
    assert cli("fetch", "NCT03418623").exit_code == 0
    ok = cli("query", "SELECT nct_id, enrollment FROM studies", "--json")
    assert ok.exit_code == 0
    assert json.loads(ok.stdout) == {"nct_id": "NCT03418623", "enrollment": 24}
    csv_out = cli("query", "SELECT nct_id FROM studies WHERE nct_id = :id", "-p", "id", "NCT03418623", "--csv")
    assert csv_out.stdout.splitlines() == ["nct_id", "NCT03418623"]
    before = db_path.read_bytes()
    for sql in ("DELETE FROM studies", "DROP TABLE studies", "UPDATE studies SET enrollment = 0"):
        result = cli("query", sql)
        assert result.exit_code == 2, sql
        assert "read-only" in result.stderr
    attach = cli("query", f"ATTACH '{db_path.parent / 'x.db'}' AS x")
    assert attach.exit_code == 2 and not (db_path.parent / "x.db").exists()
    bad = cli("query", "SELEC nonsense")
    assert bad.exit_code == 2 and bad.stderr.startswith("harvest: SQL error")
    assert db_path.read_bytes() == before
    assert scalar(db_path, "SELECT count(*) FROM studies") == 1


def test_query_on_missing_file_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    result = cli("--db", str(tmp_path / "nope.db"), "query", "SELECT 1")
    assert result.exit_code == 3
    assert "does not exist" in result.stderr
    assert not (tmp_path / "nope.db").exists()


def test_runs_lists_the_last_runs(cli: Cli) -> None:
    assert cli("run").exit_code == 0
    assert cli("fetch", "NCT03418623").exit_code == 0
    result = cli("runs", "--json")
    assert result.exit_code == 0
    listed = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["command"], r["outcome"]) for r in listed] == [("fetch", "ok"), ("run", "ok")]
    assert listed[1]["new"] == N_FIXTURE_STUDIES and listed[1]["bytes"] > 1_000_000
    by_source = [json.loads(line)["command"] for line in cli("runs", "--source", "ctgov", "--json").stdout.splitlines()]
    assert by_source == ["fetch", "run"]
    assert cli("runs", "--source", "veeva", "--json").stdout == ""


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("run", "--max-pages", "3"), "--max-pages applies to mirror sites"),
        (("run", "--source", "veeva", "--since", "2020-01-01"), "--full/--since do not apply"),
        (("run", "--source", "ichgcp", "--full"), "--full/--since do not apply"),
    ],
)
def test_a_run_option_its_source_would_ignore_is_refused(cli: Cli, db_path: Path, args: tuple, reason: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    assert reason in result.stderr and result.stderr.count("\n") == 1
    assert not db_path.exists() or scalar(db_path, "SELECT count(*) FROM runs") == 0


@pytest.mark.parametrize("command", ["runs", "unresolved"])
def test_an_unknown_source_name_is_bad_input(cli: Cli, command: str) -> None:
    result = cli(command, "--source", "nosuch")
    assert result.exit_code == 2
    assert "'nosuch' is not one of" in result.stderr


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the NCT number of every study the CT.gov parser is asked to map."""
    parsed: list[str] = []
    original = ClinicalTrialsGov.parse_object

    def counting(self: ClinicalTrialsGov, raw: Any, url: str, fetched_at: Any, payload: Any = None) -> Any:
        parsed.append(url.rsplit("/", 1)[-1])
        return original(self, raw, url, fetched_at, payload)

    monkeypatch.setattr(ClinicalTrialsGov, "parse_object", counting)
    return parsed


def test_a_new_data_release_is_recognised_without_parsing(
    cli: Cli, db_path: Path, ctgov_site: CtgovSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("run").exit_code == 0
    assert scalar(db_path, "SELECT count(*) FROM source_records WHERE raw_fingerprint IS NULL") == 0
    parsed = _count_parses(monkeypatch)
    ctgov_site.version_holder = "2026-11-21"  # only derivedSection changes
    result = cli("run", "--full")
    assert result.exit_code == 0, result.output
    assert f"{N_FIXTURE_STUDIES} fetched, 0 new, 0 changed, {N_FIXTURE_STUDIES} unchanged" in result.stderr
    assert parsed == []


def test_a_payload_change_the_record_ignores_keeps_the_payload_but_not_a_new_record(
    cli: Cli, db_path: Path, ctgov_site: CtgovSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("run").exit_code == 0
    studies_before = rows(db_path, "SELECT nct_id, updated_at, content_hash FROM studies ORDER BY nct_id")
    records = rows(db_path, "SELECT record_key, changed_at, run_id, raw, raw_fingerprint FROM source_records")
    study = copy.deepcopy(load_study("NCT03418623"))
    study["documentSection"] = {"largeDocumentModule": {"noSap": True}}  # documents: not in the canonical record
    ctgov_site.put(study)
    parsed = _count_parses(monkeypatch)
    result = cli("run", "--full")
    assert result.exit_code == 0, result.output
    assert "0 new, 0 changed" in result.stderr
    assert parsed == ["NCT03418623"]  # parsed and compared: content_hash decides, and it did not change
    after = {
        r[0]: r
        for r in rows(db_path, "SELECT record_key, changed_at, run_id, raw, raw_fingerprint FROM source_records")
    }
    for key, changed_at, run_id, raw, fingerprint in records:
        assert after[key][1:3] == (changed_at, run_id)  # no record is rewritten or counted as changed
        moved = key.endswith("NCT03418623")
        # what the source said is kept (the new payload) with its fingerprint; nothing else moved
        assert (after[key][3] != raw, after[key][4] != fingerprint) == (moved, moved)
    assert b'"noSap":true' in zlib.decompress(after["/studies/NCT03418623"][3])
    assert rows(db_path, "SELECT nct_id, updated_at, content_hash FROM studies ORDER BY nct_id") == studies_before
    assert scalar(db_path, "SELECT count(*) FROM changes") == 0
    parsed.clear()
    assert cli("run", "--full").exit_code == 0
    assert parsed == []  # the new payload is vouched for now


def test_a_one_off_fetch_stores_the_fingerprint_so_the_nightly_run_skips_it(
    cli: Cli, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("fetch", "NCT03418623").exit_code == 0
    assert scalar(db_path, "SELECT raw_fingerprint IS NOT NULL FROM source_records") == 1
    parsed = _count_parses(monkeypatch)
    assert cli("run").exit_code == 0
    assert "NCT03418623" not in parsed and len(parsed) == N_FIXTURE_STUDIES - 1


def test_reparse_forgets_fingerprints_so_the_next_run_parses_again(
    cli: Cli, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("run").exit_code == 0
    assert cli("reparse").exit_code == 0
    assert scalar(db_path, "SELECT count(*) FROM source_records WHERE raw_fingerprint IS NOT NULL") == 0
    parsed = _count_parses(monkeypatch)
    result = cli("run", "--full")
    assert result.exit_code == 0, result.output
    assert f"0 new, 0 changed, {N_FIXTURE_STUDIES} unchanged" in result.stderr
    assert len(parsed) == N_FIXTURE_STUDIES
    assert scalar(db_path, "SELECT count(*) FROM source_records WHERE raw_fingerprint IS NULL") == 0


def test_a_file_from_before_fingerprints_gains_the_column(cli: Cli, db_path: Path) -> None:
    assert cli("run").exit_code == 0
    conn = sqlite3.connect(db_path)
    conn.execute("ALTER TABLE source_records DROP COLUMN raw_fingerprint")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    result = cli("run", "--full")
    assert result.exit_code == 0, result.output
    assert f"0 new, 0 changed, {N_FIXTURE_STUDIES} unchanged" in result.stderr
    assert scalar(db_path, "SELECT count(*) FROM source_records WHERE raw_fingerprint IS NOT NULL") == N_FIXTURE_STUDIES


def test_collaborators_keep_their_agency_class(cli: Cli, db_path: Path) -> None:
    """Every collaborator of every real record is stored with CT.gov's class (NIH, INDUSTRY, ...), in order."""
    assert cli("run").exit_code == 0
    checked = 0
    for path in sorted(STUDY_FILES.glob("NCT*.json")):
        if ".reconstructed." in path.name:
            continue
        study = json.loads(path.read_text(encoding="utf-8"))
        nct = study["protocolSection"]["identificationModule"]["nctId"]
        given = study["protocolSection"].get("sponsorCollaboratorsModule", {}).get("collaborators", [])
        stored = rows(
            db_path,
            "SELECT name, class FROM sponsors WHERE nct_id = ? AND role = 'COLLABORATOR' ORDER BY position",
            (nct,),
        )
        assert stored == [(c["name"], c["class"]) for c in given], nct
        checked += len(given)
    assert checked == 16  # 16 collaborators across 7 of the 12 real records
    # NCT00763412 (a real record): an individual lead sponsor, then a university, two NIH institutes and a drug
    # company.
    classes = rows(db_path, "SELECT class FROM sponsors WHERE nct_id = 'NCT00763412' ORDER BY position")
    assert classes == [("INDIV",), ("OTHER",), ("NIH",), ("INDUSTRY",), ("NIH",)]
