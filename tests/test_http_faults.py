"""The fault suite: every way a site misbehaves, injected by the replay server, and what harvest does about it.

Client-level tests record the waits the client asks for instead of sleeping; run-level tests go through
`harvest run` / `harvest fetch` and assert what was stored and what the run recorded.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
from pathlib import Path

import pytest

from harvest import __version__
from harvest.core.config import HttpSettings
from harvest.core.errors import (
    DeadlineExceeded,
    HTTPStatusError,
    NotFound,
    ResponseTooLarge,
    RobotsDisallowed,
    TransportFailed,
)
from harvest.net.http import HttpClient
from harvest.net.limits import RateLimiter
from harvest.net.responses import parse_retry_after
from harvest.testing import CtgovSite, ReplayServer, base_url_env
from harvest.testing.hostile import HTML_ERROR_PAGE, nested_page, sitemap_index
from tests.conftest import Cli, rows, scalar
from tests.mirror_helpers import mirror_env, served_mirror

N = 24


def client(sleeps: list[float] | None = None, **overrides: float) -> HttpClient:
    settings = HttpSettings(
        user_agent=f"harvest/{__version__} (+https://example.org/contact)",
        timeout=overrides.get("timeout", 2.0),
        deadline=overrides.get("deadline", 30.0),
        max_bytes=int(overrides.get("max_bytes", 10_000_000)),
        attempts=int(overrides.get("attempts", 4)),
        backoff=0.5,
        backoff_cap=4.0,
        retry_after_cap=overrides.get("retry_after_cap", 300.0),
    )
    recorded = sleeps if sleeps is not None else []
    http = HttpClient(settings, sleep=recorded.append)
    return http


def study_url(server: ReplayServer, nct: str = "NCT03418623") -> str:
    return f"{server.url}/api/v2/studies/{nct}"


# -- client level: what is retried, how long it waits -------------------------------------------


def test_429_retry_after_seconds_is_honoured(ctgov_server: ReplayServer) -> None:
    sleeps: list[float] = []
    ctgov_server.add_fault("status", r"/studies/NCT03418623", status=429, headers={"Retry-After": "7"})
    with client(sleeps) as http:
        http.set_policy(ctgov_server.url, rps=0)
        _, body = http.get_json(study_url(ctgov_server))
        assert body["protocolSection"]["identificationModule"]["nctId"] == "NCT03418623"
        assert sleeps == [pytest.approx(7.0, abs=0.05)]
        assert (http.stats.throttled, http.stats.retries) == (1, 1)


def test_429_retry_after_http_date_is_honoured_and_capped(ctgov_server: ReplayServer) -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    ctgov_server.add_fault(
        "status", r"/studies/", status=429, headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)}
    )
    sleeps: list[float] = []
    with client(sleeps) as http:
        http.set_policy(ctgov_server.url, rps=0)
        http.get(study_url(ctgov_server))
    assert 25 <= sleeps[0] <= 30.05
    ctgov_server.add_fault("status", r"/studies/", status=503, headers={"Retry-After": "86400"})
    sleeps.clear()
    with client(sleeps, retry_after_cap=60) as http:
        http.set_policy(ctgov_server.url, rps=0)
        http.get(study_url(ctgov_server))
    assert sleeps == [pytest.approx(60.0, abs=0.05)]


def test_parse_retry_after_forms() -> None:
    now = dt.datetime(2026, 11, 21, 12, 0, 0, tzinfo=dt.UTC)
    assert parse_retry_after("120", now=now) == 120.0
    assert parse_retry_after("Sat, 21 Nov 2026 12:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Sat, 21 Nov 2026 11:00:00 GMT", now=now) == 0.0  # in the past: go now
    assert parse_retry_after("soon", now=now) is None and parse_retry_after(None) is None


def test_503_then_200_backs_off_exponentially(ctgov_server: ReplayServer) -> None:
    ctgov_server.add_fault("status", r"/studies/NCT03418623", status=503, times=3)
    sleeps: list[float] = []
    with client(sleeps) as http:
        http.set_policy(ctgov_server.url, rps=0)
        assert http.get(study_url(ctgov_server)).status == 200
        assert http.stats.server_errors == 3
    assert len(sleeps) == 3
    # 0.5 * 2**n plus up to 0.5 jitter: each wait at least the exponential floor
    assert [s >= floor - 0.05 for s, floor in zip(sleeps, (0.5, 1.0, 2.0), strict=True)] == [True, True, True]


def test_retries_run_out_with_a_one_line_error(ctgov_server: ReplayServer) -> None:
    ctgov_server.add_fault("status", r"/studies/", status=502, times=-1)
    with client() as http, pytest.raises(HTTPStatusError, match="HTTP 502 after 4 attempts"):
        http.set_policy(ctgov_server.url, rps=0)
        http.get(study_url(ctgov_server))
    assert len([r for r in ctgov_server.requests if "/studies/" in r]) == 4


def test_404_is_not_retried(ctgov_server: ReplayServer) -> None:
    with client() as http, pytest.raises(NotFound, match="Study not found"):
        http.set_policy(ctgov_server.url, rps=0)
        http.get(study_url(ctgov_server, "NCT09999999"))
    assert [r for r in ctgov_server.requests if "/studies/" in r] == ["/api/v2/studies/NCT09999999"]


@pytest.mark.parametrize("kind", ["reset", "truncate", "garbage", "bad-encoding"])
def test_transient_transport_faults_are_retried(ctgov_server: ReplayServer, kind: str) -> None:
    ctgov_server.add_fault(kind, r"/studies/NCT03418623", times=2)
    with client() as http:
        http.set_policy(ctgov_server.url, rps=0)
        _, body = http.get_json(study_url(ctgov_server))
        assert body["protocolSection"]["identificationModule"]["nctId"] == "NCT03418623"
        assert http.stats.retries == 2


def test_read_timeout_is_retried_then_reported(ctgov_server: ReplayServer) -> None:
    ctgov_server.add_fault("delay", r"/studies/NCT03418623", seconds=0.6, times=1)
    with client(timeout=0.3) as http:
        http.set_policy(ctgov_server.url, rps=0)
        assert http.get(study_url(ctgov_server)).status == 200
        assert http.stats.retries == 1
    ctgov_server.add_fault("delay", r"/studies/NCT03418623", seconds=0.6, times=-1)
    with client(timeout=0.3, attempts=2) as http, pytest.raises(TransportFailed, match=r"ReadTimeout.*2 attempts"):
        http.set_policy(ctgov_server.url, rps=0)
        http.get(study_url(ctgov_server))


@pytest.mark.parametrize("declare_length", [True, False])
def test_oversize_body_is_refused_not_retried(ctgov_server: ReplayServer, declare_length: bool) -> None:
    ctgov_server.add_fault("oversize", r"/studies/", size=2_000_000, declare_length=declare_length)
    with client(max_bytes=1_000_000) as http, pytest.raises(ResponseTooLarge, match="1,000,000-byte cap"):
        http.set_policy(ctgov_server.url, rps=0)
        http.get(study_url(ctgov_server))
    assert len([r for r in ctgov_server.requests if "/studies/" in r]) == 1


def test_robots_forbidden_url_is_never_requested(ctgov_site: CtgovSite) -> None:
    ctgov_site.robots = "User-agent: *\nDisallow: /api/v2/studies/NCT03418623\n"
    with ReplayServer(ctgov_site) as server, client() as http:
        http.set_policy(server.url, rps=0)
        with pytest.raises(RobotsDisallowed):
            http.get(study_url(server))
        assert http.get(study_url(server, "NCT04207047")).status == 200
        assert http.stats.robots_skipped == 1
        assert "/api/v2/studies/NCT03418623" not in server.requests
        assert server.requests.count("/robots.txt") == 1  # fetched once per host per client


@pytest.mark.parametrize(("status", "headers"), [(503, {}), (429, {"Retry-After": "0"})])
def test_an_unreadable_robots_txt_keeps_the_host_uncrawled_and_says_why(
    ctgov_server: ReplayServer, status: int, headers: dict[str, str]
) -> None:
    """RFC 9309: robots.txt unreachable means disallowed. The error names the cause, not a rule that forbids."""
    ctgov_server.add_fault("status", r"^/robots\.txt", status=status, headers=headers, times=-1)
    with client(attempts=2) as http:
        http.set_policy(ctgov_server.url, rps=0)
        with pytest.raises(TransportFailed, match=rf"robots\.txt of .* unreachable \(HTTP {status}.*nothing requested"):
            http.get(study_url(ctgov_server))
        assert http.stats.robots_skipped == 0
    assert not [r for r in ctgov_server.requests if "/studies/" in r]


def test_user_agent_names_tool_version_and_contact(ctgov_server: ReplayServer) -> None:
    with client() as http:
        http.set_policy(ctgov_server.url, rps=0)
        http.get(study_url(ctgov_server))
    assert ctgov_server.user_agents == {f"harvest/{__version__} (+https://example.org/contact)"}


def test_rate_limiter_spaces_requests() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    limiter = RateLimiter(2.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        limiter.wait()
    assert slept == [0.5, 0.5, 0.5]
    limiter.pause(10)  # a 429 holds the whole host back
    limiter.wait()
    assert slept[-1] == pytest.approx(10.0)


def test_concurrency_per_host_is_bounded(ctgov_server: ReplayServer) -> None:
    ctgov_server.add_fault("delay", r"/studies/", seconds=0.2, times=-1)
    with client() as http:
        http.set_policy(ctgov_server.url, rps=0, concurrency=2)
        http.get(f"{ctgov_server.url}/robots.txt")
        threads = [threading.Thread(target=http.get, args=(study_url(ctgov_server),)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert ctgov_server.max_in_flight == 2


# -- run level: what was stored, what the run recorded ------------------------------------------


def _last_run(db: Path) -> dict[str, object]:
    names = ["outcome", "fetched", "new", "failed", "retries", "throttled", "skipped_robots", "bytes", "error"]
    values = rows(db, f"SELECT {', '.join(names)} FROM runs ORDER BY id DESC LIMIT 1")[0]
    return dict(zip(names, values, strict=True))


@pytest.mark.parametrize(
    ("kind", "options", "throttled"),
    [
        ("status", {"status": 429, "headers": {"Retry-After": "0"}}, 1),
        ("status", {"status": 503}, 0),
        ("reset", {}, 0),
        ("truncate", {}, 0),
        ("garbage", {}, 0),
        ("bad-encoding", {}, 0),
        ("delay", {"seconds": 2.5}, 0),
    ],
)
def test_run_survives_a_fault_on_the_list_page(
    cli: Cli, db_path: Path, ctgov_server: ReplayServer, kind: str, options: dict, throttled: int
) -> None:
    ctgov_server.add_fault(kind, r"/api/v2/studies\?", **options)
    result = cli("run")
    assert result.exit_code == 0, result.output
    assert scalar(db_path, "SELECT count(*) FROM studies") == N
    run = _last_run(db_path)
    assert (run["outcome"], run["new"], run["failed"], run["retries"], run["throttled"]) == ("ok", N, 0, 1, throttled)
    assert f"1 retries ({throttled} rate-limited)" in result.stderr


def test_run_that_cannot_reach_the_source_fails_loudly_and_keeps_the_watermark(
    cli: Cli, db_path: Path, ctgov_server: ReplayServer
) -> None:
    assert cli("run").exit_code == 0
    watermark = scalar(db_path, "SELECT watermark FROM harvest_state")
    before = rows(db_path, "SELECT * FROM studies ORDER BY nct_id")
    ctgov_server.add_fault("status", r"/api/v2/studies\?", status=503, times=-1)
    result = cli("run", "--since", "2020-01-01")
    assert result.exit_code == 3
    assert "FAILED" in result.stderr and "HTTP 503 after 4 attempts" in result.stderr
    assert _last_run(db_path)["outcome"] == "failed"
    assert "HTTP 503" in _last_run(db_path)["error"]
    assert scalar(db_path, "SELECT watermark FROM harvest_state") == watermark
    assert rows(db_path, "SELECT * FROM studies ORDER BY nct_id") == before


def test_robots_forbidden_fetch_is_skipped_and_reported(cli: Cli, db_path: Path, ctgov_site: CtgovSite) -> None:
    ctgov_site.robots = "User-agent: *\nDisallow: /api/v2/studies/NCT03418623\n"
    with ReplayServer(ctgov_site) as server:
        result = Cli({**cli.env, "HARVEST_CTGOV_URL": server.url + "/api/v2"})("fetch", "NCT03418623", "NCT04207047")
    assert result.exit_code == 1
    assert "robots.txt forbids" in result.stderr
    assert "/api/v2/studies/NCT03418623" not in server.requests
    assert [r[0] for r in rows(db_path, "SELECT nct_id FROM studies")] == ["NCT04207047"]


def test_oversize_list_page_fails_the_run_and_stores_nothing(
    cli: Cli, db_path: Path, ctgov_server: ReplayServer
) -> None:
    ctgov_server.add_fault("oversize", r"/api/v2/studies\?", size=3_000_000, declare_length=False)
    result = Cli({**cli.env, "HARVEST_MAX_BYTES": "1000000"})("run")
    assert result.exit_code == 3
    assert "exceeds the 1,000,000-byte cap" in result.stderr
    assert scalar(db_path, "SELECT count(*) FROM studies") == 0
    run = _last_run(db_path)
    assert (run["outcome"], run["retries"]) == ("failed", 0)  # a body too large is not retried
    assert "byte cap" in run["error"]


# -- redirects: followed on the host asked, refused to any other -------------------------------------


def test_a_redirect_to_another_host_is_refused_and_stores_nothing(
    cli: Cli, db_path: Path, ctgov_server: ReplayServer
) -> None:
    """127.0.0.1 answers 301 to localhost (the same machine, another host by name): not followed."""
    with ReplayServer(CtgovSite.from_dir()) as elsewhere:
        port = elsewhere.url.rsplit(":", 1)[1]
        target = f"http://localhost:{port}/api/v2/studies/NCT03418623"
        ctgov_server.add_fault("status", r"/studies/NCT04207047", status=301, headers={"Location": target})
        result = cli("fetch", "NCT04207047")
        assert result.exit_code == 1
        assert f"redirect to another host refused: {target}" in result.stderr
        assert elsewhere.requests == []  # never asked
    assert scalar(db_path, "SELECT count(*) FROM source_records") == 0
    assert scalar(db_path, "SELECT count(*) FROM studies") == 0


def test_a_redirect_on_the_same_host_is_followed(ctgov_server: ReplayServer) -> None:
    target = f"{ctgov_server.url}/api/v2/studies/NCT03418623"
    ctgov_server.add_fault("status", r"/studies/NCT04207047", status=302, headers={"Location": target})
    with client() as http:
        http.set_policy(ctgov_server.url, rps=0)
        response, body = http.get_json(study_url(ctgov_server, "NCT04207047"))
    assert response.url == target
    assert body["protocolSection"]["identificationModule"]["nctId"] == "NCT03418623"
    assert ctgov_server.requests[-2:] == ["/api/v2/studies/NCT04207047", "/api/v2/studies/NCT03418623"]


def test_a_redirect_loop_ends_in_one_line(ctgov_server: ReplayServer) -> None:
    loop = f"{ctgov_server.url}/api/v2/studies/NCT04207047"
    ctgov_server.add_fault("status", r"/studies/NCT04207047", status=301, headers={"Location": loop}, times=-1)
    with client() as http, pytest.raises(HTTPStatusError, match="more than 10 redirects"):
        http.set_policy(ctgov_server.url, rps=0)
        http.get(loop)


# -- a whole response within a deadline (issue 24, item 1) ----------------------------------------------
# A server that sends a byte before each read times out is never cut off by the read timeout: a 6.8 KB page took
# two hours, holding the run's lock. Each dribble below ends after a few seconds, so that without the deadline
# the test fails in seconds rather than hanging.


def test_a_dribbling_response_is_cut_off_at_the_deadline_and_not_retried(ctgov_server: ReplayServer) -> None:
    ctgov_server.add_fault("dribble", r"/studies/NCT03418623", seconds=0.05, size=200, times=-1)  # ~1.5 s
    with client(deadline=0.5, timeout=1.0) as http:
        http.set_policy(ctgov_server.url, rps=0)
        http.get(f"{ctgov_server.url}/robots.txt")
        with pytest.raises(DeadlineExceeded, match=r"not complete after 0\.5 s \(HARVEST_DEADLINE\)"):
            http.get(study_url(ctgov_server))
        assert http.stats.retries == 0  # a server that slow is not a passing fault
    assert ctgov_server.requests.count("/api/v2/studies/NCT03418623") == 1


def test_dribbled_headers_count_against_the_deadline_too(ctgov_server: ReplayServer) -> None:
    """robots.txt's status line and headers a byte at a time: the deadline covers the whole exchange, so the
    host is left uncrawled, saying why, as for any robots.txt that cannot be read."""
    ctgov_server.add_fault("dribble", r"^/robots\.txt", seconds=0.05, size=1, times=-1)
    with client(deadline=0.5, timeout=1.0) as http:
        http.set_policy(ctgov_server.url, rps=0)
        with pytest.raises(TransportFailed, match=r"robots\.txt of .* unreachable \(response not complete after"):
            http.get(study_url(ctgov_server))
    assert not [r for r in ctgov_server.requests if "/studies/" in r]


def test_a_dribbling_sitemap_fails_the_mirror_run_within_the_deadline(tmp_path: Path) -> None:
    db = tmp_path / "veeva.db"
    with served_mirror("veeva") as server:
        server.add_fault("dribble", r"^/sitemap\.xml", seconds=0.05, size=20, times=-1)
        result = Cli({**mirror_env("veeva", server, db), "HARVEST_DEADLINE": "0.5"})("run", "--source", "veeva")
    assert result.exit_code == 3, result.output
    assert "not complete after 0.5 s (HARVEST_DEADLINE)" in result.stderr
    assert _last_run(db)["outcome"] == "failed"


# -- sitemaps: shards stay on the source's host; a bad shard is one failed page (issue 24, items 5 and 6) ----
# The veeva fixtures' index lists two shards: sitemap-studies-1.xml (3 study pages) and sitemap-studies-2.xml (3).
SHARD_1, SHARD_2 = "/sitemap-studies-1.xml", "/sitemap-studies-2.xml"
SHARD_1_PAGES = {  # a page that parses, a 404, a page with no NCT number (left unresolved)
    "/study/stem-cell-educator-therapy-in-diabetes",
    "/study/stem-cell-educator-therapy-treat-the-viral-inflammation-in-covid-19",
    "/study/evaluation-of-immunosuppression-in-septic-shock-biomarkers-and-pharmacological-restoration-immunos",
}


def _pages(db: Path, server: ReplayServer) -> set[str]:
    return {url.removeprefix(server.url) for (url,) in rows(db, "SELECT url FROM pages")}


def _veeva_run(server: ReplayServer, ctgov: ReplayServer, db: Path) -> Cli:
    return Cli({**mirror_env("veeva", server, db), **base_url_env({"ctgov": ctgov})})


def test_a_sitemap_index_pointing_at_another_host_is_not_followed(tmp_path: Path, ctgov_server: ReplayServer) -> None:
    """127.0.0.1's index lists a shard on localhost (the same machine, another host by name): never asked for,
    reported once as a failed page; the shard on the source's own host is harvested."""
    db = tmp_path / "veeva.db"
    with served_mirror("veeva") as server, served_mirror("veeva") as elsewhere:
        foreign = f"http://localhost:{elsewhere.url.rsplit(':', 1)[1]}{SHARD_2}"
        server.site.put("/sitemap.xml", sitemap_index([server.url + SHARD_1, foreign]), "application/xml")
        result = _veeva_run(server, ctgov_server, db)("run", "--source", "veeva")
        assert elsewhere.requests == []
    assert result.exit_code == 1, result.output
    assert result.stderr.count(foreign) == 1 and "on another host" in result.stderr
    assert rows(db, "SELECT url, error_type FROM quarantine WHERE url LIKE '%sitemap%'") == [(foreign, "BadSitemap")]
    assert _pages(db, server) == SHARD_1_PAGES  # the foreign shard's pages are not even known


@pytest.mark.parametrize(
    ("answer", "fault"),
    [("404", None), ("html", None), ("503", {"kind": "status", "status": 503, "times": -1})],
)
def test_a_bad_shard_is_one_failed_page_and_the_run_goes_on(
    tmp_path: Path, ctgov_server: ReplayServer, answer: str, fault: dict | None
) -> None:
    db = tmp_path / "veeva.db"
    with served_mirror("veeva") as server:
        if answer == "404":
            server.site.answer(SHARD_2, 404)
        elif answer == "html":
            server.site.put(SHARD_2, HTML_ERROR_PAGE)
        else:
            server.add_fault(pattern=f"^{SHARD_2}", **fault)
        cli = _veeva_run(server, ctgov_server, db)
        first = cli("run", "--source", "veeva")
        assert first.exit_code == 1, first.output  # new trouble: the shard (and shard 1's 404)
        shard = server.url + SHARD_2
        assert first.stderr.count(shard) == 1, first.stderr
        assert _pages(db, server) == SHARD_1_PAGES
        assert scalar(db, "SELECT count(*) FROM source_records") == 1
        assert rows(db, "SELECT error_type FROM quarantine WHERE url = ?", (shard,)) == [("BadSitemap",)]
        second = cli("run", "--source", "veeva")
        # the same shard failing the same way is not new trouble: said once, then counted as still failing
        assert second.exit_code == 0 and shard not in second.stderr, second.output
        server.clear_faults()
        server.site.routes[SHARD_2] = {"file": "sitemap-studies-2.xml", "content_type": "application/xml"}
        healed = cli("run", "--source", "veeva")
    assert healed.exit_code in (0, 1), healed.output
    assert rows(db, "SELECT count(*) FROM quarantine WHERE url = ?", (shard,)) == [(0,)]  # read again: released
    assert len(_pages(db, server)) == 6


def test_a_run_whose_every_shard_fails_stops_saying_so(tmp_path: Path, ctgov_server: ReplayServer) -> None:
    db = tmp_path / "veeva.db"
    with served_mirror("veeva") as server:
        server.site.answer(SHARD_1, 404)
        server.site.answer(SHARD_2, 404)
        result = _veeva_run(server, ctgov_server, db)("run", "--source", "veeva")
    assert result.exit_code == 3, result.output
    assert "every sitemap shard failed" in result.stderr and SHARD_1 in result.stderr


# -- a page nested deeper than any real one (issue 24, item 2): quarantined unparsed, saying why ---------------


def test_a_deeply_nested_page_is_quarantined_with_its_reason(tmp_path: Path, ctgov_server: ReplayServer) -> None:
    db = tmp_path / "veeva.db"
    page = "/study/stem-cell-educator-therapy-in-diabetes"
    with served_mirror("veeva") as server:
        server.site.put(page, nested_page(20_000))
        result = _veeva_run(server, ctgov_server, db)("run", "--source", "veeva")
    assert result.exit_code == 1, result.output
    ((error_type, error),) = rows(db, "SELECT error_type, error FROM quarantine WHERE url = ?", (server.url + page,))
    assert error_type == "TooDeeplyNested"
    assert error.startswith("page nests elements more than 512 levels deep")
