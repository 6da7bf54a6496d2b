"""Every date form the registry and its mirrors print, read into one partial-date shape.

Registries publish dates at three precisions (``2020``, ``2020-02``,
``2020-02-10``) and label them actual or estimated; mirrors reprint them as
``February 10, 2020``, ``Est. June 30, 2020``, ``23 Dec 2016`` or ``04/05/2016``.
A date is only ever as precise as its source said: ``February 2020`` stays a
month, never becomes the 1st.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

ACTUAL = "ACTUAL"
ESTIMATED = "ESTIMATED"

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}

# Prefixes mirrors put before a date to say whether it is planned or happened. Longer words come first and
# "est" must end there, or "Estimated June 2020" would lose only "Est" and leave "imated June 2020".
_TYPE_PREFIXES = [
    (re.compile(r"^(?:estimated|anticipated|expected|planned|est\.|est\b)\s*:?\s*", re.I), ESTIMATED),
    (re.compile(r"^actual\b\s*:?\s*", re.I), ACTUAL),
]
# The same words inside a label ("Est. completion date", "Study Start (Actual)", "Actual Study Completion Date").
_LABEL_TYPES = [
    (re.compile(r"(?:^|[\s(\[])(?:estimated|anticipated|expected|planned|est\.|est\b)", re.I), ESTIMATED),
    (re.compile(r"(?:^|[\s(\[])actual\b", re.I), ACTUAL),
]
_EMPTY = {"", "n/a", "na", "-", "--", "none", "undefined", "unknown", "not available", "[redacted]"}

_ISO = re.compile(r"^([0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2}))?)?$")
_MONTH_DAY_YEAR = re.compile(r"^([a-z]+)\.?\s+([0-9]{1,2})(?:st|nd|rd|th)?,?\s+([0-9]{4})$", re.I)
_DAY_MONTH_YEAR = re.compile(r"^([0-9]{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+([0-9]{4})$", re.I)
_MONTH_YEAR = re.compile(r"^([a-z]+)\.?,?\s+([0-9]{4})$", re.I)
_NUMERIC = re.compile(r"^([0-9]{1,2})[/.]([0-9]{1,2})[/.]([0-9]{4})$")


def utcnow() -> str:
    """Now, as every timestamp in the database is written: UTC, to the second, with a Z."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class DateFormatError(ValueError):
    """A date string in no form we know; the caller reports it rather than guessing."""


@dataclass(frozen=True)
class ParsedDate:
    value: str  # 'YYYY', 'YYYY-MM' or 'YYYY-MM-DD'
    type: str | None  # ACTUAL, ESTIMATED or None when the source did not say

    @property
    def precision(self) -> str:
        return {4: "year", 7: "month", 10: "day"}[len(self.value)]


def _format(year: int, month: int | None = None, day: int | None = None) -> str:
    if year < 1:
        raise DateFormatError(f"year {year} out of range")
    if month is None:
        return f"{year:04d}"
    if day is None:
        if not 1 <= month <= 12:
            raise DateFormatError(f"month {month} out of range")
        return f"{year:04d}-{month:02d}"
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError as exc:
        raise DateFormatError(str(exc)) from None


def _month(word: str) -> int:
    number = _MONTHS.get(word.lower().rstrip("."))
    if number is None:
        raise DateFormatError(f"unknown month {word!r}")
    return number


@functools.lru_cache(maxsize=16384)
def check_iso_partial(value: str) -> str:
    """Validate an already-ISO partial date ('2020', '2020-02', '2020-02-10'); return it unchanged.

    Cached: every study carries half a dozen dates, drawn from a few thousand distinct days.
    """
    match = _ISO.match(value)
    if not match or (match.group(2) and len(match.group(2)) != 2) or (match.group(3) and len(match.group(3)) != 2):
        raise DateFormatError(f"{value!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = match.groups()
    return _format(int(year), int(month) if month else None, int(day) if day else None)


def parse_date(
    text: str | None, *, day_first: bool | None = None, default_type: str | None = None
) -> ParsedDate | None:
    """Read one displayed date. Empty markers give None; an unknown form raises DateFormatError.

    ``day_first`` must be given for numeric ``04/05/2016`` dates: the site module
    knows its convention, this helper never guesses it.
    """
    if text is None:
        return None
    raw = " ".join(text.split()).strip().rstrip(".").strip()
    if raw.lower() in _EMPTY:
        return None
    date_type = default_type
    for pattern, kind in _TYPE_PREFIXES:
        stripped = pattern.sub("", raw, count=1)
        if stripped != raw:
            raw, date_type = stripped.strip(), kind
            break
    if (match := _ISO.match(raw)) is not None:
        year, month, day = match.groups()
        value = _format(int(year), int(month) if month else None, int(day) if day else None)
    elif (match := _MONTH_DAY_YEAR.match(raw)) is not None:
        value = _format(int(match.group(3)), _month(match.group(1)), int(match.group(2)))
    elif (match := _DAY_MONTH_YEAR.match(raw)) is not None:
        value = _format(int(match.group(3)), _month(match.group(2)), int(match.group(1)))
    elif (match := _MONTH_YEAR.match(raw)) is not None:
        value = _format(int(match.group(2)), _month(match.group(1)))
    elif (match := _NUMERIC.match(raw)) is not None:
        if day_first is None:
            raise DateFormatError(f"{text!r} is ambiguous (day/month order unknown for this site)")
        first, second, year = (int(g) for g in match.groups())
        day, month = (first, second) if day_first else (second, first)
        value = _format(year, month, day)
    else:
        raise DateFormatError(f"{text!r} is not a date form we know")
    return ParsedDate(value, date_type)


def type_from_label(label: str) -> str | None:
    """ACTUAL or ESTIMATED when a label says which ("Est. completion date", "Study Start (Actual)"), else None."""
    for pattern, kind in _LABEL_TYPES:
        if pattern.search(label):
            return kind
    return None


def same_date(a: str | None, b: str | None) -> bool:
    """True when two partial dates can be the same day: equal, or one a less precise prefix of the other."""
    if a is None or b is None:
        return a == b
    return a == b or a.startswith(b + "-") or b.startswith(a + "-")
