"""Identity by title: which study a ctv page that shows no NCT number is, when exactly one study is."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from harvest.core.schema import Study
from harvest.sources.reading.fields import split_acronym


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
