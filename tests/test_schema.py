"""The canonical schema's own bounds: what no source may store, whatever its page says."""

from __future__ import annotations

import pytest

from harvest.core.errors import InvalidRecord
from harvest.core.schema import MAX_ENROLLMENT, build_study
from harvest.sources.base import Page
from tests.mirror_helpers import FETCHED, fixture_page, make_source


def test_an_enrollment_beyond_any_trial_fails_validation_naming_the_field() -> None:
    """A run-together number (``10012020202020202020``) would not even fit SQLite's INTEGER: refuse it here."""
    url = "https://clinicaltrials.gov/api/v2/studies/NCT03390231"
    provenance = {"source": "ctgov", "url": url, "fetched_at": FETCHED}
    with pytest.raises(InvalidRecord, match=r"^invalid record: enrollment: "):
        build_study({"nct_id": "NCT03390231", "enrollment": 10012020202020202020, "provenance": provenance})
    biggest = build_study({"nct_id": "NCT03390231", "enrollment": MAX_ENROLLMENT, "provenance": provenance})
    assert biggest.enrollment == MAX_ENROLLMENT


def test_a_mirror_page_with_a_garbled_enrollment_keeps_it_unmapped_and_the_rest_of_the_page() -> None:
    """ctv's real wording ("100 estimated patients", NCT03390231) with the digits run together."""
    fixture = fixture_page("veeva", "NCT03390231.reconstructed.html")
    html = fixture.file.read_text(encoding="utf-8")
    assert ">100 estimated patients<" in html
    garbled = html.replace(">100 estimated patients<", ">10012020202020202020 estimated patients<")
    study = make_source("veeva").parse(Page(fixture.url, garbled.encode(), FETCHED, "text/html"))
    assert study.enrollment is None
    assert study.unmapped["enrollment"] == "10012020202020202020 estimated patients"
    assert study.nct_id == "NCT03390231" and study.overall_status is not None
