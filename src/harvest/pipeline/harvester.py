"""The pipeline's front door for the command line, benchmarks and tests: one object, one verb per command."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from harvest.core.records import SourceRecord
from harvest.pipeline import fetch, nightly, reconcile, reparse
from harvest.pipeline import history as record_history
from harvest.pipeline.report import Callbacks, RunReport
from harvest.pipeline.session import Session
from harvest.sources.base import Source
from harvest.store.database import Store
from harvest.store.tables import REBUILD_KEY

log = logging.getLogger("harvest.run")


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
        history: bool = False,
    ) -> RunReport:
        """The nightly harvest of one source (see ``pipeline.nightly``); ``history``: and the record history of
        the trials it found new or changed (``pipeline.history``).

        A file just upgraded from an older schema is first rebuilt from its stored payloads (``reparse``, no
        network), so the tables the upgrade added are filled for every trial, not only those fetched tonight.
        """
        if self._rebuild_pending():
            log.warning("this file was made by an older harvest: rebuilding every table from the stored payloads")
            self.reparse(callbacks=callbacks)
        return nightly.run(
            self, source_name, full=full, since=since, max_pages=max_pages, callbacks=callbacks, history=history
        )

    def run_all(
        self,
        *,
        full: bool = False,
        since: dt.date | None = None,
        max_pages: int | None = None,
        callbacks: Callbacks | None = None,
        history: bool = False,
    ) -> list[RunReport]:
        """Every source in turn under one lock (``harvest run --all``; see ``pipeline.nightly.run_all``), after the
        rebuild an upgraded file needs, as ``run``."""
        if self._rebuild_pending():
            log.warning("this file was made by an older harvest: rebuilding every table from the stored payloads")
            self.reparse(callbacks=callbacks)
            self.fresh_stats()
        return nightly.run_all(self, full=full, since=since, max_pages=max_pages, callbacks=callbacks, history=history)

    def reconcile(self, *, max_share: float | None = None, callbacks: Callbacks | None = None) -> RunReport:
        """List the registry's NCT numbers and mark what it no longer shows (see ``pipeline.reconcile``)."""
        return reconcile.reconcile(self, max_share=max_share, callbacks=callbacks)

    def _rebuild_pending(self) -> bool:
        store = Store(self.db_path)  # (upgraded if need be; what else an upgrade leaves is done under the lock)
        try:
            return store.runs.meta(REBUILD_KEY) is not None
        finally:
            store.close()

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

    def history(self, nct_ids: Sequence[str], callbacks: Callbacks | None = None) -> RunReport:
        """Fetch the record history of trials, what the file does not hold yet (see ``pipeline.history``)."""
        return record_history.history(self, nct_ids, callbacks=callbacks)
