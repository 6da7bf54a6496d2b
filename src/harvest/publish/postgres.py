"""The PostgreSQL side of ``harvest publish``: schemas, tables, the publish state, and rows sent with COPY.

Tables are created from the file's relations (``publish.catalog``) with PostgreSQL's types for each column's
kind (``KIND_TYPES``). Besides the copies of the file's tables and views, the ``harvest`` schema keeps what a
publish needs to resume and to go on incrementally: ``publish_state`` (one row: which file, up to when, and
how far an unfinished publish got), ``publish_studies`` (the trials whose rows the database holds) and
``publish_relations`` (the tables harvest made, so that one the file no longer has is dropped, and only such).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from harvest.core.errors import DatabaseUnavailable, InputError
from harvest.publish.catalog import BOOKKEEPING_SCHEMA, TRIALS_SCHEMA, Relation
from harvest.publish.columns import Column
from harvest.store.kinds import Kind

log = logging.getLogger("harvest.publish")

KIND_TYPES: dict[Kind, str] = {
    Kind.INTEGER: "bigint",
    Kind.REAL: "double precision",
    Kind.TEXT: "text",
    Kind.BLOB: "bytea",
    Kind.FLAG: "boolean",
    Kind.DAY: "date",
    Kind.TIMESTAMP: "timestamp with time zone",
    Kind.LIST: "text[]",
    Kind.JSON: "jsonb",
}
_TYPE_KINDS = {**{kind_type: kind for kind, kind_type in KIND_TYPES.items()}, "ARRAY": Kind.LIST}
LOCK_WAIT = 5.0  # seconds a publish waits for another one's session to end before it is refused
_STATE = sql.Identifier(BOOKKEEPING_SCHEMA, "publish_state")
_STUDIES = sql.Identifier(BOOKKEEPING_SCHEMA, "publish_studies")
_RELATIONS = sql.Identifier(BOOKKEEPING_SCHEMA, "publish_relations")


def target_name(url: str) -> str:
    """The database a URL names, without user or password: how logs and the file's position name it."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise InputError("not a PostgreSQL URL (expected postgresql://[user@]host[:port]/database)")
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise InputError(f"not a PostgreSQL URL: {exc}".splitlines()[0]) from None
    host = parts.get("host") or "localhost"
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{host}{port}/{parts.get('dbname') or parts.get('user') or ''}"


@dataclass
class State:
    """Where publishing to this database stands (the ``publish_state`` row)."""

    file_id: str | None = None  # the file published here (harvest_meta.file_id, made on its first publish)
    position: str | None = None  # the file's time up to which the last complete publish sent everything
    pending_position: str | None = None  # an unfinished publish: its time ...
    pending_cursor: str | None = None  # ... and the last trial (in NCT order) it sent


class Target:
    """One PostgreSQL database, written in transactions the caller scopes with ``transaction()``."""

    def __init__(self, url: str) -> None:
        self.name = target_name(url)
        try:
            self.conn = psycopg.connect(url, application_name="harvest publish", autocommit=True)
        except psycopg.OperationalError as exc:
            reason = " ".join(str(exc).split()) or exc.__class__.__name__
            raise DatabaseUnavailable(f"cannot connect to {self.name}: {reason}") from None

    def close(self) -> None:
        self.conn.close()

    def transaction(self) -> psycopg.Transaction:
        return self.conn.transaction()

    def execute(self, query: sql.Composable | str, params: Sequence[Any] | None = None) -> psycopg.Cursor[Any]:
        return self.conn.execute(query, params)  # type: ignore[arg-type]

    # -- state ------------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """This session alone publishes here (until it ends, however it ends); the two schemas and the publish
        bookkeeping (idempotent)."""
        deadline = time.monotonic() + LOCK_WAIT  # a killed publish's session may take a moment to end
        while not self.execute("SELECT pg_try_advisory_lock(hashtext('harvest publish'))").fetchone()[0]:
            if time.monotonic() > deadline:
                raise DatabaseUnavailable(f"another harvest publish is writing to {self.name}")
            time.sleep(0.1)
        with self.transaction():
            for schema in (TRIALS_SCHEMA, BOOKKEEPING_SCHEMA):
                self.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            self.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (id integer PRIMARY KEY CHECK (id = 1), file_id text, "
                    "position text, pending_position text, pending_cursor text, source text, "
                    "published_at timestamptz, harvest_version text)"
                ).format(_STATE)
            )
            self.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (nct_id text PRIMARY KEY)").format(_STUDIES))
            self.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (schema_name text, name text, by_study boolean, "
                    "PRIMARY KEY (schema_name, name))"
                ).format(_RELATIONS)
            )

    def state(self) -> State:
        row = self.execute(
            sql.SQL("SELECT file_id, position, pending_position, pending_cursor FROM {}").format(_STATE)
        ).fetchone()
        return State(*row) if row else State()

    def save_state(self, state: State, **extra: Any) -> None:
        """Write the state (inside the caller's transaction, so it commits with the rows it describes)."""
        columns = {
            "file_id": state.file_id,
            "position": state.position,
            "pending_position": state.pending_position,
            "pending_cursor": state.pending_cursor,
            **extra,
        }
        names = [sql.Identifier(name) for name in columns]
        self.execute(
            sql.SQL("INSERT INTO {} (id, {}) VALUES (1, {}) ON CONFLICT (id) DO UPDATE SET {}").format(
                _STATE,
                sql.SQL(", ").join(names),
                sql.SQL(", ").join(sql.Placeholder() * len(names)),
                sql.SQL(", ").join(sql.SQL("{0} = excluded.{0}").format(name) for name in names),
            ),
            list(columns.values()),
        )

    def published_studies(self) -> set[str]:
        return {nct for (nct,) in self.execute(sql.SQL("SELECT nct_id FROM {}").format(_STUDIES))}

    def mark_studies(self, held: Iterable[str], gone: Iterable[str]) -> None:
        """Record which trials of a batch the database now holds rows of, and which none."""
        held, gone = list(held), list(gone)
        if gone:
            self.execute(sql.SQL("DELETE FROM {} WHERE nct_id = ANY(%s)").format(_STUDIES), [gone])
        if held:
            self.execute(
                sql.SQL("INSERT INTO {} SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING").format(_STUDIES), [held]
            )

    # -- relations --------------------------------------------------------------------------------------

    def published_relations(self) -> dict[tuple[str, str], bool]:
        """(schema, name) -> by study, of every table a publish made here."""
        rows = self.execute(sql.SQL("SELECT schema_name, name, by_study FROM {}").format(_RELATIONS))
        return {(schema, name): by_study for schema, name, by_study in rows}

    def columns(self, schema: str, name: str) -> list[Column] | None:
        """The columns of a table as it is in the database (their kinds from their types), or None if absent."""
        rows = self.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            [schema, name],
        ).fetchall()
        if not rows:
            return None
        return [Column(column, _TYPE_KINDS.get(data_type, Kind.TEXT)) for column, data_type in rows]

    def create(self, relation: Relation, columns: Sequence[Column]) -> None:
        """(Re)create the table of a relation, empty, with its keys and indexes (in the caller's transaction)."""
        table = sql.Identifier(relation.schema, relation.name)
        self.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        declared = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(KIND_TYPES[c.kind])) for c in columns
        )
        self.execute(sql.SQL("CREATE TABLE {} ({})").format(table, declared))
        names = {c.name for c in columns}
        wanted = [(True, key) for key in relation.unique_keys] + [(False, index) for index in relation.indexes]
        if relation.by_study and not any(key[0] == "nct_id" for _, key in wanted):
            wanted.append((False, ("nct_id",)))  # each publish deletes a changed trial's rows by nct_id
        for number, (unique, key) in enumerate(wanted):
            if not set(key) <= names:
                continue
            index = sql.Identifier(f"{relation.name[:50]}__{number}")
            self.execute(
                sql.SQL("CREATE {} INDEX {} ON {} ({})").format(
                    sql.SQL("UNIQUE" if unique else ""), index, table, sql.SQL(", ").join(map(sql.Identifier, key))
                )
            )
        self.execute(
            sql.SQL("INSERT INTO {} VALUES (%s, %s, %s) ON CONFLICT (schema_name, name) DO UPDATE SET by_study = %s")
            .format(_RELATIONS),
            [relation.schema, relation.name, relation.by_study, relation.by_study],
        )  # fmt: skip

    def drop(self, schema: str, name: str) -> None:
        self.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(schema, name)))
        self.execute(sql.SQL("DELETE FROM {} WHERE schema_name = %s AND name = %s").format(_RELATIONS), [schema, name])

    def delete_rows(self, relation: Relation, nct_ids: Sequence[str] | None = None) -> None:
        """Delete the rows of these trials (all rows, with None)."""
        table = sql.Identifier(relation.schema, relation.name)
        if nct_ids is None:
            self.execute(sql.SQL("DELETE FROM {}").format(table))
        else:
            self.execute(sql.SQL("DELETE FROM {} WHERE nct_id = ANY(%s)").format(table), [list(nct_ids)])

    def copy(self, relation: Relation, columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> int:
        """Send rows with COPY (in the caller's transaction); returns how many."""
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(relation.schema, relation.name), sql.SQL(", ").join(sql.Identifier(c.name) for c in columns)
        )
        count = 0
        with self.conn.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count

    def set_search_path(self) -> None:
        """Make ``ctgov`` the database's default schema, as AACT users expect (new sessions only)."""
        database = self.execute("SELECT current_database()").fetchone()[0]
        with self.transaction():
            self.execute(
                sql.SQL("ALTER DATABASE {} SET search_path = {}, {}, public").format(
                    sql.Identifier(database), sql.Identifier(TRIALS_SCHEMA), sql.Identifier(BOOKKEEPING_SCHEMA)
                )
            )
