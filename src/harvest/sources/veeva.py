"""ClinicalTrials.Veeva (ctv.veeva.com): CT.gov records republished as server-rendered HTML.

Pages live at ``/study/<slug>`` (the title, cut at 100 characters, slugged)
and are found through the sitemap index; robots.txt disallows
``/study-search``. The parser is label-driven: it reads the page as a reader
sees it (one line per block, via ``htmltext``), finds the headings the site
prints (``Status`` or ``Status and phase``, ``Conditions``, ``Identifiers``,
``About``, ``Enrollment``, ...) and takes the lines that follow each, whatever
tags or classes carry them.

Quirks of the site, all handled here:

- The NCT number is the first line under ``Identifiers``, and only there: the
  block can be empty (seed 004), so a page may show no NCT at all. Such a page
  is identified through ClinicalTrials.gov by exact title, or left unresolved.
- Status words are ctv's own ("Enrolling" = RECRUITING); a word the
  vocabulary does not know is kept in ``unmapped`` and never guessed.
- The title is the brief title plus " (ACRONYM)"; sponsor names may be
  translated ("Civil Hospices of Lyon" for "Hospices Civils de Lyon").
- Locations are loaded by script ("Loading..."), so the HTML never has them.
- One observed render shows the headings with every value missing: a page
  without the values every study page has raises ``LayoutChanged``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from harvest.core import vocab
from harvest.core.errors import HarvestError, InvalidNCTId, LayoutChanged, MissingIdentity, NotAStudyPage, ParseError
from harvest.core.ids import IdScheme, classify, clean_id, normalize_nct
from harvest.core.records import SourceRecord, Unresolved
from harvest.core.schema import MAX_ENROLLMENT, Study
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
from harvest.sources.base import HarvestPlan, Page, register
from harvest.sources.mirror import MirrorSource
from harvest.sources.reading.fields import split_acronym
from harvest.sources.reading.htmltext import parse_html, text_lines
from harvest.sources.reading.labelled import label_key

SITE_NAME = "ClinicalTrials.Veeva"
STUDY_PATH = re.compile(r"^/study/[^/?#]+/?$")

# Every heading the site prints, by its normalised text. Content runs from a heading to the next one.
LABELS = (
    "Status",
    "Status and phase",
    "Conditions",
    "Treatments",
    "Study type",
    "Funder types",
    "Identifiers",
    "Details and patient eligibility",
    "About",
    "Enrollment",
    "Sex",
    "Ages",
    "Volunteers",
    "Inclusion criteria",
    "Exclusion criteria",
    "Trial design",
    "Primary purpose",
    "Allocation",
    "Interventional model",
    "Masking",
    "Trial contacts and locations",
    "Central trial contact",
)
# The footer starts here; nothing after it belongs to the study.
END_MARKERS = ("data sourced from clinicaltrials.gov",)
CHROME = frozenset({"clinicaltrials.veeva", "menu"})
# Shown for "no value"; a value like this is no value.
EMPTY_MARKERS = vocab.EMPTY_MARKERS | {"none provided"}

# Study pages always show these headings with a value (Status may be "Status and phase"), and Identifiers as a
# heading (its block may be empty: the page then shows no NCT). The headings-only render lacks all of them.
REQUIRED_WITH_VALUE = ("Status", "Conditions", "Study type")
REQUIRED_PRESENT = ("Identifiers",)
LABEL_VARIANTS = {"Status": ("Status", "Status and phase")}

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

_ITEM = "\ue000"  # private-use marker put in front of list items, so criteria and About keep their bullets
_ENROLLMENT = re.compile(
    r"(\d[\d,]*)\s*(estimated|actual|anticipated)?\s*(?:patients?|participants?|subjects?|people)?", re.I
)
_EMAIL = re.compile(r"\S+@\S+\.\w+")
_PHONE = re.compile(r"\+?[\d][\d\s().\-/]{5,}(?:\s*(?:ext\.?|x)\s*\d+)?", re.I)


# -- reading the page -------------------------------------------------------------------------------


@dataclass
class StudyPage:
    """What a ctv study page shows: its title, the lines under the title, and each heading's lines."""

    title: str | None
    hero: list[str]
    sections: dict[str, list[str]] = field(default_factory=dict)

    def values(self, label: str) -> list[str]:
        """The non-empty value lines under a heading, list bullets removed."""
        lines = [item_text(line) for line in self.sections.get(label, [])]
        return [line for line in lines if line.casefold() not in EMPTY_MARKERS]

    def first(self, label: str) -> str | None:
        values = self.values(label)
        return values[0] if values else None

    def has(self, label: str) -> bool:
        return label in self.sections


_LABEL_KEYS = {label_key(label): label for label in LABELS}


def item_text(line: str) -> str:
    """A line without the list-item marker (and the bullet) the parser put in front of it."""
    if line.startswith(_ITEM):
        return line[len(_ITEM) :].split(" ", 1)[1] if " " in line else ""
    return line


def item_bullet(line: str) -> str | None:
    """'* ' or '1. ' for a list item line, None for a paragraph."""
    if line.startswith(_ITEM):
        return line[len(_ITEM) :].split(" ", 1)[0] + " "
    return None


def _prepare(tree: LexborHTMLParser) -> None:
    """Mark list items so criteria and About keep their bullets in the text render."""
    root = tree.body or tree.root
    if root is None:
        return
    # An ordered list's items numbered once per list (not by searching the list for each item).
    numbers = {
        item.mem_id: number
        for ordered in root.css("ol")
        for number, item in enumerate((n for n in ordered.iter() if n.tag == "li"), start=1)
    }
    for item in root.css("li"):
        first_text = next(
            (n for n in item.traverse(include_text=True) if n.tag == "-text" and (n.text_content or "").strip()),
            None,
        )
        if first_text is None:
            continue
        number = numbers.get(item.mem_id)
        first_text.insert_before(f"{_ITEM}{number}. " if number is not None else f"{_ITEM}* ")


def _title_node(tree: LexborHTMLParser) -> LexborNode | None:
    for selector in ("h1", '[role="heading"][aria-level="1"]'):
        for node in tree.css(selector):
            if text_lines(node):
                return node
    return None


def _head_title(tree: LexborHTMLParser) -> str | None:
    """The <title> without the site name: a fallback when the page has no h1-like heading."""
    node = tree.css_first("head > title") or tree.css_first("title")
    if node is None:
        return None
    text = " ".join((node.text() or "").split())
    for separator in (" | ", " – ", " - ", " — "):
        if text.endswith(separator + SITE_NAME):
            return text[: -len(separator + SITE_NAME)].strip() or None
    return None if text == SITE_NAME else text or None


def read_page(content: str | bytes) -> StudyPage:
    """Split a page into title, hero lines (sponsor) and heading → lines, by visible text alone."""
    tree = parse_html(content)
    _prepare(tree)
    lines = text_lines(tree.body)
    node = _title_node(tree)
    title_lines = text_lines(node) if node is not None else []
    title = " ".join(item_text(line) for line in title_lines) or None
    if title is None:
        title = _head_title(tree)
        title_lines = [title] if title else []
    start = 0
    if title_lines:
        for index in range(len(lines) - len(title_lines) + 1):
            if lines[index : index + len(title_lines)] == title_lines:
                start = index + len(title_lines)
                break
    page = StudyPage(title, [])
    current: list[str] | None = None
    for line in lines[start:]:
        key = label_key(item_text(line))
        if key in END_MARKERS:
            break
        label = _LABEL_KEYS.get(key)
        if label is not None:
            current = [] if label in page.sections else page.sections.setdefault(label, [])
            continue
        if current is None:
            if key not in CHROME:
                page.hero.append(item_text(line))
        else:
            current.append(line)
    return page


def missing_labels(page: StudyPage) -> list[str]:
    """The headings (or their values) a study page must show and this one does not."""
    missing = []
    if not page.title:
        missing.append("title")
    for label in REQUIRED_WITH_VALUE:
        present = [name for name in LABEL_VARIANTS.get(label, (label,)) if page.has(name)]
        if not present:
            missing.append(label)
        elif not any(page.values(name) for name in present):
            missing.append(f"{label} (empty)")
    missing.extend(label for label in REQUIRED_PRESENT if not page.has(label))
    return missing


# -- mapping onto the canonical Study -----------------------------------------------------------


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
            contacts.append({"role": "CENTRAL_CONTACT", "name": line})
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
    data["contacts"] = _contacts(page.values("Central trial contact"))
    data = {key: value for key, value in data.items() if value is not None and value != [] and value != ""}
    if unmapped:
        data["unmapped"] = unmapped
    return nct, data


# -- identity by title ------------------------------------------------------------------------------


def normal_title(text: str | None) -> str:
    """Titles as compared for identity: case, punctuation and spacing do not count."""
    return " ".join(re.sub(r"[^\w\s]|_", " ", (text or "").casefold()).split())


@dataclass(frozen=True)
class TitleMatch:
    nct_id: str | None  # set only when exactly one study is the page's
    candidates: tuple[str, ...]
    reason: str


def match_title(page_title: str, studies: Sequence[Study]) -> TitleMatch:
    """Which of the studies a title search returned is the page's, if exactly one is.

    The page shows "brief title (ACRONYM)". A study *shares the title* when its
    brief or official title equals the page title with or without that suffix;
    it *is the page's* when, in addition, the acronym agrees: its brief title
    plus acronym, brief or official title equals the full page title, or its
    brief/official title equals the base title and its acronym is the one shown.
    Accepted only if exactly one study shares the title and that one is the
    page's: two studies sharing a title (a follow-up study, a registry twin)
    leave the page unresolved even if an acronym would tell them apart.
    """
    base, acronym = split_acronym(page_title)
    full_key, base_key = normal_title(page_title), normal_title(base)
    sharing: list[Study] = []
    owned: list[Study] = []
    for study in studies:
        titles = {normal_title(study.brief_title), normal_title(study.official_title)} - {""}
        if not titles & {full_key, base_key}:
            continue
        sharing.append(study)
        with_acronym = normal_title(f"{study.brief_title} ({study.acronym})") if study.acronym else ""
        if full_key in titles | {with_acronym} or (
            acronym is not None and base_key in titles and normal_title(study.acronym) == normal_title(acronym)
        ):
            owned.append(study)
    returned = tuple(dict.fromkeys(s.nct_id for s in studies))
    if not sharing:
        reason = f"no ClinicalTrials.gov study has this exact title ({len(returned)} returned by the title search)"
        return TitleMatch(None, returned[:10], reason)
    shared = tuple(dict.fromkeys(s.nct_id for s in sharing))
    if len(shared) > 1:
        return TitleMatch(None, shared, f"{len(shared)} ClinicalTrials.gov studies share this title")
    if not owned:
        return TitleMatch(None, shared, "the only study with this title has a different acronym")
    return TitleMatch(shared[0], shared, "exact title")


# -- the source -------------------------------------------------------------------------------------


@register
class Veeva(MirrorSource):
    """ctv.veeva.com: sitemap discovery, label-driven parsing, NCT from Identifiers or by exact title."""

    name = "veeva"
    label = "ClinicalTrials.Veeva (ctv.veeva.com)"
    default_base_url = "https://ctv.veeva.com"
    # No published limit: one request a second; the default page budget (20,000) is then about a night.
    default_rps = 1.0

    def is_study_url(self, url: str) -> bool:
        return bool(STUDY_PATH.match(self.site_path(url)))

    def fetch_page(self, url: str, plan: HarvestPlan | None = None) -> SourceRecord | Unresolved:
        """A URL that is not a study page is refused before any request is made."""
        if not self.is_study_url(url):
            raise NotAStudyPage(f"not a {self.label} study page (expected /study/<slug>)", url=url)
        return super().fetch_page(url, plan)

    def parse(self, page: Page) -> Study:
        if not self.is_study_url(page.url):
            raise NotAStudyPage(f"not a {self.label} study page (expected /study/<slug>)", url=page.url)
        shown = read_page(page.text)
        missing = missing_labels(shown)
        if missing:
            raise LayoutChanged(missing, url=page.url, source=self.name)
        nct, fields = study_fields(shown)
        if nct is None:
            raise MissingIdentity(shown.title, fields, url=page.url)
        return self._build(fields, nct, "identifiers", page)

    def resolve_identity(self, missing: MissingIdentity, page: Page, plan: HarvestPlan) -> Study | Unresolved:
        """Ask ClinicalTrials.gov for the page's title; accept exactly one study with exactly that title."""

        def unresolved(reason: str, candidates: Sequence[str] = ()) -> Unresolved:
            return Unresolved(page.url, missing.title, reason, page.content, page.content_type, tuple(candidates))

        if not missing.title:
            return unresolved("page shows no NCT number and no title")
        search: Callable[[str], list[Study]] | None = plan.title_search
        if search is None:
            return unresolved("page shows no NCT number; no title search available")
        base, _ = split_acronym(missing.title)
        try:
            # The brief title without the acronym: the search finds titles containing the phrase.
            found = search(base)
        except HarvestError as exc:
            return unresolved(f"page shows no NCT number; title search failed: {exc.one_line()}")
        verdict = match_title(missing.title, found)
        if verdict.nct_id is None:
            return unresolved(f"page shows no NCT number; {verdict.reason}", verdict.candidates)
        return self._build(missing.fields, verdict.nct_id, "title-exact", page)

    def rebuild(self, missing: MissingIdentity, nct_id: str, resolution: str, page: Page) -> Study:
        return self._build(missing.fields, normalize_nct(nct_id), resolution, page)

    def _build(self, fields: dict[str, Any], nct_id: str, resolution: str, page: Page) -> Study:
        try:
            return self.study(dict(fields, nct_id=nct_id), page, resolution)
        except ParseError as exc:  # keep the page with the error, wherever in the flow it was raised
            exc.raw, exc.content_type = page.content, page.content_type
            raise
