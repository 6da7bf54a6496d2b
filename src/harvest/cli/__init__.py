"""The ``harvest`` command line: the group (``cli.app``) and every command, registered here and only here."""

from harvest.cli import compliance, harvesting, mirrors, querying, reading, serve
from harvest.cli.app import main

for command in (
    harvesting.run,
    harvesting.fetch,
    reading.show,
    reading.query,
    reading.runs,
    reading.conflicts,
    reading.changes,
    harvesting.reparse,
    reading.sources,
    querying.search,
    querying.export,
    querying.stats,
    querying.datasette_metadata,
    querying.reindex,
    compliance.compliance,
    mirrors.unresolved,
    serve.serve,
):
    main.add_command(command)

__all__ = ["main"]
