"""inclinicaltrials.com: a ClinicalTrials.gov mirror with two page layouts, told apart by what the page shows.

URLs are ``/<condition-slug>/<NCT>/`` and ``/<condition-slug>/<NCT>/details/`` (the NCT sometimes lower-case,
the trailing slash optional). Either URL may serve either layout, so the parser looks at the page, never
the URL, to decide which one it has:

- summary layout: sections "Clinical Trial Summary" (brief summary), "Clinical Trial Description" (detailed
  description), "Study Design", "Related Conditions & MeSH terms", and facts printed as label and value with
  no colon: NCT number, Study type, Source (the lead sponsor), Contact, Status, Phase, Start date, Completion date.
- details layout: a "<conditions> Clinical Trial" heading (the conditions, not a title), "Official title:"
  with the official title (an acronym may be glued in front: "— IMMUNOSEPSISOfficial title:"), label | value
  rows (Verified date, Enrollment, "Est. completion date", Gender, Age group, Eligibility...), unlabelled
  summary / description / design blocks, a locations table and a Lead Sponsor | Collaborator table.

The site never shows a brief title. The NCT number is taken from the URL path or the "NCT number" fact,
never from anything else on the page. The site appends " ;" to description fragments; those are split
back into paragraphs. Dates are written out ("October 31, 2020", "February 2020"); no numeric date has
been seen, so no day/month order is assumed and one would be reported as unmapped. Both pages of a trial
are harvested: each carries fields the other lacks.
"""

from __future__ import annotations

import functools
import re

from selectolax.lexbor import LexborNode

from harvest.core.errors import LayoutChanged, MissingIdentity, NotAStudyPage
from harvest.core.schema import Study
from harvest.core.vocab import SEX_WORDS, STATUS_WORDS, STUDY_TYPE_WORDS, clean_text
from harvest.sources.base import Page, register
from harvest.sources.mirror import MirrorSource, page_nct
from harvest.sources.reading.fields import RecordBuilder
from harvest.sources.reading.htmltext import parse_html, text_lines
from harvest.sources.reading.labelled import (
    Labelled,
    ShownText,
    climb,
    elements,
    find_labelled,
    first,
    first_text,
    following,
    label_key,
    next_content,
    node_text,
    prose,
)

_STUDY_PATH = re.compile(r"^/[^/]+/(nct[0-9]{8})(?:/details)?/?$", re.I)
_OFFICIAL_TITLE = re.compile(r"^(?:[—–-]\s*(?P<acronym>.*?)\s*)?official title:?$", re.I)
_CONDITIONS_HEADING = re.compile(r"^(?P<conditions>.+?)\s+clinical trial$", re.I)
_TRIAL_SUFFIX = re.compile(r"\s*\bclinical trial$", re.I)
_FRAGMENT_JOINER = re.compile(r"\s+;(?=\s|$)")
_DESIGN_BLOCK = re.compile(
    r"^(?:allocation|intervention model|observational model|time perspective|primary purpose|masking)\s*:", re.I
)

SUMMARY = "Clinical Trial Summary"
DESCRIPTION = "Clinical Trial Description"
DESIGN = "Study Design"
CONDITIONS = "Related Conditions & MeSH terms"

_DATE_FIELDS = {
    "start date": "start_date",
    "primary completion date": "primary_completion_date",
    "completion date": "completion_date",
}
_DATE_LABELS = [f"{prefix}{base}" for base in _DATE_FIELDS for prefix in ("", "Est. ", "Estimated ", "Actual ")]

# Every label either layout prints, including those we ignore (an unlisted label would read as part of a value).
LABELS = (
    SUMMARY,
    DESCRIPTION,
    DESIGN,
    CONDITIONS,
    "NCT number",
    "Study type",
    "Source",
    "Contact",
    "Status",
    "Phase",
    "Verified date",
    "Is FDA regulated",
    "Health authority",
    "Enrollment",
    "Accepts healthy volunteers",
    "Gender",
    "Age group",
    "Eligibility",
    *_DATE_LABELS,
)


@functools.lru_cache(maxsize=64)
def _date_field(label: str) -> str | None:
    base = re.sub(r"^(?:est\.|estimated|actual)\s+", "", label_key(label))
    return _DATE_FIELDS.get(base)


def _without_joiners(text: str | None) -> str | None:
    """Undo the site's " ;" fragment joiner: each fragment becomes a paragraph, the trailing " ;" goes."""
    if text is None:
        return None
    paragraphs = []
    for paragraph in text.split("\n\n"):
        paragraphs.extend(part.strip() for part in _FRAGMENT_JOINER.split(paragraph) if part.strip())
    return "\n\n".join(paragraphs) or None


def _header_tables(root: LexborNode | None) -> list[tuple[list[str], list[dict[str, str]]]]:
    """Tables with a header row (``th`` cells) as (column keys, rows of column → text)."""
    tables = []
    if root is None:
        return tables
    for table in root.css("table"):
        columns: list[str] = []
        rows: list[dict[str, str]] = []
        for row in table.css("tr"):
            cells = [cell for cell in row.iter() if cell.tag in ("td", "th")]
            if not cells:
                continue
            if not columns and all(cell.tag == "th" for cell in cells):
                columns = [label_key(node_text(cell)) for cell in cells]
            elif columns and len(cells) == len(columns):
                rows.append({column: node_text(cell) for column, cell in zip(columns, cells, strict=True)})
        if columns:
            tables.append((columns, rows))
    return tables


# Locations table columns (header words) → canonical location keys.
_LOCATION_COLUMNS = {
    "name": "facility",
    "facility": "facility",
    "city": "city",
    "state": "state",
    "zip": "zip",
    "country": "country",
}


@register
class InClinicalTrials(MirrorSource):
    name = "inclinicaltrials"
    label = "inclinicaltrials.com (mirror)"
    default_base_url = "https://inclinicaltrials.com"

    def is_study_url(self, url: str) -> bool:
        """Summary and details pages; condition index pages and everything else are not studies."""
        return _STUDY_PATH.match(self.site_path(url)) is not None

    # -- parsing --------------------------------------------------------------------------------

    def parse(self, page: Page) -> Study:
        body = parse_html(page.text).body
        found = find_labelled(body, LABELS)
        record = RecordBuilder()
        heading = self._official_title(body)
        if heading is not None:
            self._details(body, found, heading, record)
        elif first(found, SUMMARY, "NCT number"):
            self._summary(found, record, page.url)
        elif self.is_study_url(page.url):
            raise LayoutChanged([SUMMARY, "Official title:"], url=page.url, source=self.name)
        else:
            raise NotAStudyPage("not an inclinicaltrials.com study page", url=page.url)
        self._facts(found, record)
        self._conditions(body, found, record)
        data = record.result()
        match = _STUDY_PATH.match(self.site_path(page.url))
        shown = clean_text(first_text(found, "NCT number"))
        nct_id, resolution = page_nct(match.group(1) if match else None, shown, data, page.url)
        if nct_id is None:
            raise MissingIdentity(data.get("official_title"), data, url=page.url)
        data["nct_id"] = nct_id
        return self.study(data, page, resolution)

    @staticmethod
    def _official_title(body: LexborNode | None) -> tuple[LexborNode, str | None] | None:
        """The "Official title:" label (maybe with the acronym glued in front) and the node after it."""
        visible = ShownText(body)
        for node in elements(body):
            raw = node.text(deep=True) or ""
            if len(raw) > 300 or not visible.may_contain(node, raw, "officialtitle"):
                continue
            match = _OFFICIAL_TITLE.match(node_text(node))
            if match is None:
                continue
            anchor = climb(node, lambda parent: _OFFICIAL_TITLE.match(node_text(parent)) is not None)
            return anchor, match.group("acronym")
        return None

    def _details(
        self,
        body: LexborNode | None,
        found: dict[str, list[Labelled]],
        heading: tuple[LexborNode, str | None],
        record: RecordBuilder,
    ) -> None:
        anchor, acronym = heading
        record.text("acronym", acronym)
        title_node = next_content(anchor)
        if title_node is not None:
            record.text("official_title", node_text(title_node))
            texts = self._unlabelled_blocks(title_node, found)
            if texts:
                record.prose("brief_summary", _without_joiners(texts[0]))
            if len(texts) > 1:
                record.prose("detailed_description", _without_joiners(texts[1]))
        # The explicit Lead Sponsor column comes before the "Source" fact (which names the same organisation).
        for columns, rows in _header_tables(body):
            if "lead sponsor" in columns or "collaborator" in columns:
                record.text("lead_sponsor", next((r["lead sponsor"] for r in rows if r.get("lead sponsor")), None))
                record.items("collaborators", [r.get("collaborator") for r in rows])
            elif "country" in columns or "city" in columns:
                locations = []
                for row in rows:
                    location = {ours: clean_text(row.get(theirs)) for theirs, ours in _LOCATION_COLUMNS.items()}
                    location = {key: value for key, value in location.items() if value}
                    if location:  # a row whose only cell is "n/a" is no location
                        locations.append(location)
                if locations:
                    record.data.setdefault("locations", locations)

    @staticmethod
    def _unlabelled_blocks(title_node: LexborNode, found: dict[str, list[Labelled]]) -> list[str]:
        """The text blocks after the heading that no label names: brief summary, detailed description (design
        lines such as "Observational Model: Cohort, ..." and tables are skipped)."""
        start = climb(title_node)
        labelled = {item.nodes[0].mem_id for items in found.values() for item in items if item.nodes}
        texts = []
        for sibling in following(start):
            if (
                not sibling.tag.startswith("-")
                and sibling.tag != "table"
                and sibling.css_first("table") is None
                and sibling.mem_id not in labelled
            ):
                text = prose([sibling])
                if text and not _DESIGN_BLOCK.match(text):
                    texts.append(text)
        return texts

    def _summary(self, found: dict[str, list[Labelled]], record: RecordBuilder, url: str) -> None:
        for label, field in ((SUMMARY, "brief_summary"), (DESCRIPTION, "detailed_description")):
            item = first(found, label)
            if item:
                record.prose(field, _without_joiners(prose(item.nodes)))
        missing = [label for label in ("NCT number", "Status") if not first(found, label)]
        if len(missing) == 2:
            raise LayoutChanged(missing, url=url, source=self.name)

    def _facts(self, found: dict[str, list[Labelled]], record: RecordBuilder) -> None:
        record.word("study_type", STUDY_TYPE_WORDS, first_text(found, "Study type"))
        record.word("overall_status", STATUS_WORDS, first_text(found, "Status"))
        record.phases(first_text(found, "Phase"))
        record.text("lead_sponsor", first_text(found, "Source"))
        contact = clean_text(first_text(found, "Contact"))
        if contact:
            record.data.setdefault("contacts", [{"role": "CENTRAL_CONTACT", "name": contact}])
        record.date("status_verified_date", first_text(found, "Verified date"), typed=False)
        record.count("enrollment", first_text(found, "Enrollment"))
        record.boolean("healthy_volunteers", first_text(found, "Accepts healthy volunteers"))
        record.word("sex", SEX_WORDS, first_text(found, "Gender"))
        record.ages(first_text(found, "Age group"))
        eligibility = first(found, "Eligibility")
        if eligibility:
            record.prose("eligibility_criteria", prose(eligibility.nodes))
        for label in _DATE_LABELS:
            item = first(found, label)
            field = _date_field(label)
            if item and field:
                record.date(field, item.text, label=item.label)

    def _conditions(self, body: LexborNode | None, found: dict[str, list[Labelled]], record: RecordBuilder) -> None:
        """The "<conditions> Clinical Trial" heading, else the "Related Conditions & MeSH terms" list."""
        heading = body.css_first("h1") if body is not None else None
        lines = text_lines(heading)
        if lines and _CONDITIONS_HEADING.match(" ".join(lines)):
            # "A, B Clinical Trial", or the names as elements side by side (links, chips): each a condition.
            lines[-1] = _TRIAL_SUFFIX.sub("", lines[-1])
            record.items("conditions", [name for line in lines for name in line.split(", ")])
            return
        listed = first(found, CONDITIONS)
        if listed:
            record.items("conditions", listed.entries())
