"""``harvest reconcile``: which stored studies the registry no longer shows, found and marked."""

from __future__ import annotations

import click

from harvest.cli.app import EXIT_CODES, Context, handle_errors
from harvest.cli.harvesting import Progress, callbacks_for, finish_run


@click.command(epilog=EXIT_CODES)
@click.option(
    "--max-share",
    type=click.FloatRange(0, 1),
    default=None,
    metavar="FRACTION",
    help="Refuse (exit 3, nothing marked) when more than this share of the stored studies is missing from the "
    "listing [default: HARVEST_REMOVAL_MAX_SHARE, else 0.01; at least 10 studies are always allowed].",
)
@click.pass_obj
@handle_errors
def reconcile(obj: Context, max_share: float | None) -> None:
    """Find the stored studies ClinicalTrials.gov no longer shows, and mark them; nothing is deleted.

    Lists every NCT number the registry shows (NCT numbers only: some 600
    requests for the whole registry, about 13 minutes at the default rate),
    then asks for each stored study the list lacks, alone: a 404 marks it
    removed (studies.removed_on: the day it was first missed), a redirect to
    another NCT number is a merge (the number becomes an alias), and its own
    record means the list missed it (nothing marked). A study listed again is
    unmarked; `harvest changes --field removed_on` shows both.

    A listing that ends short of the registry's totalCount, or that lacks more
    than a small share of the file, marks nothing and exits 3. Polite and
    resumable like a run: same rate limit, the lock, a row in `runs`, and a
    reconcile killed at any point resumes where it stopped.

    \b
    Cron, Sundays at 01:30 (before the nightly run: one lock), mail only on trouble:
      30 1 * * 0  cd /data/trials && harvest --quiet reconcile
    """
    harvester = obj.harvester()
    progress = Progress(not obj.quiet and not obj.log_json)
    try:
        report = harvester.reconcile(max_share=max_share, callbacks=callbacks_for(obj, progress))
    finally:
        progress.close()
        harvester.close()
    finish_run(obj, report)
