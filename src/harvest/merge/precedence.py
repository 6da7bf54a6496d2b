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

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harvest.core.dates import same_date
from harvest.core.schema import STUDY_FIELDS, PartialDate, Study, is_empty


@dataclass(frozen=True)
class StoredRecord:
    source: str
    record_key: str
    url: str
    fetched_at: str
    study: Study


@dataclass
class Merged:
    study: Study
    # "source|record_key" -> the fields that record supplied
    provenance: dict[str, list[str]] = field(default_factory=dict)
    # (field, source, value as JSON-able) for every source party to a disagreement
    conflicts: list[tuple[str, str, Any]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


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


def jsonable(value: Any) -> Any:
    """A field's value as plain JSON data (models dumped without their empty keys)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    return value


_ESCAPES = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>=~|])")


def normal_text(value: str) -> str:
    """Text as a reader compares it: case, spacing, markdown escapes and trailing punctuation don't count."""
    text = _ESCAPES.sub(r"\1", value)
    text = re.sub(r"\s+", " ", text).strip().casefold()
    return text.rstrip(" .;,")


def _item_key(item: Any) -> Any:
    if isinstance(item, str):
        return normal_text(item)
    if hasattr(item, "name") and isinstance(getattr(item, "name", None), str):  # interventions
        return normal_text(item.name)
    if hasattr(item, "facility"):  # locations
        return (normal_text(item.facility or ""), normal_text(item.country or ""))
    if hasattr(item, "scheme"):  # identifiers
        return (str(item.scheme), item.value.casefold())
    return jsonable(item)


def equivalent(name: str, a: Any, b: Any) -> bool:
    """Whether two sources say the same thing about a field, however they wrote it."""
    if isinstance(a, PartialDate) and isinstance(b, PartialDate):
        return same_date(a.value, b.value)
    if isinstance(a, str) and isinstance(b, str):
        return normal_text(a) == normal_text(b)
    if isinstance(a, list) and isinstance(b, list):
        keys_a = {repr(_item_key(item)) for item in a}
        keys_b = {repr(_item_key(item)) for item in b}
        if name in {"locations", "contacts", "identifiers", "collaborators"}:
            # mirrors show a subset (first sites, "Loading..."): a subset is not a disagreement
            return keys_a <= keys_b or keys_b <= keys_a
        return keys_a == keys_b
    return a == b
