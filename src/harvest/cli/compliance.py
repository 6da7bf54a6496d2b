"""``harvest compliance``: which applicable clinical trials owe results under FDAAA 801, at any date."""

from __future__ import annotations

import datetime as dt

import click

from harvest.cli.app import EXIT_CODES, Context, handle_errors
from harvest.cli.output import echo_text, print_rows, row_format
from harvest.core.errors import InputError
from harvest.query import compliance as compliance_mod


def _as_of(value: str | None) -> dt.date:
    """The as-of date given, else today (UTC, as the views' date('now'))."""
    if value is None:
        return dt.datetime.now(dt.UTC).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"--as-of: {value!r} is not a date (use YYYY-MM-DD)") from None


@click.command(epilog=EXIT_CODES)
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Judge at this date [default: today, UTC].")
@click.option("--sponsor", metavar="TEXT", help="Only lead sponsors whose name contains TEXT (any case).")
@click.option(
    "--outcome",
    "outcomes",
    multiple=True,
    type=click.Choice(compliance_mod.OUTCOMES),
    help="Only trials with this outcome (repeatable).",
)
@click.option("--by-sponsor", is_flag=True, help="One row per lead sponsor instead of one per trial.")
@row_format
@click.pass_obj
@handle_errors
def compliance(
    obj: Context,
    as_of: str | None,
    sponsor: str | None,
    outcomes: tuple[str, ...],
    by_sponsor: bool,
    fmt: str,
) -> None:
    """Results reporting of applicable clinical trials (FDAAA 801), per trial or per sponsor.

    One row per ACT (started on or after 2017-01-18) or probable ACT (pACT:
    started before, completed after, with a US site): its completion date, due
    date (+1 year +30 days; +3 years +30 days with a certificate of delay),
    results submission and outcome: not_yet_due, reported_on_time,
    reported_late or overdue. The rules are EBM DataLab's FDAAA TrialsTracker's;
    README says them in full. The same rows are the view results_compliance
    (as of today); --by-sponsor gives the view sponsor_compliance.

    \b
    harvest compliance --as-of 2025-01-01 --outcome overdue
    harvest compliance --by-sponsor --table
    harvest compliance --sponsor "cancer institute" --json
    """
    day = _as_of(as_of)
    if by_sponsor and outcomes:
        raise InputError("--outcome does not apply to --by-sponsor (the sponsor table counts every outcome)")
    store = obj.readonly_store()
    try:
        conn = store.db.conn
        if by_sponsor:
            rows = compliance_mod.sponsors(conn, day, sponsor=sponsor)
            if fmt == "table":
                (total,) = compliance_mod.sponsors(conn, day, sponsor=sponsor, grouped=False)
                echo_text(compliance_mod.render_sponsors(rows, total, day))
            else:
                print_rows(compliance_mod.SPONSOR_COLUMNS, rows, fmt)
            return
        rows = compliance_mod.trials(conn, day, sponsor=sponsor, outcomes=outcomes)
    finally:
        store.close()
    if fmt == "table":
        if rows:
            echo_text(compliance_mod.render_trials(rows))
    else:
        print_rows(compliance_mod.RESULT_COLUMNS, rows, fmt)
    if not obj.quiet:
        click.echo(compliance_mod.summary(rows, day), err=True)
