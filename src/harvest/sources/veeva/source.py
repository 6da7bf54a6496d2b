"""The veeva source: sitemap discovery, label-driven parsing, NCT from Identifiers or by exact title."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from harvest.core.errors import HarvestError, LayoutChanged, MissingIdentity, NotAStudyPage, ParseError
from harvest.core.ids import normalize_nct
from harvest.core.records import SourceRecord, Unresolved
from harvest.core.schema import Study
from harvest.sources.base import HarvestPlan, Page, register
from harvest.sources.mirror import MirrorSource
from harvest.sources.reading.fields import split_acronym
from harvest.sources.veeva.fields import study_fields
from harvest.sources.veeva.identity import match_title
from harvest.sources.veeva.page import STUDY_PATH, missing_labels, read_page


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
