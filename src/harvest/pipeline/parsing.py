"""Parsing a batch's payloads: in this process, or in worker processes while this one writes.

A full load of the registry is bound by harvest's own work, parsing and writing, not by the registry's pace
(1,000 studies a page, 0.8 pages a second). One process can only do one of the two at a time, so parsing goes to
worker processes (``HARVEST_WORKERS``, the number of cores by default): while the run writes one part of a page,
the workers parse the next ones. A worker does all the work that needs no file: it parses each payload, hashes
the record, compresses the payload, and builds the rows of the trial as that record alone makes it
(``core.records.Prepared``); the writer hands those rows to the store, and parses a record again only for a trial
that changed (to say what changed) or that other sources describe too (to merge them).

What the run commits does not change: parts are applied in order, each with its own resume cursor, so a killed run
resumes as before; a payload a worker could not parse is parsed again here, to fail here with its real error.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import marshal
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from functools import partial
from typing import Any

from harvest.core.config import Settings
from harvest.core.errors import FetchError, ParseError
from harvest.core.records import Failure, Prepared, SourceRecord, StoredRecord
from harvest.merge import merge
from harvest.net.http import HttpClient
from harvest.pipeline.parent_death import die_with_parent
from harvest.sources import registered
from harvest.sources.base import Batch, Source, Unparsed
from harvest.store.compression import compress
from harvest.store.sql import bindable, iso
from harvest.store.studies import child_rows, study_row

log = logging.getLogger("harvest.run")

# A part with fewer payloads than this is parsed here: sending it costs more than it saves (a nightly run's
# handful of changed studies), and a run that never has more starts no worker at all.
MIN_SENT = 32
CHUNK = 50  # payloads a worker is sent at a time: both workers busy on a part of 250, few round trips
AHEAD = 2  # parts parsed ahead of the one being written: enough to keep the workers busy, little memory


class Parsing:
    """Turns the ``unparsed`` payloads of a source's batches into records, in order, ``AHEAD`` parts ahead."""

    def __init__(self, source: Source, settings: Settings, workers: int | None = None) -> None:
        self.source = source
        self.settings = settings
        self.workers = settings.parse_workers() if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Parsing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def batches(self, batches: Iterator[Batch]) -> Iterator[Batch]:
        """The batches, each with its payloads parsed into records and failures; while the caller applies one,
        the next ``AHEAD`` are parsed by the workers."""
        pending: deque[tuple[Batch, list[Future[bytes]]]] = deque()
        for batch in batches:
            pending.append((batch, self._send(batch)))
            if len(pending) > (AHEAD if self._pool is not None else 0):
                yield self._parsed(*pending.popleft())
        while pending:
            yield self._parsed(*pending.popleft())

    def _send(self, batch: Batch) -> list[Future[bytes]]:
        if self.workers < 1 or len(batch.unparsed) < MIN_SENT:
            return []
        pool = self._started()
        items = []
        for u in batch.unparsed:
            items.append((u.url, u.record_key, u.raw, u.fetched_at.isoformat(), u.content_type))
            u.decoded = None  # the worker decodes its own copy
        work = partial(prepare, self.source.name, self.source.derives_records)
        sent = range(0, len(items), CHUNK)
        return [pool.submit(work, marshal.dumps(items[start : start + CHUNK])) for start in sent]

    def _parsed(self, batch: Batch, sent: list[Future[bytes]]) -> Batch:
        prepared = [from_wire(p) for future in sent for p in marshal.loads(future.result())]
        for index, item in enumerate(batch.unparsed):
            made = prepared[index] if prepared else None
            if made is not None:
                batch.records.append(self._record(item, made))
                continue
            try:
                batch.records.append(self.source.record_of(item))
            except (ParseError, FetchError) as exc:
                batch.failures.append(Failure(item.url, exc, item.raw, item.content_type))
        batch.unparsed = []
        return batch

    def _record(self, item: Unparsed, made: Prepared) -> SourceRecord:
        source = self.source
        return SourceRecord(
            source.name,
            item.record_key,
            item.url,
            None,
            item.raw,
            item.content_type,
            item.fingerprint,
            derived=source.derives_records,
            prepared=made,
            parse=lambda: source.record_of(item).study,
        )

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # A fork server, not a plain fork: this process already runs threads (the next page's fetch, the
            # payloads' compression), and a child forked from it could inherit a lock one of them holds.
            context = multiprocessing.get_context("forkserver")
            # The fork server and the workers die with this process, however it ends (pipeline.parent_death).
            context.set_forkserver_preload(["harvest.pipeline.fork_server", "harvest.pipeline.parsing"])
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=start_worker, initargs=(dict(self.settings.env),)
            )
            log.info("parsing in %d worker processes", self.workers)
        return self._pool


# -- in the worker ------------------------------------------------------------------------------------------

_SOURCES: dict[str, Source] = {}
_DONE = [0]
WORKER_NICENESS = 5
COLLECT_EVERY = 20  # chunks between two runs of a worker's cyclic collector (paused, as in the run loop)


def start_worker(env: Mapping[str, str]) -> None:
    """A worker's sources, made once (to parse only: their HTTP client never fetches); the collector paused. A
    worker yields the processor to the writer (a lower priority): the writer is the one that cannot be helped,
    and the run goes as fast as it writes. A worker dies with the fork server, which dies with the run."""
    die_with_parent()
    os.nice(WORKER_NICENESS)
    settings = Settings(env=dict(env))
    client = HttpClient(settings.http())
    _SOURCES.update({name: cls(client, settings) for name, cls in registered().items()})
    gc.disable()
    gc.freeze()


Item = tuple[str, str, bytes, str, str | None]  # url, record_key, raw, fetched_at (ISO 8601), content_type


def prepare(source_name: str, derived: bool, sent: bytes) -> bytes:
    """What the writer needs of each payload sent (``Item`` tuples in ``marshal`` bytes): ``to_wire`` tuples, or
    None where one does not parse (the writer parses it again), in ``marshal`` bytes."""
    source = _SOURCES[source_name]
    out = [_prepared(source, derived, item) for item in marshal.loads(sent)]
    _DONE[0] += 1
    if _DONE[0] % COLLECT_EVERY == 0:
        gc.collect()
    return marshal.dumps([None if made is None else to_wire(made) for made in out])


# Between the run and its workers, items and results go as ``marshal`` bytes, not pickled: they are built of
# str, bytes, numbers, None, tuples, lists, dicts and frozensets only (a row holds what SQLite binds), which
# marshal writes in under half of pickle's time and reads in about half (measured on the bench mix: 70 µs
# against 160 to write a trial's rows, 54 against 95 to read them). Both ends are the same interpreter.
def to_wire(made: Prepared) -> tuple[Any, ...]:
    return (
        made.nct_id, made.nct_aliases, made.fetched_at.isoformat(), made.content_hash, made.record_json,
        made.compressed_raw, made.populated, made.row, made.children,
    )  # fmt: skip


def from_wire(sent: tuple[Any, ...] | None) -> Prepared | None:
    if sent is None:
        return None
    nct_id, aliases, fetched_at, digest, text, compressed, populated, row, children = sent
    return Prepared(
        nct_id=nct_id,
        nct_aliases=aliases,
        fetched_at=dt.datetime.fromisoformat(fetched_at),
        content_hash=digest,
        record_json=text,
        compressed_raw=compressed,
        populated=populated,
        row=row,
        children=children,
    )


def _prepared(source: Source, derived: bool, item: Item) -> Prepared | None:
    url, key, raw, fetched_at, content_type = item
    try:
        unparsed = Unparsed(url, key, raw, dt.datetime.fromisoformat(fetched_at), content_type)
        study = source.record_of(unparsed).study
        merged = merge([StoredRecord(source.name, key, url, iso(unparsed.fetched_at), study)], [source.name])
    except (ParseError, FetchError, ValueError):
        return None
    # A derived record's JSON is not kept (its payload is): its hash alone is serialised, without the provenance
    text, digest = (None, study.content_hash()) if derived else study.record_json()
    return Prepared(
        nct_id=study.nct_id,
        nct_aliases=tuple(study.nct_aliases),
        fetched_at=study.provenance.fetched_at,
        content_hash=digest,
        record_json=text,
        compressed_raw=compress(raw),
        populated=frozenset(next(iter(merged.provenance.values()), ())),  # what merging it alone found populated
        row=study_row(merged.study, merged, digest),
        # Made ready to bind here, not in the writer, which is the one process the run waits for
        children={table: bindable(rows) for table, rows in child_rows(study).items()},
    )
