"""Displayed values → canonical fields, for parsers of HTML mirrors.

Every mirror prints the same kinds of value (a status word, a date, "Yes"/"No", "18 Years and older").
``RecordBuilder`` turns them into the canonical Study's values with the shared word tables and date
reader. What it cannot map is kept, as shown, in ``unmapped`` (stored with the record), never guessed;
empty markers ("n/a", "-", "[Redacted]") become None, never text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from harvest.core.dates import DateFormatError, parse_date, type_from_label
from harvest.core.schema import MAX_ENROLLMENT
from harvest.core.vocab import ages_from_text, clean_text, lookup, phases_from_text, yes_no

_ACRONYM = re.compile(r"^(?P<base>.*\S)\s*\((?P<acronym>[^()]{1,40})\)$")
_COUNT = re.compile(r"^([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\s+(?:participants?|patients?|subjects?))?$", re.I)


class RecordBuilder:
    """Collects one page's canonical fields."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.unmapped: dict[str, str] = {}

    def _report(self, field: str, shown: str) -> None:
        self.unmapped.setdefault(field, shown)

    def text(self, field: str, value: str | None) -> str | None:
        """A short value on one line (a name, a title); an empty marker gives nothing."""
        shown = clean_text(value)
        if shown is not None:
            self.data.setdefault(field, shown)
        return shown

    def prose(self, field: str, value: str | None) -> str | None:
        """Running text, paragraphs and line breaks kept as given; an empty marker gives nothing."""
        if value is None or clean_text(value) is None:
            return None
        self.data.setdefault(field, value.strip())
        return value.strip()

    def word(self, field: str, table: Mapping[str, str], value: str | None) -> str | None:
        """A display word looked up in one of the vocab tables."""
        shown = clean_text(value)
        if shown is None:
            return None
        mapped = lookup(table, shown)
        if mapped is None:
            self._report(field, shown)
        else:
            self.data.setdefault(field, mapped)
        return mapped

    def phases(self, value: str | None) -> list[str] | None:
        shown = clean_text(value)
        if shown is None:
            return None
        phases = phases_from_text(shown)
        if phases is None:
            self._report("phases", shown)
        else:
            self.data.setdefault("phases", phases)
        return phases

    def date(self, field: str, value: str | None, *, label: str = "", typed: bool = True) -> None:
        """A displayed date; ``label`` may say it is estimated or actual ("Est. completion date")."""
        shown = clean_text(value)
        if shown is None:
            return
        try:
            parsed = parse_date(shown, default_type=type_from_label(label))
        except DateFormatError:
            self._report(field, shown)
            return
        if parsed is None:
            return
        item: dict[str, Any] = {"value": parsed.value}
        if typed and parsed.type:
            item["type"] = parsed.type
        self.data.setdefault(field, item)

    def count(self, field: str, value: str | None) -> int | None:
        """A whole number such as an enrollment ("120", "1,148", "20 participants")."""
        shown = clean_text(value)
        if shown is None:
            return None
        match = _COUNT.match(shown)
        if match is None:
            self._report(field, shown)
            return None
        number = int(match.group(1).replace(",", ""))
        if number > MAX_ENROLLMENT:  # a run-together or garbled number
            self._report(field, shown)
            return None
        self.data.setdefault(field, number)
        return number

    def boolean(self, field: str, value: str | None) -> None:
        shown = clean_text(value)
        if shown is None:
            return
        answer = yes_no(shown)
        if answer is None:
            self._report(field, shown)
        else:
            self.data.setdefault(field, answer)

    def ages(self, value: str | None) -> None:
        """An age range ("18 Years and older") into minimum_age / maximum_age."""
        shown = clean_text(value)
        if shown is None:
            return
        ages = ages_from_text(shown)
        if ages is None:
            self._report("minimum_age", shown)
            return
        low, high = ages
        if low:
            self.data.setdefault("minimum_age", low)
        if high:
            self.data.setdefault("maximum_age", high)

    def items(self, field: str, values: list[str | None]) -> None:
        """A list of names (conditions, collaborators): empty markers and repeats dropped, order kept."""
        kept = list(dict.fromkeys(v for v in (clean_text(value) for value in values) if v))
        if kept:
            self.data.setdefault(field, kept)

    def result(self) -> dict[str, Any]:
        """The collected fields, with ``unmapped`` when something was not understood."""
        data = dict(self.data)
        if self.unmapped:
            data["unmapped"] = dict(self.unmapped)
        return data


def split_acronym(title: str) -> tuple[str, str | None]:
    """'Brief title (ACRONYM)' → ('Brief title', 'ACRONYM'); a trailing group that reads as prose stays put.

    Mirrors print CT.gov's brief title followed by the acronym in parentheses, as CT.gov's own pages do;
    one rule for all of them, so two mirrors never disagree about the same heading. An acronym has an
    upper-case letter and no all-lower-case word ("(IMMUNOSEPSIS 4)", "(PREVENT-it)"); "(in adults)" is
    part of the title. A brief title that itself ends in "(COVID-19)" is split too (CT.gov's record, first
    in precedence, has the last word on both fields).
    """
    match = _ACRONYM.match(title.strip())
    if not match:
        return title.strip(), None
    acronym = match.group("acronym").strip()
    words = acronym.split()
    if not re.search(r"[A-Z]", acronym) or any(re.fullmatch(r"[a-z]{2,}", word) for word in words) or len(words) > 4:
        return title.strip(), None
    return match.group("base").strip(), acronym
