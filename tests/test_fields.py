"""Displayed values shared by every mirror parser (sources/fields.py)."""

from __future__ import annotations

import pytest

from harvest.core.errors import InvalidRecord
from harvest.sources.base import Page
from harvest.sources.reading.fields import split_acronym
from tests.mirror_helpers import FETCHED, fixture_page, make_source

HEADINGS = [
    (
        "Septic Shock-induced Immunosuppression (IMMUNOSEPSIS 4)",
        "Septic Shock-induced Immunosuppression",
        "IMMUNOSEPSIS 4",
    ),
    ("Vitamin D for Frailty (PREVENT-it)", "Vitamin D for Frailty", "PREVENT-it"),
    ("Exercise Training (in adults)", "Exercise Training (in adults)", None),
    ("Stem Cell Educator Therapy in Diabetes", "Stem Cell Educator Therapy in Diabetes", None),
]


@pytest.mark.parametrize(("shown", "title", "acronym"), HEADINGS)
def test_split_acronym(shown: str, title: str, acronym: str | None) -> None:
    assert split_acronym(shown) == (title, acronym)


@pytest.mark.parametrize(("shown", "title", "acronym"), HEADINGS)
def test_ichgcp_reads_a_heading_as_the_shared_rule_does(shown: str, title: str, acronym: str | None) -> None:
    """ctv and ichgcp print the same CT.gov heading; they used to split it by two different rules."""
    fixture = fixture_page("ichgcp", "NCT04067674.reconstructed.html")
    html = fixture.file.read_text(encoding="utf-8")
    heading = "Septic Shock-induced Immunosuppression (IMMUNOSEPSIS 4)</h1>"
    assert heading in html
    page = html.replace(heading, f"{shown}</h1>")
    study = make_source("ichgcp").parse(Page(fixture.url, page.encode(), FETCHED, "text/html"))
    assert (study.brief_title, study.acronym) == (title, acronym)


SUMMARY = "NCT04268537.summary.seed000.reconstructed.html"  # shows "NCT number NCT04268537"
SHOWN = '<span class="trial-fact__value">NCT04268537</span>'


def _summary_page(url_nct: str, shown: str = SHOWN) -> Page:
    fixture = fixture_page("inclinicaltrials", SUMMARY)
    html = fixture.file.read_text(encoding="utf-8")
    assert SHOWN in html
    url = fixture.url.replace("nct04268537", url_nct.lower()).replace("NCT04268537", url_nct)
    assert url_nct.lower() in url.lower()
    return Page(url, html.replace(SHOWN, shown).encode(), FETCHED, "text/html")


def test_a_page_whose_shown_nct_and_url_disagree_is_refused() -> None:
    with pytest.raises(InvalidRecord, match="page says NCT04268537 but its URL says NCT04299152"):
        make_source("inclinicaltrials").parse(_summary_page("NCT04299152"))


def test_a_shown_nct_that_is_not_one_is_kept_unmapped_and_the_url_decides() -> None:
    garbled = '<span class="trial-fact__value">NCT0426853</span>'
    study = make_source("inclinicaltrials").parse(_summary_page("NCT04268537", garbled))
    assert study.nct_id == "NCT04268537" and study.provenance.nct_resolution == "url"
    assert study.unmapped["nct_id"] == "NCT0426853"
