"""``harvest compliance``: the results-reporting compliance of ACTs and pACTs at any date, per trial or sponsor.

The rules are SQL in ``store.compliance``, shared with the views ``results_compliance`` and
``sponsor_compliance`` (which are that SQL as of today); here they run with an explicit as-of date, with the
sponsor and outcome filters, and the sponsor table is laid out for a terminal.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import Counter
from collections.abc import Sequence
from typing import Any

from harvest.store.compliance import OUTCOMES, RESULT_COLUMNS, SPONSOR_COLUMNS, results_sql, sponsor_sql

__all__ = [
    "OUTCOMES",
    "RESULT_COLUMNS",
    "SPONSOR_COLUMNS",
    "render_sponsors",
    "render_trials",
    "sponsors",
    "summary",
    "trials",
]


def _filtered(sponsor: str | None, outcomes: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The trial rows at ``:as_of`` as a subquery, with the filters' conditions and parameters."""
    conditions, params = [], {}
    if sponsor:
        # a part of the name, in any case (LIKE's wildcards in it are plain characters)
        escaped = sponsor.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append("lead_sponsor LIKE '%' || :sponsor || '%' ESCAPE '\\'")
        params["sponsor"] = escaped
    if outcomes:
        names = [f":outcome{i}" for i in range(len(outcomes))]
        conditions.append(f"outcome IN ({', '.join(names)})")
        params.update({name[1:]: value for name, value in zip(names, outcomes, strict=True)})
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"(SELECT * FROM ({results_sql(':as_of')}){where})", params


def trials(
    conn: sqlite3.Connection, as_of: dt.date, *, sponsor: str | None = None, outcomes: Sequence[str] = ()
) -> list[tuple[Any, ...]]:
    """The rows of ``results_compliance`` at ``as_of`` (``RESULT_COLUMNS``), by NCT number."""
    rows, params = _filtered(sponsor, outcomes)
    return conn.execute(f"SELECT * FROM {rows} ORDER BY nct_id", {"as_of": as_of.isoformat(), **params}).fetchall()


def sponsors(
    conn: sqlite3.Connection, as_of: dt.date, *, sponsor: str | None = None, grouped: bool = True
) -> list[tuple[Any, ...]]:
    """The rows of ``sponsor_compliance`` at ``as_of`` (``SPONSOR_COLUMNS``), most overdue trials first;
    not ``grouped``: one row of totals over them all."""
    rows, params = _filtered(sponsor, ())
    return conn.execute(sponsor_sql(rows, grouped=grouped), {"as_of": as_of.isoformat(), **params}).fetchall()


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def summary(rows: Sequence[Sequence[Any]], as_of: dt.date) -> str:
    """One line on what the trial rows say: how many of each kind and outcome, and the pACTs without flags."""
    at = {name: i for i, name in enumerate(RESULT_COLUMNS)}
    kinds = Counter(row[at["act_kind"]] for row in rows)
    outcomes = Counter(row[at["outcome"]] for row in rows)
    absent = sum(1 for row in rows if row[at["act_kind"]] == "pACT" and row[at["flags_absent"]])
    counted = ", ".join(f"{outcomes[name]:,} {name.replace('_', ' ')}" for name in reversed(OUTCOMES))
    line = (
        f"{_plural(len(rows), 'trial')} ({kinds['ACT']:,} ACT, {kinds['pACT']:,} pACT) as of {as_of.isoformat()}:"
        f" {counted}"
    )
    if absent:
        verb = "has" if absent == 1 else "have"
        line += f"; {_plural(absent, 'pACT')} {verb} no FDA-regulation flags (counted as pACTs, see README)"
    return line


# The notes of the trial table: a data-quality flag or a fact worth seeing, in a few words.
_NOTES = {
    "has_certificate": "certificate",
    "late_certificate": "late certificate",
    "defaulted_date": "date defaulted",
    "status_discrepancy": "status ongoing",
    "flags_absent": "no FDA flags",
}


def render_trials(rows: Sequence[Sequence[Any]], sponsor_width: int = 32) -> str:
    """The trial rows for a terminal: the dates and outcome, and the flags as a few words of notes."""
    at = {name: i for i, name in enumerate(RESULT_COLUMNS)}
    headings = ["nct_id", "kind", "lead sponsor", "completion", "due", "results", "outcome", "days", "notes"]
    body = []
    for row in rows:
        name = row[at["lead_sponsor"]] or "-"
        name = name if len(name) <= sponsor_width else name[: sponsor_width - 1] + "…"
        notes = ", ".join(text for column, text in _NOTES.items() if row[at[column]])
        body.append(
            [
                row[at["nct_id"]],
                row[at["act_kind"]],
                name,
                row[at["completion_date_used"]] or "-",
                row[at["due_date"]] or "-",
                row[at["results_submitted"]] or "-",
                row[at["outcome"]],
                f"{row[at['days_overdue']]:,}",
                notes,
            ]
        )
    widths = [max(len(line[i]) for line in [headings, *body]) for i in range(len(headings))]
    right = {headings.index("days")}

    def line(values: list[str]) -> str:
        cells = [v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))]
        return "  ".join(cells).rstrip()

    return "\n".join([line(headings), "  ".join("-" * w for w in widths), *(line(values) for values in body)])


_SPONSOR_HEADINGS = {
    "lead_sponsor": "lead sponsor",
    "trials": "trials",
    "pacts_flags_absent": "no flags",
    "not_yet_due": "not due",
    "due": "due",
    "reported_on_time": "on time",
    "reported_late": "late",
    "overdue": "overdue",
    "share_compliant": "compliant",
    "days_overdue": "days overdue",
}


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def render_sponsors(rows: Sequence[Sequence[Any]], total: Sequence[Any], as_of: dt.date, name_width: int = 44) -> str:
    """The sponsor table for a terminal: names left, numbers right, shares as percentages, then ``total`` (the
    ungrouped row of ``sponsors``)."""
    at = {name: i for i, name in enumerate(SPONSOR_COLUMNS)}
    numbers = [name for name in _SPONSOR_HEADINGS if name != "lead_sponsor"]

    def cells(name: str | None, values: dict[str, Any]) -> list[str]:
        shown = name if name is not None else "(no lead sponsor)"
        shown = shown if len(shown) <= name_width else shown[: name_width - 1] + "…"
        return [shown] + [
            _share(values[column]) if column == "share_compliant" else f"{values[column] or 0:,}" for column in numbers
        ]

    body = [cells(row[at["lead_sponsor"]], {c: row[at[c]] for c in numbers}) for row in rows]
    total_cells = cells(f"all {len(rows):,} sponsors", {c: total[at[c]] for c in numbers})
    headings = list(_SPONSOR_HEADINGS.values())
    widths = [max(len(line[i]) for line in [headings, *body, total_cells]) for i in range(len(headings))]

    def line(values: list[str]) -> str:
        first = values[0].ljust(widths[0])
        return "  ".join([first, *(v.rjust(w) for v, w in zip(values[1:], widths[1:], strict=True))]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [f"results reporting as of {as_of.isoformat()} (FDAAA 801; ACTs and pACTs)", "", line(headings), rule]
    out.extend(line(values) for values in body)
    out.extend([rule, line(total_cells), ""])
    out.append("due: past the due date; compliant: the due trials reported on time, over due")
    out.append("no flags: pACTs whose record has neither FDA-regulation flag, counted as pACTs (see README)")
    return "\n".join(out)
