"""ctv's displayed values mapped onto the canonical Study: its own words, its enrollment and age phrasings."""

from __future__ import annotations

import re
from typing import Any

from harvest.core import vocab
from harvest.core.errors import InvalidNCTId
from harvest.core.ids import IdScheme, classify, clean_id, normalize_nct
from harvest.core.schema import MAX_ENROLLMENT
from harvest.core.vocab import (
    ALLOCATION_WORDS,
    INTERVENTION_MODEL_WORDS,
    INTERVENTION_TYPE_WORDS,
    MASKING_WORDS,
    PRIMARY_PURPOSE_WORDS,
    SEX_WORDS,
    STUDY_TYPE_WORDS,
    ages_from_text,
    lookup,
    phases_from_text,
    word_key,
    word_table,
)
from harvest.sources.reading.fields import split_acronym
from harvest.sources.veeva.page import EMPTY_MARKERS, StudyPage, item_bullet, item_text

# ctv's "Funder types" words, as CT.gov's leadSponsor.class / collaborators' class enum.
FUNDER_TYPE_WORDS = word_table(
    {
        "Industry": "INDUSTRY",
        "NIH": "NIH",
        "U.S. Fed": "FED",
        "Federal": "FED",
        "Other U.S. Federal agency": "OTHER_GOV",
        "Other Government": "OTHER_GOV",
        "Individual": "INDIV",
        "Network": "NETWORK",
        "Other": "OTHER",
        "Unknown": "UNKNOWN",
    }
)
# ctv's own status words; CT.gov's display words and enums come from the shared table.
STATUS_WORDS = {
    **vocab.STATUS_WORDS,
    **word_table(
        {
            "Enrolling": "RECRUITING",
            "Active, not enrolling": "ACTIVE_NOT_RECRUITING",
            "Not yet enrolling": "NOT_YET_RECRUITING",
            "Enrolling by invite": "ENROLLING_BY_INVITATION",
            "Trial completed": "COMPLETED",
        }
    ),
}
VOLUNTEER_WORDS = word_table(
    {
        "No Healthy Volunteers": False,
        "No": False,
        "Accepts Healthy Volunteers": True,
        "Healthy Volunteers": True,
        "Healthy Volunteers Accepted": True,
        "Yes": True,
    }
)

_ENROLLMENT = re.compile(
    r"([0-9][0-9,]*)\s*(estimated|actual|anticipated)?\s*(?:patients?|participants?|subjects?|people)?", re.I
)
_EMAIL = re.compile(r"\S+@\S+\.\w+")
_PHONE = re.compile(r"\+?[0-9][0-9\s().\-/]{5,}(?:\s*(?:ext\.?|x)\s*[0-9]+)?", re.I)


def _lookup_or_keep(table: dict[str, Any], word: str | None, unmapped: dict[str, str], field: str) -> Any:
    if word is None:
        return None
    value = table.get(word_key(word))
    if value is None:
        unmapped[field] = word
    return value


def _status_and_phases(page: StudyPage, data: dict[str, Any], unmapped: dict[str, str]) -> None:
    values = page.values("Status and phase") or page.values("Status")
    if not values:
        return
    data["overall_status"] = _lookup_or_keep(STATUS_WORDS, values[0], unmapped, "overall_status")
    phases: list[str] = []
    for line in values[1:]:
        found = phases_from_text(line)
        if found is None:
            unmapped["phases"] = line
            continue
        phases.extend(p for p in found if p not in phases)
    data["phases"] = phases


def _interventions(lines: list[str], unmapped: dict[str, str]) -> list[dict[str, Any]]:
    """'Type: name' lines; an unknown type word is reported and the whole line kept as the name."""
    interventions = []
    for line in lines:
        kind, sep, name = line.partition(":")
        if sep and name.strip() and lookup(INTERVENTION_TYPE_WORDS, kind) is not None:
            interventions.append({"type": lookup(INTERVENTION_TYPE_WORDS, kind), "name": name.strip()})
        else:
            if sep and name.strip():
                unmapped["interventions.type"] = kind.strip()
            interventions.append({"type": None, "name": line})
    return interventions


_GROUPS_LINE = re.compile(r"^[0-9][0-9,]* participants? in [0-9]+ patient groups?\b", re.I)
_TREATMENT_LINE = re.compile(r"^treatments?:$", re.I)
DESIGN_HEADINGS = ("Trial design", "Primary purpose", "Allocation", "Interventional model", "Masking")


def _arm_groups(lines: list[str], unmapped: dict[str, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The patient groups under "N participants in K patient groups": each a label, its description lines,
    then "Treatment:" and its 'Type: name' lines (which is how the next group's label is told apart).
    """
    start = next((i for i, line in enumerate(lines) if _GROUPS_LINE.match(line)), None)
    if start is None:
        return [], []
    groups: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    in_treatments = False
    for line in lines[start + 1 :]:
        if line.casefold().rstrip(".…") == "loading":  # the placeholder of a section that loads by script
            continue
        if _TREATMENT_LINE.match(line) and current is not None:
            in_treatments = True
            continue
        if in_treatments and current is not None:
            kind, sep, _ = line.partition(":")
            if sep and lookup(INTERVENTION_TYPE_WORDS, kind) is not None:
                for item in _interventions([line], unmapped):
                    links.append(
                        {
                            "design_group_label": current["label"],
                            "intervention_type": item["type"],
                            "intervention_name": item["name"],
                        }
                    )
                continue
        if current is None or in_treatments:
            current, in_treatments = {"label": line}, False
            groups.append(current)
        else:
            current["description"] = f"{current['description']} {line}" if current.get("description") else line
    return groups, links


def _identifiers(lines: list[str]) -> tuple[str | None, list[dict[str, Any]]]:
    """The NCT (first line only) and the other IDs.

    CT.gov requires an org study ID and ctv lists it right after the NCT, so
    that line is ORG_STUDY_ID (as the ctgov source labels it, which lets the
    merge see both agree); later lines are whatever registry their format
    proves (EudraCT, ISRCTN, ...) or OTHER. Without an NCT first, no line is
    trusted to be the org ID and all are classified by format alone.
    """
    nct = None
    rest = [clean_id(line) for line in lines if clean_id(line)]
    if rest:
        try:
            nct = normalize_nct(rest[0])
            rest = rest[1:]
        except InvalidNCTId:
            nct = None
    identifiers = []
    for position, value in enumerate(rest):
        declared = IdScheme.ORG_STUDY_ID if nct is not None and position == 0 else None
        scheme = classify(value, declared)
        if scheme is not None:
            identifiers.append({"scheme": scheme.value, "value": value})
    return nct, identifiers


def _enrollment(text: str | None, data: dict[str, Any], unmapped: dict[str, str]) -> None:
    if text is None:
        return
    match = _ENROLLMENT.fullmatch(text.strip())
    if not match:
        unmapped["enrollment"] = text
        return
    number = int(match.group(1).replace(",", ""))
    if number > MAX_ENROLLMENT:  # a run-together or garbled number
        unmapped["enrollment"] = text
        return
    data["enrollment"] = number
    kind = (match.group(2) or "").lower()
    if kind:
        data["enrollment_type"] = "ACTUAL" if kind == "actual" else "ESTIMATED"


def _ages(text: str | None, data: dict[str, Any], unmapped: dict[str, str]) -> None:
    if text is None:
        return
    ages = ages_from_text(text)
    if ages is None:
        unmapped["minimum_age"] = text
        return
    data["minimum_age"], data["maximum_age"] = ages


def _prose(lines: list[str]) -> str | None:
    """Paragraphs apart by a blank line, list items one per line with their bullet ('* ' or '1. ')."""
    parts: list[str] = []
    previous_item = False
    for line in lines:
        bullet = item_bullet(line)
        text = item_text(line)
        if not text or text.casefold() in EMPTY_MARKERS:
            continue
        if parts:
            parts.append("\n" if bullet and previous_item else "\n\n")
        parts.append(f"{bullet}{text}" if bullet else text)
        previous_item = bullet is not None
    return "".join(parts) or None


def _criteria(page: StudyPage) -> str | None:
    """Both criteria lists as CT.gov writes them: 'Inclusion Criteria:\\n\\n* item\\n\\nExclusion Criteria:...'."""
    blocks = []
    for label, heading in (
        ("Inclusion criteria", "Inclusion Criteria:"),
        ("Exclusion criteria", "Exclusion Criteria:"),
    ):
        text = _prose(page.sections.get(label, []))
        if text:
            blocks.append(f"{heading}\n\n{text}")
    return "\n\n".join(blocks) or None


def _design(word: str | None, table: dict[str, str], unmapped: dict[str, str], field: str) -> str | None:
    if word is None:
        return None
    key = word_key(word)
    value = table.get(key) or table.get(word_key(re.sub(r"\(.*?\)", " ", word)))
    if value is None:
        unmapped[field] = word
    return value


def _contacts(lines: list[str]) -> list[dict[str, Any]]:
    """Central contacts: a name line, optionally followed by its phone and e-mail lines."""
    contacts: list[dict[str, Any]] = []
    for line in lines:
        if _EMAIL.fullmatch(line) and contacts:
            contacts[-1].setdefault("email", line)
        elif _PHONE.fullmatch(line) and contacts:
            contacts[-1].setdefault("phone", line)
        else:
            contacts.append({"role": "CENTRAL_CONTACT", "name": line, "kind": "central"})
    return contacts


def _sponsor(hero: list[str]) -> str | None:
    """The sponsor name is the last line under the title; a one-letter line is the logo placeholder."""
    names = [line for line in hero if len(line) > 1 and not line.endswith(" logo")]
    return names[-1] if names else None


def study_fields(page: StudyPage) -> tuple[str | None, dict[str, Any]]:
    """The NCT shown under Identifiers (or None) and every other canonical field the page shows."""
    unmapped: dict[str, str] = {}
    data: dict[str, Any] = {}
    if page.title:
        data["brief_title"], data["acronym"] = split_acronym(page.title)
    _status_and_phases(page, data, unmapped)
    data["conditions"] = page.values("Conditions")
    data["interventions"] = _interventions(page.values("Treatments"), unmapped)
    data["study_type"] = _lookup_or_keep(STUDY_TYPE_WORDS, page.first("Study type"), unmapped, "study_type")
    funder_types = {
        _lookup_or_keep(FUNDER_TYPE_WORDS, word, unmapped, "funder_types") for word in page.values("Funder types")
    }
    if len(funder_types) == 1 and None not in funder_types:
        # One funder type for every funder: it is the lead sponsor's class too.
        data["lead_sponsor_class"] = funder_types.pop()
    nct, data["identifiers"] = _identifiers(page.values("Identifiers"))
    data["lead_sponsor"] = _sponsor(page.hero)
    data["brief_summary"] = _prose(page.sections.get("About", []))
    _enrollment(page.first("Enrollment"), data, unmapped)
    data["sex"] = _lookup_or_keep(SEX_WORDS, page.first("Sex"), unmapped, "sex")
    _ages(page.first("Ages"), data, unmapped)
    data["healthy_volunteers"] = _lookup_or_keep(
        VOLUNTEER_WORDS, page.first("Volunteers"), unmapped, "healthy_volunteers"
    )
    data["eligibility_criteria"] = _criteria(page)
    data["primary_purpose"] = _design(page.first("Primary purpose"), PRIMARY_PURPOSE_WORDS, unmapped, "primary_purpose")
    data["allocation"] = _design(page.first("Allocation"), ALLOCATION_WORDS, unmapped, "allocation")
    data["intervention_model"] = _design(
        page.first("Interventional model"), INTERVENTION_MODEL_WORDS, unmapped, "intervention_model"
    )
    data["masking"] = _design(page.first("Masking"), MASKING_WORDS, unmapped, "masking")
    design_lines = [line for heading in DESIGN_HEADINGS for line in page.values(heading)]
    data["design_groups"], data["design_group_interventions"] = _arm_groups(design_lines, unmapped)
    data["contacts"] = _contacts(page.values("Central trial contact"))
    data = {key: value for key, value in data.items() if value is not None and value != [] and value != ""}
    if unmapped:
        data["unmapped"] = unmapped
    return nct, data
