"""ichgcp.net: a ClinicalTrials.gov mirror addressable by NCT number, with machine-translated copies.

Study pages are ``/clinical-trials-registry/<NCT>``. Two layouts are in the wild:

- current: the brief title as heading (with " (ACRONYM)" appended when the trial has one), a line
  "<Month D, YYYY> updated by: <sponsor>", the official title, the brief summary, then "Study Overview" with
  label / value rows ("Status" / "Recruiting", ...). The "updated by" date is when the sponsor last submitted
  an update, which the canonical record has no field for (it is not the last-update *posted* date), so it
  is not stored; the sponsor named there is the lead sponsor.
- legacy (2017, built from CT.gov's retired XML): ``dt`` / ``dd`` pairs with ISO dates. Withheld device
  trials show placeholders everywhere ("N/A", "[Redacted]", an empty Lead Sponsor); those become NULL, and
  the record is kept: it still says the trial exists, is WITHHELD and started on a given day. "Phase N/A"
  is read as no value, like every other N/A there, not as CT.gov's "Not Applicable" phase.

Translated copies live under ``/<lang>/clinical-trials-registry/<NCT>`` (``/ru/``, ``/no/``, ...). They are
never merged over the English text: discovery skips them, and parsing one (``harvest fetch`` of such a URL,
or a page whose ``<html lang>`` is not English) raises NotAStudyPage. No numeric dates have been seen, so no
day/month order is assumed.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from harvest.core.dates import type_from_label
from harvest.core.errors import LayoutChanged, MissingIdentity, NotAStudyPage
from harvest.core.ids import normalize_nct
from harvest.core.schema import Study
from harvest.core.vocab import STATUS_WORDS, STUDY_TYPE_WORDS, clean_text
from harvest.sources.base import Page, register
from harvest.sources.mirror import MirrorSource, page_nct
from harvest.sources.reading.fields import RecordBuilder, split_acronym
from harvest.sources.reading.htmltext import parse_html, text_lines
from harvest.sources.reading.labelled import (
    Labelled,
    elements,
    find_labelled,
    first,
    first_text,
    label_key,
    next_content,
    node_text,
    prose,
)

_STUDY_PATH = re.compile(r"^/clinical-trials-registry/(nct[0-9]{8})/?$", re.I)
_TRANSLATED_PATH = re.compile(r"^/(?P<lang>[a-z]{2,3}(?:[-_][a-z0-9]{2,8})?)/clinical-trials-registry(?:/|$)", re.I)
_UPDATED = re.compile(r"^(?P<date>.*?)\s*\bupdated by:\s*(?P<sponsor>.*)$", re.I)
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")

# Sections of the current layout that end the brief summary.
_SECTION_HEADINGS = {
    "study overview",
    "detailed description",
    "study design",
    "participation criteria",
    "eligibility criteria",
    "contacts and locations",
    "study record dates",
}

# Date labels by layout: the current one writes CT.gov's "Study Start (Actual)", the legacy one "Start Date".
_CURRENT_DATE_LABELS = {
    "Study Start": "start_date",
    "Primary Completion": "primary_completion_date",
    "Study Completion": "completion_date",
}
_LEGACY_DATE_LABELS = {
    "Start Date": "start_date",
    "Primary Completion Date": "primary_completion_date",
    "Completion Date": "completion_date",
}
_DATE_LABELS = {**_CURRENT_DATE_LABELS, **_LEGACY_DATE_LABELS}
_DATE_TYPES = ("", " (Actual)", " (Estimated)", " (Anticipated)")
_ENROLLMENT_LABELS = [f"Enrollment{suffix}" for suffix in _DATE_TYPES]

# Current layout: the "Study Overview" rows (only Status has been seen; the rest follow CT.gov's wording).
CURRENT_LABELS = (
    "Status",
    "Overall Status",
    "Conditions",
    "Condition",
    "Keywords",
    "Study Type",
    "Phase",
    "Detailed Description",
    "NCT Number",
    "NCT ID",
    "ClinicalTrials.gov ID",
    *_ENROLLMENT_LABELS,
    *(f"{label}{suffix}" for label in _CURRENT_DATE_LABELS for suffix in _DATE_TYPES),
)
# Legacy layout: every dt label the 2017 pages print, the ignored ones included.
LEGACY_LABELS = (
    "Lead Sponsor",
    "Collaborator",
    "Source",
    "Overall Status",
    "Start Date",
    "Completion Date",
    "Primary Completion Date",
    "Phase",
    "Study Type",
    "Condition",
    "Enrollment",
    "Verification Date",
    "Lastchanged Date",
    "Firstreceived Date",
    "Responsible Party",
    "Name Title",
    "Organization",
    "Firstreceived Results Date",
    "Firstreceived Results Disposition Date",
)


def _items(found: dict[str, list[Labelled]], label: str) -> list[Labelled]:
    return found.get(label_key(label), [])


def _holders_of(root: LexborNode | None, word: str) -> set[int]:
    """The elements (their ``mem_id``) that hold a text node containing ``word`` (lower case), up to ``root``."""
    holders: set[int] = set()
    if root is None:
        return holders
    stop = root.mem_id
    for node in root.traverse(include_text=True):
        if node.tag == "-text" and word in (node.text_content or "").lower():
            current = node.parent
            while current is not None and current.mem_id not in holders:
                holders.add(current.mem_id)
                if current.mem_id == stop:
                    break
                current = current.parent
    return holders


def _inside(node: LexborNode, ancestor: LexborNode) -> bool:
    current = node.parent
    while current is not None:
        if current.mem_id == ancestor.mem_id:
            return True
        current = current.parent
    return False


@register
class IchGcp(MirrorSource):
    name = "ichgcp"
    label = "ichgcp.net (mirror)"
    default_base_url = "https://ichgcp.net"

    def is_study_url(self, url: str) -> bool:
        """English study pages only: translated copies under /<lang>/ are never fetched."""
        return _STUDY_PATH.match(self.site_path(url)) is not None

    def url_for(self, nct_id: str) -> str:
        return f"{self.base_url}/clinical-trials-registry/{normalize_nct(nct_id)}"

    # -- parsing --------------------------------------------------------------------------------

    def parse(self, page: Page) -> Study:
        tree = parse_html(page.text)
        self._refuse_translation(tree, page.url)
        body = tree.body
        record = RecordBuilder()
        h1 = next((node for node in (body.css("h1") if body else []) if node_text(node)), None)
        updated = self._updated_line(body) if h1 is not None else None
        if h1 is not None and updated is not None:
            found = find_labelled(h1.parent, CURRENT_LABELS)
            self._current(h1, updated, found, record)
        elif _items(found := find_labelled(body, LEGACY_LABELS), "Overall Status"):
            self._legacy(h1, found, record)
        elif self.is_study_url(page.url):
            raise LayoutChanged(["updated by:", "Overall Status"], url=page.url, source=self.name)
        else:
            raise NotAStudyPage("not an ichgcp.net study page", url=page.url)
        data = record.result()
        match = _STUDY_PATH.match(self.site_path(page.url))
        shown = clean_text(first_text(found, "NCT Number", "NCT ID", "ClinicalTrials.gov ID"))
        nct_id, resolution = page_nct(match.group(1) if match else None, shown, data, page.url)
        if nct_id is None:
            raise MissingIdentity(data.get("brief_title"), data, url=page.url)
        data["nct_id"] = nct_id
        return self.study(data, page, resolution)

    def _refuse_translation(self, tree: LexborHTMLParser, url: str) -> None:
        """Machine-translated copies must never be merged over the English record."""
        match = _TRANSLATED_PATH.match(self.site_path(url))
        if match:
            raise NotAStudyPage(f"machine-translated copy ({match.group('lang')}); use the English page", url=url)
        html = tree.css_first("html")
        lang = (html.attributes.get("lang") or "").strip() if html is not None else ""
        if lang and not lang.lower().startswith("en"):
            raise NotAStudyPage(f"machine-translated copy (lang={lang}); use the English page", url=url)

    @staticmethod
    def _updated_line(body: LexborNode | None) -> tuple[LexborNode, str] | None:
        """The "<date> updated by: <sponsor>" element and the sponsor it names.

        Every element around the line shows those words too, and on a short page written without whitespace
        between tags the whole record is short enough to read as "<date> updated by: <the rest of the page>".
        So the line is the innermost element that names a sponsor, widened to the outermost ancestor that still
        ends with that sponsor (``<p><span>date</span><span>updated by: X</span></p>`` → the ``p``), so that
        what follows it is what follows the line.
        """
        # Only an element with a text node saying "updated" inside it can be the line: those are found in C, and
        # only their ancestors have their text read (each ancestor's text is the page's, up to the whole of it).
        holders = _holders_of(body, "updated")
        found: tuple[LexborNode, str] | None = None
        for node in elements(body):
            if node.mem_id not in holders:
                continue
            if found is not None and not _inside(node, found[0]):
                break  # past the element found (document order): only what lies inside it can be the line
            raw = node.text(deep=True) or ""
            if len(raw) > 400 or "updated by" not in raw.lower():
                continue
            match = _UPDATED.match(node_text(node))
            if match and match.group("sponsor").strip():
                found = node, match.group("sponsor")
        if found is None:
            return None
        node, sponsor = found
        parent = node.parent
        while parent is not None and parent.tag not in ("body", "html"):
            match = _UPDATED.match(node_text(parent))
            if match is None or match.group("sponsor") != sponsor:
                break
            node, parent = parent, parent.parent
        return node, sponsor

    def _current(
        self,
        h1: LexborNode,
        updated: tuple[LexborNode, str],
        found: dict[str, list[Labelled]],
        record: RecordBuilder,
    ) -> None:
        self._titles(h1, record)
        node, sponsor = updated
        record.text("lead_sponsor", sponsor)
        after = next_content(node)
        if after is not None and after.tag in _HEADINGS:
            record.text("official_title", node_text(after))
            after = next_content(after)
        summary = []
        while after is not None:
            lines = text_lines(after)
            if lines and (label_key(lines[0]) in _SECTION_HEADINGS or label_key(lines[0]) in found):
                break
            summary.append(after)
            after = next_content(after)
        record.prose("brief_summary", prose(summary))
        detailed = first(found, "Detailed Description")
        if detailed:
            record.prose("detailed_description", prose(detailed.nodes))
        record.word("overall_status", STATUS_WORDS, first_text(found, "Status", "Overall Status"))
        record.word("study_type", STUDY_TYPE_WORDS, first_text(found, "Study Type"))
        record.phases(first_text(found, "Phase"))
        for label in _ENROLLMENT_LABELS:
            item = first(found, label)
            if item and record.count("enrollment", item.text) is not None and (kind := type_from_label(label)):
                record.data.setdefault("enrollment_type", kind)
        self._dates(found, record)
        for field, labels in (("conditions", ("Conditions", "Condition")), ("keywords", ("Keywords",))):
            item = first(found, *labels)
            if item:
                record.items(field, item.entries())

    def _legacy(self, h1: LexborNode | None, found: dict[str, list[Labelled]], record: RecordBuilder) -> None:
        if h1 is not None:
            record.text("brief_title", node_text(h1))
            after = next_content(h1)
            if after is not None and after.tag in _HEADINGS:
                record.text("official_title", node_text(after))
        record.text("lead_sponsor", first_text(found, "Lead Sponsor"))
        record.text("lead_sponsor", first_text(found, "Source"))
        record.items("collaborators", [item.text for item in _items(found, "Collaborator")])
        record.word("overall_status", STATUS_WORDS, first_text(found, "Overall Status"))
        record.word("study_type", STUDY_TYPE_WORDS, first_text(found, "Study Type"))
        record.phases(first_text(found, "Phase"))
        record.count("enrollment", first_text(found, "Enrollment"))
        record.date("status_verified_date", first_text(found, "Verification Date"), typed=False)
        self._dates(found, record)
        record.items("conditions", [item.text for item in _items(found, "Condition")])

    @staticmethod
    def _titles(h1: LexborNode, record: RecordBuilder) -> None:
        """The heading is the brief title, with the acronym in parentheses when the trial has one."""
        shown = clean_text(node_text(h1))
        if shown is None:
            return
        brief_title, acronym = split_acronym(shown)
        record.text("brief_title", brief_title)
        record.text("acronym", acronym)

    @staticmethod
    def _dates(found: dict[str, list[Labelled]], record: RecordBuilder) -> None:
        for base, field in _DATE_LABELS.items():
            for suffix in _DATE_TYPES:
                item = first(found, base + suffix)
                if item:
                    record.date(field, item.text, label=item.label)
