"""One record per mirror in four markups: a real render and three hand-built variants of it.

The variants (``<NCT>.component-kit``, ``.dl`` and ``.table`` ``.reconstructed.html``, described in each
fixtures/<site>/README.md) keep every word and value of the render and change only the markup: React-component-kit
divs and spans with badges and links written with no whitespace between them, ``dl/dt/dd``, ``table/th/td``.
Inside a value container element boundaries separate values (``<span>Unknown</span><span>Phase 2</span>`` is a
status and a phase); inline runs inside a sentence (``<b>``, ``<em>``, a link in prose) do not. Whatever the tags,
each parser must give the same Study.

The variants are in no sitemap and no route, so the served site (and the golden dump) is what it was; here each is
parsed as if it had been fetched at its original's URL at the same moment.
"""

from __future__ import annotations

import json
import re

import pytest

from harvest.core.schema import Study
from harvest.sources.base import Page
from harvest.sources.reading.htmltext import parse_html, text_lines
from tests.conftest import FETCHED
from tests.mirror_helpers import HTML, FixturePage, fixture_page, make_source, parse_markup

# The real render of each mirror that the variants were built from (fixtures/<site>/README.md).
ORIGINALS = {
    "veeva": "NCT03390231.reconstructed.html",
    "inclinicaltrials": "NCT04268537.summary.seed000.reconstructed.html",
    "ichgcp": "NCT04067674.reconstructed.html",
}
MARKUPS = ("component-kit", "dl", "table")
OFFICIAL_TITLE = "Evaluation of Immunosuppression in Septic Shock: Biomarkers and Pharmacological Restoration"
CASES = [pytest.param(site, markup, id=f"{site}-{markup}") for site in ORIGINALS for markup in MARKUPS]


def original(site: str) -> FixturePage:
    return fixture_page(site, ORIGINALS[site])


def variant_bytes(site: str, markup: str) -> bytes:
    nct = ORIGINALS[site].split(".")[0]
    return (original(site).file.parent / f"{nct}.{markup}.reconstructed.html").read_bytes()


def parse_variant(site: str, markup: str) -> Study:
    """The variant as its parser sees it when served where the original is, fetched when the original was."""
    return make_source(site).parse(Page(original(site).url, variant_bytes(site, markup), FETCHED, HTML))


def parse_original(site: str) -> Study:
    return make_source(site).parse(original(site).page())


@pytest.mark.parametrize(("site", "markup"), CASES)
def test_every_markup_gives_the_study_of_the_real_render(site: str, markup: str) -> None:
    # Nothing is excluded, provenance included: same URL, same fetch time and the same way of settling the NCT
    # (a variant read by its "NCT number" label must not fall back on the URL), so every field must agree.
    assert parse_variant(site, markup).model_dump() == parse_original(site).model_dump()


@pytest.mark.parametrize(("site", "markup"), CASES)
def test_a_variant_changes_the_markup_and_not_the_words(site: str, markup: str) -> None:
    """The words a reader sees are the original's, in any order (labels may move into a caption or a cell)."""

    def words(content: bytes) -> list[str]:
        return sorted(" ".join(text_lines(parse_html(content).body)).split())

    assert words(variant_bytes(site, markup)) == words(original(site).file.read_bytes())


@pytest.mark.parametrize("site", ORIGINALS)
def test_the_variants_are_not_served(site: str) -> None:
    """No route serves them (the replay server serves routes.json only; a sitemap URL without a route is a 404 or
    the server's default): the replayed site, and so the golden dump, stay as they were."""
    folder = original(site).file.parent
    routes = json.loads((folder / "routes.json").read_text(encoding="utf-8"))
    routed = {entry.get("file") for entry in routes.values()}
    nct = ORIGINALS[site].split(".")[0]
    for markup in MARKUPS:
        assert f"{nct}.{markup}.reconstructed.html" not in routed


# -- the component-kit pages, value by value --------------------------------------------------------


def test_veeva_component_kit_badges_links_and_a_sentence() -> None:
    study = parse_variant("veeva", "component-kit")
    # <span>Unknown</span><span>Phase 2</span>: a status and a phase, not "UnknownPhase 2".
    assert study.overall_status == "UNKNOWN"
    assert study.phases == ["PHASE2"]
    # <a>Diabetes Mellitus, Type 1</a><a>Diabetes Mellitus, Type 2</a>: both conditions, commas inside kept.
    assert study.conditions == ["Diabetes Mellitus, Type 1", "Diabetes Mellitus, Type 2"]
    assert [i.value for i in study.identifiers] == ["S2017-059-01"] and study.nct_id == "NCT03390231"
    assert study.lead_sponsor == "Throne Biotechnologies"  # the avatar letter "T" beside it is a value of its own
    assert study.lead_sponsor_class is None  # "Other" and "Industry" are two funder types, not one word
    # <em>, <b> and a link inside the About sentence leave it one paragraph.
    assert study.brief_summary == "About text of this study (abbreviated in this fixture)."
    assert study.unmapped == {}


def test_inclinicaltrials_component_kit_badge_row_and_prose() -> None:
    study = parse_variant("inclinicaltrials", "component-kit")
    # Status label, badge, Phase label, badge: four spans side by side, read as two facts.
    assert study.overall_status == "NOT_YET_RECRUITING"
    assert study.phases == ["PHASE2"]
    assert study.nct_id == "NCT04268537" and study.provenance.nct_resolution == "label"
    assert study.lead_sponsor == "Southeast University, China"  # a link as the value
    assert study.contacts == []  # the Contact value is an empty span
    assert study.conditions == []  # the seed's conditions list is empty, and so is the variant's
    assert study.start_date is not None and study.start_date.value == "2020-02-10"
    # <b>Sepsis</b>, <em>…</em> and two links inside the summary: still one paragraph of running text.
    assert study.brief_summary is not None and "\n" not in study.brief_summary
    assert study.brief_summary.startswith("Sepsis, including viral infections, are major causes of death worldwide.")
    assert "PD-1 and PD-L1 are key mediators" in study.brief_summary
    assert study.detailed_description is not None and study.detailed_description.count("\n\n") == 4
    assert study.unmapped == {}


def test_ichgcp_component_kit_meta_line_badge_and_prose() -> None:
    study = parse_variant("ichgcp", "component-kit")
    # <time>April 15, 2022</time><span>updated by:</span><a>Hospices Civils de Lyon</a>
    assert study.lead_sponsor == "Hospices Civils de Lyon"
    assert study.official_title == OFFICIAL_TITLE
    assert (study.brief_title, study.acronym) == ("Septic Shock-induced Immunosuppression", "IMMUNOSEPSIS 4")
    assert study.overall_status == "RECRUITING"  # <span>Status</span><span class="Badge">Recruiting</span>
    assert study.brief_summary == (
        "Septic syndromes are a major although ... (text abbreviated in this fixture)\n\n"
        "1. to identify the best biomarkers for sepsis-induced immunosuppression\n"
        "2. to evaluate ex vivo candidate treatments which could rejuvenate immune functions after septic shock"
    )
    assert study.unmapped == {}


def test_ichgcp_updated_line_on_a_short_compact_page() -> None:
    """A short record written with no whitespace between tags (a page cut early, as renders are): the whole article
    is short enough to read as "<date> updated by: <everything after>", but the line is the element inside it."""
    page = variant_bytes("ichgcp", "component-kit").decode()
    short = re.sub(r"<ol.*?</ol>", "", page)
    assert short != page
    study = parse_markup("ichgcp", short, original("ichgcp").url)
    assert study.lead_sponsor == "Hospices Civils de Lyon"
    assert study.official_title == OFFICIAL_TITLE
    assert study.brief_summary == "Septic syndromes are a major although ... (text abbreviated in this fixture)"


def test_ichgcp_updated_line_split_over_inline_elements() -> None:
    """The sponsor part as an element of its own inside the line: the line is still the whole sentence, so the
    official title that follows it is found."""
    page = variant_bytes("ichgcp", "component-kit").decode()
    split = page.replace(
        '<span class="MetaLine-text">updated by:</span>'
        '<a class="MetaLine-sponsor Link" href="/sponsor/hospices-civils-de-lyon">Hospices Civils de Lyon</a>',
        '<span class="MetaLine-text">updated by: Hospices Civils de Lyon</span>',
    )
    assert split != page
    study = parse_markup("ichgcp", split, original("ichgcp").url)
    assert study.lead_sponsor == "Hospices Civils de Lyon"
    assert study.official_title == OFFICIAL_TITLE


@pytest.mark.parametrize(
    "heading",
    [
        '<span class="ChipList"><a href="/c/2019-ncov">2019 nCoV</a><a href="/c/pd-1">PD-1</a></span> Clinical Trial',
        "<span>2019 nCoV, PD-1</span><span>Clinical Trial</span>",
        "<a>2019 nCoV</a>, <a>PD-1</a> Clinical Trial",
    ],
    ids=["adjacent-links", "adjacent-spans", "links-in-a-sentence"],
)
def test_inclinicaltrials_conditions_heading_in_other_markup(heading: str) -> None:
    """The details layout's "<conditions> Clinical Trial" heading with its names written as links side by side:
    each element is a condition, as each ", "-separated name is."""
    details = fixture_page("inclinicaltrials", "NCT04268537.details.reconstructed.html")
    page = details.file.read_text(encoding="utf-8")
    changed = page.replace(">2019 nCoV, PD-1 Clinical Trial<", f">{heading}<")
    assert changed != page
    assert parse_markup("inclinicaltrials", changed, details.url).conditions == ["2019 nCoV", "PD-1"]
