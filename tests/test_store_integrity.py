"""What the store keeps true whatever order pages arrive in: good data is never replaced by worse, a page that
now parses is no longer listed as broken, no study row outlives its records, and every change is recorded.

Built on a real record (fixtures/ctgov/studies/NCT02513394.json) written through the same calls a run makes.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from harvest.core.config import Settings
from harvest.core.errors import InvalidRecord, LayoutChanged
from harvest.core.records import Failure, SourceRecord, Unresolved
from harvest.core.schema import Study
from harvest.pipeline.harvester import Harvester
from harvest.pipeline.show import merged_study
from harvest.sources.base import Batch, Page
from harvest.store.database import Store
from harvest.testing import FIXTURES
from tests.conftest import apply

NCT = "NCT02513394"
RAW = (FIXTURES / "ctgov" / "studies" / f"{NCT}.json").read_bytes()
NIGHT_1 = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
NIGHT_2 = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def harvester(tmp_path: Path) -> Harvester:
    return Harvester(tmp_path / "h.db", Settings(env={"HARVEST_CTGOV_URL": "http://127.0.0.1:9/api/v2"}))


def ctgov_record(harvester: Harvester, raw: bytes, fetched_at: dt.datetime) -> SourceRecord:
    source = harvester.sources["ctgov"]
    url = source.url_for(NCT)
    study = source.parse(Page(url, raw, fetched_at, "application/json"))
    return SourceRecord("ctgov", source.record_key(url), url, study, raw, "application/json")


def with_status(status: str) -> bytes:
    payload = json.loads(RAW)
    payload["protocolSection"]["statusModule"]["overallStatus"] = status
    return json.dumps(payload).encode()


def one(db: Path, sql: str, *params: object) -> tuple:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchone()
    finally:
        conn.close()


def test_reparse_keeps_the_stored_record_when_the_kept_page_is_worse(harvester: Harvester) -> None:
    """Night 1 stored the full record; night 2's page was near-empty and quarantined. A reparse must refuse it
    again, keep it quarantined, and leave the stored record and the study row as they were."""
    store = harvester.open_store()
    full = ctgov_record(harvester, RAW, NIGHT_1)
    apply(store, Batch(records=[full]), source="ctgov", run_id=None)
    sparse = json.dumps({"protocolSection": {"identificationModule": {"nctId": NCT, "briefTitle": "x"}}}).encode()
    with store.transaction():
        store.pages.quarantine(
            "ctgov", Failure(full.url, LayoutChanged(["x"], url=full.url), sparse, "application/json"), 1
        )
    store.db.conn.execute("UPDATE quarantine SET quarantined_at = ?", (NIGHT_2.isoformat(),))
    store.db.conn.commit()
    store.close()

    report = harvester.reparse("ctgov")

    assert report.failed == 1 and report.exit_code == 1
    record = Study.model_validate_json(one(harvester.db_path, "SELECT record FROM source_records")[0])
    assert record.populated_fields() == full.study.populated_fields()
    assert one(harvester.db_path, "SELECT brief_title, enrollment FROM studies") == (full.study.brief_title, 5796)
    assert one(harvester.db_path, "SELECT count(*), min(error) FROM quarantine")[0] == 1
    assert "kept the stored one" in one(harvester.db_path, "SELECT error FROM quarantine")[0]


def test_a_quarantined_page_older_than_the_stored_one_is_not_replayed(harvester: Harvester) -> None:
    """Night 1's payload (RECRUITING) was quarantined, night 2's (COMPLETED) stored: a reparse must not take
    the study back to RECRUITING, nor record that as a change."""
    store = harvester.open_store()
    old = with_status("RECRUITING")
    url = harvester.sources["ctgov"].url_for(NCT)
    with store.transaction():
        store.pages.quarantine("ctgov", Failure(url, InvalidRecord("parser bug", url=url), old, "application/json"), 1)
    store.db.conn.execute("UPDATE quarantine SET quarantined_at = ?", (NIGHT_1.isoformat(),))
    store.db.conn.commit()
    apply(store, Batch(records=[ctgov_record(harvester, with_status("COMPLETED"), NIGHT_2)]), source="ctgov", run_id=2)
    store.close()

    harvester.reparse("ctgov")

    assert one(harvester.db_path, "SELECT overall_status FROM studies") == ("COMPLETED",)
    assert one(harvester.db_path, "SELECT count(*) FROM changes") == (0,)
    assert one(harvester.db_path, "SELECT count(*) FROM quarantine") == (0,)


def test_a_page_that_is_stored_leaves_quarantine_and_unresolved(harvester: Harvester) -> None:
    store = harvester.open_store()
    record = ctgov_record(harvester, RAW, NIGHT_2)
    with store.transaction():
        store.pages.quarantine("ctgov", Failure(record.url, InvalidRecord("bug", url=record.url), RAW), 1)
        store.pages.save_unresolved("ctgov", Unresolved(record.url, "title", "no NCT shown", RAW))
    assert one(harvester.db_path, "SELECT count(*) FROM quarantine") == (1,)

    apply(store, Batch(records=[record]), source="ctgov", run_id=2)

    assert one(harvester.db_path, "SELECT count(*) FROM quarantine") == (0,)
    assert one(harvester.db_path, "SELECT count(*) FROM unresolved") == (0,)
    store.close()


def _mirror_record(nct: str, title: str, url: str = "https://ctv.veeva.com/study/x") -> SourceRecord:
    study = Study(
        nct_id=nct,
        brief_title=title,
        conditions=["Sepsis"],
        provenance={"source": "veeva", "url": url, "fetched_at": NIGHT_2},
    )
    return SourceRecord("veeva", "/study/x", url, study, b"<html></html>", "text/html")


def test_a_page_that_now_names_another_trial_leaves_no_orphan_row(tmp_path: Path) -> None:
    """A mirror page first read as one NCT, later as another: the first trial has no record left."""
    store = Store(tmp_path / "h.db")
    apply(store, Batch(records=[_mirror_record("NCT00000001", "Misread trial")]), source="veeva", run_id=1)
    apply(store, Batch(records=[_mirror_record("NCT00000002", "Right trial")]), source="veeva", run_id=2)
    store.close()
    db = tmp_path / "h.db"
    assert one(db, "SELECT group_concat(nct_id) FROM studies") == ("NCT00000002",)
    assert one(db, "SELECT group_concat(DISTINCT nct_id) FROM conditions") == ("NCT00000002",)
    assert one(db, "SELECT count(*) FROM studies_fts WHERE studies_fts MATCH 'misread'") == (0,)
    assert one(db, "SELECT count(*) FROM studies_fts WHERE studies_fts MATCH 'right'") == (1,)


def test_what_a_newly_seen_source_adds_is_recorded_as_a_change(harvester: Harvester) -> None:
    store = harvester.open_store()
    ctgov = ctgov_record(harvester, RAW, NIGHT_1)
    apply(store, Batch(records=[ctgov]), source="ctgov", run_id=1)
    assert ctgov.study.why_stopped is None
    mirror = ctgov.study.model_copy(
        update={
            "why_stopped": "Sponsor decision",
            "provenance": ctgov.study.provenance.model_copy(update={"source": "veeva", "url": "https://x/study/p"}),
        }
    )
    record = SourceRecord("veeva", "/study/p", "https://x/study/p", mirror, b"<html></html>", "text/html")
    apply(store, Batch(records=[record]), source="veeva", run_id=2)
    store.close()
    assert one(harvester.db_path, "SELECT run_id, field, old, new FROM changes") == (
        2,
        "why_stopped",
        None,
        '"Sponsor decision"',
    )


def test_a_read_only_open_reads_the_named_file_whatever_its_name(tmp_path: Path) -> None:
    """``?`` and ``#`` in a file name are not a URI's query or fragment: the very file is read, nothing created."""
    db = tmp_path / "trials?v=1#b.db"
    store = Store(db)
    apply(store, Batch(records=[_mirror_record("NCT00000001", "Named trial")]), source="veeva", run_id=1)
    store.close()
    reader = Store(db, readonly=True)
    try:
        assert reader.db.conn.execute("SELECT brief_title FROM studies").fetchall() == [("Named trial",)]
    finally:
        reader.close()
    # SQLite's own -wal/-shm files beside it, and no other file (mode=ro on a mangled URI created "trials")
    assert all(path.name.startswith(db.name) for path in tmp_path.iterdir())


def test_show_attributes_each_field_to_the_record_it_shows(tmp_path: Path) -> None:
    """``harvest show`` merges with today's precedence; its field sources come from that same merge, not
    from the row written under the old order (which named the other mirror)."""
    db = tmp_path / "h.db"
    writer = Store(db)
    for source, acronym in (("veeva", "VEEVA"), ("ichgcp", "ICHGCP")):
        url = f"https://{source}.example/study/x"
        study = Study(
            nct_id="NCT00000001",
            brief_title="Trial",
            acronym=acronym,
            provenance={"source": source, "url": url, "fetched_at": NIGHT_2},
        )
        record = SourceRecord(source, "/study/x", url, study, b"<html></html>", "text/html")
        apply(writer, Batch(records=[record]), source=source, run_id=None)
    writer.close()
    reader = Store(db, readonly=True)
    try:
        found = merged_study(reader, "NCT00000001", ["ctgov", "ichgcp", "veeva"])
    finally:
        reader.close()
    assert found is not None
    merged, field_sources = found.merged, found.field_sources
    assert merged.study.acronym == "ICHGCP"
    assert field_sources["acronym"] == {
        "source": "ichgcp",
        "url": "https://ichgcp.example/study/x",
        "fetched_at": one(db, "SELECT fetched_at FROM source_records WHERE source = 'ichgcp'")[0],
    }
    assert field_sources["brief_title"]["source"] == "ichgcp"


def test_a_mirror_that_only_disagrees_changes_attribution_not_the_study(harvester: Harvester) -> None:
    """A mirror whose enrollment differs from CT.gov's: the study row keeps its content (CT.gov wins) and is
    not rewritten; the row names both sources and the disagreement is listed; when the mirror comes to agree,
    the conflict goes. No change is recorded, since the trial did not change."""
    store = harvester.open_store()
    ctgov = ctgov_record(harvester, RAW, NIGHT_1)
    apply(store, Batch(records=[ctgov]), source="ctgov", run_id=1)
    db = harvester.db_path
    before = one(db, "SELECT content_hash, updated_at, enrollment FROM studies")

    def mirror(enrollment: int) -> SourceRecord:
        provenance = ctgov.study.provenance.model_copy(update={"source": "veeva", "url": "https://x/study/p"})
        study = ctgov.study.model_copy(update={"enrollment": enrollment, "provenance": provenance})
        return SourceRecord("veeva", "/study/p", "https://x/study/p", study, b"<html></html>", "text/html")

    apply(store, Batch(records=[mirror(5000)]), source="veeva", run_id=2)
    assert one(db, "SELECT content_hash, updated_at, enrollment FROM studies") == before
    assert one(db, "SELECT sources FROM studies") == ('["ctgov", "veeva"]',)
    conflicts = store.db.conn.execute("SELECT field, source, value FROM conflicts ORDER BY source").fetchall()
    assert conflicts == [("enrollment", "ctgov", "5796"), ("enrollment", "veeva", "5000")]
    apply(store, Batch(records=[mirror(5796)]), source="veeva", run_id=3)
    assert one(db, "SELECT count(*) FROM conflicts") == (0,)
    assert one(db, "SELECT content_hash, updated_at, enrollment FROM studies") == before
    assert one(db, "SELECT count(*) FROM changes") == (0,)
    store.close()


def _interrupt(*args: object, **kwargs: object) -> None:
    raise KeyboardInterrupt


def test_ctrl_c_during_a_fetch_or_a_reparse_is_recorded_not_left_running(
    harvester: Harvester, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = harvester.open_store()
    apply(store, Batch(records=[ctgov_record(harvester, RAW, NIGHT_1)]), source="ctgov", run_id=None)
    store.close()
    source = harvester.sources["ctgov"]
    monkeypatch.setattr(source, "fetch_nct", _interrupt)
    with pytest.raises(KeyboardInterrupt):
        harvester.fetch([NCT])
    monkeypatch.setattr(source, "parse", _interrupt)
    with pytest.raises(KeyboardInterrupt):
        harvester.reparse("ctgov")
    runs = sqlite3.connect(harvester.db_path).execute("SELECT command, outcome, error FROM runs ORDER BY id").fetchall()
    assert [(command, outcome) for command, outcome, _ in runs] == [
        ("fetch", "interrupted"),
        ("reparse", "interrupted"),
    ]
    assert all(error.startswith("interrupted; ") for _, _, error in runs)
