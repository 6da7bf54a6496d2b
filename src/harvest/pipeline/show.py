"""A trial as ``harvest show`` prints it: merged now, from the records the file holds, with today's precedence."""

from __future__ import annotations

from collections.abc import Sequence

from harvest.core.records import Merged
from harvest.merge import merge
from harvest.store.database import Store

FieldSources = dict[str, dict[str, str]]


def merged_study(store: Store, nct_id: str, precedence: Sequence[str]) -> tuple[Merged, FieldSources] | None:
    """The trial merged now, and which record gave each field: both from one merge, so what is shown and where
    it is said to come from always agree. None when the file has no record of the trial."""
    records = store.records.of_study(store.aliases.current(nct_id))
    if not records:
        return None
    merged = merge(records, precedence)
    by_key = {f"{r.source}|{r.record_key}": r for r in records}
    field_sources = {
        field_name: {"source": record.source, "url": record.url, "fetched_at": record.fetched_at}
        for key, fields in merged.provenance.items()
        if (record := by_key.get(key)) is not None
        for field_name in fields
    }
    return merged, dict(sorted(field_sources.items()))
