"""A watch's entries in words: one line per entry for the report a cron job mails, the title and text of a
feed entry, and the JSON object ``--json`` prints. Values come as ``changes`` keeps them (JSON text); a list
(sites, outcomes) is told as its count and what was added or removed, not as two copies of the list."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from harvest.query.watch_entry import CHANGED, MATCHED, UNMATCHED, Entry
from harvest.query.watches import Watch

# How a field reads in a sentence (the JSON keeps the ``changes.field`` name).
FIELD_LABELS = {
    "overall_status": "status",
    "why_stopped": "why stopped",
    "removed_on": "removed from ClinicalTrials.gov",
    "start_date": "start date",
    "primary_completion_date": "primary completion date",
    "completion_date": "completion date",
    "enrollment_type": "enrollment type",
    "locations": "sites",
    "design_outcomes": "outcome measures",
    "has_results": "results posted",
    "results_first_posted": "results first posted",
}
KIND_LABELS = {
    MATCHED: "newly matches",
    UNMATCHED: "no longer matches",
    "newly_due": "results newly due",
    "newly_overdue": "results newly overdue",
    "newly_reported": "results newly reported",
    "no_longer_overdue": "no longer overdue (without reporting)",
}
OUTCOME_WORDS = {
    None: "no longer held to report",
    "not_yet_due": "not overdue yet",
    "overdue": "overdue",
    "reported_late": "reported late",
    "reported_on_time": "reported on time",
}
LISTED = 3  # the elements of a list change named, before "and N more"


def _decoded(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def value_text(value: Any) -> str:
    """One value as a person reads it: a date with its type, yes/no, a number with separators."""
    if value is None or value == [] or value == "":
        return "none"
    if isinstance(value, dict) and "value" in value and set(value) <= {"value", "type"}:
        kind = f" ({str(value['type']).lower()})" if value.get("type") else ""
        return f"{value['value']}{kind}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:,}"
    if isinstance(value, list):
        return "; ".join(_element(item) for item in value)
    return str(value)


def _element(item: Any) -> str:
    """One element of a list field: a site by its place, an outcome by its measure, else its main words."""
    if not isinstance(item, dict):
        return str(item)
    if "facility" in item or "city" in item or "country" in item:
        place = ", ".join(str(item[k]) for k in ("facility", "city", "country") if item.get(k))
        return place + (f" ({str(item['status']).lower().replace('_', ' ')})" if item.get("status") else "")
    if "measure" in item:
        return f"{item.get('outcome_type') or 'outcome'}: {item['measure']}"
    for name in ("name", "title", "label", "term"):
        if item.get(name):
            return str(item[name])
    return json.dumps(item, ensure_ascii=False, sort_keys=True)


def _named(items: Sequence[Any]) -> str:
    shown = "; ".join(_element(item) for item in items[:LISTED])
    return shown + (f" and {len(items) - LISTED:,} more" if len(items) > LISTED else "")


def _keyed(items: Sequence[Any]) -> Counter[str]:
    return Counter(json.dumps(item, ensure_ascii=False, sort_keys=True) for item in items)


def change_text(field: str, old: str | None, new: str | None) -> str:
    """``status: RECRUITING → ACTIVE_NOT_RECRUITING``; ``sites: 1,148 → 1,149 (added: Mayo Clinic, Rochester)``."""
    label = FIELD_LABELS.get(field, field.replace("_", " "))
    before, after = _decoded(old), _decoded(new)
    if isinstance(before, list | type(None)) and isinstance(after, list | type(None)) and (before or after):
        was, now = _keyed(before or []), _keyed(after or [])
        added = [json.loads(k) for k in (now - was).elements()]
        removed = [json.loads(k) for k in (was - now).elements()]
        parts = [f"added: {_named(added)}"] if added else []
        parts += [f"removed: {_named(removed)}"] if removed else []
        counts = f"{len(before or []):,} → {len(after or []):,}"
        return f"{label}: {counts}" + (f" ({'; '.join(parts)})" if parts else " (reordered)")
    return f"{label}: {value_text(before)} → {value_text(after)}"


def compliance_text(entry: Entry) -> str:
    detail = entry.detail or {}
    due = f"due {detail['due_date']}" if detail.get("due_date") else ""
    reported = f"reported {detail['reported_date']}" if detail.get("reported_date") else ""
    outcome = OUTCOME_WORDS.get(entry.new, str(entry.new).replace("_", " "))
    said = ", ".join(part for part in (due, reported, outcome) if part)
    return f"{KIND_LABELS.get(entry.kind, entry.kind)} ({said})"


def entry_text(entry: Entry) -> str:
    """What one entry says, without its trial: ``newly matches``, ``status: A → B``, ``results newly due (...)``."""
    if entry.kind == CHANGED:
        return change_text(entry.field or "", entry.old, entry.new)
    if entry.field == "outcome":
        return compliance_text(entry)
    return KIND_LABELS.get(entry.kind, entry.kind)


def day(dated: str) -> str:
    return dated[:10]


def render(watch: Watch, entries: Sequence[Entry], titles: Mapping[str, str | None], since: str) -> str:
    """One watch's part of the report: a heading line, then per trial its title and each entry, dated."""
    count = f"{len(entries):,} {'entry' if len(entries) == 1 else 'entries'}"
    lines = [f"{watch.name}: {watch.describe()} ({count} since {since})"]
    by_trial: dict[str, list[Entry]] = {}
    for entry in entries:
        by_trial.setdefault(entry.nct_id, []).append(entry)
    for nct in sorted(by_trial, key=lambda n: (min(e.dated for e in by_trial[n]), n)):
        lines.append(f"  {nct}  {' '.join((titles.get(nct) or '(no longer in the file)').split())}")
        lines.extend(f"    {day(entry.dated)}  {entry_text(entry)}" for entry in by_trial[nct])
    return "\n".join(lines)


def entry_json(watch: Watch, entry: Entry, title: str | None, entry_id: str) -> dict[str, Any]:
    """One line of ``--json``: values as JSON values (``changes`` keeps them as JSON text)."""
    changed = entry.kind == CHANGED
    return {
        "watch": watch.name,
        "kind": entry.kind,
        "nct_id": entry.nct_id,
        "title": title,
        "date": entry.dated,
        "field": entry.field,
        "old": _decoded(entry.old) if changed else entry.old,
        "new": _decoded(entry.new) if changed else entry.new,
        "text": entry_text(entry),
        "detail": dict(entry.detail) if entry.detail else None,
        "id": entry_id,
    }
