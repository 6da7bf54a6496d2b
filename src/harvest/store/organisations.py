"""``sponsor_organisations``: each lead sponsor name and the organisation (and parent) it is counted under.

Automatic rows group the names that share a normalised key (``core.sponsors.sponsor_key``) under the spelling
on most trials; they follow the studies, recomputed for the names of every batch written. Curated rows come
from the user (``harvest sponsors --import``) and always win: a name curated is never recomputed, and the
other names with its key are counted under its organisation. Rebuilds and re-parses rewrite studies, never
this table's curated rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harvest.core.dates import utcnow
from harvest.core.sponsors import preferred_spelling, sponsor_key
from harvest.store.sql import select_in

if TYPE_CHECKING:
    from harvest.store.handle import Handle

COLUMNS = ("name", "organisation", "parent", "curated")


@dataclass(frozen=True)
class Mapping:
    """One row: a sponsor name, its organisation and parent, and whether a person set it."""

    name: str
    organisation: str
    parent: str | None = None
    curated: bool = False


class SponsorOrganisations:
    """Reads and writes of ``sponsor_organisations``."""

    def __init__(self, store: Handle) -> None:
        self._conn = store.conn

    def get(self) -> dict[str, Mapping]:
        """Every row, by name."""
        rows = self._conn.execute("SELECT name, organisation, parent, curated FROM sponsor_organisations")
        return {name: Mapping(name, org, parent, bool(curated)) for name, org, parent, curated in rows}

    def refresh(self, names: Iterable[str | None] | None = None) -> None:
        """Recompute the automatic rows of these names' keys (of every name in ``studies`` when None)."""
        if names is None:
            counts = dict(
                self._conn.execute(
                    "SELECT lead_sponsor, count(*) FROM studies WHERE lead_sponsor IS NOT NULL GROUP BY lead_sponsor"
                )
            )
            keys = {sponsor_key(name) for name in counts}
            known = self._conn.execute("SELECT name, sponsor_key, curated FROM sponsor_organisations").fetchall()
        else:
            given = {name for name in names if name}
            if not given:
                return
            keys = {sponsor_key(name) for name in given}
            sql = "SELECT name, sponsor_key, curated FROM sponsor_organisations WHERE sponsor_key IN ({marks})"
            known = list(select_in(self._conn, sql, sorted(keys)))
            wanted = given | {name for name, _, _ in known}
            sql = "SELECT lead_sponsor, count(*) FROM studies WHERE lead_sponsor IN ({marks}) GROUP BY lead_sponsor"
            counts = dict(select_in(self._conn, sql, sorted(wanted)))
        self._recompute(keys, counts, known)

    def _recompute(self, keys: set[str], counts: dict[str, int], known: Sequence[tuple[str, str, int]]) -> None:
        curated = {name for name, _, flag in known if flag}
        rows = self.get_many(curated)
        groups: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for name, count in counts.items():
            key = sponsor_key(name)
            if key in keys and name not in curated:
                groups[key].append((name, count))
        chosen = {}  # key -> the curated row its names follow: the curated name on most trials, then by name
        for mapping in sorted(rows.values(), key=lambda m: (-counts.get(m.name, 0), m.name)):
            chosen.setdefault(sponsor_key(mapping.name), mapping)
        parents = self.curated_parents()
        now = utcnow()
        writes = []
        for key, members in groups.items():
            if key in chosen:
                organisation, parent = chosen[key].organisation, chosen[key].parent
            else:
                organisation = preferred_spelling(members)
                parent = parents.get(organisation)
            writes.extend((name, key, organisation, parent, now) for name, _ in members)
        self._conn.executemany(
            "INSERT INTO sponsor_organisations (name, sponsor_key, organisation, parent, curated, updated_at) "
            "VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT(name) DO UPDATE SET sponsor_key = excluded.sponsor_key, "
            "organisation = excluded.organisation, parent = excluded.parent, updated_at = excluded.updated_at "
            "WHERE curated = 0 AND (organisation IS NOT excluded.organisation OR parent IS NOT excluded.parent "
            "OR sponsor_key IS NOT excluded.sponsor_key)",
            writes,
        )
        gone = [name for name, _, flag in known if not flag and name not in counts]
        self._conn.executemany("DELETE FROM sponsor_organisations WHERE name = ? AND curated = 0", [(n,) for n in gone])

    def get_many(self, names: Iterable[str]) -> dict[str, Mapping]:
        sql = "SELECT name, organisation, parent, curated FROM sponsor_organisations WHERE name IN ({marks})"
        return {
            name: Mapping(name, org, parent, bool(flag))
            for name, org, parent, flag in select_in(self._conn, sql, sorted(set(names)))
        }

    def curated_parents(self) -> dict[str, str]:
        """organisation -> the parent a curated row gives it (every name counted under it inherits it)."""
        rows = self._conn.execute(
            "SELECT organisation, min(parent) FROM sponsor_organisations "
            "WHERE curated = 1 AND parent IS NOT NULL GROUP BY organisation"
        )
        return dict(rows.fetchall())

    def curate(self, mappings: Sequence[Mapping]) -> int:
        """Store these rows as curated (replacing what the file held for their names) and recompute the
        automatic rows they touch; returns how many rows changed."""
        before = self.get_many(m.name for m in mappings)
        changed = [
            m
            for m in mappings
            if (old := before.get(m.name)) is None
            or (old.organisation, old.parent, old.curated) != (m.organisation, m.parent, True)
        ]
        now = utcnow()
        self._conn.executemany(
            "INSERT OR REPLACE INTO sponsor_organisations (name, sponsor_key, organisation, parent, curated, "
            "updated_at) VALUES (?, ?, ?, ?, 1, ?)",
            [(m.name, sponsor_key(m.name), m.organisation, m.parent, now) for m in changed],
        )
        if changed:
            # Names elsewhere that now follow a curated row: those sharing its key or its organisation's parent.
            organisations = {m.organisation for m in changed}
            sql = "SELECT name FROM sponsor_organisations WHERE curated = 0 AND organisation IN ({marks})"
            inheriting = [row[0] for row in select_in(self._conn, sql, sorted(organisations))]
            self.refresh([*(m.name for m in changed), *inheriting])
        return len(changed)
