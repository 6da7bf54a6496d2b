"""Reading a ctv study page as a reader sees it: its title, the lines under it, and each heading's lines."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser, LexborNode

from harvest.core import vocab
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
_ITEM = "\ue000"  # private-use marker put in front of list items, so criteria and About keep their bullets


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
