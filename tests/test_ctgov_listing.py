"""The registry's list of NCT numbers (the API's fields parameter) and its answer for one study the list lacks,
read over a real socket from the replay server."""

from __future__ import annotations

import pytest

from harvest.core.config import Settings
from harvest.core.errors import HTTPStatusError
from harvest.net.http import HttpClient
from harvest.sources.ctgov import ClinicalTrialsGov
from harvest.sources.ctgov_listing import RegistryListing
from harvest.testing import CtgovSite, ReplayServer, base_url_env
from tests.conftest import TEST_ENV

FIXTURE_IDS = sorted(CtgovSite.from_dir().studies)


def listing_of(server: ReplayServer) -> RegistryListing:
    settings = Settings(env={**TEST_ENV, **base_url_env({"ctgov": server})})
    return RegistryListing(ClinicalTrialsGov(HttpClient(settings.http()), settings))


def test_the_listing_gives_every_nct_number_with_the_registrys_count_and_resumes_from_a_page() -> None:
    with ReplayServer(CtgovSite.from_dir(max_page_size=5)) as server:
        pages = list(listing_of(server).pages())
        assert [len(page.nct_ids) for page in pages] == [5, 5, 5, 5, 4]
        assert [nct for page in pages for nct in page.nct_ids] == FIXTURE_IDS
        assert {page.total for page in pages} == {24}
        assert pages[-1].cursor is None and all(page.cursor for page in pages[:-1])
        bodies = [path for path, _ in server.answers if path.startswith("/api/v2/studies?")]
        assert all("fields=NCTId" in path for path in bodies)

        resumed = list(listing_of(server).pages(pages[2].cursor))  # after page 3: pages 4 and 5 only
        assert [nct for page in resumed for nct in page.nct_ids] == FIXTURE_IDS[15:]


def test_an_expired_page_token_lists_again_from_the_start() -> None:
    with ReplayServer(CtgovSite.from_dir(max_page_size=5)) as server:
        first = next(iter(listing_of(server).pages()))
        assert first.cursor is not None
        stale = dict(first.cursor, page_token="bm9uc2Vuc2U")  # a token the server no longer knows
        again = list(listing_of(server).pages(stale))
        assert [nct for page in again for nct in page.nct_ids] == FIXTURE_IDS


def test_one_study_alone_removed_merged_or_live() -> None:
    site = CtgovSite.from_dir()
    with ReplayServer(site) as server:
        site.remove("NCT03418623")
        site.merge("NCT06171568", into="NCT03475563")
        listing = listing_of(server)
        assert listing.presence("NCT03418623").verdict == "removed"
        merged = listing.presence("NCT06171568")
        assert merged.verdict == "merged" and merged.record is not None
        assert merged.record.study.nct_id == "NCT03475563" and "NCT06171568" in merged.record.study.nct_aliases
        live = listing.presence("NCT04207047")
        assert live.verdict == "live" and live.record is not None and live.record.study.nct_id == "NCT04207047"
        server.add_fault("status", r"^/api/v2/studies/NCT02513394$", times=-1, status=503)
        with pytest.raises(HTTPStatusError):  # no verdict: neither removed nor live
            listing.presence("NCT02513394")
