"""AACT's conventions for computed values (core.aact), on the edges AACT's own specs do not reach; each expected
value is worked out by hand from the rule AACT's code states (cited in core.aact)."""

from __future__ import annotations

import datetime as dt

import pytest

from harvest.core.aact import age_parts, as_date, months_of, p_value_parts


def test_a_partial_date_is_its_last_day_as_aact_stores_it() -> None:
    assert as_date("2006-11") == dt.date(2006, 11, 30)
    assert as_date("2016-02") == dt.date(2016, 2, 29)  # a leap year
    assert as_date("2013-12") == dt.date(2013, 12, 31)
    assert as_date("2013") == dt.date(2013, 12, 31)
    assert as_date("2013-01-05") == dt.date(2013, 1, 5)
    assert as_date(None) is None and as_date("2013-13") is None


def test_months_are_days_over_30_truncated_toward_zero() -> None:
    # NCT00763412 (AACT's spec record): primary completion 2013-01 (its last day, 2013-01-31), results submitted
    # 2016-07-11: 1095 days to 2016-01-31, 162 more: 1257 days, 41.9 months
    assert months_of("2013-01", "2016-07-11") == 41
    assert months_of("2022-10-01", "2022-11-01") == 1  # 31 days (calculated_value_spec.rb)
    assert months_of("2020-03-30", "2020-01-01") == -2  # -89 days: toward zero, not down
    assert months_of(None, "2020-01-01") is None


@pytest.mark.parametrize(
    ("age", "parts"),
    [
        ("18 Years", (18, "year")),
        ("11 Months", (11, "month")),
        ("6 Weeks", (6, "week")),
        ("1 Year", (1, "year")),
        ("N/A", (0, "n/a")),  # Ruby's "N/A".to_i is 0
        (None, (None, None)),
        ("  ", (None, None)),
    ],
)
def test_an_age_is_a_number_and_a_singular_unit(age: str | None, parts: tuple[int | None, str | None]) -> None:
    assert age_parts(age) == parts


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("<0.001", (0.001, "<")),
        ("0.331", (0.331, "")),
        ("<= 0.05", (0.05, "<=")),
        ("> 0.99", (0.99, ">")),
        ("NA", (None, "NA")),  # AACT's loader stores 0 here; harvest NULL
        (None, (None, None)),
    ],
)
def test_a_p_value_is_its_number_and_its_sign(text: str | None, parts: tuple[float | None, str | None]) -> None:
    assert p_value_parts(text) == parts
