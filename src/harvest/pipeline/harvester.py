"""The pipeline's front door for the command line, benchmarks and tests: one object, one verb per command."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from harvest.core.records import SourceRecord
from harvest.pipeline import fetch, nightly, reparse
from harvest.pipeline.report import Callbacks, RunReport
from harvest.pipeline.session import Session
from harvest.sources.base import Source


class Harvester(Session):
    """Runs, one-off fetches and re-parses over one file."""

    def run(
        self,
        source_name: str,
        *,
        full: bool = False,
        since: dt.date | None = None,
        max_pages: int | None = None,
        callbacks: Callbacks | None = None,
    ) -> RunReport:
        """The nightly harvest of one source (see ``pipeline.nightly``)."""
        return nightly.run(self, source_name, full=full, since=since, max_pages=max_pages, callbacks=callbacks)

    def resolve_targets(self, targets: Sequence[str], source_name: str | None) -> list[tuple[Source, str, str]]:
        return fetch.resolve_targets(self, targets, source_name)

    def fetch(
        self, targets: Sequence[str], *, source_name: str | None = None, callbacks: Callbacks | None = None
    ) -> tuple[list[SourceRecord], RunReport]:
        """Fetch trials now (see ``pipeline.fetch``)."""
        return fetch.fetch(self, targets, source_name=source_name, callbacks=callbacks)

    def reparse(self, source_name: str | None = None, callbacks: Callbacks | None = None) -> RunReport:
        """Re-parse every stored payload offline (see ``pipeline.reparse``)."""
        return reparse.reparse(self, source_name, callbacks)
