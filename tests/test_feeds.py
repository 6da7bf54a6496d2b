"""The Atom feeds of `harvest serve`: one per watch, per trial and per search, over a real socket, read with
the standard library's XML parser and checked against what RFC 4287 requires of a feed and of its entries; each
carries the same entries, with the same ids, as `harvest watch report` (the two nights of
tests/watch_helpers.py)."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from harvest.core.dates import utcnow
from harvest.query.feeds import Feed, FeedItem, rfc3339, watch_feed
from harvest.testing import CtgovSite
from harvest.web import atom
from tests.conftest import Cli
from tests.serve_helpers import serving
from tests.watch_helpers import (
    EXPECTED,
    NEW,
    RESULTS,
    STATUS_AND_SITE,
    TwoNights,
    next_second,
    night_one,
    night_two,
    two_nights,
)

NS = "{http://www.w3.org/2005/Atom}"
URN = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> TwoNights:
    return two_nights(tmp_path_factory.mktemp("feeds") / "harvest.db")


@pytest.fixture(scope="module")
def site(nights: TwoNights) -> Iterator[str]:
    with serving(nights.db) as base:
        yield base


def timestamp(text: str | None) -> dt.datetime:
    """An RFC 3339 date-time (Atom's Date construct), or the test fails."""
    assert text and re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", text), text
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def one(element: ET.Element, name: str) -> ET.Element:
    found = element.findall(NS + name)
    assert len(found) == 1, f"{element.tag} has {len(found)} {name}"
    return found[0]


def check_atom(body: bytes) -> ET.Element:
    """The document parsed, and every element RFC 4287 requires there (4.1.1, 4.1.2): the feed's id, title,
    updated and author (or one in each entry), a link rel="self"; each entry's id, title, updated, and, having no
    content, a link rel="alternate". Ids are IRIs, unique within the feed."""
    root = ET.fromstring(body)
    assert root.tag == NS + "feed"
    assert URN.match(one(root, "id").text or "")
    assert one(root, "title").text
    timestamp(one(root, "updated").text)
    entries = root.findall(NS + "entry")
    authors = root.findall(NS + "author")
    assert authors or all(entry.findall(NS + "author") for entry in entries)
    assert all(one(author, "name").text for author in authors)
    (own,) = [link for link in root.findall(NS + "link") if link.get("rel") == "self"]
    assert (own.get("href") or "").startswith("http://127.0.0.1:")
    ids = []
    for entry in entries:
        ids.append(one(entry, "id").text or "")
        assert URN.match(ids[-1])
        assert one(entry, "title").text
        timestamp(one(entry, "updated").text)
        if not entry.findall(NS + "content"):
            alternate = [link for link in entry.findall(NS + "link") if link.get("rel", "alternate") == "alternate"]
            assert alternate and alternate[0].get("href")
    assert len(ids) == len(set(ids))
    return root


def get_feed(base: str, path: str, **params: str) -> ET.Element:
    response = httpx.get(base + path, params=params, timeout=30)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    return check_atom(response.content)


def entries(root: ET.Element) -> dict[str, ET.Element]:
    return {one(entry, "id").text or "": entry for entry in root.findall(NS + "entry")}


def test_each_watch_feed_is_atom_and_carries_what_its_report_said(nights: TwoNights, site: str) -> None:
    for watch in EXPECTED:
        reported = {e["id"]: e for e in nights.entries if e["watch"] == watch}
        fed = entries(get_feed(site, f"/-/feeds/watch/{watch}.atom"))
        assert set(fed) == set(reported), watch
        for entry_id, entry in fed.items():
            said = reported[entry_id]
            assert one(entry, "updated").text == rfc3339(said["date"])
            assert one(entry, "title").text == f"{said['nct_id']}: {said['text']}"
            assert one(entry, "link").get("href") == f"{site}/harvest/studies/{said['nct_id']}"


def test_a_trial_feed_carries_its_changes_with_the_ids_the_watches_gave_them(nights: TwoNights, site: str) -> None:
    changed = {e["id"] for e in nights.entries if e["nct_id"] == STATUS_AND_SITE and e["kind"] == "changed"}
    assert len(changed) == 2  # its status and its sites, the same change in two watches with one id
    root = get_feed(site, f"/-/feeds/trial/{STATUS_AND_SITE}.atom")
    assert set(entries(root)) == changed
    assert one(root, "title").text.startswith(f"{STATUS_AND_SITE}: Testing the Addition")
    missing = httpx.get(f"{site}/-/feeds/trial/NCT09999999.atom", timeout=30)
    assert missing.status_code == 404


def test_a_search_feed_carries_its_new_trials_and_the_changes_of_those_it_finds(nights: TwoNights, site: str) -> None:
    recruiting = entries(get_feed(site, "/-/feeds/search.atom", q="cancer", status="RECRUITING"))
    assert [one(e, "title").text for e in recruiting.values()] == [f"{NEW}: new in the file"]
    cancer = entries(get_feed(site, "/-/feeds/search.atom", q="cancer"))
    changes = {e["id"] for e in nights.entries if e["kind"] == "changed" and e["nct_id"] in (STATUS_AND_SITE, RESULTS)}
    assert len(changes) == 4
    assert set(cancer) == changes | set(recruiting)


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.feeds: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "link" and found.get("rel") == "alternate" and found.get("type") == "application/atom+xml":
            self.feeds.append(found.get("href") or "")


def feeds_named_by(base: str, path: str, **params: str) -> list[str]:
    response = httpx.get(base + path, params=params, timeout=30)
    assert response.status_code == 200
    links = Links()
    links.feed(response.text)
    return links.feeds


def test_the_pages_name_their_feed_for_readers_to_find(site: str) -> None:
    trial = feeds_named_by(site, f"/harvest/studies/{STATUS_AND_SITE}")
    assert trial == [f"{site}/-/feeds/trial/{STATUS_AND_SITE}.atom"]
    search = feeds_named_by(site, "/harvest/search_studies", q="cancer", status="RECRUITING")
    assert search == [f"{site}/-/feeds/search.atom?q=cancer&status=RECRUITING"]
    watch = feeds_named_by(site, "/harvest/watches/cancer-recruiting")
    assert watch == [f"{site}/-/feeds/watch/cancer-recruiting.atom"]
    for address in trial + search + watch:  # each one answers, as Atom
        check_atom(httpx.get(address, timeout=30).content)


def test_words_typed_into_a_search_feed_stay_text(site: str) -> None:
    typed = '<script>alert("x")</script> & ]]> \x01\x1b[31m cancer'
    root = get_feed(site, "/-/feeds/search.atom", q=typed)
    assert "<script>alert" in (one(root, "title").text or "")
    assert not [element for element in root.iter() if element.tag.endswith("script")]


def test_text_xml_cannot_hold_is_dropped_and_markup_stays_text() -> None:
    hostile = 'a\x00b\x1bc\ud800d\ufffe <b>bold</b> & "quoted" ]]>'
    feed = Feed(
        "urn:uuid:00000000-0000-5000-8000-000000000000",
        hostile,
        hostile,
        "2026-12-20T00:00:00Z",
        [FeedItem("urn:uuid:00000000-0000-5000-8000-000000000001", hostile, "2026-12-20T00:00:00Z", "NCT1", hostile)],
    )
    body = atom.render(feed, self_url="http://127.0.0.1:1/x?a=1&b=<2>", page_url="http://h/", trial_url=lambda n: n)
    root = check_atom(body)
    cleaned = 'abcd <b>bold</b> & "quoted" ]]>'
    assert one(root, "title").text == cleaned
    assert one(one(root, "entry"), "summary").text == cleaned
    assert next(link.get("href") for link in root.findall(NS + "link")) == "http://127.0.0.1:1/x?a=1&b=<2>"


def test_a_feed_read_before_the_report_carries_what_the_report_then_says(
    cli: Cli, ctgov_site: CtgovSite, db_path: Path
) -> None:
    """A reader that polls before the nightly report sees the entries it will give, under the same ids."""
    new = night_one(ctgov_site)
    assert cli("run").exit_code == 0
    assert cli("watch", "add", "cancer-recruiting", "--search", "cancer", "--status", "RECRUITING").exit_code == 0
    next_second()
    night_two(ctgov_site, new)
    assert cli("run", "--since", "2026-12-19").exit_code == 0

    def read() -> set[str]:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            feed = watch_feed(conn, "cancer-recruiting", now=utcnow())
        finally:
            conn.close()
        assert feed is not None
        return {item.id for item in feed.items}

    before = read()
    report = cli("watch", "report", "--json")
    assert report.exit_code == 0
    assert before == {json.loads(line)["id"] for line in report.stdout.splitlines()}
    assert len(before) == len(EXPECTED["cancer-recruiting"])
    assert read() == before  # and after the report, the same
