"""``harvest compliance``: results reporting of the trials a standard holds to report, at any date, per trial,
per organisation, or as what changed between two dates.

The rules are SQL in ``store.compliance``, shared with the views ``results_compliance`` and
``sponsor_compliance`` (which are that SQL under FDAAA as of today); here they run with an explicit as-of date,
a standard, and the sponsor and outcome filters. ``query.compliance_render`` lays the rows out for a terminal.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import Counter
from collections.abc import Sequence
from typing import Any

from harvest.store.compliance import OUTCOMES, REPORTED, RESULT_COLUMNS, STANDARDS, results_sql
from harvest.store.compliance_sponsors import SPONSOR_COLUMNS, sponsor_columns, sponsor_sql

__all__ = [
    "CHANGES",
    "CHANGE_COLUMNS",
    "OUTCOMES",
    "RESULT_COLUMNS",
    "SPONSOR_COLUMNS",
    "STANDARDS",
    "changes",
    "changes_summary",
    "sponsor_columns",
    "sponsors",
    "summary",
    "trials",
]

# What --changes-since lists, in this order: the deadline passed, the grace period ended with nothing reported,
# results (or a submission to QC) came in, and an overdue trial left the list without reporting.
CHANGES = ("newly_due", "newly_overdue", "newly_reported", "no_longer_overdue")
CHANGE_COLUMNS = (
    "change",
    "nct_id",
    "act_kind",
    "lead_sponsor",
    "organisation",
    "outcome_before",
    "outcome",
    "due_date",
    "reported_date",
    "days_late",
    "since",
    "as_of",
)


def _filtered(sponsor: str | None, outcomes: Sequence[str], standard: str) -> tuple[str, dict[str, Any]]:
    """The trial rows at ``:as_of`` as a subquery, with the filters' conditions and parameters."""
    conditions, params = [], {}
    if sponsor:
        # a part of the name, the organisation or the parent, in any case (LIKE's wildcards are plain characters)
        escaped = sponsor.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = "LIKE '%' || :sponsor || '%' ESCAPE '\\'"
        conditions.append(f"(lead_sponsor {like} OR organisation {like} OR parent {like})")
        params["sponsor"] = escaped
    if outcomes:
        names = [f":outcome{i}" for i in range(len(outcomes))]
        conditions.append(f"outcome IN ({', '.join(names)})")
        params.update({name[1:]: value for name, value in zip(names, outcomes, strict=True)})
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"(SELECT * FROM ({results_sql(':as_of', standard)}){where})", params


def trials(
    conn: sqlite3.Connection,
    as_of: dt.date,
    *,
    sponsor: str | None = None,
    outcomes: Sequence[str] = (),
    standard: str = "fdaaa",
) -> list[tuple[Any, ...]]:
    """The rows of ``results_compliance`` at ``as_of`` (``RESULT_COLUMNS``), by NCT number."""
    rows, params = _filtered(sponsor, outcomes, standard)
    return conn.execute(f"SELECT * FROM {rows} ORDER BY nct_id", {"as_of": as_of.isoformat(), **params}).fetchall()


def sponsors(
    conn: sqlite3.Connection,
    as_of: dt.date,
    *,
    sponsor: str | None = None,
    grouped: bool = True,
    by: str = "organisation",
    standard: str = "fdaaa",
) -> list[tuple[Any, ...]]:
    """The rows of ``sponsor_compliance`` at ``as_of`` (``sponsor_columns(by)``), most overdue trials first;
    not ``grouped``: one row of totals over them all."""
    rows, params = _filtered(sponsor, (), standard)
    sql = sponsor_sql(rows, grouped=grouped, by=by)
    return conn.execute(sql, {"as_of": as_of.isoformat(), **params}).fetchall()


def changes(
    conn: sqlite3.Connection,
    since: dt.date,
    as_of: dt.date,
    *,
    sponsor: str | None = None,
    standard: str = "fdaaa",
) -> list[tuple[Any, ...]]:
    """What changed between ``since`` and ``as_of`` (``CHANGE_COLUMNS``), both judged as ``--as-of`` judges:
    the deadlines passed, the trials newly overdue, newly reported, and no longer overdue without reporting."""
    at = {name: i for i, name in enumerate(RESULT_COLUMNS)}
    before = {row[0]: row for row in trials(conn, since, sponsor=sponsor, standard=standard)}
    now = trials(conn, as_of, sponsor=sponsor, standard=standard)
    found = []
    for row in now:
        then = before.get(row[0])
        old = then[at["outcome"]] if then else None
        new, due = row[at["outcome"]], row[at["due_date"]]
        kinds = []
        if due is not None and since.isoformat() <= due < as_of.isoformat():
            kinds.append("newly_due")
        if new == "overdue" and old != "overdue":
            kinds.append("newly_overdue")
        if new in REPORTED and old not in REPORTED:
            kinds.append("newly_reported")
        if old == "overdue" and new not in ("overdue", *REPORTED):
            kinds.append("no_longer_overdue")
        reported = row[at["results_submitted"]] or row[at["qc_submitted"]]
        found.extend(
            (
                kind,
                row[0],
                row[at["act_kind"]],
                row[at["lead_sponsor"]],
                row[at["organisation"]],
                old,
                new,
                due,
                reported,
                row[at["days_late"]],
                since.isoformat(),
                as_of.isoformat(),
            )
            for kind in kinds
        )
    gone = sorted(set(before) - {row[0] for row in now})
    for nct in gone:  # held to report then, not now (no longer an ACT, or its record was removed)
        then = before[nct]
        if then[at["outcome"]] == "overdue":
            found.append(
                ("no_longer_overdue", nct, then[at["act_kind"]], then[at["lead_sponsor"]], then[at["organisation"]],
                 "overdue", None, then[at["due_date"]], None, None, since.isoformat(), as_of.isoformat())
            )  # fmt: skip
    return sorted(found, key=lambda r: (CHANGES.index(r[0]), r[1]))


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def summary(rows: Sequence[Sequence[Any]], as_of: dt.date, standard: str = "fdaaa") -> str:
    """One line on what the trial rows say: how many of each kind and outcome, and the pACTs without flags."""
    at = {name: i for i, name in enumerate(RESULT_COLUMNS)}
    outcomes = Counter(row[at["outcome"]] for row in rows)
    counted = ", ".join(f"{outcomes[name]:,} {name.replace('_', ' ')}" for name in reversed(OUTCOMES))
    if standard == "who":
        return f"{_plural(len(rows), 'interventional trial')} as of {as_of.isoformat()} (WHO): {counted}"
    kinds = Counter(row[at["act_kind"]] for row in rows)
    absent = sum(1 for row in rows if row[at["act_kind"]] == "pACT" and row[at["flags_absent"]])
    line = (
        f"{_plural(len(rows), 'trial')} ({kinds['ACT']:,} ACT, {kinds['pACT']:,} pACT) as of {as_of.isoformat()}:"
        f" {counted}"
    )
    if absent:
        verb = "has" if absent == 1 else "have"
        line += f"; {_plural(absent, 'pACT')} {verb} no FDA-regulation flags (counted as pACTs, see README)"
    return line


def changes_summary(rows: Sequence[Sequence[Any]], since: dt.date, as_of: dt.date) -> str:
    counts = Counter(row[0] for row in rows)
    listed = ", ".join(f"{counts[kind]:,} {kind.replace('_', ' ')}" for kind in CHANGES)
    return f"{_plural(len(rows), 'change')} from {since.isoformat()} to {as_of.isoformat()}: {listed}"
