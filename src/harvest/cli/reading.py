"""The commands that read the file and print what it holds: ``show``, ``query``, ``runs``, ``conflicts``,
``changes`` and ``sources``. The file is opened read-only."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import click

from harvest.cli.app import ROW_COUNT, Context, fail, handle_errors, parse_date
from harvest.cli.output import choose_format, json_text, print_rows, row_format
from harvest.core.errors import EXIT_PARTIAL, QueryError
from harvest.core.ids import nct_or_address, normalize_nct
from harvest.pipeline.report import COUNTERS
from harvest.pipeline.show import merged_study
from harvest.sources import registered
from harvest.sources.base import registry_name
from harvest.store.sql import refuses_writes

# -- show -----------------------------------------------------------------------------------------


@click.command()
@click.argument("nct_ids", nargs=-1, required=True, metavar="NCT_OR_ADDRESS...")
@click.option("--provenance", is_flag=True, help="Also say which source (and fetch) supplied each field.")
@click.pass_obj
@handle_errors
def show(obj: Context, nct_ids: tuple[str, ...], provenance: bool) -> None:
    """Print trials from the file as JSON (no network). Aliases resolve to the current NCT number; a
    ClinicalTrials.gov study address (https://clinicaltrials.gov/study/NCT…, or the classic …/ct2/show/NCT…) is
    taken for its NCT number.

    With --provenance, `field_sources` says which record gave each field (and `gone_since` when that page
    now answers 404/410), and `gone_pages` lists the trial's pages that are gone: their records still count.

    One NCT number prints one object; several print one array (of those found), so `| jq` reads one document.
    A trial that only mirror sites carry starts with `"note": "mirror only: ClinicalTrials.gov's record not
    harvested"`.
    """
    ids = [nct_or_address(n) for n in nct_ids]
    registry = registry_name()
    store = obj.readonly_store()
    found_studies: list[dict[str, Any]] = []
    missing = []
    try:
        for nct in ids:
            found = merged_study(store, nct, obj.precedence())
            if found is None:
                missing.append(nct)
                continue
            found_studies.append(found.as_json(provenance=provenance, registry=registry))
    finally:
        store.close()
    if len(ids) > 1:
        click.echo(json_text(found_studies, indent=2))
    elif found_studies:
        click.echo(json_text(found_studies[0], indent=2))
    if missing:
        fail(f"not in {obj.db}: {', '.join(missing)} (use `harvest fetch` to get them)", EXIT_PARTIAL)


# -- query ----------------------------------------------------------------------------------------


@click.command()
@click.argument("sql")
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="NAME VALUE",
    type=(str, str),
    help="Bind :NAME in the SQL to VALUE (repeatable).",
)
@row_format
@click.pass_obj
@handle_errors
def query(obj: Context, sql: str, fmt: str, params: tuple[tuple[str, str], ...]) -> None:
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
            print_rows(columns, cursor, fmt)
        except sqlite3.Error as exc:
            raise QueryError(_sql_message(exc)) from None
    finally:
        store.close()


def _sql_message(exc: sqlite3.Error) -> str:
    text = str(exc)
    if refuses_writes(exc):
        return "harvest query opens the file read-only: it cannot write, set a PRAGMA, ATTACH or VACUUM"
    if "one statement at a time" in text:
        return "one statement at a time, please"
    return f"SQL error: {text}"


# -- runs -----------------------------------------------------------------------------------------


@click.command()
@click.option("--limit", default=20, show_default=True, type=ROW_COUNT)
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
        rows = store.runs.last(limit, source_name)
    finally:
        store.close()
    columns = RUN_JSON_COLUMNS if as_json else RUN_TABLE_COLUMNS
    print_rows(columns, ([r.get(c) for c in columns] for r in rows), "json" if as_json else "table")


# What ``runs --json`` gives: every counter a run keeps (``pipeline.report.COUNTERS``), and when, how, why.
RUN_JSON_COLUMNS = [
    "id",
    "command",
    "source",
    "mode",
    "since",
    "started_at",
    "finished_at",
    "duration_s",
    "outcome",
    *COUNTERS,
    "watermark",
    "error",
]
RUN_TABLE_COLUMNS = [
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
    "versions",
    "listed",
    "removed",
    "still_failing",
    "gone",
    "not_modified",
    "skipped_robots",
    "retries",
    "throttled",
    "bytes",
    "error",
]


@click.command()
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
        found = store.studies.conflicts(nct)
    finally:
        store.close()
    fmt = choose_format(as_json, False)
    if fmt == "json":  # each value as the JSON value it is ("UNKNOWN", ["PHASE2"]), not JSON text in a string
        found = [(*row[:3], json.loads(row[3]) if row[3] is not None else None) for row in found]
    print_rows(["nct_id", "field", "source", "value"], found, fmt)


@click.command()
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
    day = parse_date(since)
    assert day is not None  # --since is required
    nct = normalize_nct(nct_id) if nct_id else None
    store = obj.readonly_store()
    try:
        found = store.studies.changes_since(day.isoformat(), nct, field_name)
    finally:
        store.close()
    print_rows(["changed_at", "nct_id", "field", "old", "new", "run_id"], found, choose_format(as_json, False))


@click.command()
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
