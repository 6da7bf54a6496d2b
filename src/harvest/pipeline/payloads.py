"""Records kept as their payload alone (``SourceRecord.derived``): the parser the store reads them back with, and
the one-time dropping of the JSON an older harvest kept beside such payloads.

The registry's record is what its parser makes of the study object, and of nothing else, so the file keeps the
object (compressed) and not the record's JSON beside it: that JSON was twice the size of the payload. Reading
such a record back parses the payload with today's parser, which is also what ``harvest reparse`` would store.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping

from harvest.core.config import Settings
from harvest.core.dates import utcnow
from harvest.core.errors import HarvestError
from harvest.core.records import PayloadParser, StoredPayload
from harvest.core.schema import Study
from harvest.net.http import HttpClient
from harvest.sources import registered
from harvest.sources.base import Page, Source
from harvest.store.database import Store
from harvest.store.tables import PAYLOADS_KEY, REWRITTEN_KEY

log = logging.getLogger("harvest.store")


def fetched_at(stamp: str) -> dt.datetime:
    """A stored ``fetched_at`` (ISO 8601, ``Z`` or an offset) as a datetime."""
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def payload_parser(sources: Mapping[str, Source] | Callable[[], Mapping[str, Source]]) -> PayloadParser:
    """Reads a stored payload back into its record with its source's parser; ``sources`` may be a function that
    makes them, called the first time a record is read (a reading command may never need one)."""
    made: dict[str, Source] = {}

    def parse(payload: StoredPayload) -> Study:
        if not made:
            made.update(sources() if callable(sources) else sources)
        page = Page(payload.url, payload.raw, fetched_at(payload.fetched_at), payload.content_type)
        try:
            study = made[payload.source].parse(page)
        except HarvestError as exc:
            exc.url = exc.url or payload.url
            raise
        # A record moved from a retired NCT number to the current one is filed under the current one.
        return study if study.nct_id == payload.nct_id else study.model_copy(update={"nct_id": payload.nct_id})

    return parse


def sources_for_reading(settings: Settings) -> Callable[[], dict[str, Source]]:
    """Makes every source, to parse stored payloads only (a reading command: their HTTP client never fetches)."""

    def make() -> dict[str, Source]:
        client = HttpClient(settings.http())
        return {name: cls(client, settings) for name, cls in registered().items()}

    return make


def keep_payloads_alone(store: Store, sources: Mapping[str, Source]) -> int:
    """Drop the JSON an older harvest kept beside the payloads that give it again: every stored record of a source
    whose records derive from their payloads, once its payload is seen to parse (one that does not keeps its
    JSON). Returns how many records now keep their payload alone."""
    names = sorted(name for name, source in sources.items() if source.derives_records)
    parse = payload_parser(sources)
    dropped, after = 0, ("", "")
    while names:
        rows = store.records.stored_whole(names, after)
        if not rows:
            break
        after = (rows[-1][0], rows[-1][1])
        readable = []
        for source, key, url, fetched, raw, content_type, nct in rows:
            try:
                parse(StoredPayload(source, url, fetched, raw, content_type, nct))
            except HarvestError as exc:
                log.warning(
                    "%s %s: its stored payload no longer parses (%s); its record stays stored whole",
                    source,
                    key,
                    exc.one_line(),
                )
                continue
            readable.append((source, key))
        with store.transaction():
            store.records.keep_payload_alone(readable)
        dropped += len(readable)
    if dropped:
        with store.transaction():
            store.runs.set_meta(REWRITTEN_KEY, utcnow())
    store.runs.forget_meta(PAYLOADS_KEY)
    if dropped:
        log.info("%s records now keep their payload alone (their JSON was stored twice)", f"{dropped:,}")
    return dropped
