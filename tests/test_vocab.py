"""One vocabulary across API enums, CT.gov display words and mirror words; unknown words are None, never guessed."""

from __future__ import annotations

import pytest

from harvest.core.vocab import (
    INTERVENTION_TYPE_WORDS,
    PHASE_WORDS,
    SEX_WORDS,
    STATUS_WORDS,
    STUDY_TYPE_WORDS,
    OverallStatus,
    ages_from_text,
    clean_text,
    lookup,
    phases_from_text,
    word_key,
    yes_no,
)
from harvest.sources.veeva import fields as veeva


@pytest.mark.parametrize(
    ("shown", "status"),
    [
        # CT.gov display words (inclinicaltrials, trials.co, CT.gov classic pages)
        ("Not yet recruiting", "NOT_YET_RECRUITING"),
        ("Recruiting", "RECRUITING"),
        ("Active, not recruiting", "ACTIVE_NOT_RECRUITING"),
        ("Enrolling by invitation", "ENROLLING_BY_INVITATION"),
        ("Completed", "COMPLETED"),
        ("Terminated", "TERMINATED"),
        ("Suspended", "SUSPENDED"),
        ("Withdrawn", "WITHDRAWN"),
        ("Withheld", "WITHHELD"),  # ichgcp legacy
        ("Unknown status", "UNKNOWN"),  # trials.co
        ("Unknown", "UNKNOWN"),  # ctv.veeva
        ("No longer available", "NO_LONGER_AVAILABLE"),
        ("Temporarily not available", "TEMPORARILY_NOT_AVAILABLE"),
        ("Approved for marketing", "APPROVED_FOR_MARKETING"),
        ("Available", "AVAILABLE"),
        # API enums, as meddatax and crick.ai print them
        ("UNKNOWN", "UNKNOWN"),
        ("NOT_YET_RECRUITING", "NOT_YET_RECRUITING"),
        ("ACTIVE_NOT_RECRUITING", "ACTIVE_NOT_RECRUITING"),
        # case, punctuation and spacing do not matter
        ("  not YET recruiting ", "NOT_YET_RECRUITING"),
        ("Active not recruiting", "ACTIVE_NOT_RECRUITING"),
    ],
)
def test_status_words(shown: str, status: str) -> None:
    assert lookup(STATUS_WORDS, shown) == status


@pytest.mark.parametrize(
    ("shown", "status"),
    [
        ("Enrolling", "RECRUITING"),
        ("Active, not enrolling", "ACTIVE_NOT_RECRUITING"),
        ("Not yet enrolling", "NOT_YET_RECRUITING"),
        ("Enrolling by invite", "ENROLLING_BY_INVITATION"),
        ("Trial completed", "COMPLETED"),
        ("Recruiting", "RECRUITING"),  # and CT.gov's words still
    ],
)
def test_a_mirror_adds_its_own_status_words_in_its_module(shown: str, status: str) -> None:
    """ctv's words ("Enrolling") are ctv's: the shared table does not know them, ctv's module does."""
    assert lookup(veeva.STATUS_WORDS, shown) == status
    if shown != "Recruiting":
        assert lookup(STATUS_WORDS, shown) is None


def test_every_api_enum_maps_to_itself() -> None:
    for member in OverallStatus:
        assert lookup(STATUS_WORDS, member.value) == member.value


@pytest.mark.parametrize("shown", ["Prematurely Ended", "No longer recruiting", "Ongoing", "Halted", "", "n/a"])
def test_unknown_status_words_are_none(shown: str) -> None:
    """EU CTR's "Prematurely Ended" and ISRCTN's "No longer recruiting" do not say which CT.gov status they are."""
    assert lookup(STATUS_WORDS, shown) is None
    assert lookup(STATUS_WORDS, None) is None


@pytest.mark.parametrize(
    ("table", "shown", "value"),
    [
        (STUDY_TYPE_WORDS, "Interventional", "INTERVENTIONAL"),
        (STUDY_TYPE_WORDS, "Interventional (Clinical Trial)", "INTERVENTIONAL"),
        (STUDY_TYPE_WORDS, "Observational", "OBSERVATIONAL"),
        (STUDY_TYPE_WORDS, "Observational [Patient Registry]", "OBSERVATIONAL"),
        (STUDY_TYPE_WORDS, "Expanded Access", "EXPANDED_ACCESS"),
        (SEX_WORDS, "All", "ALL"),
        (SEX_WORDS, "All Sexes", "ALL"),
        (SEX_WORDS, "Both", "ALL"),
        (SEX_WORDS, "Female", "FEMALE"),
        (SEX_WORDS, "MALE", "MALE"),
        (INTERVENTION_TYPE_WORDS, "Biological", "BIOLOGICAL"),
        (INTERVENTION_TYPE_WORDS, "Combination Product", "COMBINATION_PRODUCT"),
        (INTERVENTION_TYPE_WORDS, "Dietary Supplement", "DIETARY_SUPPLEMENT"),
        (PHASE_WORDS, "Phase 2", "PHASE2"),
        (PHASE_WORDS, "Not Applicable", "NA"),
    ],
)
def test_other_word_tables(table: dict[str, str], shown: str, value: str) -> None:
    assert lookup(table, shown) == value


@pytest.mark.parametrize(
    ("table", "shown"),
    [(STUDY_TYPE_WORDS, "Clinical"), (SEX_WORDS, "Any"), (INTERVENTION_TYPE_WORDS, "Surgery"), (PHASE_WORDS, "7")],
)
def test_unknown_words_in_other_tables_are_none(table: dict[str, str], shown: str) -> None:
    assert lookup(table, shown) is None


@pytest.mark.parametrize(
    ("shown", "phases"),
    [
        ("Phase 2", ["PHASE2"]),
        ("PHASE2", ["PHASE2"]),
        ("Phase 2/Phase 3", ["PHASE2", "PHASE3"]),
        ("Phase 1/2", ["PHASE1", "PHASE2"]),
        ("PHASE2, PHASE3", ["PHASE2", "PHASE3"]),
        ("Phase II", ["PHASE2"]),
        ("Early Phase 1", ["EARLY_PHASE1"]),
        ("N/A", ["NA"]),
        ("Not Applicable", ["NA"]),
        ("Phase 2 | Phase 2", ["PHASE2"]),
    ],
)
def test_phases_from_text(shown: str, phases: list[str]) -> None:
    assert phases_from_text(shown) == phases


@pytest.mark.parametrize("shown", ["Phase 9", "Phase 2/Pilot", "Pivotal", ""])
def test_unreadable_phases_are_none(shown: str) -> None:
    assert phases_from_text(shown) is None


@pytest.mark.parametrize(
    ("shown", "ages"),
    [
        ("18 Years and older", ("18 Years", None)),  # inclinicaltrials "Age group"
        ("18+ years old", ("18 Years", None)),  # ctv.veeva
        ("18 Years - 60 Years (Adult)", ("18 Years", "60 Years")),  # trials.co
        ("20 to 60 years old", ("20 Years", "60 Years")),
        ("18 Years to 65 Years", ("18 Years", "65 Years")),
        ("6 Months to 17 Years", ("6 Months", "17 Years")),
        ("up to 65 years", (None, "65 Years")),
    ],
)
def test_ages_from_text(shown: str, ages: tuple[str | None, str | None]) -> None:
    assert ages_from_text(shown) == ages


@pytest.mark.parametrize("shown", ["Child, Adult, Older Adult", "18 Years", "adults"])
def test_unreadable_ages_are_none(shown: str) -> None:
    assert ages_from_text(shown) is None


@pytest.mark.parametrize(
    "marker", [None, "", " ", "\xa0", "n/a", "N/A", "NA", "-", "--", "—", "undefined", "[Redacted]"]
)
def test_empty_markers_are_null(marker: str | None) -> None:
    assert clean_text(marker) is None


def test_clean_text_collapses_whitespace_and_keeps_real_values() -> None:
    assert clean_text("  Southeast University,\n China ") == "Southeast University, China"
    # "None" and "Unknown" are real values of some fields (masking, status): a field-specific table decides.
    assert clean_text("None (Open Label)") == "None (Open Label)"
    assert clean_text("Unknown") == "Unknown"


def test_yes_no() -> None:
    assert yes_no("Yes") is True and yes_no("No") is False and yes_no(" no ") is False
    assert yes_no("Accepts Healthy Volunteers") is True
    assert yes_no("Does not accept healthy volunteers") is False
    assert yes_no("n/a") is None and yes_no("Sometimes") is None


def test_word_key() -> None:
    assert word_key("Active, not recruiting") == word_key("ACTIVE_NOT_RECRUITING") == "active not recruiting"
