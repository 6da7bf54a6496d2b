"""AACT's conventions for values, so the columns named as AACT names them mean what AACT's mean.

AACT (CTTI's PostgreSQL copy of ClinicalTrials.gov, github.com/ctti-clinicaltrials/aact) computes some values
from the record: the numbers in an analysis's text, a date known to the month as a day, calculated values.
Each function here says which of AACT's files computes the same, and where harvest deliberately differs.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

_NUMBER = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")
_LEADING_INT = re.compile(r"^\s*([+-]?[0-9]+)")


def number(value: Any) -> float | None:
    """A number written as text ("12.5", "-3", "1e-3", "1,234"), else None ("NA", "<0.001", "5%").

    AACT converts with Ruby's ``Float()`` (study_json_record/worker.rb ``float``), which refuses thousands
    separators; harvest reads "1,234" as 1234.
    """
    if value.__class__ is str:
        return _number_text(value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    return _number_text(str(value))


@functools.lru_cache(maxsize=65_536)
def _number_text(value: str) -> float | None:
    """Cached: a results record repeats the same few hundred texts (counts, means) across thousands of cells."""
    text = value.strip().replace(",", "")
    return float(text) if _NUMBER.match(text) else None


def whole(value: Any) -> int | None:
    """A count written as text ("120"), else None."""
    parsed = number(value)
    return int(parsed) if parsed is not None and parsed.is_integer() else None


def p_value_parts(text: Any) -> tuple[float | None, str | None]:
    """(the number, the sign before it) of a p-value as written: "<0.001" gives (0.001, "<"), "0.04" (0.04, "").

    As AACT's app/models/outcome.rb: the sign is the text without digits, points and minus signs; the number is
    the text without ``<``, ``>``, ``=`` and spaces. Where that is not a number ("NA") harvest stores NULL;
    AACT's loader stores 0 (Rails casts such text to a number as 0).
    """
    if text is None:
        return None, None
    raw = str(text)
    modifier = re.sub(r"[0-9.-]", "", raw).strip()
    return number(re.sub(r"[<> =]", "", raw).strip()), modifier


def p_value_number(text: Any) -> float | None:
    return p_value_parts(text)[0]


def p_value_modifier(text: Any) -> str | None:
    return p_value_parts(text)[1]


def yes_no(flag: Any) -> str | None:
    """``calculatePct`` as AACT's baseline_measurement.rb writes it: Yes, No, or NULL when not given."""
    if flag is None:
        return None
    return "No" if flag is False else "Yes"


def as_date(partial: str | None) -> dt.date | None:
    """A date known to the year or month as AACT's worker stores it: its last day (``end_of_month``,
    ``end_of_year`` in app/models/study_json_record/worker.rb ``date``). harvest's date columns keep the
    partial date as written; this is only for values computed as AACT computes them."""
    if not partial:
        return None
    try:
        if len(partial) == 4:
            return dt.date(int(partial), 12, 31)
        if len(partial) == 7:
            first = dt.date(int(partial[:4]), int(partial[5:7]), 1)
            return (first + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)
        return dt.date.fromisoformat(partial[:10])
    except ValueError:
        return None


def months_of(start: str | None, end: str | None) -> int | None:
    """Days from ``start`` to ``end`` over 30, truncated toward zero, AACT's unit for durations
    (app/models/calculated_value.rb ``calculate_months_to_report_results``, ``calculate_actual_duration``)."""
    a, b = as_date(start), as_date(end)
    if a is None or b is None:
        return None
    days = (b - a).days
    return days // 30 if days >= 0 else -((-days) // 30)


def age_parts(age: str | None) -> tuple[int | None, str | None]:
    """("18 Years") -> (18, "year"), as app/models/eligibility.rb ``split_age``: the first word as a whole
    number (Ruby ``to_i``: 0 when it is not one), the last word lowercased and singular."""
    if not age or not age.strip():
        return None, None
    words = age.split()
    leading = _LEADING_INT.match(words[0])
    unit = words[-1].lower()
    if len(unit) > 1 and unit.endswith("s") and not unit.endswith("ss"):
        unit = unit[:-1]
    return (int(leading.group(1)) if leading else 0), unit


# The countries AACT counts as the United States for has_us_facility (app/models/facility.rb us_territories).
US_TERRITORIES = frozenset(
    {
        "United States", "Guam", "Puerto Rico", "U.S. Virgin Islands", "Virgin Islands (U.S.)",
        "Northern Mariana Islands", "American Samoa", "Midway Atoll", "Palmyra Atoll", "Baker Island",
        "Howland Island", "Jarvis Island", "Johnston Atoll", "Kingman Reef", "Wake Island", "Navassa Island",
        "Serranilla Bank", "Bajo Nuevo Bank",
    }
)  # fmt: skip
