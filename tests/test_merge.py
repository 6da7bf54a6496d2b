"""One trial, one row: precedence, determinism, conflicts, aliases, history and offline re-parse."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import sqlite3
from pathlib import Path

from harvest.core.records import SourceRecord, StoredRecord
from harvest.core.schema import PartialDate, Study
from harvest.merge.precedence import equivalent, merge
from harvest.sources.base import Batch
from harvest.sources.ctgov import ClinicalTrialsGov
from harvest.store.database import Store
from tests.conftest import PRECEDENCE, Cli, apply, content, load_study, parse_ctgov, rows, scalar

WHEN = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)


def with_(study: Study, **changes: object) -> Study:
    """A validated copy (model_copy would skip validation and keep plain strings where enums belong)."""
    return Study.model_validate({**study.model_dump(), **changes})


def mirror(base: Study, source_name: str, key: str, **changes: object) -> StoredRecord:
    provenance = base.provenance.model_copy(update={"source": source_name, "url": f"https://{source_name}/{key}"})
    study = with_(base, **changes, provenance=provenance)
    return StoredRecord(source_name, key, provenance.url, "2026-11-21T00:00:00Z", study)


def registry(study: Study) -> StoredRecord:
    return StoredRecord("ctgov", f"/studies/{study.nct_id}", study.provenance.url, "2026-11-20T00:00:00Z", study)


def test_registry_wins_mirrors_fill_gaps_and_never_blank(source: ClinicalTrialsGov) -> None:
    ct = parse_ctgov(source, load_study("NCT03418623"))
    ct = with_(ct, acronym=None)
    veeva = mirror(
        ct, "veeva", "/study/x", overall_status="RECRUITING", acronym="GET73-MRS", brief_summary=None, enrollment=30
    )
    merged = merge([registry(ct), veeva], PRECEDENCE)
    assert merged.study.overall_status == "COMPLETED"  # the registry's word, not the fresher mirror's
    assert merged.study.enrollment == 24
    assert merged.study.acronym == "GET73-MRS"  # the registry had none: the mirror fills the gap
    assert merged.study.brief_summary == ct.brief_summary  # the mirror's blank never blanks it
    assert merged.provenance["veeva|/study/x"] == ["acronym"]
    assert "brief_title" in merged.provenance["ctgov|/studies/NCT03418623"]
    assert merged.sources == ["ctgov", "veeva"]
    disputed = {(field, src) for field, src, _ in merged.conflicts}
    assert disputed == {
        ("overall_status", "ctgov"),
        ("overall_status", "veeva"),
        ("enrollment", "ctgov"),
        ("enrollment", "veeva"),
    }


def test_merge_is_deterministic_in_any_order(source: ClinicalTrialsGov) -> None:
    ct = parse_ctgov(source, load_study("NCT04207047"))
    records = [
        registry(with_(ct, keywords=[])),
        mirror(ct, "veeva", "/study/a", keywords=["laser"], overall_status="RECRUITING"),
        mirror(ct, "inclinicaltrials", "/x/NCT04207047/", keywords=["skin"], enrollment=7),
        mirror(ct, "inclinicaltrials", "/x/NCT04207047/details/", official_title="Another Title"),
        mirror(ct, "ichgcp", "/clinical-trials-registry/NCT04207047", acronym="LUT"),
    ]
    outputs = set()
    for order in itertools.permutations(records):
        merged = merge(order, PRECEDENCE)
        outputs.add(
            json.dumps(
                [merged.study.model_dump(mode="json"), merged.provenance, merged.conflicts, merged.sources],
                sort_keys=True,
            )
        )
    assert len(outputs) == 1
    merged = merge(records, PRECEDENCE)
    assert merged.study.keywords == ["laser"]  # veeva outranks inclinicaltrials by default
    assert merge(records, ["ctgov", "inclinicaltrials", "veeva", "ichgcp"]).study.keywords == ["skin"]


def test_equal_values_written_differently_are_not_conflicts() -> None:
    assert equivalent(
        "completion_date", PartialDate(value="2020-10-31"), PartialDate(value="2020-10-31", type="ESTIMATED")
    )
    assert equivalent("start_date", PartialDate(value="2020-02"), PartialDate(value="2020-02-10"))
    assert not equivalent("start_date", PartialDate(value="2020-02"), PartialDate(value="2020-03-10"))
    assert equivalent("eligibility_criteria", "Age \\>= 18 years.", "age >= 18   years")
    assert not equivalent("lead_sponsor", "Hospices Civils de Lyon", "Civil Hospices of Lyon")
    assert equivalent("conditions", ["Septic Shock"], ["septic shock"])


def _record(study: Study, source_name: str, key: str) -> SourceRecord:
    return SourceRecord(source_name, key, study.provenance.url, study, study.model_dump_json().encode())


def test_record_under_an_alias_merges_into_the_current_nct(tmp_path: Path, source: ClinicalTrialsGov) -> None:
    current = parse_ctgov(source, load_study("NCT04207047"))
    alias_view = with_(
        current,
        nct_id="NCT00000991",
        provenance=current.provenance.model_copy(update={"source": "veeva", "nct_resolution": "identifiers"}),
        acronym="ALIAS-ACR",
    )
    store = Store(tmp_path / "h.db")
    # the mirror's page, keyed by the old NCT, arrives first...
    apply(store, Batch(records=[_record(alias_view, "veeva", "/study/old")]), source="veeva", run_id=None)
    assert [r[0] for r in store.db.conn.execute("SELECT nct_id FROM studies")] == ["NCT00000991"]
    # ...then the registry says NCT00000991 is an alias of NCT04207047
    with_alias = with_(current, nct_aliases=["NCT00000991"])
    apply(store, Batch(records=[_record(with_alias, "ctgov", "/studies/NCT04207047")]), source="ctgov", run_id=None)
    assert [r[0] for r in store.db.conn.execute("SELECT nct_id FROM studies")] == ["NCT04207047"]
    row = store.db.conn.execute("SELECT acronym, sources FROM studies").fetchone()
    assert row == ("ALIAS-ACR", '["ctgov", "veeva"]')
    # and a later mirror page still keyed by the alias lands on the current NCT too
    apply(
        store,
        Batch(records=[_record(alias_view, "ichgcp", "/clinical-trials-registry/NCT00000991")]),
        source="ichgcp",
        run_id=None,
    )
    assert store.db.conn.execute("SELECT count(*) FROM studies").fetchone()[0] == 1
    assert store.db.conn.execute("SELECT DISTINCT nct_id FROM source_records").fetchall() == [("NCT04207047",)]
    store.close()


def test_a_mirror_change_that_does_not_change_the_row_records_no_history(
    tmp_path: Path, source: ClinicalTrialsGov
) -> None:
    ct = parse_ctgov(source, load_study("NCT03418623"))
    store = Store(tmp_path / "h.db")
    veeva = with_(ct, provenance=ct.provenance.model_copy(update={"source": "veeva"}))
    apply(
        store,
        Batch(records=[_record(ct, "ctgov", "/studies/NCT03418623"), _record(veeva, "veeva", "/study/get73")]),
        source="ctgov",
        run_id=1,
    )
    # the mirror now says something else about a field the registry already gives: row unchanged, conflict noted
    changed = with_(veeva, overall_status="RECRUITING")
    result = apply(store, Batch(records=[_record(changed, "veeva", "/study/get73")]), source="veeva", run_id=2)
    assert result.changed == 1
    assert store.db.conn.execute("SELECT count(*) FROM changes").fetchone()[0] == 0
    assert store.db.conn.execute("SELECT overall_status FROM studies").fetchone()[0] == "COMPLETED"
    assert store.studies.conflicts("NCT03418623") == [
        ("NCT03418623", "overall_status", "ctgov", '"COMPLETED"'),
        ("NCT03418623", "overall_status", "veeva", '"RECRUITING"'),
    ]
    # the registry changes a field: exactly one changes row
    moved = with_(ct, enrollment=30)
    apply(store, Batch(records=[_record(moved, "ctgov", "/studies/NCT03418623")]), source="ctgov", run_id=3)
    assert store.db.conn.execute("SELECT nct_id, run_id, field, old, new FROM changes").fetchall() == [
        ("NCT03418623", 3, "enrollment", "24", "30")
    ]
    store.close()


def test_provenance_view_names_source_url_and_fetch_time(cli: Cli, db_path: Path) -> None:
    assert cli("fetch", "NCT03418623").exit_code == 0
    found = rows(
        db_path,
        "SELECT field, source, url FROM field_provenance WHERE nct_id = 'NCT03418623' "
        "AND field IN ('brief_title', 'enrollment') ORDER BY field",
    )
    url = f"{cli.env['HARVEST_CTGOV_URL']}/studies/NCT03418623"
    assert found == [("brief_title", "ctgov", url), ("enrollment", "ctgov", url)]
    shown = json.loads(cli("show", "--provenance", "NCT03418623").stdout)
    assert shown["field_sources"]["enrollment"]["source"] == "ctgov"
    assert shown["field_sources"]["enrollment"]["fetched_at"].endswith("Z")


def test_reparse_equals_a_fresh_harvest(cli: Cli, db_path: Path, tmp_path: Path) -> None:
    assert cli("run").exit_code == 0
    fresh = content(db_path)
    # Simulate what an older, buggier parser wrote: titles lost, hashes different. (The registry's records are
    # kept as their payloads alone, which today's parser reads; the hashes and the rows are the older parser's.)
    conn = sqlite3.connect(db_path)
    assert scalar(db_path, "SELECT count(*) FROM source_records WHERE record IS NOT NULL") == 0
    conn.execute("UPDATE source_records SET content_hash = 'stale'")
    conn.execute("UPDATE studies SET brief_title = NULL, content_hash = 'stale'")
    conn.commit()
    conn.close()
    assert scalar(db_path, "SELECT count(*) FROM studies WHERE brief_title IS NULL") == 24

    result = cli("reparse")
    assert result.exit_code == 0, result.output
    assert "harvest reparse all [offline] OK" in result.stderr and "24 changed" in result.stderr
    assert content(db_path)["studies"] == fresh["studies"]
    assert content(db_path)["source_records"] == fresh["source_records"]
    # The registry did not change; how harvest read it did: a re-parse writes no change history.
    assert scalar(db_path, "SELECT count(*) FROM changes") == 0
