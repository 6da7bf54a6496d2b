"""``harvest sponsors``: the lead sponsor names of the file, their trials and the organisation each is counted
under; the mapping as CSV, out and in, so a team keeps its curation in git.

The CSV has the columns ``name``, ``organisation``, ``parent`` and ``curated`` (1 or 0). Reading one back, a
row marked curated is kept as curated; a row marked 0 whose organisation or parent differs from what the file
holds for that name is an edit, and kept as curated too; the other rows are automatic ones, which the file
works out again itself.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Sequence
from typing import Any, TextIO

from harvest.core.errors import InputError
from harvest.store.organisations import COLUMNS, Mapping

LIST_COLUMNS = ("name", "trials", "organisation", "parent", "curated", "names_merged")

_LISTING = """
WITH names AS (
    SELECT lead_sponsor AS name, count(*) AS trials FROM studies WHERE lead_sponsor IS NOT NULL GROUP BY lead_sponsor
),
mapped AS (
    SELECT n.name, n.trials, coalesce(m.organisation, n.name) AS organisation, m.parent,
           coalesce(m.curated, 0) AS curated
    FROM names n LEFT JOIN sponsor_organisations m ON m.name = n.name
),
grouped AS (
    SELECT *, count(*) OVER (PARTITION BY organisation) AS names_merged,
           sum(trials) OVER (PARTITION BY organisation) AS organisation_trials
    FROM mapped
)
SELECT name, trials, organisation, parent, curated, names_merged FROM grouped {where}
ORDER BY {order}"""

# A name matches nothing when no other name shares its organisation and no person has curated it, or the
# organisation it is counted under.
_UNMATCHED = (
    "WHERE names_merged = 1 AND NOT curated AND NOT EXISTS (SELECT 1 FROM sponsor_organisations c "
    "WHERE c.curated = 1 AND c.organisation = grouped.organisation)"
)


def listing(conn: sqlite3.Connection, *, unmatched: bool = False, search: str | None = None) -> list[tuple[Any, ...]]:
    """Every lead sponsor name (``LIST_COLUMNS``): grouped by organisation, the largest first; ``unmatched``:
    only the names that match nothing, biggest first; ``search``: names or organisations containing it."""
    conditions = [_UNMATCHED.removeprefix("WHERE ")] if unmatched else []
    params: dict[str, Any] = {}
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = "LIKE '%' || :search || '%' ESCAPE '\\'"
        conditions.append(f"(name {like} OR organisation {like})")
        params["search"] = escaped
    where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
    order = "trials DESC, name" if unmatched else "organisation_trials DESC, organisation, trials DESC, name"
    return conn.execute(_LISTING.format(where=where, order=order), params).fetchall()


def export_csv(conn: sqlite3.Connection, out: TextIO) -> int:
    """The whole mapping as CSV (``COLUMNS``), by organisation then name; returns the rows written."""
    rows = conn.execute(
        "SELECT name, organisation, parent, curated FROM sponsor_organisations ORDER BY organisation, name"
    ).fetchall()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for name, organisation, parent, curated in rows:
        writer.writerow([name, organisation, parent or "", int(curated)])
    return len(rows)


_TRUE, _FALSE = {"1", "true", "yes", "y"}, {"0", "false", "no", "n", ""}


def read_csv(text: str, where: str) -> list[tuple[Mapping, bool | None]]:
    """The rows of a mapping CSV, each with its curated mark (None when the file has no such column); a
    malformed file is one line naming where, and nothing is read from it."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    fields = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in ("name", "organisation") if name not in fields]
    if missing:
        raise InputError(f"{where}: no {' or '.join(missing)} column (expected {', '.join(COLUMNS)})")
    rows, seen = [], set()
    for line, raw in enumerate(reader, start=2):
        row = {(key or "").strip(): (value or "").strip() for key, value in raw.items() if key is not None}
        name, organisation = row.get("name", ""), row.get("organisation", "")
        if not name or not organisation:
            raise InputError(f"{where}, line {line}: a row needs a name and an organisation")
        if name in seen:
            raise InputError(f"{where}, line {line}: {name!r} is listed twice")
        seen.add(name)
        mark = row.get("curated")
        if mark is not None and mark.lower() not in _TRUE | _FALSE:
            raise InputError(f"{where}, line {line}: curated is {mark!r} (use 1 or 0)")
        curated = None if "curated" not in fields else mark is not None and mark.lower() in _TRUE
        rows.append((Mapping(name, organisation, row.get("parent") or None, True), curated))
    return rows


def marked(rows: Sequence[tuple[Mapping, bool | None]]) -> list[Mapping]:
    """The rows marked curated (every row, in a file without the mark): kept first, as given."""
    return [mapping for mapping, curated in rows if curated is None or curated]


def edits(
    rows: Sequence[tuple[Mapping, bool | None]], before: dict[str, Mapping], after: dict[str, Mapping]
) -> list[Mapping]:
    """The rows marked 0 that are edits: their organisation or parent differs from what the file held for the
    name both before the import and once the marked rows are in (an automatic row follows a curated one of its
    key, so an exported automatic row may show either). Kept as curated."""
    kept = []
    for mapping, curated in rows:
        if curated is not False:
            continue
        values = (mapping.organisation, mapping.parent)
        held = [(old.organisation, old.parent) for old in (before.get(mapping.name), after.get(mapping.name)) if old]
        # a name the file does not hold, marked 0, is another file's automatic row: nothing to keep
        if held and values not in held:
            kept.append(mapping)
    return kept
