"""A trial as ``harvest show`` prints it: merged now, from the records the file holds, with today's precedence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harvest.core.records import MIRROR_ONLY, Merged
from harvest.merge import merge
from harvest.store.database import Store

FieldSources = dict[str, dict[str, str]]


@dataclass
class Shown:
    """A trial merged now, which record gave each field, and which of its pages are gone (and since when)."""

    merged: Merged
    field_sources: FieldSources
    gone_pages: list[dict[str, str]]
    removed_on: str | None = None  # the day the registry was first found no longer showing the trial

    def mirror_only(self, registry: str) -> bool:
        """No record of the registry backs this trial: only mirrors carry it."""
        return registry not in self.merged.sources

    def as_json(self, *, provenance: bool = False, registry: str | None = None) -> dict[str, Any]:
        """What ``harvest show`` prints (and ``harvest fetch`` of a mirror page); with ``registry`` named, a trial no
        record of it backs starts with ``note``: ``MIRROR_ONLY``."""
        data = self.merged.study.model_dump(mode="json", exclude={"provenance"})
        if registry and self.mirror_only(registry):
            data = {"note": MIRROR_ONLY, **data}  # first, where a reader looks
        data["sources"] = self.merged.sources
        data["removed_on"] = self.removed_on
        if provenance:
            data["field_sources"] = self.field_sources
            data["gone_pages"] = self.gone_pages
        return data


def merged_study(store: Store, nct_id: str, precedence: Sequence[str]) -> Shown | None:
    """The trial merged now, and which record gave each field: both from one merge, so what is shown and where
    it is said to come from always agree. A record whose page is gone (404/410 on two visits in a row) still
    counts: nothing is deleted; its fields say ``gone_since``. A trial the registry no longer shows says since
    when (``removed_on``), and its records all still count. None when the file has no record of the trial."""
    nct_id = store.aliases.current(nct_id)
    records = store.records.of_study(nct_id)
    if not records:
        return None
    merged = merge(records, precedence)
    gone = store.pages.gone([(r.source, r.url) for r in records])
    by_key = {f"{r.source}|{r.record_key}": r for r in records}
    field_sources: FieldSources = {}
    for key, fields in merged.provenance.items():
        record = by_key.get(key)
        if record is None:
            continue
        entry = {"source": record.source, "url": record.url, "fetched_at": record.fetched_at}
        if (record.source, record.url) in gone:
            entry["gone_since"] = gone[(record.source, record.url)]
        for field_name in fields:
            field_sources[field_name] = entry
    gone_pages = [{"source": source, "url": url, "gone_since": since} for (source, url), since in sorted(gone.items())]
    return Shown(merged, dict(sorted(field_sources.items())), gone_pages, store.removals.removed_on(nct_id))
