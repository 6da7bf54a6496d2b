"""The ``harvest`` command line.

Data goes to stdout (JSON, CSV or a table); logs, progress and the run summary
go to stderr, so ``harvest show NCT… | jq`` and cron mail both work.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import sys
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from harvest import __version__
from harvest.cli import logs
from harvest.cli.output import choose_format, print_rows
from harvest.core.config import DEFAULT_DB, Settings
from harvest.core.errors import (
    EXIT_BAD_INPUT,
    EXIT_CANNOT_RUN,
    EXIT_OK,
    EXIT_PARTIAL,
    HarvestError,
    QueryError,
)
from harvest.core.ids import normalize_nct
from harvest.pipeline.harvester import Callbacks, Harvester, RunReport
from harvest.sources import registered
from harvest.sources.base import Failure, Unresolved, registry_name
from harvest.store.database import Store, refuses_writes

log = logging.getLogger("harvest.cli.app")
F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES = f"""Exit codes: {EXIT_OK} ok; {EXIT_PARTIAL} finished, but some records failed (listed on stderr;
for fetch: a target that could not be fetched or stored); {EXIT_BAD_INPUT} bad input (invalid NCT number,
unknown source, bad option or setting, bad SQL); {EXIT_CANNOT_RUN} could not run (lock held, missing file,
disk failure; for run: source unreachable, or a run refused by its sanity checks); 130 interrupted."""


class Context:
    def __init__(self, db: str, quiet: bool, log_json: bool) -> None:
        self.db = db
        self.quiet = quiet
        self.log_json = log_json
        self.settings = Settings()

    def harvester(self) -> Harvester:
        return Harvester(self.db, self.settings)

    def readonly_store(self) -> Store:
        harvester_precedence = self.settings.precedence(list(registered()), registry_name())
        return Store(self.db, readonly=True, precedence=harvester_precedence)


def fail(message: str, code: int) -> None:
    click.echo(f"harvest: {message}", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Every error a user can meet ends as one line on stderr and its exit code; never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except HarvestError as exc:
            fail(exc.one_line(), exc.exit_code)
        except sqlite3.DatabaseError as exc:
            fail(f"database error: {exc}", EXIT_CANNOT_RUN)
        except OSError as exc:
            fail(f"{exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "), EXIT_CANNOT_RUN)
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper  # type: ignore[return-value]


@click.group(
    epilog=EXIT_CODES
    + "\n\nExamples:\n\n\b\n  harvest run                      # nightly: incremental ClinicalTrials.gov harvest"
    "\n  harvest fetch NCT04268537        # one trial, now\n  harvest show NCT04268537         # what the file says"
    '\n  harvest query "SELECT overall_status, count(*) FROM studies GROUP BY 1"',
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--db",
    default=None,
    envvar="HARVEST_DB",
    show_envvar=True,
    metavar="PATH",
    help=f"SQLite file to write and read [default: {DEFAULT_DB}]",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless something went wrong (for cron).")
@click.option("-v", "--verbose", count=True, help="More detail on stderr (-vv for HTTP debugging).")
@click.option("--log-json", is_flag=True, help="Log to stderr as JSON lines (for log collectors).")
@click.version_option(__version__, prog_name="harvest")
@click.pass_context
def main(ctx: click.Context, db: str | None, quiet: bool, verbose: int, log_json: bool) -> None:
    """Harvest clinical-trial records from ClinicalTrials.gov and its mirror sites into one SQLite file.

    One row per trial in `studies`, keyed by NCT number, merged from every source
    that carries it (ClinicalTrials.gov first); what each source said is kept in
    `source_records`. Query the file with `harvest query`, sqlite3, sqlite-utils
    or Datasette.

    Sources' base URLs and request rates come from the environment:
    HARVEST_<SOURCE>_URL, HARVEST_<SOURCE>_RPS (0 = unlimited),
    HARVEST_CONTACT (put your URL or e-mail in the User-Agent).
    """
    logs.setup(verbose, quiet, log_json)
    ctx.obj = Context(db or DEFAULT_DB, quiet, log_json)


# -- run ------------------------------------------------------------------------------------------


class Progress:
    """A one-line progress display on a terminal; silent when stderr is not a TTY (cron, pipes)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.started = time.monotonic()
        self.shown = False

    def update(self, report: RunReport, total: int | None) -> None:
        if not self.enabled:
            return
        done = report.fetched
        rate = done / max(time.monotonic() - self.started, 1e-6)
        of = f"/{total:,}" if total else ""
        sys.stderr.write(
            f"\r{report.source}: {done:,}{of} records, {report.new:,} new, {report.changed:,} changed, "
            f"{report.failed:,} failed ({rate:,.0f}/s) "
        )
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def _failure_printer(obj: Context) -> Callable[[str, Failure | Unresolved], None]:
    def show(source: str, item: Failure | Unresolved) -> None:
        if isinstance(item, Unresolved):
            logs.event(
                log,
                logging.WARNING,
                f"unresolved {source} {item.url}: {item.reason}",
                source=source,
                url=item.url,
                kind="unresolved",
            )
            return
        logs.event(
            log,
            logging.ERROR,
            f"failed {source} {item.url}: {item.error.one_line()}",
            source=source,
            url=item.url,
            error=type(item.error).__name__,
        )

    return show


def _finish(obj: Context, report: RunReport) -> None:
    line = report.summary()
    if obj.log_json:
        fields = dict(
            report.counts(),
            outcome=report.outcome,
            run_id=report.run_id,
            mode=report.mode,
            source=report.source,
            command=report.command,
            error=report.error,
        )
        click.echo(json.dumps({"event": "summary", "message": line, **fields}), err=True)
    elif not obj.quiet or report.exit_code != EXIT_OK:
        click.echo(line, err=True)
    sys.exit(report.exit_code)


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD)") from None


@main.command(epilog=EXIT_CODES)
@click.option(
    "--source",
    "source_name",
    default="ctgov",
    show_default=True,
    type=click.Choice(sorted(registered())),
    help="Which site to harvest.",
)
@click.option(
    "--since",
    metavar="YYYY-MM-DD",
    help="ClinicalTrials.gov: only studies updated since this date, minus a few days of overlap (default: "
    "the watermark of the last run that finished, ok or partial).",
)
@click.option("--full", is_flag=True, help="ClinicalTrials.gov: harvest everything, ignoring the watermark.")
@click.option(
    "--max-pages",
    type=click.IntRange(min=1),
    default=None,
    help="For mirror sites: the page budget of this run (default: the source's polite nightly budget).",
)
@click.pass_obj
@handle_errors
def run(obj: Context, source_name: str, since: str | None, full: bool, max_pages: int | None) -> None:
    """The nightly harvest: fetch what changed since the last successful run and store it.

    The first run of a source harvests everything. Each page of results is
    committed with the position to resume from, so a run that is killed
    resumes where it stopped; the watermark only moves when a run completes.
    Two runs on one file never overlap: the second exits 3.

    \b
    Cron, every night at 02:30, mail only on trouble:
      30 2 * * *  cd /data/trials && harvest --quiet run
    """
    harvester = obj.harvester()
    progress = Progress(not obj.quiet and not obj.log_json)
    try:
        report = harvester.run(
            source_name,
            full=full,
            since=_date(since),
            max_pages=max_pages,
            callbacks=Callbacks(on_batch=progress.update, on_failure=_failure_printer(obj)),
        )
    finally:
        progress.close()
        harvester.close()
    _finish(obj, report)


# -- fetch ----------------------------------------------------------------------------------------


@main.command(epilog=EXIT_CODES)
@click.argument("targets", nargs=-1, required=True, metavar="NCT_OR_URL...")
@click.option(
    "--source",
    "source_name",
    default=None,
    type=click.Choice(sorted(registered())),
    help="Which site to ask: for NCT numbers [default: ctgov]; for a URL that several sites could serve.",
)
@click.pass_obj
@handle_errors
def fetch(obj: Context, targets: tuple[str, ...], source_name: str | None) -> None:
    """Fetch trials now, store them, and print each canonical record as JSON.

    \b
    harvest fetch NCT04268537 NCT02513394
    harvest fetch https://ctv.veeva.com/study/<slug>     # routed by its path, then base URL
    """
    harvester = obj.harvester()
    try:
        records, report = harvester.fetch(
            list(targets), source_name=source_name, callbacks=Callbacks(on_failure=_failure_printer(obj))
        )
    finally:
        harvester.close()
    for record in records:
        click.echo(record.study.model_dump_json(indent=2))
    if report.failed or report.unresolved:
        click.echo(report.summary(), err=True)
        sys.exit(EXIT_PARTIAL)


# -- show -----------------------------------------------------------------------------------------


@main.command()
@click.argument("nct_ids", nargs=-1, required=True, metavar="NCT...")
@click.option("--provenance", is_flag=True, help="Also say which source (and fetch) supplied each field.")
@click.pass_obj
@handle_errors
def show(obj: Context, nct_ids: tuple[str, ...], provenance: bool) -> None:
    """Print trials from the file as JSON (no network). Aliases resolve to the current NCT number."""
    ids = [normalize_nct(n) for n in nct_ids]
    store = obj.readonly_store()
    missing = []
    try:
        for nct in ids:
            found = store.merged_study(nct)
            if found is None:
                missing.append(nct)
                continue
            merged, field_sources = found
            data = merged.study.model_dump(mode="json", exclude={"provenance"})
            data["sources"] = merged.sources
            if provenance:
                data["field_sources"] = field_sources
            click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    finally:
        store.close()
    if missing:
        fail(f"not in {obj.db}: {', '.join(missing)} (use `harvest fetch` to get them)", EXIT_PARTIAL)


# -- query ----------------------------------------------------------------------------------------


@main.command()
@click.argument("sql")
@click.option("--json", "as_json", is_flag=True, help="JSON lines (default when stdout is not a terminal).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@click.option("--table", "as_table", is_flag=True, help="An aligned table (default on a terminal).")
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="NAME VALUE",
    type=(str, str),
    help="Bind :NAME in the SQL to VALUE (repeatable).",
)
@click.pass_obj
@handle_errors
def query(
    obj: Context, sql: str, as_json: bool, as_csv: bool, as_table: bool, params: tuple[tuple[str, str], ...]
) -> None:
    """Run one read-only SQL statement against the file (it is opened read-only).

    \b
    harvest query "SELECT nct_id, brief_title FROM studies WHERE overall_status = 'RECRUITING'"
    harvest query "SELECT * FROM studies WHERE nct_id = :id" -p id NCT04268537
    """
    store = obj.readonly_store()
    try:
        try:
            cursor = store.db.conn.execute(sql, dict(params))
        except sqlite3.Error as exc:
            raise QueryError(_sql_message(exc)) from None
        except ValueError as exc:
            raise QueryError(f"bad query: {exc}") from None
        if cursor.description is None:
            raise QueryError("statement returns no rows (harvest query only reads)")
        columns = [d[0] for d in cursor.description]
        try:
            print_rows(columns, cursor, choose_format(as_json, as_csv, as_table))
        except sqlite3.Error as exc:
            raise QueryError(_sql_message(exc)) from None
    finally:
        store.close()


def _sql_message(exc: sqlite3.Error) -> str:
    text = str(exc)
    if refuses_writes(exc):
        return "harvest query is read-only: the statement tries to write"
    if "one statement at a time" in text:
        return "one statement at a time, please"
    return f"SQL error: {text}"


# -- runs -----------------------------------------------------------------------------------------


@main.command()
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--source",
    "source_name",
    default=None,
    type=click.Choice(sorted(registered())),
    help="Only runs that used this source (a fetch across sources and a reparse of all count too).",
)
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@click.pass_obj
@handle_errors
def runs(obj: Context, limit: int, source_name: str | None, as_json: bool) -> None:
    """List the last runs: when, what, outcome and counts (newest first)."""
    store = obj.readonly_store()
    try:
        rows = store.last_runs(limit, source_name)
    finally:
        store.close()
    columns = [
        "id",
        "command",
        "source",
        "mode",
        "started_at",
        "duration_s",
        "outcome",
        "fetched",
        "new",
        "changed",
        "unchanged",
        "failed",
        "skipped_robots",
        "retries",
        "throttled",
        "bytes",
        "error",
    ]
    print_rows(columns, ([r.get(c) for c in columns] for r in rows), "json" if as_json else "table")


@main.command()
@click.argument("nct_id", required=False, metavar="[NCT]")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@click.pass_obj
@handle_errors
def conflicts(obj: Context, nct_id: str | None, as_json: bool) -> None:
    """Where sources disagree on a field (after normalisation): who said what.

    The `studies` row keeps the most trusted source's value; this lists every
    source's value for the fields in dispute.
    """
    nct = normalize_nct(nct_id) if nct_id else None
    store = obj.readonly_store()
    try:
        found = store.conflicts(nct)
    finally:
        store.close()
    print_rows(["nct_id", "field", "source", "value"], found, choose_format(as_json, False))


@main.command()
@click.option("--since", required=True, metavar="YYYY-MM-DD", help="Changes recorded on or after this date.")
@click.option("--nct", "nct_id", default=None, help="Only this trial.")
@click.option("--field", "field_name", default=None, help="Only this field (e.g. overall_status).")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@click.pass_obj
@handle_errors
def changes(obj: Context, since: str, nct_id: str | None, field_name: str | None, as_json: bool) -> None:
    """What changed in which trial, field by field, since a date (values as JSON text).

    \b
    harvest changes --since 2026-11-14 --field overall_status
    """
    day = _date(since)
    assert day is not None  # --since is required
    nct = normalize_nct(nct_id) if nct_id else None
    store = obj.readonly_store()
    try:
        found = store.changes_since(day.isoformat(), nct, field_name)
    finally:
        store.close()
    print_rows(["changed_at", "nct_id", "field", "old", "new", "run_id"], found, choose_format(as_json, False))


@main.command(epilog=EXIT_CODES)
@click.option(
    "--source",
    "source_name",
    default=None,
    type=click.Choice(sorted(registered())),
    help="Only this source's records [default: all].",
)
@click.pass_obj
@handle_errors
def reparse(obj: Context, source_name: str | None) -> None:
    """Re-parse the stored raw pages with the current parsers and re-merge, without the network.

    Run it after upgrading harvest (a parser fix): every source record is parsed
    again from the payload kept in `source_records.raw`, quarantined pages are
    retried, and study rows are rebuilt; what changed is recorded in `changes`.
    """
    harvester = obj.harvester()
    try:
        report = harvester.reparse(source_name, callbacks=Callbacks(on_failure=_failure_printer(obj)))
    finally:
        harvester.close()
    _finish(obj, report)


@main.command()
@click.pass_obj
@handle_errors
def sources(obj: Context) -> None:
    """List the sources, their base URLs (after HARVEST_<SOURCE>_URL) and request rates."""
    settings = obj.settings
    rows = []
    for name, cls in registered().items():
        rows.append(
            [
                name,
                cls.label,
                settings.base_url(name, cls.default_base_url),
                settings.rps(name, cls.default_rps),
                cls.discovery,
            ]
        )
    print_rows(["source", "site", "base_url", "requests_per_s", "discovery"], rows, "table")


# Commands defined in their own modules register themselves on `main` when imported.
from harvest.cli import mirrors, querying  # noqa: E402,F401
