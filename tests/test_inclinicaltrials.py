"""inclinicaltrials.com: each recorded page, both layouts, and `harvest run` / `harvest fetch` over 127.0.0.1."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest

from harvest.core.errors import InvalidRecord, LayoutChanged, MissingIdentity, NotAStudyPage
from tests.conftest import Cli, load_reconstructed_study, rows, scalar
from tests.mirror_helpers import fixture_page, make_source, mirror_env, parse_file, parse_markup, served_mirror

SITE = "https://inclinicaltrials.com"
SEED = "NCT04268537.summary.seed000.reconstructed.html"
DETAILS = "NCT04268537.details.reconstructed.html"
# The CT.gov record built from the same renders (fixtures/ctgov/RECONSTRUCTED.md).
CTGOV = load_reconstructed_study("NCT04268537")["protocolSection"]


parse = partial(parse_file, "inclinicaltrials")  # parse(file_name, url=None): a fixture page
parse_html = partial(parse_markup, "inclinicaltrials")  # parse_html(html, url): a page the test wrote


def seed_html() -> str:
    return fixture_page("inclinicaltrials", SEED).file.read_text(encoding="utf-8")


def details_html() -> str:
    return fixture_page("inclinicaltrials", DETAILS).file.read_text(encoding="utf-8")


# -- seed 000: the summary layout, every fact it shows ------------------------------------------


def test_seed_000_every_fact_lands_in_the_canonical_record() -> None:
    study = parse(SEED)
    assert study.nct_id == "NCT04268537"
    assert study.provenance.nct_resolution == "label"  # the "NCT number" fact
    assert study.study_type == "INTERVENTIONAL"
    assert study.lead_sponsor == "Southeast University, China"  # "Source"
    assert study.contacts == []  # "Contact" is shown with no value
    assert study.overall_status == "NOT_YET_RECRUITING"
    assert study.phases == ["PHASE2"]
    assert study.start_date is not None and (study.start_date.value, study.start_date.type) == ("2020-02-10", None)
    assert study.completion_date is not None
    assert (study.completion_date.value, study.completion_date.type) == ("2020-10-31", None)
    assert study.brief_summary == CTGOV["descriptionModule"]["briefSummary"]
    assert study.brief_summary.startswith("Sepsis, including viral infections, are major causes of death worldwide.")
    assert study.detailed_description == CTGOV["descriptionModule"]["detailedDescription"]
    assert study.detailed_description.endswith("in 2019 novel coronavirus infection.")
    assert " ;" not in study.detailed_description
    assert len(study.detailed_description.split("\n\n")) == 5
    # The page shows no title and no conditions (its "Related Conditions & MeSH terms" list is empty).
    assert study.brief_title is None and study.official_title is None and study.conditions == []
    assert study.unmapped == {}
    assert study.provenance.source == "inclinicaltrials"


# -- the details layout ---------------------------------------------------------------------------


def test_details_page_of_the_seed_trial() -> None:
    study = parse(DETAILS)
    assert study.nct_id == "NCT04268537" and study.provenance.nct_resolution == "url"
    assert study.brief_title is None  # "2019 nCoV, PD-1 Clinical Trial" names the conditions, not the trial
    assert study.conditions == ["2019 nCoV", "PD-1"]
    assert study.official_title == "Immunoregulatory Therapy for 2019-nCoV-induced Severe Pneumonia Patients"
    assert study.status_verified_date is not None and study.status_verified_date.value == "2020-02"
    assert study.status_verified_date.precision == "month"
    assert study.lead_sponsor == "Southeast University, China"
    assert study.contacts == []  # "Contact | n/a"
    assert study.study_type == "INTERVENTIONAL"
    assert study.brief_summary == CTGOV["descriptionModule"]["briefSummary"]
    assert study.overall_status == "NOT_YET_RECRUITING"
    assert study.enrollment == 120 and study.enrollment_type is None
    assert study.completion_date is not None and study.completion_date.model_dump() == {
        "value": "2020-10-31",
        "type": "ESTIMATED",
    }
    assert study.primary_completion_date is not None
    assert study.primary_completion_date.model_dump() == {"value": "2020-04-30", "type": "ESTIMATED"}
    assert study.healthy_volunteers is False
    assert study.sex == "ALL"
    assert (study.minimum_age, study.maximum_age) == ("18 Years", None)
    assert study.eligibility_criteria == (
        "Inclusion Criteria: 1. Adult SARI patients with 2019-ncov infection confirmed by PCR; ... "
        "Exclusion Criteria: 1. Age < 18 2. Pregnant ..."
    )
    assert study.start_date is None and study.phases == []  # this layout does not show them
    assert study.unmapped == {}


def test_lower_case_nct_in_the_path_and_the_sponsor_table() -> None:
    study = parse("NCT04261426.details.reconstructed.html")
    assert study.nct_id == "NCT04261426" and study.provenance.nct_resolution == "url"
    assert study.official_title is not None and study.official_title.startswith("A Randomized, Open-label")
    assert study.conditions == ["2019-nCoV"]
    assert study.overall_status == "NOT_YET_RECRUITING" and study.enrollment == 80
    assert study.completion_date is not None and study.completion_date.value == "2020-06-30"
    assert study.completion_date.type == "ESTIMATED"
    assert study.primary_completion_date is not None and study.primary_completion_date.value == "2020-04-30"
    assert study.eligibility_criteria == "Inclusion Criteria: - Adult aged >=18years old; - ..."
    assert study.locations == []  # the table's only cell is "n/a"
    assert study.lead_sponsor == "Peking Union Medical College Hospital"
    # The render is cut inside the collaborator's name; the fixture keeps the cut, so only its start is real.
    assert len(study.collaborators) == 1
    assert study.collaborators[0].name.startswith("Tongji Hospital of Tongji Medical College")


def test_acronym_glued_to_the_official_title_label_is_split_off() -> None:
    study = parse("NCT02803346.details.reconstructed.html")
    assert study.acronym == "IMMUNOSEPSIS"
    assert study.official_title == (
        "Evaluation of Immunosuppression in Septic Shock: Biomarkers and Pharmacological Restoration (IMMUNOSEPSIS)"
    )
    assert study.overall_status == "RECRUITING" and study.enrollment == 160
    # Hard-wrapped text is unwrapped; the two numbered objectives stay on lines of their own.
    ctgov = load_reconstructed_study("NCT02803346")["protocolSection"]
    assert study.brief_summary == ctgov["descriptionModule"]["briefSummary"]
    assert study.conditions == ["Immunology of Septic Shock"]
    assert study.completion_date is None  # the page ends at "Est. completion dat..."


def test_layout_comes_from_the_page_not_the_url() -> None:
    """A summary URL (no /details) serving the details layout is read as a details page."""
    study = parse("NCT02803346.summary-url-details-layout.reconstructed.html")
    assert study.nct_id == "NCT02803346"
    assert study.official_title is not None and study.official_title.endswith("(IMMUNOSEPSIS)")
    assert study.acronym is None  # this page prints the bare "Official title:" label
    assert study.detailed_description is None  # the "n/a" block
    assert "Observational Model" not in (study.brief_summary or "")  # the design block is not prose
    assert (
        study.brief_summary
        == load_reconstructed_study("NCT02803346")["protocolSection"]["descriptionModule"]["briefSummary"]
    )

    other = parse("NCT04299152.summary-url-details-layout.reconstructed.html")
    assert other.nct_id == "NCT04299152"
    assert (
        other.official_title
        == load_reconstructed_study("NCT04299152")["protocolSection"]["identificationModule"]["officialTitle"]
    )
    assert other.conditions == ["Severe Acute Respiratory Syndrome (SARS) Pneumonia"]
    assert (
        other.brief_summary
        == "Currently, the growing epidemic of a new coronavirus ... (text abbreviated in this fixture)"
    )

    # ... and the summary layout served at a details URL is still read as a summary page.
    swapped = parse(SEED, f"{SITE}/2019-ncov-pd-1/NCT04268537/details/")
    assert swapped.start_date is not None and swapped.phases == ["PHASE2"] and swapped.official_title is None


# -- identity: the URL path or the labelled fact, nothing else -----------------------------------


def test_nct_from_the_fact_when_the_url_has_none() -> None:
    study = parse(SEED, f"{SITE}/2019-ncov-pd-1/")
    assert study.nct_id == "NCT04268537" and study.provenance.nct_resolution == "label"


def test_url_and_fact_that_disagree_are_rejected() -> None:
    with pytest.raises(InvalidRecord, match=r"NCT04268537.*NCT04261426"):
        parse(SEED, f"{SITE}/2019-ncov/NCT04261426/")


def test_nct_is_never_taken_from_elsewhere_on_the_page() -> None:
    """The details page's <title> names the NCT, but only the path or the fact count."""
    with pytest.raises(MissingIdentity) as caught:
        parse(DETAILS, f"{SITE}/2019-ncov-pd-1/details/")
    assert caught.value.title == "Immunoregulatory Therapy for 2019-nCoV-induced Severe Pneumonia Patients"
    assert caught.value.fields["overall_status"] == "NOT_YET_RECRUITING"


def test_a_lower_case_nct_fact_is_normalised() -> None:
    html = seed_html().replace(">NCT04268537</span>", ">nct04268537</span>")
    assert parse_html(html, f"{SITE}/2019-ncov-pd-1/").nct_id == "NCT04268537"


# -- text and values ------------------------------------------------------------------------------


def _with_description(paragraphs: str) -> str:
    html = seed_html()
    start = html.index('<section class="trial-section mb-4" id="description">')
    end = html.index("</section>", start)
    section = (
        '<section class="trial-section mb-4" id="description"><h2 class="trial-section__title h4">'
        f'Clinical Trial Description</h2><div class="trial-section__body">{paragraphs}</div>'
    )
    return html[:start] + section + html[end:]


def test_description_fragments_joined_by_semicolon_are_split_back() -> None:
    html = _with_description("<p>First fragment, with a comma. ; Second fragment; not split here. ;</p>")
    study = parse_html(html, f"{SITE}/2019-ncov-pd-1/NCT04268537/")
    assert study.detailed_description == "First fragment, with a comma.\n\nSecond fragment; not split here."


def test_a_description_that_is_only_an_empty_marker_is_null() -> None:
    study = parse_html(_with_description("<p>n/a ;</p>"), f"{SITE}/2019-ncov-pd-1/NCT04268537/")
    assert study.detailed_description is None


def _details_with(label: str, value: str) -> str:
    html = details_html()
    marker = f'<td class="trial-table__label font-weight-bold">{label}</td><td class="trial-table__value">'
    start = html.index(marker) + len(marker)
    end = html.index("</td>", start)
    return html[:start] + value + html[end:]


@pytest.mark.parametrize("marker", ["n/a", "N/A", "-", "", "   ", "undefined"])
def test_empty_markers_become_null_not_text(marker: str) -> None:
    url = f"{SITE}/2019-ncov-pd-1/NCT04268537/details/"
    for label, field in [("Status", "overall_status"), ("Enrollment", "enrollment"), ("Gender", "sex")]:
        study = parse_html(_details_with(label, marker), url)
        assert getattr(study, field) is None
        assert study.unmapped == {}
    study = parse_html(_details_with("Source", marker), url)
    assert study.lead_sponsor is None


def test_unknown_words_and_numeric_dates_are_reported_not_guessed() -> None:
    url = f"{SITE}/2019-ncov-pd-1/NCT04268537/details/"
    study = parse_html(_details_with("Status", "Paused for lunch"), url)
    assert study.overall_status is None and study.unmapped == {"overall_status": "Paused for lunch"}
    # No numeric date has been seen on this site, so its day/month order is unknown: report, never guess.
    study = parse_html(_details_with("Est. completion date", "04/05/2016"), url)
    assert study.completion_date is None and study.unmapped == {"completion_date": "04/05/2016"}


def test_the_enrollment_must_be_a_number() -> None:
    url = f"{SITE}/2019-ncov-pd-1/NCT04268537/details/"
    study = parse_html(_details_with("Enrollment", "about a hundred"), url)
    assert study.enrollment is None and study.unmapped == {"enrollment": "about a hundred"}
    assert parse_html(_details_with("Enrollment", "1,148"), url).enrollment == 1148
    # Larger than any trial, and than SQLite's INTEGER: reported, never stored.
    study = parse_html(_details_with("Enrollment", "99999999999999999999"), url)
    assert study.enrollment is None and study.unmapped == {"enrollment": "99999999999999999999"}


# -- not study pages ------------------------------------------------------------------------------


def test_other_pages_are_not_study_pages_and_broken_study_pages_say_so() -> None:
    home = "<html><body><h1>Clinical Trials</h1><p>Search 300,000 trials</p></body></html>"
    with pytest.raises(NotAStudyPage):
        parse_html(home, f"{SITE}/")
    with pytest.raises(LayoutChanged, match="Clinical Trial Summary"):
        parse_html(home, f"{SITE}/2019-ncov-pd-1/NCT04268537/")
    without_facts = seed_html().split('<aside class="col-lg-4">')[0] + "</div></div></body></html>"
    with pytest.raises(LayoutChanged, match="NCT number"):
        parse_html(without_facts, f"{SITE}/2019-ncov-pd-1/NCT04268537/")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/2019-ncov-pd-1/NCT04268537/", True),
        ("/2019-ncov-pd-1/NCT04268537/details/", True),
        ("/2019-ncov/nct04261426/details", True),
        ("/immunology-of-septic-shock/NCT02803346", True),
        ("/2019-ncov-pd-1/", False),
        ("/", False),
        ("/NCT04268537/", False),
        ("/2019-ncov-pd-1/NCT0426853/", False),
        ("/2019-ncov-pd-1/NCT04268537/locations/", False),
    ],
)
def test_which_sitemap_urls_are_study_pages(path: str, expected: bool) -> None:
    assert make_source("inclinicaltrials").is_study_url(SITE + path) is expected


def test_not_addressable_by_nct() -> None:
    from harvest.core.errors import NotAddressable

    with pytest.raises(NotAddressable):
        make_source("inclinicaltrials").url_for("NCT04268537")


# -- end to end, over 127.0.0.1 --------------------------------------------------------------------


def test_harvest_run_stores_every_page_of_the_sitemap(db_path: Path) -> None:
    with served_mirror("inclinicaltrials") as server:
        cli = Cli(mirror_env("inclinicaltrials", server, db_path))
        result = cli("run", "--source", "inclinicaltrials")
        assert result.exit_code == 0, result.output
        assert "6 new" in result.stderr and "0 failed" in result.stderr
        page_requests = [r for r in server.requests if r not in ("/robots.txt", "/sitemap.xml")]
        assert len(page_requests) == 6
        again = cli("run", "--source", "inclinicaltrials")
        assert again.exit_code == 0 and "6 unchanged" in again.stderr

    assert scalar(db_path, "SELECT count(*) FROM studies") == 4
    assert scalar(db_path, "SELECT count(*) FROM source_records WHERE source = 'inclinicaltrials'") == 6
    pages = rows(db_path, "SELECT url, last_outcome, nct_id FROM pages WHERE source = 'inclinicaltrials'")
    assert len(pages) == 6 and {outcome for _, outcome, _ in pages} == {"ok"}
    assert {nct for _, _, nct in pages} == {"NCT04268537", "NCT04261426", "NCT02803346", "NCT04299152"}
    keys = {r[0] for r in rows(db_path, "SELECT record_key FROM source_records WHERE nct_id = 'NCT04268537'")}
    assert keys == {"/2019-ncov-pd-1/NCT04268537/", "/2019-ncov-pd-1/NCT04268537/details/"}
    row = rows(
        db_path,
        "SELECT brief_title, official_title, overall_status, phases, start_date, completion_date, enrollment, "
        "lead_sponsor, study_type, sex, minimum_age FROM studies WHERE nct_id = 'NCT04268537'",
    )[0]
    assert row == (
        None,
        "Immunoregulatory Therapy for 2019-nCoV-induced Severe Pneumonia Patients",
        "NOT_YET_RECRUITING",
        '["PHASE2"]',
        "2020-02-10",
        "2020-10-31",
        120,
        "Southeast University, China",
        "INTERVENTIONAL",
        "ALL",
        "18 Years",
    )
    assert rows(db_path, "SELECT name FROM conditions WHERE nct_id = 'NCT04268537' ORDER BY position") == [
        ("2019 nCoV",),
        ("PD-1",),
    ]


def test_harvest_fetch_routes_a_page_url_to_this_source(db_path: Path) -> None:
    with served_mirror("inclinicaltrials") as server:
        cli = Cli(mirror_env("inclinicaltrials", server, db_path))
        result = cli("fetch", f"{server.url}/2019-ncov/nct04261426/details")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["nct_id"] == "NCT04261426" and printed["sources"] == ["inclinicaltrials"]
    stored = rows(db_path, "SELECT source, record_key, nct_id FROM source_records")
    assert stored == [("inclinicaltrials", "/2019-ncov/nct04261426/details", "NCT04261426")]
    assert scalar(db_path, "SELECT overall_status FROM studies WHERE nct_id = 'NCT04261426'") == "NOT_YET_RECRUITING"


def test_one_server_for_every_mirror_routes_a_page_by_its_path(db_path: Path) -> None:
    """Every mirror's base URL is the same replay server: the page's path, not the base URL, picks the site."""
    with served_mirror("inclinicaltrials") as server:
        shared = {f"HARVEST_{name.upper()}_URL": server.url for name in ("veeva", "inclinicaltrials", "ichgcp")}
        cli = Cli({**mirror_env("inclinicaltrials", server, db_path), **shared})
        result = cli("fetch", f"{server.url}/2019-ncov-pd-1/NCT04268537/")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["sources"] == ["inclinicaltrials"]
        # /<anything>/<NCT> is an inclinicaltrials path and an ichgcp one: refused, naming both, nothing fetched.
        asked = len(server.requests)
        ambiguous = cli("fetch", f"{server.url}/clinical-trials-registry/NCT04067674")
        assert ambiguous.exit_code == 2
        assert "several sources (inclinicaltrials, ichgcp)" in ambiguous.stderr
        assert len(server.requests) == asked
    assert rows(db_path, "SELECT source, record_key FROM source_records") == [
        ("inclinicaltrials", "/2019-ncov-pd-1/NCT04268537/")
    ]


def test_merged_with_the_registry_nothing_conflicts(cli: Cli, db_path: Path) -> None:
    """Every fact the mirror shows agrees with CT.gov once normalised (even the flattened eligibility text)."""
    assert cli("run").exit_code == 0
    with served_mirror("inclinicaltrials") as server:
        mirror = Cli({**cli.env, **mirror_env("inclinicaltrials", server, db_path)})
        assert mirror("run", "--source", "inclinicaltrials").exit_code == 0
    conflicts = {r[0] for r in rows(db_path, "SELECT field FROM conflicts WHERE nct_id = 'NCT04268537'")}
    assert conflicts == set()
    sources = scalar(db_path, "SELECT sources FROM studies WHERE nct_id = 'NCT04268537'")
    assert json.loads(sources) == ["ctgov", "inclinicaltrials"]
