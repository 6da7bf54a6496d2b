"""``studies`` and the tables that hang off it: child rows (conditions, locations, ...), conflicts, changes.

A new trial's row and children are inserted; a trial the file holds already, whose merged content changed, has
only the rows that differ written (``store.changed_rows``); the search index follows in the same transaction
(``store.fts``). The merge itself is not done here: the pipeline merges and hands over ``StudyWrites``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harvest.core.dates import utcnow
from harvest.core.records import Merged
from harvest.core.schema import Study, content_hash
from harvest.store import fts
from harvest.store.changed_rows import update_studies, write_changed
from harvest.store.columns import ROW_COLUMNS, later_values, row_table_rows
from harvest.store.organisations import SponsorOrganisations
from harvest.store.provenance import provenance_text
from harvest.store.sql import bindable, select_in

if TYPE_CHECKING:
    from harvest.store.handle import Handle
    from harvest.store.records import Aliases

DATE_FIELDS = ("start_date", "primary_completion_date", "completion_date", "first_posted", "last_update_posted")


def study_row(study: Study, merged: Merged | None = None, digest: str | None = None) -> dict[str, Any]:
    """The ``studies`` row of a study: scalar columns named after the schema (``digest``: its known content hash)."""
    row: dict[str, Any] = {
        "nct_id": study.nct_id,
        # A display title (brief, else official): what people reach for, and Datasette's label with no config.
        "title": study.brief_title or study.official_title,
        "brief_title": study.brief_title,
        "official_title": study.official_title,
        "acronym": study.acronym,
        "overall_status": study.overall_status,
        "last_known_status": study.last_known_status,
        "why_stopped": study.why_stopped,
        "status_verified_date": study.status_verified_date.value if study.status_verified_date else None,
        "study_type": study.study_type,
        "phases": json.dumps(list(study.phases)) if study.phases else None,
    }
    for name in DATE_FIELDS:
        date = getattr(study, name)
        row[name] = date.value if date else None
        row[f"{name}_type"] = date.type if date else None
    row.update(
        enrollment=study.enrollment,
        enrollment_type=study.enrollment_type,
        allocation=study.allocation,
        intervention_model=study.intervention_model,
        primary_purpose=study.primary_purpose,
        masking=study.masking,
        sex=study.sex,
        minimum_age=study.minimum_age,
        maximum_age=study.maximum_age,
        healthy_volunteers=study.healthy_volunteers,
        eligibility_criteria=study.eligibility_criteria,
        brief_summary=study.brief_summary,
        detailed_description=study.detailed_description,
        lead_sponsor=study.lead_sponsor,
        lead_sponsor_class=study.lead_sponsor_class,
        has_results=study.has_results,
        nct_aliases=json.dumps(study.nct_aliases) if study.nct_aliases else None,
        unmapped=json.dumps(study.unmapped, ensure_ascii=False, sort_keys=True) if study.unmapped else None,
        sources=json.dumps(merged.sources) if merged else json.dumps([study.provenance.source]),
        provenance=provenance_text(merged.provenance) if merged else None,
        content_hash=digest or study.content_hash(),
    )
    row.update(later_values(study))
    # What the row says plus who said it: a change of attribution alone is not a change of the study.
    row["merge_hash"] = content_hash(
        [row["content_hash"], row["sources"], row["provenance"], merged.conflicts if merged else []]
    )
    return row


def child_rows(study: Study) -> dict[str, list[tuple[Any, ...]]]:
    nct = study.nct_id
    return {
        "conditions": [(nct, i, name) for i, name in enumerate(study.conditions)],
        "keywords": [(nct, i, word) for i, word in enumerate(study.keywords)],
        "interventions": [
            (nct, i, item.type, item.name, item.description) for i, item in enumerate(study.interventions)
        ],
        "locations": [
            (nct, i, loc.facility, loc.city, loc.state, loc.zip, loc.country, loc.status, loc.latitude, loc.longitude)
            for i, loc in enumerate(study.locations)
        ],
        "sponsors": (
            ([(nct, 0, "LEAD", study.lead_sponsor, study.lead_sponsor_class)] if study.lead_sponsor else [])
            + [
                (nct, i + 1, "COLLABORATOR", item.name, item.sponsor_class)
                for i, item in enumerate(study.collaborators)
            ]
        ),
        "contacts": [
            (nct, i, c.role, c.name, c.affiliation, c.phone, c.email, c.phone_ext, c.kind)
            for i, c in enumerate(study.contacts)
        ],
        "identifiers": [(nct, i, s.scheme, s.value, s.domain) for i, s in enumerate(study.identifiers)],
        **row_table_rows(study),
    }


# Each table keyed by (nct_id, position): its columns in the order of the rows ``_child_rows`` builds.
CHILD_COLUMNS: dict[str, tuple[str, ...]] = {
    "conditions": ("nct_id", "position", "name"),
    "keywords": ("nct_id", "position", "keyword"),
    "interventions": ("nct_id", "position", "type", "name", "description"),
    "locations": (
        "nct_id", "position", "facility", "city", "state", "zip", "country", "status", "latitude", "longitude",
    ),
    "sponsors": ("nct_id", "position", "role", "name", "class"),
    "contacts": ("nct_id", "position", "role", "name", "affiliation", "phone", "email", "phone_ext", "kind"),
    "identifiers": ("nct_id", "position", "scheme", "value", "domain"),
    **{table: ("nct_id", "position", *columns) for table, columns in ROW_COLUMNS.items()},
}  # fmt: skip
CHILD_INSERTS = {
    table: f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    for table, columns in CHILD_COLUMNS.items()
}
CONFLICT_COLUMNS = ("nct_id", "field", "source", "value")


@dataclass
class StudyWrites:
    """What a batch does to study rows, written with one statement per table instead of one per study.

    Each study's rows are its own (keyed by NCT), so the order across studies does not matter. ``replaced`` are
    trials the file holds already: their rows are compared with the file's, and only those that differ written.
    """

    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # no record carries them any more
    reattributed: list[tuple[Any, ...]] = field(default_factory=list)  # same study, other sources/provenance
    studies: list[list[Any]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    children: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {table: [] for table in CHILD_INSERTS})
    conflicts: list[tuple[Any, ...]] = field(default_factory=list)
    changes: list[tuple[Any, ...]] = field(default_factory=list)

    def add(self, row: dict[str, Any], merged: Merged, existed: bool) -> None:
        """A trial's row from its merged study (``existed``: the file holds it already)."""
        conflicts = [(row["nct_id"], f, s, json.dumps(v, ensure_ascii=False)) for f, s, v in merged.conflicts]
        self.add_rows(row, child_rows(merged.study), conflicts, existed)

    def add_rows(
        self,
        row: dict[str, Any],
        children: dict[str, list[tuple[Any, ...]]],
        conflicts: list[tuple[Any, ...]],
        existed: bool,
    ) -> None:
        """A trial's rows as built already (by a parse worker, for a trial one record makes)."""
        now = utcnow()
        if existed:
            self.replaced.append(row["nct_id"])
        self.columns = [*row, "updated_at"]
        self.studies.append([*row.values(), now, now])
        for table, rows in children.items():
            self.children[table].extend(rows)
        self.conflicts.extend(conflicts)

    def reattribute(self, row: dict[str, Any], conflicts: list[tuple[str, str, Any]]) -> None:
        """Only the attribution changed: the row keeps its content and its children, its conflicts are new."""
        nct = row["nct_id"]
        self.reattributed.append((row["sources"], row["provenance"], row["merge_hash"], nct))
        self.conflicts.extend((nct, f, s, json.dumps(v, ensure_ascii=False)) for f, s, v in conflicts)

    def execute(self, conn: sqlite3.Connection) -> None:
        """Write the batch: new trials' rows are inserted; a trial already in the file has only the rows that
        differ written (``store.changed_rows``), so a release that changes one row of it writes that row."""
        delete_rows(conn, self.removed)
        replaced = set(self.replaced)
        if self.reattributed:
            conn.executemany(
                "UPDATE studies SET sources = ?, provenance = ?, merge_hash = ? WHERE nct_id = ?", self.reattributed
            )
        if self.changes:
            conn.executemany(
                "INSERT INTO changes (nct_id, run_id, field, old, new, changed_at) VALUES (?,?,?,?,?,?)", self.changes
            )
        if self.studies:
            marks = ",".join("?" * len(self.columns))
            updates = ", ".join(f"{c}=excluded.{c}" for c in self.columns if c != "nct_id")
            conn.executemany(
                f"INSERT INTO studies ({', '.join(self.columns)}, first_seen_at) VALUES ({marks}, ?) "
                f"ON CONFLICT(nct_id) DO UPDATE SET {updates}",
                bindable([row for row in self.studies if row[0] not in replaced]),  # half of a row is NULLs
            )
            width = len(self.columns)
            again = {row[0]: row[:width] for row in self.studies if row[0] in replaced}
            update_studies(conn, self.columns, again, touched=("updated_at",))
        compared = sorted(replaced)
        for table, rows in self.children.items():
            new = [row for row in rows if row[0] not in replaced]
            if new:
                conn.executemany(CHILD_INSERTS[table], new)
            if compared:
                write_changed(conn, table, CHILD_COLUMNS[table], 2, compared, [r for r in rows if r[0] in replaced])
        rewritten = replaced | {row[3] for row in self.reattributed}
        new_conflicts = [row for row in self.conflicts if row[0] not in rewritten]
        if new_conflicts:
            conn.executemany(
                "INSERT OR REPLACE INTO conflicts (nct_id, field, source, value) VALUES (?,?,?,?)", new_conflicts
            )
        if rewritten:
            again_conflicts = [row for row in self.conflicts if row[0] in rewritten]
            write_changed(conn, "conflicts", CONFLICT_COLUMNS, 3, sorted(rewritten), again_conflicts)


def delete_rows(conn: sqlite3.Connection, ncts: Sequence[str]) -> None:
    """Study rows and everything hanging off them (the search index is the caller's)."""
    for table in (*CHILD_INSERTS, "conflicts", "studies"):
        conn.executemany(f"DELETE FROM {table} WHERE nct_id = ?", [(nct,) for nct in ncts])


class Studies:
    """Reads and writes of ``studies`` and its child tables, conflicts and changes."""

    def __init__(self, store: Handle, aliases: Aliases) -> None:
        self._conn = store.conn
        self._aliases = aliases
        self._organisations = SponsorOrganisations(store)

    def hashes(self, nct_ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """nct_id -> (content_hash, merge_hash) of the rows the file holds."""
        sql = "SELECT nct_id, content_hash, merge_hash FROM studies WHERE nct_id IN ({marks})"
        return {nct: (digest, merge_digest) for nct, digest, merge_digest in select_in(self._conn, sql, nct_ids)}

    def write(self, writes: StudyWrites, nct_ids: Sequence[str]) -> int:
        """Apply ``writes``; the search index follows for ``nct_ids`` (the trials considered). Returns rows written."""
        indexed = fts.indexed_documents(self._conn, nct_ids)  # before any row changes: FTS5 needs the old text
        writes.execute(self._conn)
        fts.update_index(self._conn, indexed, nct_ids)
        if writes.studies:  # the sponsor names written are mapped to organisations in the same transaction
            at = writes.columns.index("lead_sponsor")
            self._organisations.refresh(row[at] for row in writes.studies)
        return len(writes.studies)

    def delete(self, nct_ids: Sequence[str]) -> None:
        """Trials no record carries any more, with their children, conflicts and index entries."""
        fts.unindex_studies(self._conn, nct_ids)
        delete_rows(self._conn, nct_ids)

    def conflicts(self, nct_id: str | None = None) -> list[tuple[Any, ...]]:
        sql = "SELECT nct_id, field, source, value FROM conflicts"
        params: list[Any] = []
        if nct_id:
            sql += " WHERE nct_id = ?"
            params.append(self._aliases.current(nct_id))
        return self._conn.execute(sql + " ORDER BY nct_id, field, source", params).fetchall()

    def changes_since(
        self, since: str, nct_id: str | None = None, field_name: str | None = None
    ) -> list[tuple[Any, ...]]:
        sql = "SELECT changed_at, nct_id, field, old, new, run_id FROM changes WHERE changed_at >= ?"
        params: list[Any] = [since]
        if nct_id:
            sql += " AND nct_id = ?"
            params.append(nct_id)
        if field_name:
            sql += " AND field = ?"
            params.append(field_name)
        return self._conn.execute(sql + " ORDER BY changed_at, nct_id, field", params).fetchall()
