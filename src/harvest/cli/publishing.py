"""``harvest publish``: the file copied into PostgreSQL, in AACT's ``ctgov`` schema, then kept up to date."""

from __future__ import annotations

import importlib
import sys
import time
from types import ModuleType

import click

from harvest.cli.app import EXIT_CODES, Context, handle_errors
from harvest.cli.compliance import current_store
from harvest.core.errors import HarvestError


class MissingExtra(HarvestError):
    """An optional part of harvest is not installed."""


def optional(module: str, extra: str, package: str) -> ModuleType:
    """Import a module that needs an optional extra, or say in one line what to install."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == package:
            raise MissingExtra(f"this needs {package}: pip install 'harvest[{extra}]'") from None
        raise


class _Progress:
    """Trials sent so far, on one terminal line; nothing when stderr is not a terminal (cron)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if self.enabled:
            rate = done / max(time.monotonic() - self.started, 1e-6)
            sys.stderr.write(f"\rpublish: {done:,}/{total:,} trials ({rate:,.0f}/s) ")
            sys.stderr.flush()
            self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


@click.command(epilog=EXIT_CODES)
@click.argument("url", metavar="POSTGRESQL_URL")
@click.option(
    "--batch",
    default=500,
    show_default=True,
    type=click.IntRange(min=1, max=5000),
    help="Trials per transaction (a reader sees a trial's rows all old or all new).",
)
@click.option(
    "--set-search-path",
    is_flag=True,
    help="Make ctgov the database's default schema (ALTER DATABASE ... SET search_path), so AACT queries need "
    "no ctgov. prefix.",
)
@click.pass_obj
@handle_errors
def publish(obj: Context, url: str, batch: int, set_search_path: bool) -> None:
    """Copy the file into a PostgreSQL database: the first time whole, then only the trials changed since.

    Every table and view goes to the schema ctgov (AACT's schema name), under
    the names the file has (harvest's own and, where the file has them,
    AACT's); harvest's bookkeeping (runs, pages, ...) to the schema harvest. Views are published as tables of their
    rows. Types are PostgreSQL's: booleans, dates where the registry gives a
    day, timestamps, text[] for lists, jsonb for JSON. The bodies as received
    (raw, raw_fingerprint) are not published.

    A later publish sends only the trials whose rows changed since the last
    one, a batch of trials per transaction; tables and views that are not by
    trial (runs, sponsor_compliance, results_compliance, which reads today's
    date) are copied whole. A publish killed at any point resumes where it
    stopped when run again. The password comes from the URL, PGPASSWORD or
    ~/.pgpass.

    \b
    harvest publish postgresql://harvest@db.example.org/trials
    harvest run --all; harvest publish postgresql:///trials   # nightly, after the run
    """
    publisher = optional("harvest.publish.publisher", "pg", "psycopg")
    current_store(obj).close()  # refused (exit 3) if missing, not harvest's, or made by an older harvest
    progress = _Progress(not obj.quiet and not obj.log_json)
    try:
        report = publisher.publish(obj.db, url, batch=batch, on_progress=progress)
    finally:
        progress.close()
    if set_search_path:
        postgres = optional("harvest.publish.postgres", "pg", "psycopg")
        target = postgres.Target(url)
        try:
            target.set_search_path()
        finally:
            target.close()
    if not obj.quiet:
        click.echo(report.summary(), err=True)
