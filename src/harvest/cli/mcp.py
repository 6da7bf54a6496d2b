"""``harvest mcp``: a Model Context Protocol server over stdio, for LLM agents and desktop clients."""

from __future__ import annotations

import click

from harvest.cli.app import EXIT_CODES, Context, handle_errors
from harvest.cli.publishing import optional
from harvest.sources.base import registry_name


@click.command(epilog=EXIT_CODES)
@click.option(
    "--sql-seconds",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.1, max=300),
    help="run_sql stops a statement after this long.",
)
@click.pass_obj
@handle_errors
def mcp(obj: Context, sql_seconds: float) -> None:
    """Serve the file to an LLM agent over MCP (stdio), read-only, until the client disconnects.

    Tools: search_trials (full-text, with harvest search's filters),
    show_trial (one trial, its sections on request), trial_changes (what
    changed, night by night and in the registry's history), run_sql (one
    read-only SQLite statement, at most 500 rows, --sql-seconds), list_tables,
    compliance (results reporting as of a date, per trial or sponsor). Every
    argument is checked and every answer capped in size. A desktop client
    starts it with this command and the file's path:

    \b
    harvest --db /data/trials/harvest.db mcp
    """
    server = optional("harvest.mcp.server", "mcp", "mcp")
    server.serve(obj.db, sql_seconds=sql_seconds, verbose=obj.verbose > 0, registry=registry_name())
