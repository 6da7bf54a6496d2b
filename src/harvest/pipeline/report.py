"""What a command did: the counts of a run, fetch or re-parse, its outcome and exit code, and its summary line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from harvest.core.errors import EXIT_CANNOT_RUN, EXIT_OK, EXIT_PARTIAL
from harvest.core.records import Failure, Unresolved
from harvest.net.limits import FetchStats
from harvest.pipeline.apply import ApplyResult
from harvest.sources.base import Batch


@dataclass
class RunReport:
    source: str
    command: str = "run"
    mode: str = "incremental"
    run_id: int | None = None
    outcome: str = "running"
    fetched: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    unresolved: int = 0
    skipped_robots: int = 0
    gone: int = 0  # pages that answered 404/410 again: gone, not failing
    still_failing: int = 0  # pages failing the same way as the copy kept in quarantine: not new trouble
    still_since: str | None = None  # the earliest date those have failed since
    versions: int = 0  # past versions of trials fetched (record history)
    # A full listing of the registry (harvest run --full, harvest reconcile): the NCT numbers it listed, the
    # registry's own count of them (totalCount; None when the run listed nothing whole), and what became of the
    # stored trials it did not list: marked removed, merged into another, or shown again after a removal.
    listed: int = 0
    registry_total: int | None = None
    removed: int = 0
    merged: int = 0
    restored: int = 0
    error: str | None = None
    error_exit: int = EXIT_CANNOT_RUN
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    stats: FetchStats = field(default_factory=FetchStats)

    @property
    def exit_code(self) -> int:
        """Only new trouble is an error: pages still failing the same way, or gone, do not make it 1."""
        if self.outcome in ("failed", "interrupted"):
            return self.error_exit
        return EXIT_PARTIAL if self.failed else EXIT_OK

    def add(self, source: str, batch: Batch, result: ApplyResult, callbacks: Callbacks | None) -> None:
        """Count one applied batch (what the source reported and what the store made of it); each page that
        failed anew, or is unresolved, goes to ``on_failure``, each that is still failing or gone to ``on_known``.
        ``fetched`` is the caller's: each command counts it its way."""
        still = dict(result.still_failing)
        problems = [f for f in [*batch.failures, *result.failed] if f.url not in still]
        self.new += result.new
        self.changed += result.changed
        self.unchanged += result.unchanged + batch.unchanged
        self.failed += len(problems)
        self.still_failing += len(still)
        if still:
            self.still_since = min([*still.values(), *([self.still_since] if self.still_since else [])])
        self.gone += len(batch.gone)
        self.unresolved += len(batch.unresolved)
        self.skipped_robots += batch.skipped
        self.restored += result.restored
        if callbacks and callbacks.on_failure:
            for problem in [*problems, *batch.unresolved]:
                callbacks.on_failure(source, problem)
        if callbacks and callbacks.on_known:
            for url, since in still.items():
                callbacks.on_known(source, url, f"still failing since {since[:10]} (kept in quarantine)")
            for url in batch.gone:
                callbacks.on_known(source, url, "gone (404/410 again)")

    def counts(self) -> dict[str, int | None]:
        """Every counter of the run, as the ``runs`` table keeps them (``COUNTERS`` names them)."""
        return {
            "fetched": self.fetched,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "still_failing": self.still_failing,
            "unresolved": self.unresolved,
            "gone": self.gone,
            "skipped_robots": self.skipped_robots,
            "versions": self.versions,
            "listed": self.listed,
            "registry_total": self.registry_total,
            "removed": self.removed,
            "merged": self.merged,
            "restored": self.restored,
            "requests": self.stats.requests,
            "not_modified": self.stats.not_modified,
            "retries": self.stats.retries,
            "throttled": self.stats.throttled,
            "bytes": self.stats.bytes,
        }

    def summary(self) -> str:
        """One line a cron mail reader understands at a glance."""
        seconds = (dt.datetime.now(dt.UTC) - self.started).total_seconds()
        head = {"ok": "OK", "partial": "PARTIAL", "failed": "FAILED", "interrupted": "INTERRUPTED"}.get(
            self.outcome, self.outcome.upper()
        )
        parts = [
            f"{self.fetched:,} fetched",
            f"{self.new:,} new",
            f"{self.changed:,} changed",
            f"{self.unchanged:,} unchanged",
            f"{self.failed:,} failed",
        ]
        if self.still_failing:
            parts.append(f"{self.still_failing:,} still quarantined since {(self.still_since or '')[:10]}")
        if self.gone:
            parts.append(f"{self.gone:,} gone")
        if self.stats.not_modified:
            parts.append(f"{self.stats.not_modified:,} not modified (304)")
        if self.unresolved:
            parts.append(f"{self.unresolved:,} unresolved")
        if self.skipped_robots:
            parts.append(f"{self.skipped_robots:,} skipped by robots.txt")
        if self.versions or self.command == "history":
            parts.append(f"{self.versions:,} versions")
        if self.registry_total is not None:
            parts.append(f"{self.listed:,} listed of {self.registry_total:,} (totalCount)")
        if self.removed or self.merged or self.restored or self.command == "reconcile":
            parts.append(f"{self.removed:,} removed, {self.merged:,} merged, {self.restored:,} restored")
        parts.append(f"{self.stats.retries:,} retries ({self.stats.throttled:,} rate-limited)")
        parts.append(f"{_size(self.stats.bytes)} in {seconds:,.1f}s")
        line = f"harvest {self.command} {self.source} [{self.mode}] {head}: " + ", ".join(parts)
        if self.run_id is not None:
            line += f"; run #{self.run_id}"
        if self.error:
            line += f" — {self.error}"
        return line


def _size(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:,.0f} {unit}" if unit == "B" else f"{count:,.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return f"{count} B"


OnBatch = Callable[[RunReport, int | None], None]
OnFailure = Callable[[str, Failure | Unresolved], None]
OnKnown = Callable[[str, str, str], None]  # source, url, what: a page failing as before, or gone


@dataclass
class Callbacks:
    on_batch: OnBatch | None = None
    on_failure: OnFailure | None = None
    on_known: OnKnown | None = None


# The counters of a run, as ``RunReport.counts`` gives them and the ``runs`` table keeps them.
COUNTERS = tuple(RunReport(source="").counts())
