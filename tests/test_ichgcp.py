"""ichgcp.net: current and legacy layouts, translated copies kept out, and `harvest run` / `fetch` over 127.0.0.1."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest

from harvest.core.errors import InvalidRecord, LayoutChanged, NotAStudyPage
from tests.conftest import Cli, load_reconstructed_study, rows, scalar
from tests.mirror_helpers import fixture_page, make_source, mirror_env, parse_file, parse_markup, served_mirror

SITE = "https://ichgcp.net"
CURRENT = "NCT04067674.reconstructed.html"
LEGACY = "NCT03219567.legacy.reconstructed.html"
TRANSLATED = "NCT04257227.ru-translated.reconstructed.html"


parse = partial(parse_file, "ichgcp")  # parse(file_name, url=None): a fixture page
parse_html = partial(parse_markup, "ichgcp")  # parse_html(html, url): a page the test wrote


def html_of(file_name: str) -> str:
    return fixture_page("ichgcp", file_name).file.read_text(encoding="utf-8")


def test_current_layout() -> None:
    study = parse(CURRENT)
    ctgov = load_reconstructed_study("NCT04067674")["protocolSection"]
    assert study.nct_id == "NCT04067674" and study.provenance.nct_resolution == "url"
    assert study.brief_title == "Septic Shock-induced Immunosuppression"  # the heading minus " (IMMUNOSEPSIS 4)"
    assert study.acronym == "IMMUNOSEPSIS 4"
    assert study.official_title == ctgov["identificationModule"]["officialTitle"]
    assert study.lead_sponsor == "Hospices Civils de Lyon"  # "April 15, 2022 updated by: Hospices Civils de Lyon"
    assert study.brief_summary == ctgov["descriptionModule"]["briefSummary"]  # paragraph + the numbered list
    assert study.overall_status == "RECRUITING"
    # The "updated by" date is a submission date, which the canonical record has no field for.
    assert study.last_update_posted is None and study.first_posted is None
    assert study.unmapped == {}


def test_current_layout_cut_after_the_summary() -> None:
    study = parse("NCT04299152.reconstructed.html")
    ident = load_reconstructed_study("NCT04299152")["protocolSection"]["identificationModule"]
    assert study.nct_id == "NCT04299152"
    assert study.brief_title == ident["briefTitle"]
    assert study.official_title == ident["officialTitle"]  # ends "(SARS-CoV-2)": not taken for an acronym
    assert study.acronym is None
    assert study.lead_sponsor == "Throne Biotechnologies Inc."
    assert (
        study.brief_summary
        == "Currently, the growing epidemic of a new coronavirus ... (text abbreviated in this fixture)"
    )
    assert study.overall_status is None


def test_legacy_withheld_record_keeps_what_it_says_and_nulls_the_placeholders() -> None:
    study = parse(LEGACY)
    assert study.nct_id == "NCT03219567"
    assert study.overall_status == "WITHHELD"
    assert study.start_date is not None and study.start_date.model_dump() == {"value": "2014-10-09", "type": None}
    # CT.gov's own placeholder title is what the registry says, so it is kept.
    assert study.brief_title == "[Trial of device that is not approved or cleared by the U.S. FDA]"
    assert study.official_title == study.brief_title
    # "N/A", "[Redacted]", an empty Lead Sponsor and a &nbsp; Condition are placeholders: NULL, never text.
    assert study.lead_sponsor is None
    assert study.completion_date is None and study.primary_completion_date is None
    assert study.phases == [] and study.study_type is None and study.status_verified_date is None
    assert study.conditions == [] and study.contacts == []
    assert study.unmapped == {}


def test_translated_copies_are_not_study_pages() -> None:
    with pytest.raises(NotAStudyPage, match="translated"):
        parse(TRANSLATED)
    # The page itself says it is Russian, even at the English address.
    with pytest.raises(NotAStudyPage, match="lang=ru"):
        parse(TRANSLATED, f"{SITE}/clinical-trials-registry/NCT04257227")
    source = make_source("ichgcp")
    for lang in ("ru", "no", "pt-br", "zh"):
        assert not source.is_study_url(f"{SITE}/{lang}/clinical-trials-registry/NCT04257227")
    assert source.is_study_url(f"{SITE}/clinical-trials-registry/NCT04257227")
    assert source.is_study_url(f"{SITE}/clinical-trials-registry/nct04257227/")
    assert not source.is_study_url(f"{SITE}/clinical-trials-registry/research/list")


def test_addressable_by_nct() -> None:
    source = make_source("ichgcp", {"HARVEST_ICHGCP_URL": "http://127.0.0.1:9"})
    assert source.url_for("nct04067674") == "http://127.0.0.1:9/clinical-trials-registry/NCT04067674"


def _with_overview_rows(rows_html: str) -> str:
    html = html_of(CURRENT)
    end = html.index("</section>", html.index('<section class="study-overview'))
    return html[:end] + rows_html + html[end:]


def _row(label: str, value: str) -> str:
    return (
        f'<div class="study-overview__row row"><div class="col-md-3"><h3 class="h6">{label}</h3></div>'
        f'<div class="col-md-9">{value}</div></div>'
    )


def test_more_overview_rows_in_registry_wording() -> None:
    """Only "Status" has been seen; rows worded as on CT.gov are read the same way.

    SPECULATIVE LABELS. No real ichgcp render shows these rows: ../shared/realdata/mirrors/ichgcp__NCT04067674.txt
    is cut after "Study Overview / Status / Recruiting / Conditi…", and the only render of CT.gov's current study
    page (clinicaltrials.gov-study__NCT05693142.txt) holds nothing but the site glossary. "Enrollment (Estimated)",
    "Study Start (Actual)", "Primary Completion (Estimated)" and "Keywords" are CT.gov's current-site wording,
    assumed for ichgcp's current layout as the parser's CURRENT_LABELS assume it; no render confirms them. The real
    wording seen is the retired classic CT.gov page's (clinicaltrials.gov-ct2__NCT04299152.txt: "Estimated
    Enrollment :", "Estimated Study Start Date :", "Estimated Primary Completion Date :"), which this layout is not
    assumed to use. Seen in real renders: "Conditions" (the cut "Conditi…" above; ctv and medpath), "Study Type"
    (ct2, crick.ai) and "Phase" (ct2's column heading).

    Values: "Septic Shock" (ctv / medpath Conditions of NCT04067674) and 305 (crick.ai "Enrollment 305", no type
    shown) are real; "Immunosuppression" as a second condition, the dates and the keyword are invented.
    """
    html = _with_overview_rows(
        _row("Conditions", "<ul><li>Septic Shock</li><li>Immunosuppression</li></ul>")
        + _row("Study Type", "<p>Observational</p>")
        + _row("Phase", "<p>N/A</p>")
        + _row("Enrollment (Estimated)", "<p>305</p>")
        + _row("Study Start (Actual)", "<p>October 21, 2019</p>")
        + _row("Primary Completion (Estimated)", "<p>December 2023</p>")
        + _row("Keywords", "<p>Biomarkers</p>")
    )
    study = parse_html(html, f"{SITE}/clinical-trials-registry/NCT04067674")
    assert study.conditions == ["Septic Shock", "Immunosuppression"]
    assert study.study_type == "OBSERVATIONAL" and study.phases == []
    assert (study.enrollment, study.enrollment_type) == (305, "ESTIMATED")
    assert study.start_date is not None and study.start_date.model_dump() == {"value": "2019-10-21", "type": "ACTUAL"}
    assert study.primary_completion_date is not None
    assert study.primary_completion_date.model_dump() == {"value": "2023-12", "type": "ESTIMATED"}
    assert study.keywords == ["Biomarkers"]
    assert (
        study.brief_summary
        == load_reconstructed_study("NCT04067674")["protocolSection"]["descriptionModule"]["briefSummary"]
    )


def test_a_labelled_nct_that_contradicts_the_url_is_rejected() -> None:
    html = _with_overview_rows(_row("NCT Number", "<p>NCT04299152</p>"))
    with pytest.raises(InvalidRecord, match=r"NCT04299152.*NCT04067674"):
        parse_html(html, f"{SITE}/clinical-trials-registry/NCT04067674")
    assert parse_html(html, f"{SITE}/clinical-trials-registry/").nct_id == "NCT04299152"


def test_unknown_status_words_are_reported() -> None:
    html = html_of(CURRENT).replace(">Recruiting</p>", ">Sleeping</p>")
    study = parse_html(html, f"{SITE}/clinical-trials-registry/NCT04067674")
    assert study.overall_status is None and study.unmapped == {"overall_status": "Sleeping"}


def test_other_pages_and_changed_layouts() -> None:
    listing = "<html lang='en'><body><h1>Clinical Trials Registry</h1><ul><li>NCT04067674</li></ul></body></html>"
    with pytest.raises(NotAStudyPage):
        parse_html(listing, f"{SITE}/clinical-trials-registry/research/list")
    with pytest.raises(LayoutChanged, match="updated by"):
        parse_html(listing, f"{SITE}/clinical-trials-registry/NCT04067674")


# -- end to end, over 127.0.0.1 --------------------------------------------------------------------


def test_harvest_run_skips_translated_copies(db_path: Path) -> None:
    with served_mirror("ichgcp") as server:
        result = Cli(mirror_env("ichgcp", server, db_path))("run", "--source", "ichgcp")
        requested = list(server.requests)
    assert result.exit_code == 0, result.output
    assert "3 new" in result.stderr and "0 failed" in result.stderr
    assert not [path for path in requested if path.startswith("/ru/")]  # never even requested
    assert scalar(db_path, "SELECT count(*) FROM studies") == 3
    assert scalar(db_path, "SELECT count(*) FROM source_records WHERE source = 'ichgcp'") == 3
    assert scalar(db_path, "SELECT count(*) FROM studies WHERE nct_id = 'NCT04257227'") == 0
    pages = rows(db_path, "SELECT url, last_outcome FROM pages WHERE source = 'ichgcp' ORDER BY url")
    assert [outcome for _, outcome in pages] == ["ok", "ok", "ok"]
    assert not [url for url, _ in pages if "/ru/" in url]
    assert rows(db_path, "SELECT overall_status, start_date FROM studies WHERE nct_id = 'NCT03219567'") == [
        ("WITHHELD", "2014-10-09")
    ]
    assert rows(
        db_path, "SELECT brief_title, acronym, lead_sponsor, overall_status FROM studies WHERE nct_id = 'NCT04067674'"
    ) == [("Septic Shock-induced Immunosuppression", "IMMUNOSEPSIS 4", "Hospices Civils de Lyon", "RECRUITING")]


def test_harvest_fetch_by_nct_and_a_translated_url(db_path: Path) -> None:
    with served_mirror("ichgcp") as server:
        cli = Cli(mirror_env("ichgcp", server, db_path))
        by_nct = cli("fetch", "--source", "ichgcp", "NCT04299152")
        translated = cli("fetch", f"{server.url}/ru/clinical-trials-registry/NCT04257227")
    assert by_nct.exit_code == 0, by_nct.output
    assert (
        json.loads(by_nct.stdout)["brief_title"]
        == "Stem Cell Educator Therapy Treat the Viral Inflammation in COVID-19"
    )
    assert translated.exit_code == 1 and "translated" in translated.stderr
    assert rows(db_path, "SELECT nct_id FROM studies") == [("NCT04299152",)]
    assert rows(db_path, "SELECT error_type FROM quarantine") == [("NotAStudyPage",)]


def test_merged_with_the_registry_nothing_conflicts(cli: Cli, db_path: Path) -> None:
    assert cli("run").exit_code == 0
    with served_mirror("ichgcp") as server:
        assert Cli({**cli.env, **mirror_env("ichgcp", server, db_path)})("run", "--source", "ichgcp").exit_code == 0
    assert rows(db_path, "SELECT nct_id, field FROM conflicts WHERE nct_id IN ('NCT04067674', 'NCT04299152')") == []
    assert json.loads(scalar(db_path, "SELECT sources FROM studies WHERE nct_id = 'NCT04067674'")) == [
        "ctgov",
        "ichgcp",
    ]
