"""Fixture pages of every registered source, and a mirror served over 127.0.0.1, for the site tests.

Kept out of conftest.py on purpose: the contract, fuzz and per-site tests import what they need.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harvest.core.config import Settings
from harvest.core.errors import InvalidRecord, LayoutChanged, MissingIdentity, NotAStudyPage
from harvest.core.schema import Study
from harvest.net.http import HttpClient
from harvest.sources import registered
from harvest.sources.base import Page, Source
from harvest.testing import FIXTURES, ReplayServer, StaticSite
from tests.conftest import FETCHED, TEST_ENV

HTML = "text/html; charset=utf-8"
# The typed errors a parser may raise for a page it cannot turn into a Study (anything else is a bug).
TYPED = (LayoutChanged, NotAStudyPage, MissingIdentity, InvalidRecord)


@dataclass(frozen=True)
class FixturePage:
    """One recorded response of a source, as its parser sees it on the real site."""

    source: str
    route: str  # path on the site (routes.json key), or the API path for ctgov
    file: Path
    content_type: str

    @property
    def url(self) -> str:
        return registered()[self.source].default_base_url.rstrip("/") + self.route

    def page(self, url: str | None = None) -> Page:
        return Page(url or self.url, self.file.read_bytes(), FETCHED, self.content_type)

    def __str__(self) -> str:
        return f"{self.source}:{self.file.name}"


def fixture_pages(name: str) -> list[FixturePage]:
    """Study-page fixtures of one source: routes.json HTML files for mirrors, studies/*.json for ctgov."""
    folder = FIXTURES / name
    if name == "ctgov":
        return [
            FixturePage(name, f"/studies/{path.name.split('.')[0]}", path, "application/json")
            for path in sorted((folder / "studies").glob("*.json"))
        ]
    routes_file = folder / "routes.json"
    if not routes_file.exists():
        return []
    pages = []
    for route, entry in json.loads(routes_file.read_text(encoding="utf-8")).items():
        content_type = entry.get("content_type", HTML)
        if "file" in entry and content_type.startswith("text/html") and int(entry.get("status", 200)) == 200:
            pages.append(FixturePage(name, route, folder / entry["file"], content_type))
    return pages


def fixture_page(name: str, file_name: str) -> FixturePage:
    return next(page for page in fixture_pages(name) if page.file.name == file_name)


def make_source(name: str, env: dict[str, str] | None = None) -> Source:
    """A source instance with settings from ``env`` only (never the caller's environment)."""
    settings = Settings(env=env or {})
    return registered()[name](HttpClient(settings.http()), settings)


def parse_file(name: str, file_name: str, url: str | None = None) -> Study:
    """Parse one of the source's fixture pages, as served at its route (or at ``url``)."""
    return make_source(name).parse(fixture_page(name, file_name).page(url))


def parse_markup(name: str, html: str, url: str) -> Study:
    """Parse HTML a test wrote (often a fixture page with a change) as the source's page at ``url``."""
    return make_source(name).parse(Page(url, html.encode(), FETCHED, HTML))


@contextmanager
def served_mirror(name: str) -> Iterator[ReplayServer]:
    """The source's fixture folder served on 127.0.0.1, with sitemap and robots links rewritten to it."""
    site = StaticSite(FIXTURES / name, origin=registered()[name].default_base_url)
    with ReplayServer(site) as server:
        yield server


def mirror_env(name: str, server: ReplayServer, db_path: Path) -> dict[str, str]:
    """What a user sets to point harvest at the replay server: base URL, no rate limit, tiny backoff, the DB."""
    return {
        **TEST_ENV,
        f"HARVEST_{name.upper()}_URL": server.url,
        f"HARVEST_{name.upper()}_RPS": "0",
        "HARVEST_BACKOFF": "0.01",
        "HARVEST_DB": str(db_path),
    }
