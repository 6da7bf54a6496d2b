"""One trial, one row: build a study from every source record of it, field by field.

Policy: each field takes the value of the most trusted source that has one
(ClinicalTrials.gov first, then mirrors in the configured order); within a
source, records are taken in record-key order. A mirror never blanks a value
the registry gave, and a fresher mirror never outranks the registry: trust is
fixed, freshness is not a tiebreak. Sources that disagree after normalisation
are reported as conflicts. The result depends only on the set of records,
never on the order they arrive in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from harvest.core.records import Merged, StoredRecord
from harvest.core.schema import STUDY_FIELDS, is_empty
from harvest.merge.equivalence import equivalent, jsonable


def _rank(precedence: Sequence[str]) -> dict[str, int]:
    return {name: index for index, name in enumerate(precedence)}


def order_records(records: Iterable[StoredRecord], precedence: Sequence[str]) -> list[StoredRecord]:
    ranks = _rank(precedence)
    usable = [r for r in records if r.study.provenance.language in (None, "en")]
    return sorted(usable, key=lambda r: (ranks.get(r.source, len(ranks)), r.source, r.record_key))


def merge(records: Iterable[StoredRecord], precedence: Sequence[str]) -> Merged:
    """Merge the source records of one trial (all must carry the same NCT number)."""
    ordered = order_records(records, precedence)
    if not ordered:
        raise ValueError("nothing to merge")
    primary = ordered[0]
    if len(ordered) == 1:
        fields = sorted(primary.study.populated_fields())
        key = f"{primary.source}|{primary.record_key}"
        return Merged(primary.study, {key: fields} if fields else {}, [], [primary.source])

    chosen: dict[str, Any] = {}
    provenance: dict[str, list[str]] = {}
    conflicts: list[tuple[str, str, Any]] = []
    for name in STUDY_FIELDS:
        holders = [r for r in ordered if not is_empty(getattr(r.study, name))]
        if not holders:
            chosen[name] = getattr(primary.study, name)
            continue
        winner = holders[0]
        chosen[name] = getattr(winner.study, name)
        provenance.setdefault(f"{winner.source}|{winner.record_key}", []).append(name)
        conflicts.extend(_disagreements(name, holders))
    aliases = sorted({alias for r in ordered for alias in r.study.nct_aliases})
    chosen["nct_aliases"] = aliases
    unmapped: dict[str, str] = {}
    for record in reversed(ordered):
        unmapped.update(record.study.unmapped)
    study = primary.study.model_copy(update={**chosen, "unmapped": unmapped})
    sources = sorted({r.source for r in ordered}, key=lambda s: (_rank(precedence).get(s, 99), s))
    return Merged(study, provenance, conflicts, sources)


def _disagreements(name: str, holders: list[StoredRecord]) -> list[tuple[str, str, Any]]:
    """One entry per source when the sources holding a field do not all agree on it."""
    first_per_source: dict[str, StoredRecord] = {}
    for record in holders:
        first_per_source.setdefault(record.source, record)
    if len(first_per_source) < 2:
        return []
    values = [(source, getattr(r.study, name)) for source, r in first_per_source.items()]
    reference = values[0][1]
    if all(equivalent(name, reference, other) for _, other in values[1:]):
        return []
    return [(name, source, jsonable(value)) for source, value in values]
