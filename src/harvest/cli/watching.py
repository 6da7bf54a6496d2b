"""``harvest watch``: follow trials (a search, a SQL condition, a list of NCT numbers, or results reporting) and
hear what changed: ``add``, ``list``, ``remove`` and ``report``; ``harvest run --report-watches`` reports after
a run.

What a watch matches and what its report says is ``query.watches`` and ``query.watch_report``; the store keeps
the watches, the trials each matched and what each report said (``store.watches``). ``add``, ``remove`` and
``report`` write to the file, so they take its lock as a run does; the watches' own SQL and searches are run on
a read-only connection.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from harvest.cli.app import EXIT_CODES, Context, handle_errors
from harvest.cli.output import echo_text, json_text, print_rows
from harvest.cli.searching import _with_filters
from harvest.core.dates import utcnow
from harvest.core.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_PARTIAL, DatabaseUnavailable, HarvestError, InputError
from harvest.core.ids import normalize_nct
from harvest.core.text import escape_controls
from harvest.query import synonyms as synonyms_mod
from harvest.query.compliance import STANDARDS
from harvest.query.feeds import entry_id, file_salt
from harvest.query.fts_query import parse
from harvest.query.search_filters import SearchFilters
from harvest.query.watch_compliance import judge, state
from harvest.query.watch_report import Entry, Pending, look_back, pending
from harvest.query.watch_text import entry_json, render
from harvest.query.watches import (
    COMPLIANCE,
    DEFAULT_FIELDS,
    FIELD_GROUPS,
    Watch,
    check_name,
    check_where,
    expand_fields,
    filters_given,
    matching,
    titles,
)
from harvest.store.database import Store
from harvest.store.lock import RunLock
from harvest.store.watches import has_watches, last_change_id, read_watches

REPORT_EXIT = """Exit codes, as grep's: 0 something to report, 1 nothing new, 2 bad input (an unknown watch, a bad
date, a watch whose condition no longer runs: the others are still reported); 3 could not run (the lock is held,
the file is unusable)."""


def parse_day(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option}: {value!r} is not a date (use YYYY-MM-DD)") from None


def _must_exist(db: str) -> None:
    """Reports and removals read a file that exists (``watch add`` may create one, as ``harvest run`` does)."""
    if not Path(db).exists():
        raise DatabaseUnavailable(f"{db} does not exist (run `harvest run` or `harvest fetch` first)")


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@click.group(epilog=REPORT_EXIT)
def watch() -> None:
    """Follow trials and hear what changed: saved searches, SQL conditions, lists of NCT numbers, and results
    reporting (compliance).

    A watch remembers the trials it matched at its last report; `harvest watch
    report` says which trials newly match, which stopped matching, and how the
    fields it watches changed since (status, dates, enrollment, sites, outcome
    measures, results posted by default), with dates. `harvest serve` publishes
    each watch as an Atom feed carrying the same entries.

    \b
    harvest watch add sepsis --search "septic shock" --status RECRUITING
    harvest watch add big-phase3 --where "enrollment >= 1000 AND phases LIKE '%PHASE3%'"
    harvest watch add mine --nct NCT04267848 --nct NCT02513394 --fields status,results
    harvest watch add compliance                  # trials newly due, overdue or reported (FDAAA 801)
    harvest watch report                          # what is new since the last report; nothing: exit 1
    30 7 * * *  cd /data/trials && harvest --quiet watch report   # cron: mails only news
    """


@watch.command("add", epilog=EXIT_CODES)
@click.argument("name")
@click.option("--search", "words", metavar="WORDS", help="Trials `harvest search WORDS` finds (with the filters).")
@_with_filters
@click.option("--where", "where_sql", metavar="SQL", help="Trials whose `studies` row meets this SQL condition.")
@click.option("--nct", "nct_ids", multiple=True, metavar="NCT", help="This trial (repeatable, or comma-separated).")
@click.option(
    "--fields",
    "fields",
    multiple=True,
    metavar="F",
    help=f"Which changes count: groups ({', '.join(FIELD_GROUPS)}), `harvest changes` field names, or all "
    "(repeatable, or comma-separated) [default: every group].",
)
@click.option("--compliance", "is_compliance", is_flag=True, help="A results-reporting watch (the name compliance "
              "implies it): trials newly due, newly overdue, newly reported, no longer overdue.")  # fmt: skip
@click.option("--sponsor", metavar="TEXT", help="Compliance: only sponsors whose name or organisation holds TEXT.")
@click.option("--standard", type=click.Choice(STANDARDS), default=None, help="Compliance: fdaaa (default) or who.")
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Compliance: judge as of this day [default: today].")
@click.pass_obj
@handle_errors
def add(
    obj: Context,
    name: str,
    words: str | None,
    where_sql: str | None,
    nct_ids: tuple[str, ...],
    fields: tuple[str, ...],
    is_compliance: bool,
    sponsor: str | None,
    standard: str | None,
    as_of: str | None,
    results: str | None,
    start_from: str,
    start_to: str,
    completion_from: str,
    completion_to: str,
    **lists: tuple[str, ...],
) -> None:
    """Add a watch: the trials a search finds, a SQL condition keeps or a list names (each criterion given must
    hold), or the built-in compliance watch.

    Its first report says what changes from now on: the trials it matches now
    are remembered. Which changes count: --fields, groups of `harvest changes`
    fields: status (overall_status, why_stopped, removed_on), dates (start_date,
    primary_completion_date, completion_date), enrollment (enrollment,
    enrollment_type), sites (locations), outcomes (design_outcomes), results
    (has_results, results_first_posted); all groups by default.

    \b
    harvest watch add sepsis --search "septic shock" --status RECRUITING --country France
    harvest watch add pfizer-p3 --where "lead_sponsor LIKE 'Pfizer%' AND phases LIKE '%PHASE3%'" --fields status,dates
    harvest watch add mine --nct NCT04267848,NCT02513394
    harvest watch add compliance --sponsor "university of oxford"
    """
    check_name(name)
    filters = filters_given(
        SearchFilters(
            results=(results,) if results else (),
            start_from=start_from,
            start_to=start_to,
            completion_from=completion_from,
            completion_to=completion_to,
            **lists,
        )
    )
    numbers = tuple(dict.fromkeys(normalize_nct(p) for v in nct_ids for p in v.replace(",", " ").split()))
    criteria = bool(words or filters or where_sql or numbers)
    is_compliance = is_compliance or (name == COMPLIANCE and not criteria)
    if is_compliance and (criteria or fields):
        raise InputError("a compliance watch follows the trials that must report results: no --search, filters, "
                         "--where, --nct or --fields")  # fmt: skip
    if not is_compliance and (sponsor or standard or as_of):
        raise InputError("--sponsor, --standard and --as-of are for a compliance watch (--compliance)")
    if not is_compliance and not criteria:
        raise InputError(f"what should {name} follow? Give --search WORDS, a filter, --where SQL or --nct NCT")
    if words is not None:
        parse(words)  # no word to search for is bad input, before the file is touched
    day = parse_day(as_of, "--as-of") or _today()
    synonyms = synonyms_mod.load(obj.settings.env)
    with RunLock(obj.db, "harvest watch add"):
        store = Store(obj.db)  # opening read-write creates or upgrades the file
        reader = obj.readonly_store()
        try:
            if read_watches(reader.conn, [name]):
                raise InputError(f"a watch named {name!r} exists (`harvest watch remove {name}` first)")
            if where_sql is not None:
                check_where(reader.conn, where_sql)
            top = last_change_id(reader.conn)
            new = Watch(
                name=name,
                search=words or None,
                filters=filters,
                where_sql=where_sql,
                nct_ids=numbers,
                compliance={"standard": standard or "fdaaa", "sponsor": sponsor} if is_compliance else None,
                fields=expand_fields(fields),
                created_at=utcnow(),
                created_change_id=top,
                change_cursor=top,
                as_of=day.isoformat() if is_compliance else None,
            )
            if is_compliance:
                matches: dict[str, Any] = {nct: state(row) for nct, row in judge(reader.conn, new, day).items()}
            else:
                matches = dict.fromkeys(sorted(matching(reader.conn, new, synonyms)))
            with store.transaction():
                store.watches.add(new.row(), matches)
        finally:
            reader.close()
            store.close()
    if not obj.quiet:
        what = "trials must report" if is_compliance else "trials match"
        click.echo(
            f"watch {name} added ({new.describe()}): {len(matches):,} {what} now; "
            f"`harvest watch report {name}` says what changes from here",
            err=True,
        )


@watch.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@click.pass_obj
@handle_errors
def list_watches(obj: Context, as_json: bool) -> None:
    """List the watches: what each follows, the fields it watches, how many trials it matched at its last report."""
    store = obj.readonly_store()
    try:
        found = [Watch.from_row(row) for row in read_watches(store.conn)] if has_watches(store.conn) else []
        counts = dict(store.conn.execute("SELECT watch, count(*) FROM watch_matches GROUP BY watch")) if found else {}
    finally:
        store.close()
    columns = ("name", "follows", "fields", "trials", "added", "last_report", "feed")
    rows = [
        (
            w.name,
            w.describe(),
            "-" if w.is_compliance else ("default" if w.fields == DEFAULT_FIELDS else ",".join(w.fields)),
            counts.get(w.name, 0),
            w.created_at,
            w.as_of if w.is_compliance and w.reported_at else w.reported_at,
            f"/-/feeds/watch/{w.name}.atom",
        )
        for w in found
    ]
    print_rows(columns, rows, "json" if as_json else "table")
    if not found and not as_json and not obj.quiet:
        click.echo("no watches (add one: harvest watch add NAME --search WORDS)", err=True)


@watch.command("remove", epilog=EXIT_CODES)
@click.argument("name")
@click.pass_obj
@handle_errors
def remove(obj: Context, name: str) -> None:
    """Remove a watch, the trials it remembered and every entry its reports gave."""
    _must_exist(obj.db)
    with RunLock(obj.db, "harvest watch remove"):
        store = Store(obj.db)
        try:
            with store.transaction():
                gone = store.watches.remove(name)
        finally:
            store.close()
    if not gone:
        raise InputError(f"no watch named {name!r} (`harvest watch list` lists them)")
    if not obj.quiet:
        click.echo(f"watch {name} removed", err=True)


@watch.command("report", epilog=REPORT_EXIT)
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("--since", metavar="YYYY-MM-DD", help="Everything dated on or after this day, reported or not "
              "(nothing is remembered) [default: what is new since the last report].")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry (per line).")
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Compliance: judge as of this day [default: today].")
@click.pass_obj
@handle_errors
def report(obj: Context, names: tuple[str, ...], since: str | None, as_json: bool, as_of: str | None) -> None:
    """What is new for each watch (or those named) since its last report, which it then remembers.

    Per watch: the trials that newly match, those that stopped matching, and the
    changes of the fields it watches (old → new, dated); for the compliance
    watch, the trials newly due, newly overdue, newly reported or no longer
    overdue. Prints nothing when nothing is new (exit 1), so a cron line after
    the nightly run mails only news.
    """
    sys.exit(report_watches(obj, names, since=since, as_json=as_json, as_of=as_of))


def report_watches(
    obj: Context,
    names: Sequence[str] = (),
    *,
    since: str | None = None,
    as_json: bool = False,
    as_of: str | None = None,
) -> int:
    """Report the watches (``harvest watch report``, ``harvest run --report-watches``); the exit code, as grep's."""
    start = parse_day(since, "--since")
    day = parse_day(as_of, "--as-of") or _today()
    synonyms = synonyms_mod.load(obj.settings.env)
    _must_exist(obj.db)
    with RunLock(obj.db, "harvest watch report"):
        store = Store(obj.db)
        reader = obj.readonly_store()
        try:
            found = [Watch.from_row(row) for row in read_watches(reader.conn, names)]
            unknown = sorted(set(names) - {w.name for w in found})
            if unknown:
                raise InputError(f"no watch named {unknown[0]!r} (`harvest watch list` lists them)")
            now = utcnow()
            reports: list[tuple[Pending, list[Entry]]] = []
            failed = EXIT_OK
            for one in found:
                try:
                    upcoming = pending(reader.conn, one, now=now, as_of=day, synonyms=synonyms)
                except HarvestError as exc:  # one watch that cannot run (its SQL no longer does) spoils no other
                    click.echo(f"harvest: watch {one.name}: {escape_controls(exc.one_line())}", err=True)
                    failed = max(failed, exc.exit_code)
                    continue
                shown = look_back(reader.conn, upcoming, start.isoformat()) if start else upcoming.entries
                reports.append((upcoming, shown))
            _print(reader.conn, reports, start, as_json)
            if start is None:  # printed first: a report that cannot be kept is given again, never lost
                with store.transaction():
                    for upcoming, _ in reports:
                        store.watches.save_report(
                            upcoming.watch.name,
                            [entry.row() for entry in upcoming.entries],
                            upcoming.matches,
                            cursor=upcoming.cursor,
                            reported_at=now,
                            as_of=upcoming.as_of,
                        )
        finally:
            reader.close()
            store.close()
    if not found and not obj.quiet:
        click.echo("no watches (add one: harvest watch add NAME --search WORDS)", err=True)
    if failed:
        return failed
    return EXIT_OK if any(shown for _, shown in reports) else EXIT_PARTIAL


def _print(conn: Any, reports: list[tuple[Pending, list[Entry]]], start: dt.date | None, as_json: bool) -> None:
    named = titles(conn, (e.nct_id for _, shown in reports for e in shown))
    salt = file_salt(conn)
    blocks = []
    for upcoming, shown in reports:
        if not shown:
            continue
        one = upcoming.watch
        if as_json:
            for entry in shown:
                line = entry_json(one, entry, named.get(entry.nct_id), entry_id(salt, one, entry))
                click.echo(json_text(line))
            continue
        since = start.isoformat() if start else (one.as_of if one.is_compliance else one.since())
        blocks.append(render(one, shown, named, since or "its creation"))
    if blocks:
        echo_text("\n\n".join(blocks))


def exit_after_run(run_code: int, report_code: int) -> int:
    """``harvest run --report-watches``: the run's exit code, unless the report could not run (then its code)."""
    return max(run_code, report_code) if report_code >= EXIT_BAD_INPUT else run_code
