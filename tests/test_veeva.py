"""ClinicalTrials.Veeva: label-driven parsing, layout health, NCT identity by title, sitemap discovery.

Pages are served by a local replay server (StaticSite over a copy of fixtures/veeva, so a test can change a
sitemap or robots.txt), title searches by a replayed ClinicalTrials.gov API. Assertions are on parsed Studies
and on the SQLite file.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from harvest.core.config import Settings
from harvest.core.errors import LayoutChanged, MissingIdentity, NotAStudyPage
from harvest.core.records import Unresolved
from harvest.core.schema import Study
from harvest.net.http import HttpClient
from harvest.pipeline.harvester import Harvester
from harvest.sources.base import HarvestPlan, Page
from harvest.sources.reading.fields import split_acronym
from harvest.sources.veeva import Veeva, match_title
from harvest.testing import FIXTURES, CtgovSite, ReplayServer, StaticSite, base_url_env
from tests.conftest import FETCHED, TEST_ENV, Cli, rows, scalar
from tests.mirror_helpers import make_source

ORIGIN = "https://ctv.veeva.com"
FOLDER = FIXTURES / "veeva"

SEED = "/study/evaluation-of-immunosuppression-in-septic-shock-biomarkers-and-pharmacological-restoration-immunos"
STEM_CELL = "/study/stem-cell-educator-therapy-in-diabetes"
SEPTIC = "/study/septic-shock-induced-immunosuppression"
VARIANT = "/study/septic-shock-induced-immunosuppression-variant"
BREG = "/study/descriptive-study-of-the-evolution-in-proportion-of-regulatory-b-lymphocytes-in-patients-hospitalize"
COVID_404 = "/study/stem-cell-educator-therapy-treat-the-viral-inflammation-in-covid-19"
NCOV_404 = "/study/immunoregulatory-therapy-for-2019-ncov"
SITEMAP_STUDIES = [SEED, STEM_CELL, COVID_404, SEPTIC, NCOV_404, BREG]  # sitemap order, /about left out

SEED_TITLE = "Evaluation of Immunosuppression in Septic Shock: Biomarkers and Pharmacological Restoration"
SEED_SUMMARY_START = "Septic syndromes (systemic inflammatory response associated with infection) remain a major"
SEED_SUMMARY_END = (
    "The main objectives are:\n\n"
    "1. to identify the best biomarkers for sepsis-induced immunosuppression and\n"
    "2. to evaluate ex vivo whether drugs could rejuvenate immune functions."
)
SEED_CRITERIA = (
    "Inclusion Criteria:\n\n"
    "* septic shock is defined by an identifiable site of infection, persisting hypotension despite fluid "
    "resuscitation requiring vasopressor therapy, and evidence of a systemic inflammatory response\n\n"
    "Exclusion Criteria:\n\n"
    "* age < 18\n"
    "* immunosuppressive disease (HIV, cancer, primary immune deficiency)\n"
    "* immunosuppressive treatment or corticoid treatment (dosage > 10mg/day or cumulative dose >700 mg "
    "equivalent prednisolone)\n"
    "* aplasia as defined by number of circulating neutrophils < 500 cells / mm3\n"
    "* extracorporeal circulation during the month prior ICU admission"
)


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    """A private copy of the fixtures, so a test may edit a sitemap or robots.txt."""
    return Path(shutil.copytree(FOLDER, tmp_path / "veeva"))


@pytest.fixture
def veeva_site(site_dir: Path) -> StaticSite:
    return StaticSite(site_dir, origin=ORIGIN)


@pytest.fixture
def veeva_server(veeva_site: StaticSite) -> Iterator[ReplayServer]:
    with ReplayServer(veeva_site) as server:
        yield server


@pytest.fixture
def seed_resolvable(ctgov_site: CtgovSite) -> CtgovSite:
    """CT.gov answers the seed's title search with the one study that has that title."""
    ctgov_site.title_search_overrides[SEED_TITLE] = json.loads(
        (FOLDER / "NCT02803346.title-search.reconstructed.json").read_text()
    )
    return ctgov_site


@pytest.fixture
def venv(veeva_server: ReplayServer, ctgov_server: ReplayServer, db_path: Path) -> dict[str, str]:
    return {
        **TEST_ENV,
        **base_url_env({"ctgov": ctgov_server, "veeva": veeva_server}),
        "HARVEST_DB": str(db_path),
    }


@pytest.fixture
def vharvester(venv: dict[str, str], db_path: Path) -> Iterator[Harvester]:
    harvester = Harvester(str(db_path), Settings(env=venv))
    yield harvester
    harvester.close()


@pytest.fixture
def vcli(venv: dict[str, str]) -> Cli:
    return Cli(venv)


@pytest.fixture(scope="module")
def veeva() -> Veeva:
    settings = Settings(env={})
    return Veeva(HttpClient(settings.http()), settings)


def page(path: str, file: str | None = None, content: bytes | None = None) -> Page:
    body = content if content is not None else (FOLDER / (file or "")).read_bytes()
    return Page(ORIGIN + path, body, FETCHED, "text/html; charset=utf-8")


def study_paths(server: ReplayServer) -> list[str]:
    return [path for path in server.requests if path.startswith("/study")]


def stored_record(db: Path, key: str) -> dict:
    return json.loads(scalar(db, "SELECT record FROM source_records WHERE source = 'veeva' AND record_key = ?", (key,)))


# -- parsing every real render ----------------------------------------------------------------------


def test_realdata_render_nct03390231_interventional(veeva: Veeva) -> None:
    study = veeva.parse(page(STEM_CELL, "NCT03390231.reconstructed.html"))
    assert study.nct_id == "NCT03390231"
    assert study.provenance.nct_resolution == "identifiers"
    assert study.provenance.source == "veeva"
    assert study.provenance.url == ORIGIN + STEM_CELL
    assert (study.brief_title, study.acronym) == ("Stem Cell Educator Therapy in Diabetes", None)
    assert study.lead_sponsor == "Throne Biotechnologies"  # the "T" logo placeholder is not the sponsor
    assert study.lead_sponsor_class is None  # two funder types (Other, Industry): which is the lead's is unknown
    assert study.overall_status == "UNKNOWN"  # "Status and phase": Unknown / Phase 2
    assert study.phases == ["PHASE2"]
    assert study.conditions == ["Diabetes Mellitus, Type 1", "Diabetes Mellitus, Type 2"]
    assert [(i.type, i.name) for i in study.interventions] == [("COMBINATION_PRODUCT", "Stem Cell Educator therapy")]
    assert study.study_type == "INTERVENTIONAL"
    assert [(i.scheme, i.value) for i in study.identifiers] == [("ORG_STUDY_ID", "S2017-059-01")]
    assert study.brief_summary == "About text of this study (abbreviated in this fixture)."
    assert (study.enrollment, study.enrollment_type) == (100, "ESTIMATED")
    assert study.sex == "ALL"
    assert (study.minimum_age, study.maximum_age) == ("20 Years", "60 Years")
    assert study.healthy_volunteers is False
    assert study.eligibility_criteria == (
        "Inclusion Criteria:\n\n* Inclusion criterion (text abbreviated in this fixture)\n\n"
        "Exclusion Criteria:\n\n* Exclusion criterion (text abbreviated in this fixture)"
    )
    assert study.primary_purpose == "TREATMENT"
    assert study.allocation is None  # "N/A" is no value
    assert study.intervention_model == "SINGLE_GROUP"
    assert study.masking == "NONE"  # "None (Open label)"
    assert study.contacts == []  # the render is cut before the contacts
    assert study.unmapped == {}


def test_realdata_render_nct04067674_enrolling(veeva: Veeva) -> None:
    study = veeva.parse(page(SEPTIC, "NCT04067674.reconstructed.html"))
    assert study.nct_id == "NCT04067674"
    assert study.provenance.nct_resolution == "identifiers"
    assert (study.brief_title, study.acronym) == ("Septic Shock-induced Immunosuppression", "IMMUNOSEPSIS 4")
    assert study.overall_status == "RECRUITING"  # ctv says "Enrolling"
    assert study.phases == []
    assert study.lead_sponsor == "Civil Hospices of Lyon"  # as ctv translates "Hospices Civils de Lyon"
    assert study.lead_sponsor_class == "OTHER"
    assert study.conditions == ["Septic Shock"]
    assert [(i.type, i.name) for i in study.interventions] == [("BIOLOGICAL", "Blood sampling")]
    assert study.study_type == "OBSERVATIONAL"
    assert [(i.scheme, i.value) for i in study.identifiers] == [("ORG_STUDY_ID", "69HCL19_0071")]
    assert study.brief_summary == (
        "Septic syndromes are a major although ... (text abbreviated in this fixture)\n\n"
        "1. to identify the best biomarkers for sepsis-induced immunosuppression\n"
        "2. to evaluate ex vivo candidate treatments which could rejuvenate immune functions after septic shock"
    )
    # the page ends after About: nothing else is invented
    assert study.enrollment is None and study.sex is None and study.eligibility_criteria is None
    assert study.unmapped == {}


def test_realdata_render_seed_without_nct_carries_everything_parsed(veeva: Veeva) -> None:
    with pytest.raises(MissingIdentity) as caught:
        veeva.parse(page(SEED, "NCT02803346.seed004.reconstructed.html"))
    missing = caught.value
    assert missing.title == SEED_TITLE + " (IMMUNOSEPSIS)"
    assert missing.url == ORIGIN + SEED
    assert missing.fields["brief_title"] == SEED_TITLE
    assert missing.fields["overall_status"] == "UNKNOWN"
    assert missing.fields["enrollment"] == 160
    assert "nct_id" not in missing.fields


def test_other_markup_parses_to_the_same_study(veeva: Veeva) -> None:
    normal = veeva.parse(page(SEPTIC, "NCT04067674.reconstructed.html"))
    variant = veeva.parse(page(VARIANT, "NCT04067674.other-markup.reconstructed.html"))
    assert variant.model_dump(exclude={"provenance"}) == normal.model_dump(exclude={"provenance"})
    assert variant.overall_status == "RECRUITING"  # "   Enrolling   " inside a <dd>
    assert variant.lead_sponsor_class == "OTHER"  # label "Funder&nbsp;types"
    assert variant.acronym == "IMMUNOSEPSIS 4"  # the title is split over two spans


def test_headings_only_page_is_a_layout_change(veeva: Veeva) -> None:
    with pytest.raises(LayoutChanged) as caught:
        veeva.parse(page(BREG, "breg-amiens.headings-only.reconstructed.html"))
    error = caught.value
    assert error.missing == ["title", "Status (empty)", "Conditions (empty)", "Study type", "Identifiers"]
    assert error.url == ORIGIN + BREG
    assert "veeva page lacks 'title', 'Status (empty)'" in error.one_line()
    assert ORIGIN + BREG in error.one_line()


def test_layout_error_carries_the_raw_page(veeva: Veeva) -> None:
    raw = (FOLDER / "breg-amiens.headings-only.reconstructed.html").read_bytes()
    with pytest.raises(LayoutChanged) as caught:
        veeva.record_from_page(page(BREG, content=raw), HarvestPlan())
    assert caught.value.raw == raw
    assert caught.value.content_type == "text/html; charset=utf-8"


def test_non_study_page_is_refused(veeva: Veeva) -> None:
    with pytest.raises(NotAStudyPage):
        veeva.parse(page("/about", "NCT03390231.reconstructed.html"))
    assert veeva.is_study_url(ORIGIN + STEM_CELL)
    assert not veeva.is_study_url(ORIGIN + "/about")
    assert not veeva.is_study_url(ORIGIN + "/study-search?q=sepsis")
    assert not veeva.is_study_url(ORIGIN + "/study/")


# -- mapping rules, on variations of a real page ------------------------------------------------------


def _variant(file: str, *replacements: tuple[str, str]) -> bytes:
    text = (FOLDER / file).read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return text.encode()


def test_unmapped_status_is_kept_raw_never_guessed(veeva: Veeva) -> None:
    raw = _variant("NCT04067674.reconstructed.html", ("<p>Enrolling</p>", "<p>Paused for review</p>"))
    study = veeva.parse(page(SEPTIC, content=raw))
    assert study.overall_status is None
    assert study.unmapped == {"overall_status": "Paused for review"}


def test_actual_enrollment_and_open_age_range(veeva: Veeva) -> None:
    raw = _variant(
        "NCT03390231.reconstructed.html",
        ("100 estimated patients", "1,250 actual patients"),
        ("20 to 60 years old", "up to 65 years old"),
        ("No Healthy Volunteers", "Accepts Healthy Volunteers"),
        ("<p>Unknown</p>\n        <p>Phase 2</p>", "<p>Completed</p>\n        <p>Phase 2/Phase 3</p>"),
    )
    study = veeva.parse(page(STEM_CELL, content=raw))
    assert (study.enrollment, study.enrollment_type) == (1250, "ACTUAL")
    assert (study.minimum_age, study.maximum_age) == (None, "65 Years")
    assert study.healthy_volunteers is True
    assert (study.overall_status, study.phases) == ("COMPLETED", ["PHASE2", "PHASE3"])


def test_nct_is_taken_from_the_first_identifiers_line_only(veeva: Veeva) -> None:
    # An NCT in the title, the About text or a later Identifiers line is not the page's NCT.
    raw = _variant(
        "NCT03390231.reconstructed.html",
        ("<p>NCT03390231</p>\n        <p>S2017-059-01</p>", "<p>S2017-059-01</p>\n        <p>NCT03390231</p>"),
        ("About text of this study", "Follow-up of NCT01350258. About text of this study"),
        (">Stem Cell Educator Therapy in Diabetes</h1>", ">Stem Cell Educator Therapy in Diabetes (NCT09999999)</h1>"),
    )
    with pytest.raises(MissingIdentity) as caught:
        veeva.parse(page(STEM_CELL, content=raw))
    identifiers = caught.value.fields["identifiers"]
    assert [(i["scheme"], i["value"]) for i in identifiers] == [("OTHER", "S2017-059-01"), ("NCT", "NCT03390231")]


def test_an_nct_label_in_fullwidth_digits_is_no_nct_number(veeva: Veeva) -> None:
    """Issue 24, item 8: a page labelled NCT０４０６７６７４ was stored as a trial of its own that never merged."""
    raw = _variant("NCT04067674.reconstructed.html", ("<p>NCT04067674</p>", "<p>NCT０４０６７６７４</p>"))
    with pytest.raises(MissingIdentity) as caught:
        veeva.parse(page(SEPTIC, content=raw))
    assert ("NCT", "NCT０４０６７６７４") not in [(i["scheme"], i["value"]) for i in caught.value.fields["identifiers"]]


def test_control_characters_on_a_page_never_reach_the_record(veeva: Veeva) -> None:
    """Issue 24, item 9: ESC and BEL, raw or as character references, are no part of any value."""
    raw = _variant(
        "NCT04067674.reconstructed.html",
        ("<p>NCT04067674</p>", "<p>NCT04067674\x07</p>"),
        ("Biological: Blood sampling", "Biological: Blood\x1b[31m sampling&#x1b;]0;owned&#7;"),
    )
    study = veeva.parse(page(SEPTIC, content=raw))
    assert study.nct_id == "NCT04067674"
    assert [i.name for i in study.interventions] == ["Blood[31m sampling]0;owned"]
    assert "\x1b" not in study.model_dump_json() and "\\u001b" not in study.model_dump_json()


def test_unknown_treatment_type_is_reported_and_the_line_kept(veeva: Veeva) -> None:
    raw = _variant("NCT04067674.reconstructed.html", ("Biological: Blood sampling", "Gizmo: Blood sampling"))
    study = veeva.parse(page(SEPTIC, content=raw))
    assert [(i.type, i.name) for i in study.interventions] == [(None, "Gizmo: Blood sampling")]
    assert study.unmapped == {"interventions.type": "Gizmo"}


def test_acronym_split() -> None:
    assert split_acronym("Septic Shock-induced Immunosuppression (IMMUNOSEPSIS 4)") == (
        "Septic Shock-induced Immunosuppression",
        "IMMUNOSEPSIS 4",
    )
    assert split_acronym("Vitamin D for Frailty (PREVENT-it)") == ("Vitamin D for Frailty", "PREVENT-it")
    assert split_acronym("Exercise Training (in adults)") == ("Exercise Training (in adults)", None)
    assert split_acronym("Stem Cell Educator Therapy in Diabetes") == ("Stem Cell Educator Therapy in Diabetes", None)


# -- identity by title ----------------------------------------------------------------------------------


def _study(nct: str, brief: str, official: str | None = None, acronym: str | None = None) -> Study:
    return Study(
        nct_id=nct,
        brief_title=brief,
        official_title=official,
        acronym=acronym,
        provenance={"source": "ctgov", "url": "x", "fetched_at": FETCHED},
    )


def test_title_match_rules() -> None:
    page_title = SEED_TITLE + " (IMMUNOSEPSIS)"
    seed = _study("NCT02803346", SEED_TITLE, SEED_TITLE + " (IMMUNOSEPSIS)", "IMMUNOSEPSIS")
    other = _study("NCT04067674", "Septic Shock-induced Immunosuppression", SEED_TITLE, "IMMUNOSEPSIS 4")
    unrelated = _study("NCT01111111", SEED_TITLE + " in Children")
    assert match_title(page_title, [seed, unrelated]).nct_id == "NCT02803346"
    # punctuation, case and spacing do not count
    assert match_title(page_title.upper().replace(":", " -"), [seed]).nct_id == "NCT02803346"
    # two studies share the title: unresolved, both named
    both = match_title(page_title, [other, seed])
    assert (both.nct_id, both.candidates) == (None, ("NCT04067674", "NCT02803346"))
    # the one study with the base title has another acronym: not the page's
    assert match_title(page_title, [other]).nct_id is None
    # nothing with that exact title: unresolved, what came back is listed
    none = match_title(page_title, [unrelated])
    assert (none.nct_id, none.candidates) == (None, ("NCT01111111",))


def test_title_search_failure_leaves_the_page_unresolved(veeva: Veeva, ctgov_server: ReplayServer) -> None:
    # The replayed CT.gov answers every title search with 503: the real client retries over the socket, gives up.
    ctgov_server.add_fault("status", r"/studies\?.*query\.titles=", status=503, times=-1)
    ctgov = make_source("ctgov", {**TEST_ENV, **base_url_env({"ctgov": ctgov_server})})
    seed = page(SEED, "NCT02803346.seed004.reconstructed.html")
    result = veeva.record_from_page(seed, HarvestPlan(title_search=ctgov.search_titles))
    assert isinstance(result, Unresolved)
    assert "title search failed" in result.reason and result.candidates == ()
    attempts = 1 + int(TEST_ENV["HARVEST_RETRIES"])
    assert f"HTTP 503 after {attempts} attempts" in result.reason
    searches = [path for path in ctgov_server.requests if "query.titles=" in path]
    assert len(searches) == attempts and all("Biomarkers" in path for path in searches)
    assert result.raw == seed.content
    no_search = veeva.record_from_page(seed, HarvestPlan())
    assert isinstance(no_search, Unresolved) and "no title search" in no_search.reason


def test_seed_page_fetched_by_url_every_field_lands(
    vcli: Cli, seed_resolvable: CtgovSite, ctgov_server: ReplayServer, veeva_server: ReplayServer, db_path: Path
) -> None:
    result = vcli("fetch", veeva_server.url + SEED)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["nct_id"] == "NCT02803346"
    # the NCT came from CT.gov's title search, asked with the title without its acronym
    assert any("query.titles" in path and "Biomarkers" in path for path in ctgov_server.requests)
    record = stored_record(db_path, SEED)
    assert record["provenance"]["nct_resolution"] == "title-exact"
    assert record["provenance"]["source"] == "veeva"
    assert record["provenance"]["url"] == veeva_server.url + SEED
    assert record["brief_title"] == SEED_TITLE
    assert record["acronym"] == "IMMUNOSEPSIS"
    assert record["lead_sponsor"] == "Civil Hospices of Lyon"
    assert record["lead_sponsor_class"] == "OTHER"
    assert record["overall_status"] == "UNKNOWN"
    assert record["conditions"] == ["Immunology of Septic Shock"]
    assert record["interventions"] == [{"type": "OTHER", "name": "Circulating blood (leukocytes)", "description": None}]
    assert record["study_type"] == "OBSERVATIONAL"
    assert record["identifiers"] == []  # the Identifiers block is empty
    assert record["brief_summary"].startswith(SEED_SUMMARY_START)
    assert record["brief_summary"].endswith(SEED_SUMMARY_END)
    assert (record["enrollment"], record["enrollment_type"]) == (160, "ESTIMATED")
    assert record["sex"] == "ALL"
    assert (record["minimum_age"], record["maximum_age"]) == ("18 Years", None)
    assert record["healthy_volunteers"] is False
    assert record["eligibility_criteria"] == SEED_CRITERIA
    assert record["contacts"] == [
        {
            "role": "CENTRAL_CONTACT",
            "name": "Guillaume Monneret",
            "affiliation": None,
            "phone": None,
            "email": None,
            "phone_ext": None,
            "kind": "central",
        }
    ]
    assert record["phases"] == [] and record["unmapped"] == {}
    # chrome and footer text end up nowhere
    assert "Find clinical trials" not in json.dumps(record) and "Loading" not in json.dumps(record)
    # the studies row and its child tables, as a SQL user sees them
    row = rows(
        db_path,
        "SELECT brief_title, acronym, overall_status, study_type, enrollment, enrollment_type, sex, minimum_age, "
        "healthy_volunteers, lead_sponsor, sources FROM studies WHERE nct_id = 'NCT02803346'",
    )
    assert row == [
        (SEED_TITLE, "IMMUNOSEPSIS", "UNKNOWN", "OBSERVATIONAL", 160, "ESTIMATED", "ALL", "18 Years", 0,
         "Civil Hospices of Lyon", '["veeva"]'),
    ]  # fmt: skip
    assert rows(db_path, "SELECT name FROM conditions WHERE nct_id = 'NCT02803346'") == [
        ("Immunology of Septic Shock",)
    ]
    assert rows(db_path, "SELECT type, name FROM interventions WHERE nct_id = 'NCT02803346'") == [
        ("OTHER", "Circulating blood (leukocytes)")
    ]
    assert rows(db_path, "SELECT role, name FROM contacts WHERE nct_id = 'NCT02803346'") == [
        ("CENTRAL_CONTACT", "Guillaume Monneret")
    ]
    assert rows(db_path, "SELECT role, name, class FROM sponsors WHERE nct_id = 'NCT02803346'") == [
        ("LEAD", "Civil Hospices of Lyon", "OTHER")
    ]
    # the Trial design's patient group and its treatment, in the tables the registry's arm groups fill
    assert rows(db_path, "SELECT position, label, group_type FROM design_groups WHERE nct_id = 'NCT02803346'") == [
        (0, "septic shock patients", None)
    ]
    assert rows(
        db_path,
        "SELECT design_group_label, intervention_type, intervention_name FROM design_group_interventions "
        "WHERE nct_id = 'NCT02803346'",
    ) == [("septic shock patients", "OTHER", "Circulating blood (leukocytes)")]
    assert scalar(db_path, "SELECT count(*) FROM unresolved") == 0


def test_resolved_page_rebuilds_offline(
    vharvester: Harvester, seed_resolvable: CtgovSite, veeva_server: ReplayServer, db_path: Path
) -> None:
    records, _ = vharvester.fetch([veeva_server.url + SEED])
    stored = records[0].study
    key, raw, nct, record = rows(
        db_path, "SELECT record_key, raw, nct_id, record FROM source_records WHERE source = 'veeva'"
    )[0]
    source = vharvester.source("veeva")
    again = Page(veeva_server.url + key, zlib.decompress(raw), stored.provenance.fetched_at)
    with pytest.raises(MissingIdentity) as caught:
        source.parse(again)
    rebuilt = source.rebuild(caught.value, nct, Study.model_validate_json(record).provenance.nct_resolution, again)
    assert rebuilt == stored
    assert rebuilt.provenance.nct_resolution == "title-exact"


def test_ambiguous_title_is_left_unresolved(
    vcli: Cli, ctgov_site: CtgovSite, veeva_server: ReplayServer, db_path: Path
) -> None:
    ctgov_site.title_search_overrides[SEED_TITLE] = json.loads(
        (FOLDER / "ambiguous.title-search.reconstructed.json").read_text()
    )
    result = vcli("fetch", veeva_server.url + SEED)
    assert result.exit_code == 1
    assert "unresolved" in result.stderr
    assert scalar(db_path, "SELECT count(*) FROM source_records") == 0
    assert scalar(db_path, "SELECT count(*) FROM studies") == 0
    [(url, title, reason, candidates, raw)] = rows(
        db_path, "SELECT url, title, reason, candidates, raw FROM unresolved WHERE source = 'veeva'"
    )
    assert url == veeva_server.url + SEED
    assert title == SEED_TITLE + " (IMMUNOSEPSIS)"
    assert "2 ClinicalTrials.gov studies share this title" in reason
    assert json.loads(candidates) == ["NCT04067674", "NCT02803346"]
    assert zlib.decompress(raw) == (FOLDER / "NCT02803346.seed004.reconstructed.html").read_bytes()

    listed = vcli("unresolved", "--json")
    assert listed.exit_code == 0
    [entry] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert entry["source"] == "veeva" and entry["url"] == url
    assert entry["candidates"] == ["NCT04067674", "NCT02803346"]
    assert entry["title"] == title and entry["seen_at"]
    table = vcli("unresolved", "--source", "veeva")
    assert table.stdout.splitlines()[0].split() == ["source", "kind", "url", "title", "reason", "candidates", "seen_at"]
    assert "NCT04067674, NCT02803346" in table.stdout
    assert vcli("unresolved", "--source", "ichgcp", "--json").stdout == ""


def test_registry_title_twins_in_the_replayed_api_are_unresolved(
    vharvester: Harvester, veeva_server: ReplayServer, db_path: Path
) -> None:
    # Without an override the replayed API searches its own studies: NCT02803346's brief title is NCT04067674's
    # official title, so the search finds both and the page stays unresolved.
    vharvester.fetch([veeva_server.url + SEED])
    assert json.loads(scalar(db_path, "SELECT candidates FROM unresolved")) == ["NCT02803346", "NCT04067674"]


# -- layout health in the run loop ----------------------------------------------------------------------------


def test_layout_change_is_quarantined_and_never_overwrites_good_data(
    vharvester: Harvester, veeva_site: StaticSite, veeva_server: ReplayServer, db_path: Path
) -> None:
    url = veeva_server.url + SEPTIC
    vharvester.fetch([url])
    good = rows(db_path, "SELECT content_hash, record FROM source_records WHERE record_key = ?", (SEPTIC,))
    good_study = rows(db_path, "SELECT * FROM studies WHERE nct_id = 'NCT04067674'")
    assert json.loads(good[0][1])["overall_status"] == "RECRUITING"

    # The site now serves the headings-only layout at the same URL.
    veeva_site.routes[SEPTIC] = {"file": "breg-amiens.headings-only.reconstructed.html"}
    report = vharvester.run("veeva")  # the page budget covers every page: the changed one is read again
    assert report.outcome == "partial"
    assert rows(db_path, "SELECT content_hash, record FROM source_records WHERE record_key = ?", (SEPTIC,)) == good
    assert rows(db_path, "SELECT * FROM studies WHERE nct_id = 'NCT04067674'") == good_study
    error_type, error, raw = rows(
        db_path, "SELECT error_type, error, raw FROM quarantine WHERE source = 'veeva' AND url = ?", (url,)
    )[0]
    assert error_type == "LayoutChanged"
    assert "lacks 'title', 'Status (empty)', 'Conditions (empty)', 'Study type', 'Identifiers'" in error
    assert url in error
    assert zlib.decompress(raw) == (FOLDER / "breg-amiens.headings-only.reconstructed.html").read_bytes()
    assert scalar(db_path, "SELECT last_outcome FROM pages WHERE url = ?", (url,)) == "failed"


# -- discovery: sitemap index, shards, budget, robots ---------------------------------------------------------


def _age_lastmods(site_dir: Path) -> None:
    """Move the fixture lastmods well into the past, so 'changed since our visit' depends on the test alone."""
    for shard in ("sitemap-studies-1.xml", "sitemap-studies-2.xml"):
        path = site_dir / shard
        path.write_text(path.read_text().replace("<lastmod>2026-", "<lastmod>2020-"))


def test_sitemap_index_shards_and_nightly_budget(
    vharvester: Harvester, site_dir: Path, veeva_server: ReplayServer, seed_resolvable: CtgovSite, db_path: Path
) -> None:
    _age_lastmods(site_dir)
    first = vharvester.run("veeva", max_pages=2)
    # index → both shards; robots consulted first; absolute ctv URLs were rewritten onto the replay server
    assert veeva_server.requests[:4] == [
        "/robots.txt",
        "/sitemap.xml",
        "/sitemap-studies-1.xml",
        "/sitemap-studies-2.xml",
    ]
    assert study_paths(veeva_server) == [SEED, STEM_CELL]  # new pages, in sitemap order, within the budget
    assert (first.fetched, first.new) == (2, 2)
    pages = dict(rows(db_path, "SELECT url, last_fetched_at FROM pages WHERE source = 'veeva'"))
    assert sorted(pages) == sorted(veeva_server.url + p for p in SITEMAP_STUDIES)  # /about is not a study page
    assert sorted(u for u, fetched in pages.items() if fetched) == sorted(
        veeva_server.url + p for p in (SEED, STEM_CELL)
    )
    lastmods = dict(rows(db_path, "SELECT url, lastmod FROM pages"))
    assert lastmods[veeva_server.url + SEPTIC] == "2020-09-02T07:30:00+00:00"
    assert lastmods[veeva_server.url + BREG] is None

    vharvester.run("veeva", max_pages=2)
    assert study_paths(veeva_server)[2:] == [COVID_404, SEPTIC]
    vharvester.run("veeva", max_pages=2)
    assert study_paths(veeva_server)[4:] == [NCOV_404, BREG]
    outcomes = dict(rows(db_path, "SELECT url, last_outcome FROM pages"))
    assert outcomes == {
        veeva_server.url + SEED: "ok",
        veeva_server.url + STEM_CELL: "ok",
        veeva_server.url + COVID_404: "not-found",
        veeva_server.url + SEPTIC: "ok",
        veeva_server.url + NCOV_404: "not-found",
        veeva_server.url + BREG: "failed",
    }

    # A page whose sitemap lastmod moved comes first, ahead of failed and long-unseen pages.
    shard = site_dir / "sitemap-studies-2.xml"
    # Moved to yesterday, by the clock of the runs: after the last visit (2020 lastmods), never in the future
    # (a lastmod later than our fetch would make the page "changed" on every run).
    moved = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat(timespec="seconds")
    shard.write_text(shard.read_text().replace("2020-09-02T07:30:00+00:00", moved))
    vharvester.run("veeva", max_pages=1)
    assert study_paths(veeva_server)[6:] == [SEPTIC]

    # Then failed pages, then the longest unseen of the good ones.
    conn = sqlite3.connect(db_path)
    with conn:
        visited = "UPDATE pages SET last_fetched_at = ? WHERE url = ?"
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=300)
        for days, path in ((0, STEM_CELL), (30, SEED)):  # STEM_CELL unseen the longest
            stamp = (long_ago + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
            conn.execute(visited, (stamp, veeva_server.url + path))
    conn.close()
    vharvester.run("veeva", max_pages=4)
    assert study_paths(veeva_server)[7:] == [COVID_404, NCOV_404, BREG, STEM_CELL]


def test_robots_txt_is_obeyed(
    vharvester: Harvester, vcli: Cli, site_dir: Path, veeva_server: ReplayServer, seed_resolvable: CtgovSite
) -> None:
    # The sitemap lists a search URL (disallowed) and robots.txt now also disallows one study page.
    shard = site_dir / "sitemap-studies-1.xml"
    search = "<url><loc>https://ctv.veeva.com/study-search?condition=sepsis</loc></url>\n</urlset>"
    shard.write_text(shard.read_text().replace("</urlset>", search))
    robots = site_dir / "robots.txt"
    robots.write_text(
        robots.read_text().replace("Disallow: /study-search", f"Disallow: /study-search\nDisallow: {STEM_CELL}")
    )

    report = vharvester.run("veeva")
    assert "/robots.txt" in veeva_server.requests
    assert not [path for path in veeva_server.requests if path.startswith("/study-search")]
    assert STEM_CELL not in veeva_server.requests
    assert report.skipped_robots == 1
    assert SEED in veeva_server.requests and SEPTIC in veeva_server.requests

    blocked = vcli("fetch", veeva_server.url + STEM_CELL)
    assert blocked.exit_code == 1
    assert "robots.txt forbids" in blocked.stderr
    search_page = vcli("fetch", veeva_server.url + "/study-search?condition=sepsis")
    assert search_page.exit_code == 1
    assert "not a ClinicalTrials.Veeva (ctv.veeva.com) study page" in search_page.stderr
    assert STEM_CELL not in veeva_server.requests
    assert not [path for path in veeva_server.requests if path.startswith(("/study-search", "/about"))]


# -- end to end through the CLI -------------------------------------------------------------------------------


def test_cli_run_source_veeva_writes_the_file(
    vcli: Cli, veeva_server: ReplayServer, seed_resolvable: CtgovSite, db_path: Path
) -> None:
    result = vcli("run", "--source", "veeva")
    assert result.exit_code == 1  # partial: two dead links and the headings-only page
    assert "harvest run veeva [full] PARTIAL: 6 fetched, 3 new" in result.stderr
    assert rows(db_path, "SELECT nct_id, overall_status, study_type, phases, enrollment FROM studies ORDER BY 1") == [
        ("NCT02803346", "UNKNOWN", "OBSERVATIONAL", None, 160),
        ("NCT03390231", "UNKNOWN", "INTERVENTIONAL", '["PHASE2"]', 100),
        ("NCT04067674", "RECRUITING", "OBSERVATIONAL", None, None),
    ]
    records = rows(db_path, "SELECT record_key, nct_id, url, record FROM source_records ORDER BY nct_id")
    assert [(key, nct) for key, nct, _, _ in records] == [
        (SEED, "NCT02803346"),
        (STEM_CELL, "NCT03390231"),
        (SEPTIC, "NCT04067674"),
    ]
    assert [json.loads(r)["provenance"]["nct_resolution"] for *_, r in records] == [
        "title-exact",
        "identifiers",
        "identifiers",
    ]
    assert all(url == veeva_server.url + key for key, _, url, _ in records)
    # the page that lost its layout is kept in quarantine; the two 404s are pages not found, not failed parses
    assert rows(db_path, "SELECT url, error_type FROM quarantine ORDER BY url") == [
        (veeva_server.url + BREG, "LayoutChanged")
    ]
    assert rows(db_path, "SELECT url FROM pages WHERE last_outcome = 'not-found' ORDER BY url") == sorted(
        [(veeva_server.url + COVID_404,), (veeva_server.url + NCOV_404,)]
    )
    assert rows(db_path, "SELECT scheme, value FROM identifiers WHERE nct_id = 'NCT03390231'") == [
        ("ORG_STUDY_ID", "S2017-059-01")
    ]
    assert rows(db_path, "SELECT source, outcome, fetched, new, failed FROM runs") == [("veeva", "partial", 6, 3, 3)]
    # the next night has nothing new: every page was seen, nothing changed
    again = vcli("run", "--source", "veeva")
    assert "3 unchanged" in again.stderr
    assert scalar(db_path, "SELECT count(*) FROM changes") == 0
