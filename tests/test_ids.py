"""Identifiers: NCT numbers and secondary IDs validated per scheme, placeholders rejected."""

from __future__ import annotations

import pytest

from harvest.core.errors import InvalidNCTId
from harvest.core.ids import IdScheme, classify, is_placeholder, normalize_nct


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
