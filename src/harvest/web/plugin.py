"""The Datasette plugin `harvest serve` registers: template data for the home, search and trial pages.

`extra_template_vars`, `render_cell` (in query results, an NCT number links to its trial page and a search
snippet's **words** are marked), `prepare_connection` (what one statement may cost: ``web.sqlbounds``),
`asgi_wrapper` (NCT numbers alone, searched from a page, go straight to that trial) and routes:
``/-/charts`` (SVG drawn here) and the Atom feeds (``web.feeds``), whose addresses the trial, search and watch
pages give. It reads, with Datasette's read-only connection, and writes nothing. Imported only when serving (it
needs datasette installed).
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any
from urllib.parse import parse_qs

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.utils import tilde_decode
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from harvest.core.errors import InputError
from harvest.query.fts_query import parse
from harvest.query.synonyms import NONE, Synonyms
from harvest.query.synonyms import load as load_synonyms
from harvest.web import HOME, charts, feeds, sqlbounds
from harvest.web.search import SEARCH_QUERY, search_page
from harvest.web.trial import trial


async def _names(db: Any) -> set[str]:
    return set(await db.table_names()) | set(await db.view_names())


def _database(datasette: Any) -> str | None:
    return next((n for n in datasette.databases if n != "_internal"), None)


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + dot.strip()


async def _home(datasette: Any) -> dict[str, Any]:
    name = _database(datasette)
    if name is None:
        return {}
    db = datasette.get_database(name)
    present = await _names(db)
    described = datasette.metadata(database=name) or {}
    tables = described.get("tables", {})
    queries = described.get("queries", {})
    sections = []
    for heading, entries in HOME:
        links = []
        for entry, kind in entries:
            if kind == "query" and entry in queries:
                text = queries[entry].get("title", "")
            elif kind == "table" and entry in present:
                text = tables.get(entry, {}).get("description", "")
            else:
                continue
            url = datasette.urls.table(name, entry) if kind == "table" else datasette.urls.query(name, entry)
            links.append({"name": entry, "url": url, "description": _first_sentence(text)})
        if links:
            sections.append({"heading": heading, "links": links})
    return {
        "harvest_home": {
            "database": name,
            "search_url": datasette.urls.query(name, "search_studies"),
            "database_url": datasette.urls.database(name),
            "sections": sections,
            "charts_url": datasette.urls.path("/-/charts"),
        }
    }


@hookimpl
def prepare_connection(conn: Any) -> None:
    """Every connection Datasette opens: a cap on what one statement may allocate and compute."""
    sqlbounds.bound(conn)


@hookimpl
def extra_template_vars(
    template: str, database: str | None, table: str | None, view_name: str, request: Any, datasette: Any
) -> Any:
    async def inner() -> dict[str, Any]:
        if view_name == "index":
            return await _home(datasette)
        if view_name == "row" and table == "studies" and database and request is not None:
            pks = request.url_vars.get("pks", "")
            db = datasette.get_database(database)
            registry = datasette.metadata("registry", database=database)
            page = await trial(db.execute, tilde_decode(pks), await _names(db), registry)
            if not page:
                return {}
            nct = page["study"]["nct_id"]
            feed = {
                "url": datasette.absolute_url(request, datasette.urls.path(feeds.trial_feed_path(nct))),
                "title": f"Changes of {nct}",
            }
            return {"trial": page, "harvest_feed": feed}
        if view_name == "row" and table == "watches" and request is not None:
            name = tilde_decode(request.url_vars.get("pks", ""))
            url = datasette.absolute_url(request, datasette.urls.path(feeds.watch_feed_path(name)))
            return {"harvest_feed": {"url": url, "title": f"Watch {name}", "watch": name}}
        if database and request is not None and request.url_vars.get("table") == SEARCH_QUERY:
            db = datasette.get_database(database)
            base = datasette.urls.query(database, SEARCH_QUERY)
            found = await search_page(db.execute, base, request.args, _synonyms())
            url = datasette.absolute_url(request, datasette.urls.path(feeds.search_feed_path(found["params"])))
            return {"harvest_search": found, "harvest_feed": {"url": url, "title": "New trials and changes found"}}
        return {}

    return inner


def _synonyms() -> Synonyms:
    """The synonyms the canned query was built with (``harvest serve`` loads the same file at start)."""
    try:
        return load_synonyms()
    except InputError:
        return NONE


@hookimpl
def asgi_wrapper(datasette: Any) -> Any:
    """A search page asked for NCT numbers alone that the file holds as one trial answers with that trial's page."""

    def wrap(app: Any) -> Any:
        async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
            target = await _straight_to(datasette, scope) if scope.get("type") == "http" else None
            if target is None:
                await app(scope, receive, send)
                return
            await send({"type": "http.response.start", "status": 302, "headers": [(b"location", target.encode())]})
            await send({"type": "http.response.body", "body": b""})

        return wrapped

    return wrap


async def _straight_to(datasette: Any, scope: dict[str, Any]) -> str | None:
    parts = scope.get("path", "").strip("/").split("/")
    if scope.get("method") != "GET" or len(parts) != 2 or parts[1] != SEARCH_QUERY:
        return None
    typed = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("q", [""])[0]
    if "nct" not in typed.lower():
        return None
    try:
        query = parse(typed)
        db = datasette.get_database(parts[0])
    except (InputError, KeyError):
        return None
    if not query.nct_ids:
        return None
    try:
        rows = await db.execute(
            "SELECT s.nct_id FROM studies_fts f JOIN studies s ON s.rowid = f.rowid WHERE studies_fts MATCH ? LIMIT 2",
            [query.expression],
        )
    except (sqlite3.Error, QueryInterrupted):  # no index, or an older one: the page itself will say
        return None
    found = [row[0] for row in rows]
    return datasette.urls.row(db.name, "studies", found[0]) if len(found) == 1 else None


NCT = re.compile(r"NCT[0-9]{8}")
MARKED = re.compile(r"\*\*(.+?)\*\*")


@hookimpl
def render_cell(value: Any, column: str, table: str | None, database: str, datasette: Any) -> Any:
    """In a query's results (no table): NCT numbers link to the trial page; snippets show their marks."""
    if table is not None or not isinstance(value, str):
        return None
    if column == "nct_id" and NCT.fullmatch(value):
        return Markup(f'<a href="{escape(datasette.urls.row(database, "studies", value))}">{escape(value)}</a>')
    if column == "snippet" and "**" in value:
        return Markup(MARKED.sub(r"<mark>\1</mark>", str(escape(value))))
    return None


async def charts_page(datasette: Any, request: Any) -> Any:
    """Trials by start year stacked by status, and (with the compliance views) due vs. overdue per sponsor."""
    name = _database(datasette)
    pictures = []
    if name is not None:
        db = datasette.get_database(name)
        present = await _names(db)
        if "studies" in present:
            starts = [tuple(row) for row in await db.execute(charts.STARTS_SQL)]
            if starts:  # every year from the first to the last, so the gaps show
                first, last = int(starts[0][0]), int(starts[-1][0])
                starts = sorted(starts + [(str(year), "UNKNOWN", 0) for year in range(first, last + 1)])
            title = "Trials by start year, stacked by status"
            pictures.append({"title": title, "svg": charts.stacked_columns(starts, title)})
        if "sponsor_compliance" in present:
            rows = [tuple(row) for row in await db.execute(charts.SPONSORS_SQL)]
            if rows:
                title = "Results due vs. overdue, per organisation (FDAAA 801; the 20 with most overdue)"
                pictures.append({"title": title, "svg": charts.paired_bars(rows, ("due", "overdue"), title)})
    html = await datasette.render_template(
        "harvest_charts.html", {"pictures": pictures, "database": name}, request=request, view_name="charts"
    )
    return Response.html(html)


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [(r"^/-/charts$", charts_page), *feeds.routes(_synonyms)]
