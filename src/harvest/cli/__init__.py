"""The ``harvest`` command line: the group (``cli.app``) and every command, registered here and only here."""

from harvest.cli import (
    compliance,
    harvesting,
    history,
    mcp,
    mirrors,
    publishing,
    querying,
    reading,
    reconcile,
    searching,
    serve,
    sponsors,
    watching,
)
from harvest.cli.app import global_options, main

for command in (
    harvesting.run,
    harvesting.fetch,
    history.history,
    reading.show,
    reading.query,
    reading.runs,
    reading.conflicts,
    reading.changes,
    harvesting.reparse,
    reconcile.reconcile,
    reading.sources,
    searching.search,
    querying.export,
    publishing.publish,
    querying.stats,
    querying.datasette_metadata,
    querying.reindex,
    compliance.compliance,
    sponsors.sponsors,
    mirrors.unresolved,
    *history.ANALYSIS_COMMANDS.values(),
    serve.serve,
    watching.watch,
    mcp.mcp,
):
    main.add_command(global_options(command))  # --db, -q, -v, --log-json after the command too
for command in watching.watch.commands.values():
    global_options(command)  # and after a subcommand: harvest watch report --quiet

__all__ = ["main"]
