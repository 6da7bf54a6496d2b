"""The query verbs of the command line: export, stats, datasette-metadata, reindex (search: ``cli.searching``).

Registered on the ``harvest`` group when ``harvest.cli.app`` imports this module (its last line). Every verb
but ``reindex`` opens the file read-only with ``PRAGMA query_only``, so user SQL (``--where``)
cannot change it whatever it says.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from harvest.cli.app import EXIT_CODES, Context, handle_errors
from harvest.cli.output import echo_text
from harvest.cli.publishing import optional
from harvest.core.errors import DatabaseUnavailable, InputError
from harvest.query import export as export_mod
from harvest.query import stats as stats_mod
from harvest.query import synonyms as synonyms_mod
from harvest.query.datasette import metadata
from harvest.sources import registered
from harvest.sources.base import registry_name
from harvest.store import fts
from harvest.store.database import Store
from harvest.store.lock import RunLock


@contextmanager
def _reading(obj: Context) -> Iterator[Store]:
    """The file opened read-only (``Store(readonly=True)``: no writes, no ATTACH), for user SQL like ``--where``."""
    store = obj.readonly_store()
    try:
        yield store
    finally:
        store.close()


# -- export ---------------------------------------------------------------------------------------


@click.command(epilog=EXIT_CODES)
@click.option(
    "--format",
    "fmt",
    type=click.Choice([*export_mod.FORMATS, "parquet"]),
    default="csv",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--table",
    default=None,
    help="Table or view to export [default: studies; for parquet, every table and view].",
)
@click.option("--where", default=None, metavar="SQL", help="Only rows matching this SQL condition.")
@click.option(
    "-o",
    "--output",
    type=click.Path(writable=True, allow_dash=True),
    default="-",
    help="Write to this file (written whole or not at all) instead of stdout; for parquet, this folder.",
)
@click.pass_obj
@handle_errors
def export(obj: Context, fmt: str, table: str | None, where: str | None, output: str) -> None:
    """Export a table or view as CSV or JSON Lines, or tables as Parquet files, streaming (flat memory, any size).

    In JSON Lines, JSON columns (phases, sources, ...) are JSON values; BLOBs are
    base64 in both formats. The row count goes to stderr.

    Parquet (-o FOLDER): one FOLDER/<table>.parquet per table and view (or the
    one --table names), typed: integers, doubles, booleans, dates where the
    registry gives a day, UTC timestamps, lists as lists (phases); a date that
    may be known to the month or year stays text beside its _type column. The
    bodies as received (raw, raw_fingerprint) are left out.

    \b
    harvest export --format csv --table study_overview > trials.csv
    harvest export --format jsonl --where "overall_status = 'RECRUITING'" -o recruiting.jsonl
    harvest export --table locations --where "country = 'France'"
    harvest export --format parquet -o warehouse/
    """
    if fmt == "parquet":
        _export_parquet(obj, table, where, output)
        return
    table = table or "studies"
    if output != "-" and Path(output).is_dir():
        raise InputError(f"-o {output} is a directory (a folder is for --format parquet)")
    with _reading(obj) as store:
        conn = store.db.conn
        if output == "-":
            # `harvest export | head`: a closed pipe ends the command quietly (see cli.app.HarvestGroup).
            count = export_mod.export(conn, sys.stdout, table=table, fmt=fmt, where=where)
            sys.stdout.flush()
        else:
            # Checked (and the query prepared) before the file is touched: bad input leaves no empty file.
            columns, rows = export_mod.open_rows(conn, table, where)
            target = Path(output)
            partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
            try:
                with partial.open("w", encoding="utf-8", newline="") as handle:
                    count = export_mod.write_rows(fmt, columns, rows, handle, table)
                partial.replace(target)
            except OSError as exc:  # name the file asked for, not the partial one beside it
                raise DatabaseUnavailable(f"cannot write {output}: {exc.strerror or exc}") from None
            finally:
                partial.unlink(missing_ok=True)
    if not obj.quiet:
        click.echo(f"exported {count:,} rows of {table}", err=True)


def _export_parquet(obj: Context, table: str | None, where: str | None, output: str) -> None:
    """Every table (or ``table``) as a Parquet file in the folder ``output``."""
    if output == "-":
        raise InputError("--format parquet writes a file per table: give a folder with -o")
    if Path(output).exists() and not Path(output).is_dir():
        raise InputError(f"-o {output} is a file; --format parquet writes into a folder")
    if where and not table:
        raise InputError("--where needs --table with --format parquet (a condition is for one table)")
    parquet = optional("harvest.publish.parquet", "parquet", "pyarrow")

    def done(name: str, count: int, path: Path) -> None:
        if not obj.quiet:
            click.echo(f"exported {count:,} rows of {name} to {path}", err=True)

    with _reading(obj) as store:
        parquet.export(store.db.conn, Path(output), [table] if table else None, where=where, on_table=done)


# -- stats ----------------------------------------------------------------------------------------


@click.command()
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
@click.pass_obj
@handle_errors
def stats(obj: Context, as_json: bool) -> None:
    """What the file holds: studies by source, status, type and phase; last runs; freshness; backlog."""
    with _reading(obj) as store:
        figures = stats_mod.collect(store.db.conn, list(registered()))
    if as_json:
        click.echo(json.dumps(figures, indent=2, ensure_ascii=False))
    else:
        echo_text(stats_mod.render(figures, obj.db))


# -- datasette ------------------------------------------------------------------------------------


@click.command("datasette-metadata")
@click.option(
    "--database",
    default=None,
    metavar="NAME",
    help="Name Datasette serves the file under [default: the file name without .db].",
)
@click.pass_obj
@handle_errors
def datasette_metadata(obj: Context, database: str | None) -> None:
    """Print Datasette metadata (descriptions, source links, search, facets) as JSON.

    \b
    harvest datasette-metadata > metadata.json
    datasette harvest.db --metadata metadata.json
    """
    name = database or Path(obj.db).stem
    document = metadata(name, registered(), registry=registry_name(), synonyms=synonyms_mod.load())
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


# -- reindex --------------------------------------------------------------------------------------


@click.command(epilog=EXIT_CODES)
@click.pass_obj
@handle_errors
def reindex(obj: Context) -> None:
    """Rebuild the full-text search index from the studies table.

    harvest keeps the index in step on every write; this is for a file whose
    studies were edited by hand, or whose index `harvest stats` reports as off.
    """
    if not Path(obj.db).exists():
        raise DatabaseUnavailable(f"{obj.db} does not exist (run `harvest run` or `harvest fetch` first)")
    with RunLock(obj.db, "harvest reindex"):
        store = Store(obj.db)  # opening read-write also upgrades an older file (creates the index)
        try:
            with store.transaction():
                count = fts.rebuild(store.db.conn)
        finally:
            store.close()
    if not obj.quiet:
        click.echo(f"search index rebuilt: {count:,} studies", err=True)
