"""Trial identifiers: NCT numbers and the secondary IDs registries assign.

Matching across sites is by NCT number only; secondary IDs are validated per
scheme so that placeholders ("ISRCTN00000000", "n/a", all zeros) never become
keys anyone joins on.
"""

from __future__ import annotations

import re
from enum import StrEnum
from urllib.parse import urlsplit

from harvest.core.errors import InputError, InvalidNCTId

NCT_RE = re.compile(r"^NCT[0-9]{8}\Z")  # ASCII digits only; \Z: no trailing newline either


def normalize_nct(value: str) -> str:
    """Return the canonical form of an NCT number (upper case, no spaces) or raise InvalidNCTId."""
    text = (value or "").strip()
    if NCT_RE.match(text):
        return text
    match = re.match(r"^nct([0-9]{8})$", text, re.IGNORECASE | re.ASCII)
    if match:
        return f"NCT{match.group(1)}"
    raise InvalidNCTId(value)


def is_nct(value: str) -> bool:
    return bool(NCT_RE.match(value or ""))


# The addresses of a study on ClinicalTrials.gov that people copy from the browser: the site as it is
# (/study/NCT…), the classic site (/ct2/show/NCT…, /ct2/show/record/…, /ct2/show/results/…, /ct2/history/…)
# and the oldest (/show/NCT…), on any of its hosts (www., classic., beta.), with any query string or fragment.
_REGISTRY_HOST = re.compile(r"^(?:[a-z0-9-]+\.)*clinicaltrials\.gov$")
_REGISTRY_PATH = re.compile(
    r"^/(?:study|show|ct2/show(?:/record|/results|/study)?|ct2/history|ct2/results)/(nct[0-9]{8})/?$", re.IGNORECASE
)


def nct_from_registry_address(text: str) -> str | None:
    """The NCT number of a ClinicalTrials.gov study address, else None (any other address or text)."""
    address = (text or "").strip()
    if "://" not in address:
        if not address.lower().startswith(("clinicaltrials.gov/", "www.clinicaltrials.gov/")):
            return None
        address = "https://" + address
    parts = urlsplit(address)
    if parts.scheme.lower() not in ("http", "https") or not _REGISTRY_HOST.match((parts.hostname or "").lower()):
        return None
    found = _REGISTRY_PATH.match(parts.path)
    return f"NCT{found.group(1)[3:]}" if found else None


def nct_or_address(text: str) -> str:
    """An NCT number given as itself or as a ClinicalTrials.gov study address (see ``nct_from_registry_address``)."""
    found = nct_from_registry_address(text)
    if found:
        return found
    if "://" in (text or "") or (text or "").lower().startswith(("clinicaltrials.gov", "www.")):
        raise InputError(
            f"{text!r} is not a ClinicalTrials.gov study address (expected …/study/NCT…, or …/ct2/show/NCT… on the "
            "classic site)"
        )
    return normalize_nct(text)


class IdScheme(StrEnum):
    """Who assigned a secondary ID. CT.gov's secondaryIdInfos types plus the registries we recognise."""

    NCT = "NCT"
    ORG_STUDY_ID = "ORG_STUDY_ID"
    EUDRACT = "EUDRACT"
    CTIS = "CTIS"
    ISRCTN = "ISRCTN"
    WHO_UTN = "WHO_UTN"
    NIH = "NIH"
    FDA = "FDA"
    VA = "VA"
    CDC = "CDC"
    AHRQ = "AHRQ"
    SAMHSA = "SAMHSA"
    OTHER_GRANT = "OTHER_GRANT"
    REGISTRY = "REGISTRY"
    OTHER = "OTHER"


# Registry schemes whose format we can check; a value that fails its pattern is not that registry's ID.
_PATTERNS: dict[IdScheme, re.Pattern[str]] = {
    IdScheme.NCT: NCT_RE,
    IdScheme.EUDRACT: re.compile(r"^[0-9]{4}-[0-9]{6}-[0-9]{2}$"),
    IdScheme.CTIS: re.compile(r"^[0-9]{4}-[0-9]{6}-[0-9]{2}-[0-9]{2}$"),
    IdScheme.ISRCTN: re.compile(r"^ISRCTN[0-9]{8}$"),
    IdScheme.WHO_UTN: re.compile(r"^U[0-9]{4}-[0-9]{4}-[0-9]{4}$"),
}

# CT.gov's secondaryIdInfos[].type words, mapped onto our schemes.
CTGOV_ID_TYPES: dict[str, IdScheme] = {
    "NIH": IdScheme.NIH,
    "FDA": IdScheme.FDA,
    "VA": IdScheme.VA,
    "CDC": IdScheme.CDC,
    "AHRQ": IdScheme.AHRQ,
    "SAMHSA": IdScheme.SAMHSA,
    "OTHER_GRANT": IdScheme.OTHER_GRANT,
    "EUDRACT_NUMBER": IdScheme.EUDRACT,
    "CTIS": IdScheme.CTIS,
    "REGISTRY": IdScheme.REGISTRY,
    "OTHER": IdScheme.OTHER,
}

PLACEHOLDERS = frozenset(
    {
        "",
        "n/a",
        "na",
        "none",
        "nil",
        "null",
        "-",
        "--",
        "undefined",
        "[redacted]",
        "unknown",
        "not applicable",
        "pending",
        "tbd",
        "0",
    }
)


def is_placeholder(value: str) -> bool:
    """True for values that stand for "no ID": empty markers, all zeros, ISRCTN00000000 and the like."""
    text = (value or "").strip().lower()
    if text in PLACEHOLDERS:
        return True
    if re.fullmatch(r"[0-9]{4}-0{6}-[0-9]{2}(-[0-9]{2})?", text):
        return True  # a EudraCT/CTIS number with an all-zero serial: a form filled in with nothing
    digits = re.sub(r"[^0-9]", "", text)
    # An ID whose every digit is zero and which has nothing but a registry prefix around them.
    return bool(digits) and set(digits) == {"0"} and len(re.sub(r"[0-9\W_]", "", text)) <= 6


def clean_id(value: str) -> str:
    return " ".join((value or "").split())


def classify(value: str, declared: IdScheme | None = None) -> IdScheme | None:
    """The scheme a secondary ID belongs to, or None if it is a placeholder.

    A declared registry scheme whose pattern the value fails is demoted to OTHER
    (kept, not trusted); an OTHER or REGISTRY value that matches a registry
    pattern exactly is promoted to that registry.
    """
    text = clean_id(value)
    if is_placeholder(text):
        return None
    if declared in _PATTERNS:
        return declared if _PATTERNS[declared].match(text) else IdScheme.OTHER
    if declared in (None, IdScheme.OTHER, IdScheme.REGISTRY):
        for scheme, pattern in _PATTERNS.items():
            if pattern.match(text.upper() if scheme is not IdScheme.EUDRACT else text):
                return scheme
    return declared or IdScheme.OTHER
