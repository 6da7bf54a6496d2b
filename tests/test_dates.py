"""Every date form the registry and its mirrors print, read into one partial-date shape."""

from __future__ import annotations

import pytest

from harvest.core.dates import ACTUAL, ESTIMATED, DateFormatError, ParsedDate, check_iso_partial, parse_date, same_date
from harvest.core.dates import type_from_label as label_type


@pytest.mark.parametrize(
    ("shown", "value"),
    [
        ("February 10, 2020", "2020-02-10"),  # inclinicaltrials, CT.gov classic
        ("October 31, 2020", "2020-10-31"),
        ("April 9, 2022", "2022-04-09"),
        ("February 2020", "2020-02"),  # inclinicaltrials "Verified date": a month stays a month
        ("2020-10-31", "2020-10-31"),  # clinicaltrialexchange, ichgcp legacy, the API
        ("2024-02", "2024-02"),  # the API's month precision
        ("2020", "2020"),
        ("23 Dec 2016", "2016-12-23"),  # EU CTR / ISRCTN style
        ("Sept. 30, 2020", "2020-09-30"),
        ("February 10th, 2020", "2020-02-10"),
        ("  February\n10,   2020. ", "2020-02-10"),
    ],
)
def test_forms_seen_on_the_sites(shown: str, value: str) -> None:
    assert parse_date(shown) == ParsedDate(value, None)


def test_precision_is_kept() -> None:
    assert [parse_date(text).precision for text in ("2020", "February 2020", "February 10, 2020")] == [  # type: ignore[union-attr]
        "year",
        "month",
        "day",
    ]


def test_numeric_dates_need_the_sites_order() -> None:
    assert parse_date("04/05/2016", day_first=True) == ParsedDate("2016-05-04", None)  # ISRCTN: dd/mm/yyyy
    assert parse_date("04/05/2016", day_first=False) == ParsedDate("2016-04-05", None)
    assert parse_date("17/09/2019", day_first=True) == ParsedDate("2019-09-17", None)
    with pytest.raises(DateFormatError, match="ambiguous"):
        parse_date("04/05/2016")  # the helper never guesses a site's convention
    with pytest.raises(DateFormatError):
        parse_date("17/09/2019", day_first=False)  # month 17


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        ("Est. June 30, 2020", ParsedDate("2020-06-30", ESTIMATED)),
        ("Est June 2020", ParsedDate("2020-06", ESTIMATED)),
        ("Estimated June 2020", ParsedDate("2020-06", ESTIMATED)),  # once read as "Est" + "imated June 2020"
        ("estimated: 2020-10-31", ParsedDate("2020-10-31", ESTIMATED)),
        ("Anticipated March 2021", ParsedDate("2021-03", ESTIMATED)),
        ("Actual: 2020-01", ParsedDate("2020-01", ACTUAL)),
        ("Actual February 20, 2020", ParsedDate("2020-02-20", ACTUAL)),
    ],
)
def test_prefixes_give_the_type(shown: str, expected: ParsedDate) -> None:
    assert parse_date(shown) == expected


def test_the_label_can_give_the_type() -> None:
    assert parse_date("October 31, 2020", default_type=ESTIMATED) == ParsedDate("2020-10-31", ESTIMATED)
    assert parse_date("Actual: October 31, 2020", default_type=ESTIMATED) == ParsedDate("2020-10-31", ACTUAL)
    assert label_type("Est. completion date") == ESTIMATED  # inclinicaltrials
    assert label_type("Est. primary completion date") == ESTIMATED
    assert label_type("Estimated Study Start Date") == ESTIMATED  # CT.gov classic
    assert label_type("Study Start (Actual)") == ACTUAL  # CT.gov / ichgcp overview
    assert label_type("Primary Completion (Anticipated)") == ESTIMATED
    assert label_type("Completion date") is None
    assert label_type("Estimation date") is None and label_type("Test date") is None


@pytest.mark.parametrize(
    "marker", [None, "", "   ", "n/a", "N/A", "NA", "-", "--", "undefined", "[Redacted]", "Unknown"]
)
def test_empty_markers_are_none(marker: str | None) -> None:
    assert parse_date(marker) is None


@pytest.mark.parametrize(
    "shown",
    [
        "February 30, 2020",
        "2020-13",
        "2020-02-30",
        "2019-02-29",
        "0000-00-00",
        "0000",
        "32 Dec 2016",
        "Smarch 3, 2020",
        "2020-1-5x",
        "next spring",
        "Est.",
        "4 июня 2023 г.",  # a translated page's date: not ours to read
    ],
)
def test_impossible_or_unknown_dates_raise(shown: str) -> None:
    with pytest.raises(DateFormatError):
        parse_date(shown)


def test_leap_day_is_a_date() -> None:
    assert parse_date("February 29, 2020") == ParsedDate("2020-02-29", None)


def test_iso_partial_check() -> None:
    assert check_iso_partial("2020-02") == "2020-02"
    for bad in ("2020-2", "2020-02-1", "20-02-01", "2020-00"):
        with pytest.raises(DateFormatError):
            check_iso_partial(bad)


def test_same_date_compares_at_the_coarser_precision() -> None:
    assert same_date("2020-02", "2020-02-10") and same_date("2020", "2020-02-10")
    assert not same_date("2020-02", "2020-03-01") and not same_date("2020-02", None)
    assert same_date(None, None)
