"""``harvest sponsors``: lead sponsor names as organisations: list them, find the unmatched, curate by CSV."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from harvest.cli.app import EXIT_CODES, Context, handle_errors
from harvest.cli.compliance import current_store
from harvest.cli.output import print_rows, row_format
from harvest.core.errors import DatabaseUnavailable, InputError
from harvest.query import sponsors as sponsors_mod
from harvest.store.database import Store
from harvest.store.lock import RunLock


@click.command(epilog=EXIT_CODES)
@click.option("--unmatched", is_flag=True, help="Only the names that match no other name and no curated row.")
@click.option("--search", metavar="TEXT", help="Only names or organisations containing TEXT (any case).")
@click.option("--export", "export_to", metavar="FILE", help="Write the mapping as CSV to FILE ('-': stdout).")
@click.option("--import", "import_from", metavar="FILE", help="Read curated rows from a CSV FILE ('-': stdin).")
@row_format
@click.pass_obj
@handle_errors
def sponsors(
    obj: Context,
    unmatched: bool,
    search: str | None,
    export_to: str | None,
    import_from: str | None,
    fmt: str,
) -> None:
    """Lead sponsor names, their trials, and the organisation each is counted under.

    Names that differ only in case, accents, punctuation or a corporate suffix
    (Inc, Ltd, LLC, GmbH, S.A., AG, plc, Corporation...) are one organisation,
    named by the spelling on most trials. Correct and extend that by hand:
    export the mapping as CSV (name, organisation, parent, curated), edit it,
    import it back. An imported row is curated: it always beats the automatic
    one and is kept through every run and rebuild. harvest compliance
    --by-sponsor counts trials per organisation (--by-parent per parent).

    \b
    harvest sponsors --table                     # names grouped by organisation
    harvest sponsors --unmatched --table         # names matching nothing, biggest first
    harvest sponsors --export sponsors.csv       # keep it in git, edit it...
    harvest sponsors --import sponsors.csv       # ...and read it back
    """
    if export_to and import_from:
        raise InputError("--export and --import: one at a time")
    if import_from:
        _import(obj, import_from)
        return
    store = current_store(obj)
    try:
        conn = store.db.conn
        if export_to:
            if export_to == "-":
                count = sponsors_mod.export_csv(conn, sys.stdout)
            else:
                with open(export_to, "w", encoding="utf-8", newline="") as out:
                    count = sponsors_mod.export_csv(conn, out)
            if not obj.quiet:
                click.echo(f"{count:,} sponsor names written to {export_to}", err=True)
            return
        rows = sponsors_mod.listing(conn, unmatched=unmatched, search=search)
    finally:
        store.close()
    print_rows(sponsors_mod.LIST_COLUMNS, rows, fmt)
    if not obj.quiet:
        organisations = len({row[2] for row in rows})
        what = "unmatched names" if unmatched else f"names in {organisations:,} organisations"
        click.echo(f"{len(rows):,} {what}", err=True)


def _import(obj: Context, source: str) -> None:
    if source == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{source}: not UTF-8 text") from None
        except FileNotFoundError:
            raise InputError(f"{source}: no such file") from None
    rows = sponsors_mod.read_csv(text, source)  # the whole file is checked before anything is written
    if not Path(obj.db).exists():
        raise DatabaseUnavailable(f"{obj.db} does not exist (run `harvest run` or `harvest fetch` first)")
    with RunLock(obj.db, "harvest sponsors --import"):
        store = Store(obj.db)
        try:
            names = [mapping.name for mapping, _ in rows]
            with store.transaction():
                before = store.organisations.get_many(names)
                changed = store.organisations.curate(sponsors_mod.marked(rows))
                after = store.organisations.get_many(names)
                changed += store.organisations.curate(sponsors_mod.edits(rows, before, after))
        finally:
            store.close()
    if not obj.quiet:
        click.echo(f"{len(rows):,} rows read from {source}: {changed:,} curated rows added or changed", err=True)
