"""Displayed values shared by every mirror parser (sources/fields.py)."""

from __future__ import annotations

import pytest

from harvest.sources.base import Page
from harvest.sources.fields import split_acronym
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
