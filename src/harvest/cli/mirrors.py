"""Commands about mirror sites (registered on the ``harvest`` group in ``harvest/cli/__init__.py``)."""

from __future__ import annotations

import json
from typing import Any

import click

from harvest.cli.app import Context, handle_errors
from harvest.cli.output import print_rows
from harvest.sources import registered

UNRESOLVED_COLUMNS = ["source", "kind", "url", "title", "reason", "candidates", "seen_at"]


def unresolved_rows(obj: Context, source_name: str | None) -> list[dict[str, Any]]:
    """Every page still unresolved, newest first (``Pages.problems``): without an NCT number, quarantined,
    not found, gone."""
    store = obj.readonly_store()
    try:
        rows = store.pages.problems(source_name)
    finally:
        store.close()
    for row in rows:
        row["candidates"] = json.loads(row["candidates"]) if row["candidates"] else []
    return rows


@click.command()
@click.option(
    "--source", "source_name", default=None, type=click.Choice(sorted(registered())), help="Only pages of this source."
)
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@click.pass_obj
@handle_errors
def unresolved(obj: Context, source_name: str | None, as_json: bool) -> None:
    """List what is still unresolved: pages without an NCT number, quarantined, not found or gone.

    kind `unresolved`: a page that shows no NCT number is matched to
    ClinicalTrials.gov by its exact title; when none or several studies match,
    it lands here with the reason and the candidate NCT numbers, for a person
    to decide: nothing is guessed. kind `quarantined`: a page or record that
    failed to fetch or parse, or was refused, kept (since seen_at) for
    `harvest reparse`. kind `not-found`: answered 404/410 on its last visit;
    `gone`: on two visits in a row (since seen_at), revisited rarely, its
    records kept. A later visit (or `harvest fetch URL`) tries again.

    \b
    harvest unresolved
    harvest unresolved --source veeva --json | jq .candidates
    """
    rows = unresolved_rows(obj, source_name)
    if as_json:
        print_rows(UNRESOLVED_COLUMNS, ([row[c] for c in UNRESOLVED_COLUMNS] for row in rows), "json")
        return
    table = ([*(row[c] for c in UNRESOLVED_COLUMNS[:5]), ", ".join(row["candidates"]), row["seen_at"]] for row in rows)
    print_rows(UNRESOLVED_COLUMNS, table, "table")
