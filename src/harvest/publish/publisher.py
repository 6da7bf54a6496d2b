"""``harvest publish``: the file copied into PostgreSQL, the first time whole, then only what changed.

One publish reads one snapshot of the file (a read transaction begun while no harvest command writes, under
the file's lock, which is let go at once), so what it sends is the file as it stood at one moment, the
**position**. The next publish sends the trials with rows written at or after that moment
(``store.touched``), and deletes those the file no longer holds. A trial's rows, in every table and view
refreshed by study (``publish.catalog``), go in one transaction with the trials of its batch, so a reader
never sees half a trial; tables and views that are not by study are copied whole, each in one transaction.

The position is kept in the database (``harvest.publish_state``) and in the file (``harvest_meta``), and the
older of the two counts. An unfinished publish left its batches committed and, in the state, how far it got
(trials are sent in NCT order): the next one sends what that one had not, and what changed since it began.
A publish killed at any point and run again gives the database a complete one would have given.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from harvest import __version__
from harvest.core.dates import utcnow
from harvest.core.errors import DatabaseUnavailable
from harvest.publish.catalog import Relation, relations, universe_sql
from harvest.publish.columns import WIDER, Column, Misfit, columns_of, row_converter, widened
from harvest.publish.postgres import State, Target
from harvest.store.database import Store
from harvest.store.kinds import PAYLOADS, Kind
from harvest.store.lock import RunLock
from harvest.store.sql import chunks
from harvest.store.touched import rewritten_since, touched_since

log = logging.getLogger("harvest.publish")

BATCH = 500  # trials per transaction
FETCH = 2000  # rows read from SQLite at a time
FILE_ID = "file_id"

OnProgress = Callable[[int, int], None]


@dataclass
class PublishReport:
    target: str
    position: str = ""
    full: bool = False  # the first publish to this database, or one of another file
    trials: int = 0  # trials whose rows were sent
    removed: int = 0  # trials whose rows were deleted (the file no longer holds them)
    whole: int = 0  # tables and views copied whole
    rows: int = 0
    rebuilt: list[str] = field(default_factory=list)  # tables made anew (new, or changed in the file)
    widened: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        kind = "full" if self.full else "incremental"
        text = (
            f"published to {self.target} ({kind}, as of {self.position}): {self.trials:,} trials sent, "
            f"{self.removed:,} removed, {self.whole:,} tables and views copied whole, {self.rows:,} rows "
            f"in {self.seconds:.1f} s"
        )
        return text + (f"; widened {', '.join(self.widened)}" if self.widened else "")


def position_key(target: str) -> str:
    return f"published {target}"


def publish(db_path: str, url: str, *, batch: int = BATCH, on_progress: OnProgress | None = None) -> PublishReport:
    """Publish the file at ``db_path`` to the PostgreSQL database at ``url``."""
    started = time.monotonic()
    target = Target(url)
    try:
        return _publish(target, db_path, batch, on_progress, started)
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DatabaseUnavailable(f"PostgreSQL {target.name}: {reason}") from None
    finally:
        target.close()


def _publish(target: Target, db_path: str, batch: int, on_progress: OnProgress | None, started: float) -> PublishReport:
    target.prepare()
    report = PublishReport(target.name)
    with RunLock(db_path, "harvest publish"):  # no harvest command writes while the snapshot begins
        file_id, file_position = _file_marks(db_path, target.name)
        store = Store(db_path, readonly=True)
        store.conn.execute("BEGIN")
        store.conn.execute("SELECT count(*) FROM harvest_meta").fetchone()  # the snapshot starts here
        report.position = utcnow()
    try:
        _Publish(store, target, report, batch, on_progress).run(file_id, file_position)
    finally:
        store.conn.rollback()
        store.close()
    with RunLock(db_path, "harvest publish"):
        writer = Store(db_path)
        try:
            with writer.transaction():
                writer.runs.set_meta(position_key(target.name), json.dumps({"position": report.position}))
        finally:
            writer.close()
    report.seconds = time.monotonic() - started
    return report


def _file_marks(db_path: str, target: str) -> tuple[str, str | None]:
    """The file's identity (made on its first publish) and its position for this target."""
    writer = Store(db_path)
    try:
        file_id = writer.runs.meta(FILE_ID)
        if file_id is None:
            file_id = uuid.uuid4().hex
            with writer.transaction():
                writer.runs.set_meta(FILE_ID, file_id)
        mark = writer.runs.meta(position_key(target))
        return file_id, json.loads(mark)["position"] if mark else None
    finally:
        writer.close()


class _Publish:
    """One publish: the snapshot's relations, sent by study batches and whole."""

    def __init__(
        self, store: Store, target: Target, report: PublishReport, batch: int, on_progress: OnProgress | None
    ) -> None:
        self.conn = store.conn
        self.path = store.path
        self.target = target
        self.report = report
        self.batch = batch
        self.on_progress = on_progress
        self.relations = relations(self.conn)
        self.columns: dict[str, list[Column]] = {}
        self.complete: set[str] = set()  # by-study relations already copied whole from this snapshot
        self.created: set[str] = set()  # by-study relations made empty by this publish: no rows to delete

    def run(self, file_id: str, file_position: str | None) -> None:
        state = self.target.state()
        if state.file_id != file_id:
            state = State(file_id=file_id)  # another file's copy (or none): everything is sent anew
        elif file_position is not None and state.position is not None:
            state.position = min(state.position, file_position)
        universe = {nct for (nct,) in self.conn.execute(universe_sql(self.relations))}
        sending = self._to_send(state, universe)
        gone = self.target.published_studies() - universe
        self.report.full = state.position is None
        self.report.removed = len(gone)
        self._prepare_relations(full=self.report.full)
        self._send_studies(sorted(sending | gone), universe, state)
        for relation in self.relations:
            if not relation.by_study:
                self._copy_whole(relation)
                self.report.whole += 1
        with self.target.transaction():
            self.target.save_state(
                State(file_id=file_id, position=self.report.position),
                published_at=self.report.position,
                harvest_version=__version__,
                source=self.path,
            )

    def _to_send(self, state: State, universe: set[str]) -> set[str]:
        """The trials to send: all of them the first time, else those touched since the position; after an
        unfinished publish, those it sent (up to its cursor) only if touched since it began."""

        def since(position: str | None) -> set[str]:
            if position is None or rewritten_since(self.conn, position):
                return set(universe)
            return touched_since(self.conn, position) & universe

        sending = since(state.position)
        if state.pending_position and state.pending_cursor:
            cursor = state.pending_cursor
            sending = {n for n in sending if n > cursor} | {n for n in since(state.pending_position) if n <= cursor}
        return sending

    # -- relations --------------------------------------------------------------------------------------

    def _prepare_relations(self, *, full: bool) -> None:
        """Drop what the file no longer has; create or rebuild what is new or changed in the file."""
        wanted = {(r.schema, r.name) for r in self.relations}
        for (schema, name), _ in self.target.published_relations().items():
            if (schema, name) not in wanted:
                with self.target.transaction():
                    self.target.drop(schema, name)
                log.info("dropped %s.%s: the file no longer has it", schema, name)
        for relation in self.relations:
            declared = [c for c in columns_of(self.conn, relation.name) if c.name not in PAYLOADS]
            present = self.target.columns(relation.schema, relation.name)
            if present is not None and _compatible(present, declared):
                self.columns[relation.name] = present
                continue
            self.columns[relation.name] = declared
            if not relation.by_study:
                continue  # made anew by its whole copy
            self.report.rebuilt.append(f"{relation.schema}.{relation.name}")
            if full:  # filled by the batches, which send every trial
                with self.target.transaction():
                    self.target.create(relation, declared)
                self.created.add(relation.name)
            else:
                self._copy_whole(relation, create=True)

    def _copy_whole(self, relation: Relation, *, create: bool | None = None) -> None:
        """Every row of a relation, in one transaction; a value that does not fit widens its column."""
        columns = self.columns[relation.name]
        remake = create if create is not None else self.target.columns(relation.schema, relation.name) != columns
        while True:
            try:
                with self.target.transaction():
                    if remake:
                        self.target.create(relation, columns)
                    else:
                        self.target.delete_rows(relation)
                    self.report.rows += self.target.copy(relation, columns, self._rows(relation, columns))
                break
            except Misfit as misfit:
                columns = self._widen(relation, columns, misfit)
                remake = True
        self.columns[relation.name] = columns
        if relation.by_study:
            self.complete.add(relation.name)

    def _widen(self, relation: Relation, columns: list[Column], misfit: Misfit) -> list[Column]:
        wider = widened(columns, misfit)
        before, after = columns[misfit.index], wider[misfit.index]
        note = f"{relation.schema}.{relation.name}.{before.name} {before.kind} -> {after.kind}"
        self.report.widened.append(note)
        log.warning("widened %s (a value that does not fit: %r)", note, misfit.value)
        return wider

    def _rows(
        self, relation: Relation, columns: Sequence[Column], nct_ids: Sequence[str] | None = None
    ) -> Iterator[list[Any]]:
        names = ", ".join(f'"{c.name}"' for c in columns)
        query = f'SELECT {names} FROM "{relation.name}"'
        params: Sequence[Any] = ()
        if nct_ids is not None:
            query += f" WHERE nct_id IN ({','.join('?' * len(nct_ids))})"
            params = nct_ids
        convert = row_converter(columns)
        cursor = self.conn.execute(query, params)
        while chunk := cursor.fetchmany(FETCH):
            for row in chunk:
                try:
                    yield convert(row)
                except Misfit as misfit:
                    misfit.relation = relation.name
                    raise

    # -- studies ----------------------------------------------------------------------------------------

    def _send_studies(self, nct_ids: list[str], universe: set[str], state: State) -> None:
        """The trials' rows, a batch per transaction, in NCT order, the state's cursor advancing with them."""
        by_study = [r for r in self.relations if r.by_study]
        done = 0
        for chunk in chunks(nct_ids, self.batch):
            batch = list(chunk)
            while True:
                try:
                    self._send_batch(by_study, batch, universe, state)
                    break
                except Misfit as misfit:  # widen the column (the relation copied whole), then the batch again
                    relation = next(r for r in by_study if r.name == misfit.relation)
                    self.columns[relation.name] = self._widen(relation, self.columns[relation.name], misfit)
                    self._copy_whole(relation, create=True)
            done += len(batch)
            self.report.trials += sum(1 for n in batch if n in universe)
            if self.on_progress:
                self.on_progress(done, len(nct_ids))
            log.info("sent %s of %s trials", f"{done:,}", f"{len(nct_ids):,}")

    def _send_batch(self, by_study: list[Relation], batch: list[str], universe: set[str], state: State) -> None:
        """One transaction: the batch's rows deleted and sent again in every by-study relation, and the cursor."""
        with self.target.transaction():
            for relation in by_study:
                if relation.name in self.complete:
                    continue
                columns = self.columns[relation.name]
                if relation.name not in self.created:  # a trial is sent once a publish: a new table lacks it
                    self.target.delete_rows(relation, batch)
                self.report.rows += self.target.copy(relation, columns, self._rows(relation, columns, batch))
            held = [n for n in batch if n in universe]
            self.target.mark_studies(held, [n for n in batch if n not in universe])
            self.target.save_state(State(state.file_id, state.position, self.report.position, batch[-1]))


def _compatible(present: list[Column], declared: list[Column]) -> bool:
    """A table in the database can take the file's rows: the same columns, each of the declared kind or wider."""
    if [c.name for c in present] != [c.name for c in declared]:
        return False
    return all(_at_least(p.kind, d.kind) for p, d in zip(present, declared, strict=True))


def _at_least(kind: Kind, wanted: Kind) -> bool:
    """Whether ``kind`` is ``wanted`` or a kind ``wanted`` widens to."""
    while kind != wanted:
        if wanted not in WIDER:
            return False
        wanted = WIDER[wanted]
    return True
