"""One vocabulary table across API enums, CT.gov display words and mirror words.

Every site prints the same facts in its own words ("Recruiting", "RECRUITING",
"Enrolling"; "Unknown status", "Unknown"; "Phase 2/Phase 3"). Parsers look
words up here; a word that is not in a table is reported and kept raw by the
caller, never guessed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

V = TypeVar("V")


class OverallStatus(StrEnum):
    ACTIVE_NOT_RECRUITING = "ACTIVE_NOT_RECRUITING"
    COMPLETED = "COMPLETED"
    ENROLLING_BY_INVITATION = "ENROLLING_BY_INVITATION"
    NOT_YET_RECRUITING = "NOT_YET_RECRUITING"
    RECRUITING = "RECRUITING"
    SUSPENDED = "SUSPENDED"
    TERMINATED = "TERMINATED"
    WITHDRAWN = "WITHDRAWN"
    AVAILABLE = "AVAILABLE"
    NO_LONGER_AVAILABLE = "NO_LONGER_AVAILABLE"
    TEMPORARILY_NOT_AVAILABLE = "TEMPORARILY_NOT_AVAILABLE"
    APPROVED_FOR_MARKETING = "APPROVED_FOR_MARKETING"
    WITHHELD = "WITHHELD"
    UNKNOWN = "UNKNOWN"


class StudyType(StrEnum):
    INTERVENTIONAL = "INTERVENTIONAL"
    OBSERVATIONAL = "OBSERVATIONAL"
    EXPANDED_ACCESS = "EXPANDED_ACCESS"


class Phase(StrEnum):
    NA = "NA"
    EARLY_PHASE1 = "EARLY_PHASE1"
    PHASE1 = "PHASE1"
    PHASE2 = "PHASE2"
    PHASE3 = "PHASE3"
    PHASE4 = "PHASE4"


class Sex(StrEnum):
    ALL = "ALL"
    FEMALE = "FEMALE"
    MALE = "MALE"


class InterventionType(StrEnum):
    BEHAVIORAL = "BEHAVIORAL"
    BIOLOGICAL = "BIOLOGICAL"
    COMBINATION_PRODUCT = "COMBINATION_PRODUCT"
    DEVICE = "DEVICE"
    DIAGNOSTIC_TEST = "DIAGNOSTIC_TEST"
    DIETARY_SUPPLEMENT = "DIETARY_SUPPLEMENT"
    DRUG = "DRUG"
    GENETIC = "GENETIC"
    PROCEDURE = "PROCEDURE"
    RADIATION = "RADIATION"
    OTHER = "OTHER"


@functools.lru_cache(maxsize=4096)
def word_key(text: str) -> str:
    """Normalise a displayed word for lookup: case, punctuation and spacing do not matter.

    Cached: the same few status and type words are looked up for every study and every one of its sites.
    """
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def word_table(words: Mapping[str, V]) -> dict[str, V]:
    """A lookup table of displayed words, keyed as ``lookup`` compares them."""
    return {word_key(word): value for word, value in words.items()}


def _table(enum: type[StrEnum], extra: Mapping[str, str]) -> dict[str, str]:
    return {**word_table({member.value: member.value for member in enum}), **word_table(extra)}


STATUS_WORDS = _table(
    OverallStatus,
    {
        # CT.gov display words
        "Active, not recruiting": "ACTIVE_NOT_RECRUITING",
        "Enrolling by invitation": "ENROLLING_BY_INVITATION",
        "Not yet recruiting": "NOT_YET_RECRUITING",
        "No longer available": "NO_LONGER_AVAILABLE",
        "Temporarily not available": "TEMPORARILY_NOT_AVAILABLE",
        "Approved for marketing": "APPROVED_FOR_MARKETING",
        "Unknown status": "UNKNOWN",
    },
)

STUDY_TYPE_WORDS = _table(
    StudyType,
    {
        "Interventional (Clinical Trial)": "INTERVENTIONAL",
        "Observational [Patient Registry]": "OBSERVATIONAL",
        "Observational (Patient Registry)": "OBSERVATIONAL",
        "Patient Registry": "OBSERVATIONAL",
    },
)

PHASE_WORDS = _table(
    Phase,
    {
        "N/A": "NA",
        "Not Applicable": "NA",
        "Early Phase 1": "EARLY_PHASE1",
        "Phase 0": "EARLY_PHASE1",
        "Phase 1": "PHASE1",
        "Phase 2": "PHASE2",
        "Phase 3": "PHASE3",
        "Phase 4": "PHASE4",
        "Phase I": "PHASE1",
        "Phase II": "PHASE2",
        "Phase III": "PHASE3",
        "Phase IV": "PHASE4",
    },
)

SEX_WORDS = _table(Sex, {"Both": "ALL", "All Sexes": "ALL", "Female only": "FEMALE", "Male only": "MALE"})

# Display words ("Dietary Supplement") key like the enum values ("DIETARY_SUPPLEMENT"): nothing to add.
INTERVENTION_TYPE_WORDS = _table(InterventionType, {})

# Trial design words as CT.gov's API enums (designInfo.*).
PRIMARY_PURPOSE_WORDS = word_table(
    {
        "Treatment": "TREATMENT",
        "Prevention": "PREVENTION",
        "Diagnostic": "DIAGNOSTIC",
        "Supportive Care": "SUPPORTIVE_CARE",
        "Screening": "SCREENING",
        "Health Services Research": "HEALTH_SERVICES_RESEARCH",
        "Basic Science": "BASIC_SCIENCE",
        "Device Feasibility": "DEVICE_FEASIBILITY",
        "Educational/Counseling/Training": "ECT",
        "Other": "OTHER",
    }
)
ALLOCATION_WORDS = word_table(
    {
        "Randomized": "RANDOMIZED",
        "Non-Randomized": "NON_RANDOMIZED",
        "Nonrandomized": "NON_RANDOMIZED",
    }
)
INTERVENTION_MODEL_WORDS = word_table(
    {
        "Single Group Assignment": "SINGLE_GROUP",
        "Single Group": "SINGLE_GROUP",
        "Parallel Assignment": "PARALLEL",
        "Parallel": "PARALLEL",
        "Crossover Assignment": "CROSSOVER",
        "Crossover": "CROSSOVER",
        "Factorial Assignment": "FACTORIAL",
        "Factorial": "FACTORIAL",
        "Sequential Assignment": "SEQUENTIAL",
        "Sequential": "SEQUENTIAL",
    }
)
# Masking is shown as "None (Open label)", "Double (Participant, Investigator)", ...: the word before "(" decides.
MASKING_WORDS = word_table(
    {
        "None": "NONE",
        "Open label": "NONE",
        "Single": "SINGLE",
        "Single blind": "SINGLE",
        "Double": "DOUBLE",
        "Double blind": "DOUBLE",
        "Triple": "TRIPLE",
        "Quadruple": "QUADRUPLE",
    }
)

# What mirrors print where a value is missing. Not "None" or "Unknown": those are real values of some fields
# (masking "None (Open Label)", status "Unknown"), so a field-specific table decides about them.
EMPTY_MARKERS = frozenset({"", "n/a", "na", "-", "--", "—", "–", "undefined", "null", "[redacted]", "redacted"})

YES_NO_WORDS = {
    "yes": True,
    "y": True,
    "true": True,
    "accepts healthy volunteers": True,
    "no": False,
    "n": False,
    "false": False,
    "does not accept healthy volunteers": False,
    "no healthy volunteers": False,
}


def clean_text(text: str | None) -> str | None:
    """A displayed value with whitespace collapsed (non-breaking spaces too); None for an empty marker.

    So "n/a", "N/A", "-", "[Redacted]" and "&nbsp;" become NULL in the database, never text.
    """
    if text is None:
        return None
    value = " ".join(text.split())
    return None if value.lower() in EMPTY_MARKERS else value


def yes_no(text: str | None) -> bool | None:
    """'Yes' / 'No' (and the healthy-volunteer phrasings mirrors use) as a bool; None when unknown or empty."""
    value = clean_text(text)
    if value is None:
        return None
    return YES_NO_WORDS.get(" ".join(value.lower().rstrip(".").split()))


def lookup(table: Mapping[str, str], word: str | None) -> str | None:
    """The canonical value of a displayed word, or None when the table does not know it."""
    if word is None:
        return None
    return table.get(word_key(word))


def phases_from_text(text: str) -> list[str] | None:
    """'Phase 2/Phase 3', 'Phase 1/2', 'PHASE2, PHASE3' → ['PHASE2', 'PHASE3']; None if any part is unknown."""
    key = word_key(text)
    if key in PHASE_WORDS:
        return [PHASE_WORDS[key]]
    parts = [p for p in re.split(r"\s*(?:/|,|\band\b|\|)\s*", text.strip()) if p.strip()]
    phases: list[str] = []
    for part in parts:
        if re.fullmatch(r"[0-9]", part.strip()):
            part = f"Phase {part.strip()}"
        value = lookup(PHASE_WORDS, part)
        if value is None:
            return None
        if value not in phases:
            phases.append(value)
    return phases or None


_AGE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(years?|months?|weeks?|days?|hours?|minutes?)?", re.I)


def _age(number: str, unit: str | None) -> str:
    unit = (unit or "years").lower()
    unit = unit if unit.endswith("s") else unit + "s"
    value = float(number)
    shown = str(int(value)) if value.is_integer() else number
    return f"{shown} {unit.capitalize()}"


def ages_from_text(text: str) -> tuple[str | None, str | None] | None:
    """Minimum and maximum age in CT.gov's form ('18 Years') from a displayed range.

    Handles '18+ years old', '20 to 60 years old', '18 Years and older',
    '18 Years - 60 Years', 'up to 65 years', '18 Years to 65 Years'. None when unreadable.
    """
    raw = " ".join(text.split())
    lowered = raw.lower()
    found = _AGE.findall(raw)
    if not found:
        return None
    if len(found) >= 2 and re.search(r"\bto\b|-|–|\band\b", lowered):
        (lo, lo_unit), (hi, hi_unit) = found[0], found[1]
        return _age(lo, lo_unit or hi_unit), _age(hi, hi_unit)
    number, unit = found[0]
    if re.search(r"\+|and older|and over|or older|\bminimum\b|\bmin\b", lowered):
        return _age(number, unit), None
    if re.search(r"up to|and younger|or younger|under|\bmaximum\b|\bmax\b", lowered):
        return None, _age(number, unit)
    return None
