"""The next /studies page is on its way while the current one is parsed and stored (fetch overlaps work)."""

from __future__ import annotations

import time

from harvest.core.config import Settings
from harvest.net.http import HttpClient
from harvest.sources.base import HarvestPlan
from harvest.sources.ctgov import ClinicalTrialsGov
from harvest.testing import CtgovSite, ReplayServer, base_url_env
from tests.conftest import TEST_ENV


def _page_requests(server: ReplayServer) -> int:
    return sum(path.startswith("/api/v2/studies?") for path in server.requests)


def test_the_next_page_is_requested_before_the_caller_asks_for_it() -> None:
    with ReplayServer(CtgovSite.from_dir(max_page_size=5)) as server:
        settings = Settings(env={**TEST_ENV, **base_url_env({"ctgov": server}), "HARVEST_CTGOV_RPS": "0"})
        client = HttpClient(settings.http())
        source = ClinicalTrialsGov(client, settings)
        pages = source.harvest(HarvestPlan(full=True))
        first = next(pages)  # the caller now holds page 1 and has not asked for page 2
        deadline = time.monotonic() + 10
        while _page_requests(server) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _page_requests(server) == 2, "page 2 was not fetched while page 1 was being handled"
        assert len(first.unparsed) == 5 and first.cursor is not None  # (parsed by the run loop: pipeline.parsing)
        rest = list(pages)
        assert sum(len(batch.unparsed) for batch in rest) + 5 == first.expected_total
        assert rest[-1].cursor is None
        # one request per page, none wasted: the last page asked for no next one
        assert _page_requests(server) == 1 + len(rest)
        client.close()
