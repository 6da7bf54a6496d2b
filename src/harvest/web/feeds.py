"""The Atom feeds `harvest serve` publishes, one route each (registered by ``web.plugin``):

- ``/-/feeds/watch/NAME.atom``: a watch's entries, as ``harvest watch report`` gives them;
- ``/-/feeds/trial/NCT….atom``: a trial's changes;
- ``/-/feeds/search.atom?q=…&status=…``: any search of the search page (the same parameters), its new trials
  and the changes of the trials it finds.

What each carries is ``query.feeds``, computed on Datasette's read-only connection within a time limit; the XML
is ``web.atom``. The pages that have a feed (the watch's row page, the trial page, the search page) name it in
a ``<link rel="alternate" type="application/atom+xml">``, which is how feed readers find it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from datasette.utils import sqlite_timelimit, tilde_encode
from datasette.utils.asgi import Response

from harvest.core.dates import utcnow
from harvest.core.errors import InputError
from harvest.query import feeds
from harvest.query.search_filters import PARAMETERS
from harvest.query.synonyms import Synonyms
from harvest.web import atom

FEED_TIME_LIMIT_MS = 10_000  # a reader asks now and then; a large watch may take a few seconds
PREFIX = "/-/feeds"


def trial_feed_path(nct_id: str) -> str:
    return f"{PREFIX}/trial/{quote(nct_id)}.atom"


def watch_feed_path(name: str) -> str:
    return f"{PREFIX}/watch/{quote(name, safe='')}.atom"


def search_feed_path(params: Mapping[str, str]) -> str:
    kept = [(name, params[name]) for name in ("q", *PARAMETERS) if params.get(name)]
    return f"{PREFIX}/search.atom" + ("?" + urlencode(kept) if kept else "")


def _database(datasette: Any) -> str | None:
    return next((n for n in datasette.databases if n != "_internal"), None)


def _text(status: int, message: str) -> Response:
    return Response.text(message + "\n", status=status)


async def _serve(
    datasette: Any, request: Any, build: Callable[[sqlite3.Connection], feeds.Feed | None], page: Callable[[str], str]
) -> Response:
    name = _database(datasette)
    if name is None:
        return _text(404, "no database")
    db = datasette.get_database(name)

    def work(conn: sqlite3.Connection) -> feeds.Feed | None:
        with sqlite_timelimit(conn, FEED_TIME_LIMIT_MS):
            return build(conn)

    try:
        feed = await db.execute_fn(work)
    except InputError as exc:
        return _text(400, exc.one_line())
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            return _text(503, f"this feed took more than {FEED_TIME_LIMIT_MS // 1000} s; try again later")
        if "no such table" in str(exc):
            return _text(404, "this file has no such feed (an older harvest made it)")
        raise
    if feed is None:
        return _text(404, "no such watch or trial in this file")
    body = atom.render(
        feed,
        self_url=request.url,
        page_url=datasette.absolute_url(request, page(name)),
        trial_url=lambda nct: datasette.absolute_url(request, datasette.urls.row(name, "studies", nct)),
    )
    return Response(body, content_type=atom.CONTENT_TYPE)


def routes(synonyms: Callable[[], Synonyms]) -> list[tuple[str, Any]]:
    """The feed routes, for the plugin's ``register_routes`` (``synonyms``: those the search page uses)."""

    async def watch_route(datasette: Any, request: Any) -> Response:
        watch = request.url_vars["name"]
        return await _serve(
            datasette,
            request,
            lambda conn: feeds.watch_feed(conn, watch, now=utcnow(), synonyms=synonyms()),
            lambda db: datasette.urls.row(db, "watches", tilde_encode(watch)),
        )

    async def trial_route(datasette: Any, request: Any) -> Response:
        nct = request.url_vars["nct"]
        return await _serve(
            datasette,
            request,
            lambda conn: feeds.trial_feed(conn, nct),
            lambda db: datasette.urls.row(db, "studies", nct),
        )

    async def search_route(datasette: Any, request: Any) -> Response:
        params = {name: request.args.get(name) or "" for name in ("q", *PARAMETERS)}
        given = urlencode([(name, value) for name, value in params.items() if value])
        return await _serve(
            datasette,
            request,
            lambda conn: feeds.search_feed(conn, params, synonyms()),
            lambda db: datasette.urls.query(db, "search_studies") + (f"?{given}" if given else ""),
        )

    return [
        (rf"^{PREFIX}/watch/(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{{0,63}})\.atom$", watch_route),
        (rf"^{PREFIX}/trial/(?P<nct>NCT[0-9]{{8}})\.atom$", trial_route),
        (rf"^{PREFIX}/search\.atom$", search_route),
    ]
