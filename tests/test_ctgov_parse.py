"""The CT.gov → canonical mapping, on real API records (the tests that parse every study fixture also parse the
four reconstructed ones, fixtures/ctgov/RECONSTRUCTED.md)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest

from harvest.core.errors import BadResponse, InvalidRecord
from harvest.sources.base import Page
from harvest.sources.ctgov import ClinicalTrialsGov
from tests.conftest import FETCHED, STUDIES, load_study, parse_ctgov


def study_files() -> list[Path]:
    """Every study fixture: the real API records and the reconstructed ones."""
    paths = sorted(STUDIES.glob("*.json"))
    assert paths, f"no study fixtures in {STUDIES}"
    reconstructed = [path.name.endswith(".reconstructed.json") for path in paths]
    assert any(reconstructed) and not all(reconstructed)  # both kinds, as the tests' names say
    return paths


def test_record_with_results_437_sites_and_non_ascii(source: ClinicalTrialsGov) -> None:
    study = parse_ctgov(source, load_study("NCT02513394"))
    assert study.nct_id == "NCT02513394"
    assert study.has_results is True
    assert len(study.locations) == 437
    kepler = next(loc for loc in study.locations if loc.facility == "Kepler Universitätsklinikum Med. Campus III")
    assert (kepler.city, kepler.zip, kepler.country) == ("Linz", "4020", "Austria")
    assert study.overall_status == "ACTIVE_NOT_RECRUITING"
    # partial dates keep their precision, and a missing type stays unknown
    assert study.start_date.value == "2015-08" and study.start_date.precision == "month"
    assert study.start_date.type is None
    assert (study.completion_date.value, study.completion_date.type) == ("2025-09", "ESTIMATED")
    assert study.status_verified_date.value == "2023-04"
    eudract = [i for i in study.identifiers if i.scheme == "EUDRACT"]
    assert [i.value for i in eudract] == ["2014-005181-30"]
    assert {"ABCSG 42", "BIG 14-03"} <= {i.value for i in study.identifiers if i.scheme == "OTHER"}


def test_1148_sites_and_estimated_last_update(source: ClinicalTrialsGov) -> None:
    study = parse_ctgov(source, load_study("NCT04267848"))
    assert len(study.locations) == 1148
    assert (study.last_update_posted.value, study.last_update_posted.type) == ("2025-09-10", "ESTIMATED")
    # CTRP registry ID, two org IDs from different domains, an NIH grant
    schemes = sorted((i.scheme, i.value) for i in study.identifiers)
    assert ("NIH", "U10CA180821") in schemes
    assert ("REGISTRY", "NCI-2020-00751") in schemes
    assert [v for s, v in schemes if s == "OTHER"].count("A081801") == 2


def test_observational_unknown_with_last_known_status(source: ClinicalTrialsGov) -> None:
    study = parse_ctgov(source, load_study("NCT03475563"))
    assert study.study_type == "OBSERVATIONAL"
    assert study.overall_status == "UNKNOWN"
    assert study.last_known_status == "RECRUITING"
    assert study.phases == []


def test_cjk_full_width_punctuation_kept(source: ClinicalTrialsGov) -> None:
    raw = load_study("NCT05531279")
    study = parse_ctgov(source, raw)
    official = raw["protocolSection"]["contactsLocationsModule"]["overallOfficials"][0]
    assert "＆" in official["affiliation"] and "，" in official["affiliation"]
    officials = [c for c in study.contacts if c.name == official["name"]]
    assert officials[0].affiliation == official["affiliation"]  # full-width ＆ and ， untouched


def test_markdown_escapes_stored_as_given(source: ClinicalTrialsGov) -> None:
    raw = load_study("NCT01126879")
    study = parse_ctgov(source, raw)
    assert "PSA \\>= 10" in study.eligibility_criteria
    assert study.eligibility_criteria == raw["protocolSection"]["eligibilityModule"]["eligibilityCriteria"]


def test_every_study_fixture_real_or_reconstructed_parses(source: ClinicalTrialsGov) -> None:
    for path in study_files():
        raw = json.loads(path.read_text(encoding="utf-8"))
        study = parse_ctgov(source, raw)
        ident = raw["protocolSection"]["identificationModule"]
        assert study.nct_id == ident["nctId"], path.name
        assert study.brief_title == ident["briefTitle"], path.name
        assert study.provenance.source == "ctgov" and study.provenance.nct_resolution == "api"


def test_every_optional_module_may_be_absent(source: ClinicalTrialsGov) -> None:
    raw = load_study("NCT03418623")
    bare = {"protocolSection": {"identificationModule": {"nctId": "NCT03418623"}}}
    study = parse_ctgov(source, bare)
    assert study.nct_id == "NCT03418623"
    assert study.brief_title is None and study.locations == [] and study.start_date is None
    # and one module at a time
    for module in list(raw["protocolSection"]):
        if module == "identificationModule":
            continue
        partial = copy.deepcopy(raw)
        del partial["protocolSection"][module]
        assert parse_ctgov(source, partial).nct_id == "NCT03418623"


def test_unknown_enum_word_is_reported_not_guessed(source: ClinicalTrialsGov) -> None:
    raw = load_study("NCT03418623")
    raw["protocolSection"]["statusModule"]["overallStatus"] = "PAUSED_FOR_REVIEW"
    study = parse_ctgov(source, raw)
    assert study.overall_status is None
    assert study.unmapped == {"overall_status": "PAUSED_FOR_REVIEW"}


def test_every_api_enum_takes_a_new_word_without_failing_the_record(source: ClinicalTrialsGov) -> None:
    """A new enum value in the API (a new study type, phase, sex or date type) must not fail every study
    that uses it: the value is kept in unmapped, the field is left empty, the rest of the record stands."""
    raw = load_study("NCT03418623")
    design = raw["protocolSection"]["designModule"]
    known_phases = list(design["phases"])
    design["studyType"] = "ADAPTIVE_PLATFORM"
    design["phases"] = [*known_phases, "PHASE5"]
    design["enrollmentInfo"]["type"] = "ANTICIPATED"
    raw["protocolSection"]["eligibilityModule"]["sex"] = "INTERSEX"
    raw["protocolSection"]["statusModule"]["startDateStruct"]["type"] = "PROJECTED"
    study = parse_ctgov(source, raw)
    assert study.unmapped == {
        "study_type": "ADAPTIVE_PLATFORM",
        "phases": ", ".join([*known_phases, "PHASE5"]),
        "enrollment_type": "ANTICIPATED",
        "sex": "INTERSEX",
        "start_date.type": "PROJECTED",
    }
    assert (study.study_type, study.enrollment_type, study.sex) == (None, None, None)
    assert study.phases == known_phases and study.start_date is not None and study.start_date.type is None
    assert study.brief_title and study.enrollment == design["enrollmentInfo"]["count"]


def test_a_value_the_schema_refuses_is_left_out_and_noted_not_fatal(source: ClinicalTrialsGov) -> None:
    """One bad value costs that value, not the study: it is NULL, and ``unmapped`` says what was given."""
    raw = load_study("NCT03418623")
    raw["protocolSection"]["statusModule"]["startDateStruct"]["date"] = "2018-13-08"
    study = parse_ctgov(source, raw)
    assert (
        study.start_date is None and study.brief_title == raw["protocolSection"]["identificationModule"]["briefTitle"]
    )
    assert study.unmapped["start_date.value"].startswith('"2018-13-08" (')
    assert study.unmapped["start_date.value"].endswith("; not stored)")
    raw = load_study("NCT03418623")
    raw["protocolSection"]["designModule"]["enrollmentInfo"]["count"] = -3
    study = parse_ctgov(source, raw)
    assert study.enrollment is None and study.unmapped["enrollment"].startswith("-3 (")


def test_a_record_without_a_valid_nct_number_is_still_refused_naming_the_field(source: ClinicalTrialsGov) -> None:
    raw = load_study("NCT03418623")
    raw["protocolSection"]["identificationModule"]["nctId"] = "NCT123"
    with pytest.raises(InvalidRecord, match="nct_id"):
        parse_ctgov(source, raw)


def test_not_a_study_object(source: ClinicalTrialsGov) -> None:
    with pytest.raises(BadResponse):
        parse_ctgov(source, {"error": "nope"})
    with pytest.raises(BadResponse):
        source.parse(Page("https://x/studies/NCT1", b'{"protocolSection": {"identif', FETCHED))


def test_content_hash_ignores_data_release_stamp_and_fetch_time(source: ClinicalTrialsGov) -> None:
    raw = load_study("NCT04207047")
    first = parse_ctgov(source, raw)
    raw["derivedSection"]["miscInfoModule"]["versionHolder"] = "2026-11-21"
    second = source.parse(Page("https://elsewhere/studies/X", json.dumps(raw).encode(), FETCHED + dt.timedelta(days=1)))
    assert first.content_hash() == second.content_hash()
    raw["protocolSection"]["statusModule"]["overallStatus"] = "COMPLETED"
    assert parse_ctgov(source, raw).content_hash() != first.content_hash()


def test_the_record_and_its_hash_come_from_one_serialisation(source: ClinicalTrialsGov) -> None:
    # A URL that spells the key the hash cuts at must not fool it.
    url = 'https://example.org/api/v2/studies/X?q=,"provenance":{'
    for path in study_files():
        study = source.parse_object(json.loads(path.read_text()), url, FETCHED)
        text, digest = study.record_json()
        assert text == study.model_dump_json()
        assert digest == study.content_hash(), path.name


def test_control_characters_never_reach_the_canonical_record(source: ClinicalTrialsGov) -> None:
    """Issue 24, item 9: ESC and BEL typed into a record were stored, and printed raw by `--table`. The record
    keeps its text, tab and line breaks included; the raw payload (kept beside it) keeps what was sent."""
    raw = load_study("NCT03418623")
    section = raw["protocolSection"]
    title, condition = section["identificationModule"]["briefTitle"], section["conditionsModule"]["conditions"][0]
    section["identificationModule"]["briefTitle"] = f"\x1b]0;owned\x07{title}\x1b[2J"
    section["conditionsModule"]["conditions"][0] += "\x9b31m"  # C1 CSI: a control sequence on its own
    section["descriptionModule"]["briefSummary"] = "First line.\n\tSecond\x00 line.\x7f"
    study = parse_ctgov(source, raw)
    assert study.brief_title == f"]0;owned{title}[2J"
    assert study.conditions[0] == condition + "31m"
    assert study.brief_summary == "First line.\n\tSecond line."
