"""Identifiers: NCT numbers and secondary IDs validated per scheme, placeholders rejected."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harvest.core.errors import InvalidNCTId
from harvest.core.ids import IdScheme, classify, is_nct, is_placeholder, normalize_nct

SRC = Path(__file__).resolve().parents[1] / "src" / "harvest"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("NCT04268537", "NCT04268537"), ("nct04261426", "NCT04261426"), (" NCT02803346 ", "NCT02803346")],
)
def test_normalize_nct(text: str, expected: str) -> None:
    assert normalize_nct(text) == expected


@pytest.mark.parametrize("text", ["NCT123", "foo", "", "NCT0426853", "NCT042685377", "ISRCTN92746680", "NCT 04268537"])
def test_invalid_nct_is_a_one_line_input_error(text: str) -> None:
    with pytest.raises(InvalidNCTId) as caught:
        normalize_nct(text)
    assert caught.value.exit_code == 2
    assert "\n" not in caught.value.one_line()


@pytest.mark.parametrize(
    "value",
    [
        "ISRCTN00000000",
        "n/a",
        "N/A",
        "-",
        "0000",
        "00000000",
        "undefined",
        "[Redacted]",
        "",
        "NCT00000000",
        "2000-000000-00",
    ],
)
def test_placeholders_are_rejected(value: str) -> None:
    assert is_placeholder(value)
    assert classify(value, IdScheme.OTHER) is None


@pytest.mark.parametrize(
    ("value", "declared", "scheme"),
    [
        ("2014-005181-30", IdScheme.EUDRACT, IdScheme.EUDRACT),  # real: NCT02513394
        ("2014-5181-30", IdScheme.EUDRACT, IdScheme.OTHER),  # claims EudraCT, is not one: kept, not trusted
        ("2012-001529-28", IdScheme.OTHER, IdScheme.EUDRACT),  # an OTHER that is exactly a EudraCT number
        ("2023-503456-12-00", IdScheme.CTIS, IdScheme.CTIS),
        ("ISRCTN92746680", IdScheme.REGISTRY, IdScheme.ISRCTN),
        ("U1111-1234-5678", None, IdScheme.WHO_UTN),
        ("NCI-2020-00751", IdScheme.REGISTRY, IdScheme.REGISTRY),
        ("69HCL19_0071", IdScheme.ORG_STUDY_ID, IdScheme.ORG_STUDY_ID),  # org IDs stay org IDs
        ("A081801", IdScheme.OTHER, IdScheme.OTHER),
        ("P60DK020579", IdScheme.NIH, IdScheme.NIH),
    ],
)
def test_schemes_are_validated(value: str, declared: IdScheme | None, scheme: IdScheme) -> None:
    assert classify(value, declared) == scheme


# Fullwidth (U+FF10…) and Arabic-Indic (U+0660…) digits: Python's \d matches them, int() reads them, a page can
# show them. An NCT number is ASCII: anything else is not one, and never a second key for the same trial.
NON_ASCII_DIGITS = ["NCT０４０６７６７４", "NCT٠٢٥١٣٣٩٤", "nct０４０６７６７４", "NCT0406767４"]


@pytest.mark.parametrize("text", NON_ASCII_DIGITS)
def test_an_nct_number_is_ascii_digits_only(text: str) -> None:
    with pytest.raises(InvalidNCTId):
        normalize_nct(text)
    assert not is_nct(text)


def test_secondary_ids_with_non_ascii_digits_are_not_registry_ids() -> None:
    assert classify("２０１４-００５１８１-３０", IdScheme.EUDRACT) is IdScheme.OTHER
    assert classify("ISRCTN９２７４６６８０", IdScheme.REGISTRY) is IdScheme.REGISTRY
    assert not is_placeholder("٠٠٠٠")  # not ASCII zeros: not the all-zero placeholder either, just kept as given


def test_no_pattern_in_the_source_matches_unicode_digits() -> None:
    r"""``\d`` in a pattern matches every Unicode decimal digit; the source writes ``[0-9]`` instead (item 8 of
    issue 24: a fullwidth NCT number became a second trial). Checked over every module, so a new one stays ASCII."""
    offenders = [
        f"{path.relative_to(SRC)}:{number}"
        for path in sorted(SRC.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"\\[dD]", line)
    ]
    assert offenders == []
