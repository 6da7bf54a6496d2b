"""``harvest compliance``: which trials owe results under FDAAA 801 (or the WHO's rule), at any date, per trial,
per organisation, or what changed since a date."""

from __future__ import annotations

import datetime as dt
import sys

import click

from harvest.cli.app import EXIT_CODES, Context, handle_errors
from harvest.cli.output import echo_text, print_rows, row_format
from harvest.core.errors import DatabaseUnavailable, InputError
from harvest.query import compliance as compliance_mod
from harvest.query import compliance_render
from harvest.store.database import Store
from harvest.store.tables import SCHEMA_VERSION


def current_store(obj: Context) -> Store:
    """The file opened read-only, refused (exit 3, saying what to do) if an older harvest made it: the rules
    read tables it does not have yet."""
    store = obj.readonly_store()
    found = store.conn.execute("PRAGMA user_version").fetchone()[0]
    if found < SCHEMA_VERSION:
        store.close()
        raise DatabaseUnavailable(
            f"{obj.db} was made by an older harvest (schema {found}); `harvest reparse` or the next "
            "`harvest run` brings it up to date"
        )
    return store


def parse_day(value: str | None, option: str) -> dt.date:
    """A date given as YYYY-MM-DD, else today (UTC, as the views' date('now'))."""
    if value is None:
        return dt.datetime.now(dt.UTC).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option}: {value!r} is not a date (use YYYY-MM-DD)") from None


@click.command(
    epilog=EXIT_CODES
    + "\n\nWith --changes-since, as grep: 0 when a change is listed, 1 when none is (cron mails only then)."
)
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Judge at this date [default: today, UTC].")
@click.option(
    "--standard",
    type=click.Choice(compliance_mod.STANDARDS),
    default="fdaaa",
    show_default=True,
    help="fdaaa: FDAAA 801's ACTs and pACTs (TrialsTracker's rules); who: every interventional trial, 12 months.",
)
@click.option("--sponsor", metavar="TEXT", help="Only sponsors whose name, organisation or parent contains TEXT.")
@click.option(
    "--outcome",
    "outcomes",
    multiple=True,
    type=click.Choice(compliance_mod.OUTCOMES),
    help="Only trials with this outcome (repeatable).",
)
@click.option(
    "--by-sponsor", is_flag=True, help="One row per organisation (merged sponsor names) instead of per trial."
)
@click.option("--by-parent", is_flag=True, help="One row per parent organisation (implies --by-sponsor).")
@click.option(
    "--changes-since",
    "since",
    metavar="YYYY-MM-DD",
    help="List the trials newly due, newly overdue, newly reported or no longer overdue since this date.",
)
@row_format
@click.pass_obj
@handle_errors
def compliance(
    obj: Context,
    as_of: str | None,
    standard: str,
    sponsor: str | None,
    outcomes: tuple[str, ...],
    by_sponsor: bool,
    by_parent: bool,
    since: str | None,
    fmt: str,
) -> None:
    """Results reporting of the trials that must report, per trial or per organisation.

    One row per ACT (started on or after 2017-01-18, FDA-regulated) or probable
    ACT (pACT: started before, completed after): its completion date, deadline
    (+365 days; +3 years with a certificate of delay), the results or the
    submission to the registry's quality control counted, the outcome
    (not_yet_due, reported_on_time, reported_late or overdue) and
    TrialsTracker's days_late and finable_days_late. The rules are EBM
    DataLab's FDAAA TrialsTracker's; README says them in full, with each
    difference. The same rows are the view results_compliance (as of today);
    --by-sponsor gives the view sponsor_compliance, grouped by the
    organisation each sponsor name maps to (see harvest sponsors). A trial
    whose record history is stored is judged by the version that stood at the
    as-of date (columns version_used, version_date).

    \b
    harvest compliance --as-of 2025-01-01 --outcome overdue
    harvest compliance --by-sponsor --table
    harvest compliance --by-parent --csv > parents.csv
    harvest compliance --changes-since 2025-06-01 --table
    harvest compliance --standard who --sponsor "university of oxford"
    """
    day = parse_day(as_of, "--as-of")
    by_sponsor = by_sponsor or by_parent
    if by_sponsor and outcomes:
        raise InputError("--outcome does not apply to --by-sponsor (the sponsor table counts every outcome)")
    if since is not None and (by_sponsor or outcomes):
        raise InputError("--changes-since lists trials; it does not combine with --by-sponsor or --outcome")
    start = parse_day(since, "--changes-since") if since is not None else None
    if start is not None and start >= day:
        raise InputError(f"--changes-since {start.isoformat()} is not before the as-of date {day.isoformat()}")
    by = "parent" if by_parent else "organisation"
    store = current_store(obj)
    try:
        conn = store.db.conn
        if start is not None:
            changed = compliance_mod.changes(conn, start, day, sponsor=sponsor, standard=standard)
        elif by_sponsor:
            rows = compliance_mod.sponsors(conn, day, sponsor=sponsor, by=by, standard=standard)
            total = compliance_mod.sponsors(conn, day, sponsor=sponsor, grouped=False, by=by, standard=standard)[0]
        else:
            rows = compliance_mod.trials(conn, day, sponsor=sponsor, outcomes=outcomes, standard=standard)
    finally:
        store.close()
    if start is not None:
        if fmt == "table":
            if changed:
                echo_text(compliance_render.render_changes(changed))
        else:
            print_rows(compliance_mod.CHANGE_COLUMNS, changed, fmt)
        if not obj.quiet:
            click.echo(compliance_mod.changes_summary(changed, start, day), err=True)
        sys.stdout.flush()
        sys.exit(0 if changed else 1)
    if by_sponsor:
        if fmt == "table":
            echo_text(compliance_render.render_sponsors(rows, total, day, by=by, standard=standard))
        else:
            print_rows(compliance_mod.sponsor_columns(by), rows, fmt)
        return
    if fmt == "table":
        if rows:
            echo_text(compliance_render.render_trials(rows))
    else:
        print_rows(compliance_mod.RESULT_COLUMNS, rows, fmt)
    if not obj.quiet:
        click.echo(compliance_mod.summary(rows, day, standard), err=True)
