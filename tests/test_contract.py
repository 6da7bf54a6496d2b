"""The contract every site module meets, checked for every registered source (a new module is covered by adding it).

A source has a name, a label, a default base URL that the environment can override, a way to discover pages,
an address for one study (by NCT where the site allows it, else NotAddressable), and a parser that turns each
of its recorded pages into a Study or raises a typed error, never anything else.
"""

from __future__ import annotations

import random
import re

import pytest

from harvest.core.errors import (
    BadResponse,
    InputError,
    NotAddressable,
    ParseError,
)
from harvest.core.ids import is_nct
from harvest.core.schema import Study
from harvest.sources import registered, source_for_url
from harvest.sources.base import Page, registry_name
from harvest.sources.mirror import MirrorSource
from harvest.testing import FIXTURES
from tests.mirror_helpers import FETCHED, TYPED, FixturePage, fixture_pages, make_source

NAMES = sorted(registered())
PAGES = [page for name in NAMES for page in fixture_pages(name)]


def replay_base(name: str) -> str:
    return f"http://127.0.0.1:9/{name}-replay"


def overridden() -> dict[str, str]:
    """Every source moved onto 127.0.0.1, as the replay tests do (given with a trailing slash, to be dropped)."""
    return {f"HARVEST_{n.upper()}_URL": replay_base(n) + "/" for n in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_declares_what_it_is(name: str) -> None:
    cls = registered()[name]
    assert cls.name == name and re.fullmatch(r"[a-z][a-z0-9_]*", name)
    assert cls.label.strip()
    assert re.match(r"^https://[^/]+", cls.default_base_url) and not cls.default_base_url.endswith("/")
    assert cls.discovery in {"api", "sitemap", "index"}
    if issubclass(cls, MirrorSource):
        assert cls.discovery == "sitemap"


def test_exactly_one_source_is_the_registry_and_it_comes_first() -> None:
    """Merging, one-off fetches by NCT and mirrors' title lookups all lean on it."""
    registries = [name for name, cls in registered().items() if cls.is_registry]
    assert registries == [registry_name()] == [next(iter(registered()))]


@pytest.mark.parametrize("name", NAMES)
def test_base_url_comes_from_the_environment(name: str) -> None:
    source = make_source(name, overridden())
    base = replay_base(name)
    assert source.base_url == base  # trailing slash dropped
    assert source.owns(base + "/some/page") and source.owns(base)
    assert not source.owns(base + "-elsewhere/page")
    assert not source.owns(registered()[name].default_base_url + "/some/page")
    assert source.record_key(base + "/a/b?c=1") == "/a/b?c=1"
    assert make_source(name).base_url == registered()[name].default_base_url


@pytest.mark.parametrize("name", NAMES)
def test_harvest_fetch_routes_urls_by_base_url(name: str) -> None:
    replayed = {n: make_source(n, overridden()) for n in NAMES}
    assert source_for_url(replay_base(name) + "/any/page", replayed) is replayed[name]
    real = {n: make_source(n) for n in NAMES}
    assert source_for_url(registered()[name].default_base_url + "/any/page", real) is real[name]


def test_a_shared_base_url_routes_by_study_path() -> None:
    """One server for every site (as a local replay can be): each site's study path picks its source."""
    shared = {f"HARVEST_{n.upper()}_URL": "http://127.0.0.1:9" for n in NAMES}
    sources = {n: make_source(n, shared) for n in NAMES}
    for fixture in PAGES:
        if fixture.source == "ctgov":
            continue
        url = "http://127.0.0.1:9" + fixture.route
        if not sources[fixture.source].is_study_url(url):
            continue  # a page its own site does not harvest (a translated copy)
        accepting = sorted(n for n, s in sources.items() if s.is_study_url(url))
        if accepting == [fixture.source]:
            assert source_for_url(url, sources) is sources[fixture.source]
        else:
            with pytest.raises(InputError, match="several sources"):
                source_for_url(url, sources)


@pytest.mark.parametrize("name", NAMES)
def test_url_for_is_owned_or_not_addressable(name: str) -> None:
    source = make_source(name, overridden())
    try:
        url = source.url_for("nct04268537")
    except NotAddressable:
        return
    assert source.owns(url) and "NCT04268537" in url
    with pytest.raises(InputError):
        source.url_for("NCT123")


@pytest.mark.parametrize("name", NAMES)
def test_has_fixtures_and_at_least_one_parses(name: str) -> None:
    """A source without recorded pages is untested; one whose every page fails is broken."""
    pages = fixture_pages(name)
    assert pages, f"add fixtures/{name}/routes.json and recorded pages"
    source = make_source(name)
    parsed = 0
    for fixture in pages:
        try:
            source.parse(fixture.page())
            parsed += 1
        except TYPED:
            pass
    assert parsed >= 1


@pytest.mark.parametrize("fixture", PAGES, ids=str)
def test_every_fixture_page_parses_or_raises_a_typed_error(fixture: FixturePage) -> None:
    source = make_source(fixture.source)
    try:
        study = source.parse(fixture.page())
    except ParseError as exc:
        assert isinstance(exc, TYPED), f"{type(exc).__name__} is not one of the typed parse errors"
        assert str(exc)
        return
    assert isinstance(study, Study)
    assert study.provenance.source == fixture.source
    assert study.provenance.url == fixture.url
    assert is_nct(study.nct_id)
    if isinstance(source, MirrorSource):
        assert source.is_study_url(fixture.url), "a page that parses must be one discovery would find"


def _garbage() -> list[bytes]:
    rng = random.Random(5)
    return [
        b"",
        b"\x00\xff\xfe\x00",
        b"<html><body>Service temporarily unavailable \x00\xff</body></html>",
        b"{}",
        b"null",
        b'{"studies": []}',
        b"<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'/>",
        b"<html><body><h1>404 Not Found</h1></body></html>",
        bytes(rng.randrange(256) for _ in range(2000)),
        b"<div>" * 5000 + b"Status <p>Recruiting</p>" + b"</div>" * 5000,  # deeper than Python's recursion limit
        (FIXTURES / "ctgov" / "studies" / "NCT03418623.json").read_bytes()[:700],
    ]


@pytest.mark.parametrize("name", NAMES)
def test_garbage_raises_only_typed_errors(name: str) -> None:
    source = make_source(name)
    urls = [source.base_url + "/", *(page.url for page in fixture_pages(name)[:2])]
    for url in urls:
        for content in _garbage():
            with pytest.raises((ParseError, BadResponse)):  # BadResponse: a body that is not what was promised
                source.parse(Page(url, content, FETCHED, "text/html; charset=utf-8"))
