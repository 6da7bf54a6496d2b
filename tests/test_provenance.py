"""Which record supplied each field: ``studies.provenance`` names one record with ``"*"`` when that record supplied
every field of the trial (most trials: the registry's record alone), and lists each record's fields otherwise;
``field_provenance`` spells out one row per field either way, the same rows `harvest show --provenance` gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harvest.core.records import SourceRecord
from harvest.pipeline.show import merged_study
from harvest.sources.base import Batch
from harvest.store.database import Store
from harvest.store.provenance import EVERY_FIELD
from tests.conftest import PRECEDENCE, apply, open_store, rows
from tests.query_helpers import demo_db
from tests.test_cross_site import batches  # noqa: F401 (a fixture: the cross-site records)

LACKING = {"acronym": None, "lead_sponsor": None, "lead_sponsor_class": None}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_db(tmp_path_factory)


def _same_as_show(db: Path, store: Store) -> tuple[set[str], set[str]]:
    """Assert that field_provenance gives for every trial what `harvest show --provenance` gives (and the fields
    the trial has); returns the trials whose provenance is one record's ``"*"``, and the others."""
    provenance = dict(rows(db, "SELECT nct_id, provenance FROM studies"))
    whole = {nct for nct, text in provenance.items() if list(json.loads(text).values()) == [EVERY_FIELD]}
    viewed: dict[str, set[tuple[str, str, str]]] = {}
    for nct, field, source, url in rows(db, "SELECT nct_id, field, source, url FROM field_provenance"):
        viewed.setdefault(nct, set()).add((field, source, url))
    try:
        for nct in provenance:
            shown = merged_study(store, nct, PRECEDENCE)
            assert shown is not None
            expected = {(field, entry["source"], entry["url"]) for field, entry in shown.field_sources.items()}
            assert viewed[nct] == expected, nct
            assert set(shown.merged.study.populated_fields()) == {field for field, _, _ in viewed[nct]}
    finally:
        store.close()
    return whole, set(provenance) - whole


def test_a_trial_one_record_makes_names_the_record_not_every_field(demo: Path) -> None:
    whole, listed = _same_as_show(demo, open_store(demo))
    assert len(whole) == 27 and not listed  # the demo's mirrors add nothing the registry's records lack
    (text,) = rows(demo, "SELECT provenance FROM studies WHERE nct_id = 'NCT02513394'")[0]
    assert json.loads(text) == {"ctgov|/studies/NCT02513394": "*"}


def test_a_trial_several_records_make_lists_each_ones_fields(
    tmp_path: Path,
    batches: dict[str, list[SourceRecord]],  # noqa: F811
) -> None:
    db = tmp_path / "merged.db"
    store = Store(db)
    # (built) the registry's record of NCT04067674 without the acronym and sponsor the Veeva page gives
    registry = [
        SourceRecord(r.source, r.record_key, r.url, r.study.model_copy(update=LACKING), r.raw, r.content_type)
        if r.study.nct_id == "NCT04067674"
        else r
        for r in batches["ctgov"]
    ]
    for source_name in PRECEDENCE:
        records = registry if source_name == "ctgov" else batches[source_name]
        apply(store, Batch(records=records), source=source_name, run_id=None)
    store.close()
    whole, listed = _same_as_show(db, Store(db))
    assert listed == {"NCT04067674"} and len(whole) == 3
    (text,) = rows(db, "SELECT provenance FROM studies WHERE nct_id = 'NCT04067674'")[0]
    fields = json.loads(text)
    assert {"acronym", "lead_sponsor"} <= set(fields["veeva|/study/septic-shock-induced-immunosuppression"])
    assert "brief_title" in fields["ctgov|/studies/NCT04067674"]
