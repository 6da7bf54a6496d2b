"""What every command that fetches or re-parses needs: settings, the HTTP client, the sources, the store."""

from __future__ import annotations

import logging

from harvest.core.config import Settings
from harvest.core.errors import HarvestError, UnknownSource
from harvest.net.http import HttpClient
from harvest.net.limits import FetchStats
from harvest.pipeline.apply import BatchWriter
from harvest.pipeline.report import RunReport
from harvest.sources import registered
from harvest.sources.base import Source
from harvest.store.database import Store

log = logging.getLogger("harvest.run")


class Session:
    """One command's sources (all registered, configured from the environment) over one file."""

    def __init__(self, db_path: str, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.db_path = db_path
        self.stats = FetchStats()
        self.client = HttpClient(self.settings.http(), stats=self.stats)
        self.sources: dict[str, Source] = {name: cls(self.client, self.settings) for name, cls in registered().items()}
        self.registry = next(source for source in self.sources.values() if source.is_registry)
        self.precedence = self.settings.precedence(list(self.sources), registry=self.registry.name)

    def fresh_stats(self) -> None:
        """Count the network anew from here (one report per source when several run in one command)."""
        self.stats = self.client.stats = FetchStats()

    def open_store(self) -> Store:
        return Store(self.db_path)

    def writer(
        self, store: Store, *, history: bool = True, queue_history: bool = False, listing: str | None = None
    ) -> BatchWriter:
        return BatchWriter(store, self.precedence, history=history, queue_history=queue_history, listing=listing)

    def source(self, name: str) -> Source:
        if name not in self.sources:
            raise UnknownSource(f"unknown source {name!r} (known: {', '.join(self.sources)})")
        return self.sources[name]

    def close(self) -> None:
        self.client.close()

    def interrupted(self, store: Store, report: RunReport, what_now: str) -> None:
        """Ctrl-C: the runs row says so (not 'running' forever), with what the user can count on."""
        report.outcome, report.error, report.error_exit = "interrupted", f"interrupted; {what_now}", 130
        self.record_end(store, report)

    def failed(self, store: Store, report: RunReport, exc: BaseException) -> None:
        """A command stopped by an error: its runs row says which (a full disk is no killed process)."""
        report.outcome = "failed"
        report.error = exc.one_line() if isinstance(exc, HarvestError) else f"{type(exc).__name__}: {exc}"
        self.record_end(store, report)

    def record_end(self, store: Store, report: RunReport) -> None:
        if report.run_id is None:
            return
        try:
            store.runs.finish(report.run_id, outcome=report.outcome, counts=report.counts(), error=report.error)
        except HarvestError as exc:  # the disk that failed the run may fail this too; say so, keep the first error
            log.error("could not record the end of run #%s: %s", report.run_id, exc.one_line())
