"""The compliance rows laid out for a terminal: per trial, per organisation, and what changed."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from harvest.query.compliance import CHANGE_COLUMNS, RESULT_COLUMNS, sponsor_columns

# The notes of the trial table: a data-quality flag or a fact worth seeing, in a few words.
_NOTES = {
    "has_certificate": "certificate",
    "late_certificate": "late certificate",
    "submission_cancelled": "QC submission cancelled",
    "defaulted_date": "date defaulted",
    "status_discrepancy": "status ongoing",
    "flags_absent": "no FDA flags",
}


def _cut(text: str | None, width: int) -> str:
    shown = text or "-"
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def _table(headings: list[str], body: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(line[i]) for line in [headings, *body]) for i in range(len(headings))]

    def line(values: list[str]) -> str:
        cells = [v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))]
        return "  ".join(cells).rstrip()

    return [line(headings), "  ".join("-" * w for w in widths), *(line(values) for values in body)]


def _days(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def render_trials(rows: Sequence[Sequence[Any]], sponsor_width: int = 32) -> str:
    """The trial rows: the dates, the outcome, both day counts, the record judged, and the flags as notes."""
    at = {name: i for i, name in enumerate(RESULT_COLUMNS)}
    headings = ["nct_id", "kind", "organisation", "completion", "due", "reported", "outcome", "late", "finable",
                "notes"]  # fmt: skip
    body = []
    for row in rows:
        notes = [text for column, text in _NOTES.items() if row[at[column]]]
        if row[at["qc_submitted"]]:
            notes.insert(0, "in QC")
        if row[at["version_used"]] is not None:
            notes.append(f"version {row[at['version_used']]} of {row[at['version_date']]}")
        body.append(
            [
                row[at["nct_id"]],
                row[at["act_kind"]] or "-",
                _cut(row[at["organisation"]], sponsor_width),
                row[at["completion_date_used"]] or "-",
                row[at["due_date"]] or "-",
                row[at["results_submitted"]] or row[at["qc_submitted"]] or "-",
                row[at["outcome"]],
                _days(row[at["days_late"]]),
                _days(row[at["finable_days_late"]]),
                ", ".join(notes),
            ]
        )
    return "\n".join(_table(headings, body, {7, 8}))


_SPONSOR_HEADINGS = {
    "trials": "trials",
    "pacts_flags_absent": "no flags",
    "not_yet_due": "not due",
    "due": "due",
    "reported_on_time": "on time",
    "reported_late": "late",
    "overdue": "overdue",
    "percentage": "reported %",
    "share_compliant": "on time %",
    "days_late": "days late",
}


def _cell(column: str, value: Any) -> str:
    if column == "percentage":
        return "-" if value is None else f"{value}%"
    if column == "share_compliant":
        return "-" if value is None else f"{value:.0%}"
    if column == "days_late":
        return _days(value)
    return f"{value or 0:,}"


def render_sponsors(
    rows: Sequence[Sequence[Any]],
    total: Sequence[Any],
    as_of: dt.date,
    *,
    by: str = "organisation",
    standard: str = "fdaaa",
    name_width: int = 40,
) -> str:
    """The organisation table: names left, numbers right, then ``total`` (the ungrouped row of ``sponsors``);
    under each organisation that merged several names, the names it merged."""
    at = {name: i for i, name in enumerate(sponsor_columns(by))}
    numbers = list(_SPONSOR_HEADINGS)
    headings = [by, *_SPONSOR_HEADINGS.values()]
    body, merged = [], []
    for row in rows:
        name = row[at[by]] if row[at[by]] is not None else "(no lead sponsor)"
        body.append([_cut(name, name_width)] + [_cell(c, row[at[c]]) for c in numbers])
        names = sorted(json.loads(row[at["sponsor_names"]] or "[]"))
        if len(names) > 1 or (names and names[0] != name):
            merged.append(f"  {name}: " + "; ".join(names))
    body.append([f"all {len(rows):,}"] + [_cell(c, total[at[c]]) for c in numbers])
    lines = _table(headings, body, set(range(1, len(headings))))
    rule = lines[1]
    title = "FDAAA 801; ACTs and pACTs" if standard == "fdaaa" else "WHO; interventional trials"
    out = [f"results reporting as of {as_of.isoformat()} ({title}), per {by}", "", *lines[:-1], rule, lines[-1], ""]
    out.append("due: reported or overdue; reported %: reported (on time or late) x 100 / due, TrialsTracker's score;")
    out.append("on time %: reported on time / due; days late: from the deadline (TrialsTracker's days_late)")
    if standard == "fdaaa":
        out.append("no flags: pACTs whose record has neither FDA-regulation flag, counted as pACTs (see README)")
    if merged:
        out.extend(["", "names merged:", *merged])
    return "\n".join(out)


def render_changes(rows: Sequence[Sequence[Any]], sponsor_width: int = 32) -> str:
    at = {name: i for i, name in enumerate(CHANGE_COLUMNS)}
    headings = ["change", "nct_id", "organisation", "before", "now", "due", "reported", "late"]
    body = [
        [
            row[at["change"]],
            row[at["nct_id"]],
            _cut(row[at["organisation"]], sponsor_width),
            row[at["outcome_before"]] or "-",
            row[at["outcome"]] or "-",
            row[at["due_date"]] or "-",
            row[at["reported_date"]] or "-",
            _days(row[at["days_late"]]),
        ]
        for row in rows
    ]
    return "\n".join(_table(headings, body, {7}))
