"""The fetch loop: discover → fetch → parse (site module) → store, for runs and one-off fetches.

It knows no site. It takes the lock, asks a source for batches, refuses a
batch that looks like a broken source (most records failing), commits each
good batch with its resume cursor, and records the run. The watermark moves
only when a run completes.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harvest.core.config import Settings
from harvest.core.errors import (
    EXIT_CANNOT_RUN,
    EXIT_OK,
    EXIT_PARTIAL,
    BadResponse,
    FetchError,
    HarvestError,
    InputError,
    MissingIdentity,
    NotAddressable,
    ParseError,
    SanityCheckFailed,
    UnknownSource,
)
from harvest.core.ids import normalize_nct
from harvest.core.schema import Study
from harvest.net.http import FetchStats, HttpClient
from harvest.sources import registered, source_for_url
from harvest.sources.base import Batch, Failure, HarvestPlan, Page, Source, SourceRecord, Unresolved
from harvest.store.database import ApplyResult, Store
from harvest.store.lock import RunLock

log = logging.getLogger("harvest.run")

# A batch of at least this many records in which more than half fail is not applied: that is a
# layout or API change, not bad luck, and applying it would replace good rows with nothing.
SANITY_MIN_BATCH = 10
SANITY_MAX_FAILED_SHARE = 0.5
# Batches between two runs of the cyclic collector (see _run_batches). A collection walks what is alive, the
# batch the source still holds included (~20 ms for a page of 1,000 studies), and finds next to nothing.
COLLECT_EVERY = 10


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
    error: str | None = None
    error_exit: int = EXIT_CANNOT_RUN
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    stats: FetchStats = field(default_factory=FetchStats)

    @property
    def exit_code(self) -> int:
        if self.outcome in ("failed", "interrupted"):
            return self.error_exit
        return EXIT_PARTIAL if self.failed else EXIT_OK

    def add(self, source: str, batch: Batch, result: ApplyResult, on_failure: OnFailure | None) -> None:
        """Count one applied batch (what the source reported and what the store made of it); each failed
        or unresolved page goes to ``on_failure``. ``fetched`` is the caller's: each command counts it its way."""
        self.new += result.new
        self.changed += result.changed
        self.unchanged += result.unchanged + batch.unchanged
        self.failed += len(batch.failures) + len(result.failed)
        self.unresolved += len(batch.unresolved)
        self.skipped_robots += batch.skipped
        if on_failure:
            for problem in [*batch.failures, *result.failed, *batch.unresolved]:
                on_failure(source, problem)

    def counts(self) -> dict[str, int]:
        return {
            "fetched": self.fetched,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "unresolved": self.unresolved,
            "skipped_robots": self.skipped_robots,
            "requests": self.stats.requests,
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
        if self.unresolved:
            parts.append(f"{self.unresolved:,} unresolved")
        if self.skipped_robots:
            parts.append(f"{self.skipped_robots:,} skipped by robots.txt")
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


@dataclass
class Callbacks:
    on_batch: OnBatch | None = None
    on_failure: OnFailure | None = None


class Harvester:
    """Everything a command needs: settings, the HTTP client, the sources and the store."""

    def __init__(self, db_path: str, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.db_path = db_path
        self.stats = FetchStats()
        self.client = HttpClient(self.settings.http(), stats=self.stats)
        self.sources: dict[str, Source] = {name: cls(self.client, self.settings) for name, cls in registered().items()}
        self.registry = next(source for source in self.sources.values() if source.is_registry)
        self.precedence = self.settings.precedence(list(self.sources), registry=self.registry.name)

    def open_store(self) -> Store:
        return Store(self.db_path, precedence=self.precedence)

    def source(self, name: str) -> Source:
        if name not in self.sources:
            raise UnknownSource(f"unknown source {name!r} (known: {', '.join(self.sources)})")
        return self.sources[name]

    def close(self) -> None:
        self.client.close()

    # -- nightly runs ---------------------------------------------------------------------------

    def run(
        self,
        source_name: str,
        *,
        full: bool = False,
        since: dt.date | None = None,
        max_pages: int | None = None,
        callbacks: Callbacks | None = None,
    ) -> RunReport:
        source = self.source(source_name)
        if (full or since) and not source.takes_since:
            raise InputError(
                f"{source_name} is harvested by its sitemap (new and changed pages first, then the least recently "
                "seen), so --full/--since do not apply; bound the run with --max-pages"
            )
        if max_pages is not None and not source.takes_max_pages:
            raise InputError(f"{source_name} is harvested by update date; --max-pages applies to mirror sites")
        callbacks = callbacks or Callbacks()
        report = RunReport(source=source_name, stats=self.stats)
        with RunLock(self.db_path, f"harvest run --source {source_name}"):
            store = self.open_store()
            try:
                store.mark_abandoned_runs()
                state = store.state(source_name)
                cursor = state["cursor"]
                if cursor and (full or since):
                    log.warning("discarding the saved position of an unfinished run: --full/--since start over")
                    cursor = None
                # The day the query began: the watermark of a resumed run is that of the run it completes, so
                # studies updated while it lay killed are still asked for next time.
                began = report.started.date().isoformat()
                if cursor:
                    report.mode = "resume"
                    since = dt.date.fromisoformat(cursor["since"]) if cursor.get("since") else None
                    full = bool(cursor.get("full"))
                    began = cursor.get("began") or began
                elif full or (since is None and state["watermark"] is None):
                    report.mode, full = "full", True
                else:
                    report.mode = "incremental"
                    since = since or dt.date.fromisoformat(state["watermark"])
                report.run_id = store.start_run(
                    source_name, "run", report.mode, since.isoformat() if since and not full else None
                )
                plan = HarvestPlan(
                    full=full,
                    since=None if full else since,
                    cursor=(cursor or {}).get("source_cursor"),
                    max_pages=max_pages,
                    page_history=store.page_history(source_name),
                    title_search=None if source.is_registry else getattr(self.registry, "search_titles", None),
                    stored_fingerprints=lambda keys: store.fingerprints(source_name, keys),
                )
                resume = {"full": full, "since": since.isoformat() if since and not full else None, "began": began}
                self._run_batches(store, source, plan, report, callbacks, resume)
                if report.fetched == 0 and report.failed == 0 and full:
                    raise SanityCheckFailed(
                        f"{source_name} returned zero studies on a full run; nothing applied "
                        "(is the base URL right, or is the source down?)"
                    )
                report.outcome = "partial" if report.failed else "ok"
                watermark = began
                store.finish_run(report.run_id, outcome=report.outcome, counts=report.counts(), watermark=watermark)
                store.set_watermark(source_name, watermark)
            except HarvestError as exc:
                report.outcome = "failed"
                report.error = exc.one_line()
                report.error_exit = exc.exit_code if isinstance(exc, InputError) else EXIT_CANNOT_RUN
                self._record_end(store, report)
                if isinstance(exc, SanityCheckFailed | FetchError):
                    return report
                raise
            except KeyboardInterrupt:
                self._interrupted(store, report, "the next run resumes from the last committed page")
                raise
            finally:
                store.close()
        return report

    def _interrupted(self, store: Store, report: RunReport, what_now: str) -> None:
        """Ctrl-C: the runs row says so (not 'running' forever), with what the user can count on."""
        report.outcome, report.error, report.error_exit = "interrupted", f"interrupted; {what_now}", 130
        self._record_end(store, report)

    def _record_end(self, store: Store, report: RunReport) -> None:
        if report.run_id is None:
            return
        try:
            store.finish_run(report.run_id, outcome=report.outcome, counts=report.counts(), error=report.error)
        except HarvestError as exc:  # the disk that failed the run may fail this too; say so, keep the first error
            log.error("could not record the end of run #%s: %s", report.run_id, exc.one_line())

    def _run_batches(
        self,
        store: Store,
        source: Source,
        plan: HarvestPlan,
        report: RunReport,
        callbacks: Callbacks,
        resume: dict[str, Any],
    ) -> None:
        # Python's cyclic collector is paused while batches are fetched, parsed and written, and run every few
        # batches instead. A page of studies is a million short-lived objects (none in cycles); with the
        # collector on, each 700 allocations start a collection and the older generations, the page included,
        # are walked again and again: measured, the collector took a fifth of a full CT.gov run. What exists
        # before the run (modules, schemas: ~90,000 objects) is frozen so those collections skip it.
        collecting = gc.isenabled()
        gc.disable()
        gc.freeze()
        try:
            self._apply_batches(store, source, plan, report, callbacks, resume)
        finally:
            gc.unfreeze()
            if collecting:
                gc.enable()

    def _apply_batches(
        self,
        store: Store,
        source: Source,
        plan: HarvestPlan,
        report: RunReport,
        callbacks: Callbacks,
        resume: dict[str, Any],
    ) -> None:
        for page, batch in enumerate(source.harvest(plan), start=1):
            attempted = len(batch.records) + len(batch.failures) + batch.unchanged
            broken = [f for f in batch.failures if isinstance(f.error, ParseError | BadResponse)]
            if attempted >= SANITY_MIN_BATCH and len(broken) > SANITY_MAX_FAILED_SHARE * attempted:
                sample = broken[0].error.one_line()
                raise SanityCheckFailed(
                    f"batch {page}: {len(broken)} of {attempted} records failed to parse; "
                    f"batch not applied, run stopped (first: {sample})"
                )
            # What resumes the run: the source's own position plus how the run was asked for.
            batch.cursor = {"source_cursor": batch.cursor, **resume} if batch.cursor is not None else None
            result = store.apply_batch(batch, source=source.name, run_id=report.run_id, save_cursor=True)
            report.fetched += len(batch.records) + len(batch.failures) + len(batch.unresolved) + batch.unchanged
            report.add(source.name, batch, result, callbacks.on_failure)
            if callbacks.on_batch:
                callbacks.on_batch(report, batch.expected_total)
            del batch  # a written batch is ~50 MB: let it go before the source fetches the next page
            if page % COLLECT_EVERY == 0:
                gc.collect()

    # -- one-off fetches ------------------------------------------------------------------------

    def resolve_targets(self, targets: Sequence[str], source_name: str | None) -> list[tuple[Source, str, str]]:
        """Check every target before touching the network: (source, kind, value) per target."""
        resolved = []
        for target in targets:
            text = target.strip()
            if text.lower().startswith(("http://", "https://")):
                chosen = self.source(source_name) if source_name else source_for_url(text, self.sources)
                resolved.append((chosen, "url", text))
            else:
                nct = normalize_nct(text)
                source = self.source(source_name) if source_name else self.registry
                if type(source).url_for is Source.url_for:
                    raise NotAddressable(f"{source.name} cannot fetch by NCT number; give a page URL")
                resolved.append((source, "nct", nct))
        return resolved

    def fetch(
        self,
        targets: Sequence[str],
        *,
        source_name: str | None = None,
        callbacks: Callbacks | None = None,
    ) -> tuple[list[SourceRecord], RunReport]:
        callbacks = callbacks or Callbacks()
        resolved = self.resolve_targets(targets, source_name)
        names = sorted({source.name for source, _, _ in resolved})
        report = RunReport(source=",".join(names), command="fetch", mode="one-off", stats=self.stats)
        fetched: list[SourceRecord] = []
        with RunLock(self.db_path, "harvest fetch"):
            store = self.open_store()
            try:
                store.mark_abandoned_runs()
                report.run_id = store.start_run(report.source, "fetch", "one-off")
                plan = HarvestPlan(title_search=getattr(self.registry, "search_titles", None))
                for source, kind, value in resolved:
                    batch = Batch()
                    try:
                        item = source.fetch_nct(value) if kind == "nct" else source.fetch_page(value, plan)
                    except (FetchError, ParseError) as exc:
                        raw = getattr(exc, "raw", None)
                        failure = Failure(exc.url or value, exc, raw)
                        report.failed += 1
                        if callbacks.on_failure:
                            callbacks.on_failure(source.name, failure)
                        if isinstance(exc, ParseError) and raw is not None:
                            batch.failures.append(failure)
                            store.apply_batch(batch, source=source.name, run_id=report.run_id)
                        continue
                    report.fetched += 1
                    if isinstance(item, Unresolved):
                        batch.unresolved.append(item)
                    else:
                        batch.records.append(item)
                    result = store.apply_batch(batch, source=source.name, run_id=report.run_id)
                    report.add(source.name, batch, result, callbacks.on_failure)
                    if isinstance(item, SourceRecord) and not result.failed:  # not refused as worse than stored
                        fetched.append(item)
                report.outcome = "partial" if report.failed or report.unresolved else "ok"
                store.finish_run(report.run_id, outcome=report.outcome, counts=report.counts())
            except KeyboardInterrupt:
                self._interrupted(store, report, "what was fetched before is stored")
                raise
            finally:
                store.close()
        return fetched, report

    # -- offline re-parse -----------------------------------------------------------------------

    def reparse(self, source_name: str | None = None, callbacks: Callbacks | None = None) -> RunReport:
        """Re-parse every stored raw payload with today's parsers and re-merge; no network.

        Kept pages are re-tried too: a quarantined page that now parses is stored, and an
        unresolved one that now shows its NCT number is resolved.
        """
        callbacks = callbacks or Callbacks()
        names = [self.source(source_name).name] if source_name else list(self.sources)
        report = RunReport(source=source_name or "all", command="reparse", mode="offline", stats=self.stats)
        with RunLock(self.db_path, "harvest reparse"):
            store = self.open_store()
            try:
                store.mark_abandoned_runs()
                report.run_id = store.start_run(report.source, "reparse", "offline")
                for name in names:
                    self._reparse_source(store, self.sources[name], report, callbacks)
                # Rows whose records did not change still follow today's merge policy (HARVEST_PRECEDENCE).
                store.remerge_all(report.run_id, source_name)
                report.outcome = "partial" if report.failed else "ok"
                store.finish_run(report.run_id, outcome=report.outcome, counts=report.counts())
            except HarvestError as exc:
                report.outcome, report.error = "failed", exc.one_line()
                self._record_end(store, report)
                raise
            except KeyboardInterrupt:
                self._interrupted(store, report, "batches re-parsed before are stored; run it again")
                raise
            finally:
                store.close()
        return report

    def _reparse_source(self, store: Store, source: Source, report: RunReport, callbacks: Callbacks) -> None:
        # A re-parse means the parser changed: stored fingerprints vouch for what the old one made of a payload.
        store.forget_fingerprints(source.name)
        batch = Batch()
        stored_at: dict[str, dt.datetime] = {}  # record key -> when its stored version was fetched

        def flush() -> None:
            nonlocal batch
            # A kept page that now parses is stored like any page; storing it settles its quarantine or
            # unresolved row (and a version refused as worse than the stored one stays quarantined).
            result = store.apply_batch(batch, source=source.name, run_id=report.run_id)
            report.add(source.name, batch, result, callbacks.on_failure)
            batch = Batch()

        for row in store.source_record_rows(source.name):
            report.fetched += 1
            page = Page(row["url"], row["raw"], _when(row["fetched_at"]), row["content_type"])
            stored_at[row["record_key"]] = page.fetched_at
            try:
                study = source.parse(page)
            except MissingIdentity as missing:
                stored = Study.model_validate_json(row["record"])
                resolution = stored.provenance.nct_resolution or "title-exact"
                study = source.rebuild(missing, row["nct_id"], resolution, page)
            except (ParseError, FetchError) as exc:
                batch.failures.append(Failure(page.url, exc, page.content, page.content_type))
                continue
            batch.records.append(
                SourceRecord(source.name, row["record_key"], row["url"], study, row["raw"], row["content_type"])
            )
            if len(batch.records) >= 500:
                flush()
        superseded: list[tuple[str, str]] = []
        for table in ("quarantine", "unresolved"):
            for row in store.stored_pages(table, source.name):
                page = Page(row["url"], row["raw"], _when(row["fetched_at"]), row["content_type"])
                key = source.record_key(page.url)
                if key in stored_at and stored_at[key] >= page.fetched_at:
                    superseded.append((table, page.url))  # a later visit stored this page: nothing to replay
                    continue
                try:
                    study = source.parse(page)
                except (ParseError, FetchError):
                    continue  # still broken (or still without an NCT): it stays where it is
                report.fetched += 1
                batch.records.append(SourceRecord(source.name, key, page.url, study, page.content, page.content_type))
        flush()
        with store.transaction():
            for table, url in superseded:
                (store.release_quarantine if table == "quarantine" else store.resolve_unresolved)(source.name, url)


def _when(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
