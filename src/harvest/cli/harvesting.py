"""The commands that fetch or re-parse: ``run``, ``fetch`` and ``reparse``; progress and run summaries (which
``cli.history`` uses too)."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable

import click

from harvest.cli import logs, watching
from harvest.cli.app import EXIT_CODES, Context, handle_errors, parse_date
from harvest.cli.watching import exit_after_run
from harvest.core.errors import EXIT_OK, EXIT_PARTIAL, HarvestError
from harvest.core.records import Failure, SourceRecord, Unresolved
from harvest.core.text import escape_controls
from harvest.pipeline.report import Callbacks, RunReport
from harvest.pipeline.show import merged_study
from harvest.sources import registered
from harvest.sources.base import registry_name

log = logging.getLogger("harvest.cli")


# -- run ------------------------------------------------------------------------------------------


class Progress:
    """A one-line progress display on a terminal; silent when stderr is not a TTY (cron, pipes)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.started = time.monotonic()
        self.shown = False
        self.source: str | None = None

    def update(self, report: RunReport, total: int | None) -> None:
        if not self.enabled:
            return
        if self.shown and report.source != self.source:  # the next source of `run --all`: a line of its own
            sys.stderr.write("\n")
            self.started = time.monotonic()
        self.source = report.source
        if report.command == "reconcile":
            of = f"/{total:,}" if total else ""
            sys.stderr.write(f"\r{report.source}: {report.listed:,}{of} listed, {report.removed:,} removed ")
            sys.stderr.flush()
            self.shown = True
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


def failure_printer(obj: Context) -> Callable[[str, Failure | Unresolved], None]:
    """Each failure and unresolved page as a log line while a run goes on, so a cron log shows them in order."""

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
        reason = item.error.one_line()
        if reason.endswith(f" ({item.url})"):  # the line names the URL already
            reason = reason[: -len(item.url) - 3]
        logs.event(
            log,
            logging.ERROR,
            f"failed {source} {item.url}: {reason}",
            source=source,
            url=item.url,
            error=type(item.error).__name__,
        )

    return show


def _known_printer(source: str, url: str, what: str) -> None:
    """A page failing as it did before, or gone: not new trouble, so not an error line (shown with -v)."""
    logs.event(log, logging.INFO, f"{what}: {source} {url}", source=source, url=url, kind="known")


def callbacks_for(obj: Context, progress: Progress | None = None) -> Callbacks:
    """Progress on a terminal, one line per failure, known trouble at -v: what every fetching command shows."""
    return Callbacks(
        on_batch=progress.update if progress else None,
        on_failure=failure_printer(obj),
        on_known=_known_printer,
    )


def finish_run(obj: Context, report: RunReport) -> None:
    """The run's one-line summary (or JSON event), then its exit code: shared by run, fetch and history."""
    print_summary(obj, report)
    sys.exit(report.exit_code)


def print_summary(obj: Context, report: RunReport) -> None:
    """The run's one-line summary on stderr (a JSON event with --log-json); with --quiet, only when it failed."""
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


@click.command(epilog=EXIT_CODES)
@click.option(
    "--source",
    "source_name",
    default=None,
    type=click.Choice(sorted(registered())),
    help="Which site to harvest [default: ctgov].",
)
@click.option(
    "--all",
    "every_source",
    is_flag=True,
    help="Every source in turn under one lock, the registry first; each takes the options that apply to it. "
    "A source that fails does not stop the others; the exit code is the worst of them.",
)
@click.option(
    "--since",
    metavar="YYYY-MM-DD",
    help="ClinicalTrials.gov: only studies updated since this date, minus a few days of overlap (default: "
    "the watermark of the last run that finished, ok or partial).",
)
@click.option(
    "--full",
    is_flag=True,
    help="ClinicalTrials.gov: harvest everything, ignoring the watermark; then look for the stored studies it "
    "no longer lists, and mark those it answers 404 for (see `harvest reconcile`).",
)
@click.option(
    "--max-pages",
    type=click.IntRange(min=1),
    default=None,
    help="For mirror sites: the page budget of this run (default: the source's polite nightly budget).",
)
@click.option(
    "--history",
    is_flag=True,
    help="ClinicalTrials.gov: also fetch the record history (every past version) of the trials this run finds "
    "new or changed. Opt-in: about one more request per version.",
)
@click.option(
    "--report-watches",
    is_flag=True,
    help="Then print what is new for every watch, as `harvest watch report` does (the exit code stays the run's).",
)
@click.pass_obj
@handle_errors
def run(
    obj: Context,
    source_name: str | None,
    every_source: bool,
    since: str | None,
    full: bool,
    max_pages: int | None,
    history: bool,
    report_watches: bool,
) -> None:
    """The nightly harvest: fetch what changed since the last successful run and store it.

    The first run of a source harvests everything. Each page of results is
    committed with the position to resume from, so a run that is killed
    resumes where it stopped; the watermark only moves when a run completes.
    Two runs on one file never overlap: the second exits 3. With --history,
    the past versions of the trials it found new or changed are fetched too
    (see `harvest history`). With --all, every source is harvested in turn
    (--full, --since and --history go to ClinicalTrials.gov, --max-pages to
    each mirror), one summary line each.

    \b
    Cron, every night at 02:30, mail only on trouble (and, with
    --report-watches, the news of the watches: see `harvest watch`):
      30 2 * * *  cd /data/trials && harvest --quiet run --all --max-pages 4000 --report-watches
    """
    if every_source and source_name:
        raise click.UsageError("--all harvests every source; leave out --source")
    day = parse_date(since)
    harvester = obj.harvester()
    progress = Progress(not obj.quiet and not obj.log_json)
    callbacks = callbacks_for(obj, progress)
    try:
        if every_source:
            reports = harvester.run_all(full=full, since=day, max_pages=max_pages, callbacks=callbacks, history=history)
        else:
            one = harvester.run(
                source_name or "ctgov", full=full, since=day, max_pages=max_pages, callbacks=callbacks, history=history
            )
    finally:
        progress.close()
        harvester.close()
    if not every_source:
        if not report_watches:
            finish_run(obj, one)
        print_summary(obj, one)
        sys.exit(exit_after_run(one.exit_code, report_watches_now(obj)))
    for report in reports:
        print_summary(obj, report)
    worst = max(report.exit_code for report in reports)
    line = "harvest run --all: " + ", ".join(f"{r.source} {r.outcome.upper()}" for r in reports) + f"; exit {worst}"
    if obj.log_json:
        outcomes = {r.source: r.outcome for r in reports}
        event = {"event": "summary", "message": line, "command": "run --all", "outcomes": outcomes, "exit": worst}
        click.echo(json.dumps(event), err=True)
    elif not obj.quiet or worst != EXIT_OK:
        click.echo(line, err=True)
    sys.exit(exit_after_run(worst, report_watches_now(obj)) if report_watches else worst)


def report_watches_now(obj: Context) -> int:
    """``run --report-watches``: the watches' report after the run; its exit code (an error is printed here)."""
    try:
        return watching.report_watches(obj)
    except HarvestError as exc:
        click.echo(f"harvest: {escape_controls(exc.one_line())}", err=True)
        return exc.exit_code


# -- fetch ----------------------------------------------------------------------------------------


@click.command(epilog=EXIT_CODES)
@click.argument("targets", nargs=-1, required=True, metavar="NCT_OR_URL...")
@click.option(
    "--source",
    "source_name",
    default=None,
    type=click.Choice(sorted(registered())),
    help="Which site to ask: for NCT numbers [default: ctgov]; for a URL that several sites could serve.",
)
@click.option(
    "--as-parsed",
    is_flag=True,
    help="For a mirror page: print the page's own record, not the merged record the file now holds.",
)
@click.pass_obj
@handle_errors
def fetch(obj: Context, targets: tuple[str, ...], source_name: str | None, as_parsed: bool) -> None:
    """Fetch trials now, store them, and print each as JSON.

    A mirror page prints the merged record the file now holds for its trial
    (the JSON of `harvest show NCT`); --as-parsed prints what the page itself
    says. A ClinicalTrials.gov record prints as the registry gave it. A
    ClinicalTrials.gov study address, as copied from the browser (new or
    classic site, with any query string), fetches that NCT number.

    \b
    harvest fetch NCT04268537 NCT02513394
    harvest fetch https://clinicaltrials.gov/study/NCT04268537?tab=results
    harvest fetch https://ctv.veeva.com/study/<slug>     # routed by its path, then base URL
    """
    harvester = obj.harvester()
    try:
        records, report = harvester.fetch(list(targets), source_name=source_name, callbacks=callbacks_for(obj))
    finally:
        harvester.close()
    for document in _fetched_documents(obj, records, as_parsed):
        click.echo(document)
    if report.failed or report.unresolved:
        click.echo(report.summary(), err=True)
        sys.exit(EXIT_PARTIAL)


def _fetched_documents(obj: Context, records: list[SourceRecord], as_parsed: bool) -> list[str]:
    """What `harvest fetch` prints for each stored record: a mirror page's trial as the file now holds it."""
    sources = registered()
    if as_parsed or all(sources[record.source].is_registry for record in records):
        return [record.study.model_dump_json(indent=2) for record in records]
    store = obj.readonly_store()
    try:
        documents = []
        for record in records:
            mirror = not sources[record.source].is_registry
            shown = merged_study(store, record.study.nct_id, obj.precedence()) if mirror else None
            if shown is None:
                documents.append(record.study.model_dump_json(indent=2))
            else:
                shown_json = shown.as_json(registry=registry_name())
                documents.append(json.dumps(shown_json, indent=2, ensure_ascii=False))
        return documents
    finally:
        store.close()


@click.command(epilog=EXIT_CODES)
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
        report = harvester.reparse(source_name, callbacks=callbacks_for(obj))
    finally:
        harvester.close()
    finish_run(obj, report)
