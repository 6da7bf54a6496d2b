"""The search page and trial page of `harvest serve` over the demo file (the registry and every mirror): an NCT
number goes straight to its trial, a hit found by a synonym says which, a trial no registry record backs says so,
and the filters chosen live in the page's URL. (The filters clicked in a real browser: tests/test_browser.py.)"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harvest.core.records import MIRROR_ONLY
from tests.query_helpers import cli, demo_db, query
from tests.serve_helpers import serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_db(tmp_path_factory)


@pytest.fixture(scope="module")
def site(demo: Path) -> Iterator[str]:
    with serving(demo) as base:
        yield base


def get(site: str, path: str, **params: str) -> httpx.Response:
    return httpx.get(site + path, params=params, timeout=30, follow_redirects=False)


def text(response: httpx.Response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.text)


def test_an_nct_number_goes_straight_to_the_trial(site: str) -> None:
    for typed in ("NCT04268537", " nct04268537 "):
        response = get(site, "/demo/search_studies", q=typed)
        assert response.status_code == 302
        assert response.headers["location"] == "/demo/studies/NCT04268537"
    # the data behind the page is still the search (a program asking for JSON is not redirected)
    rows = get(site, "/demo/search_studies.json", q="NCT04268537", _shape="objects").json()["rows"]
    assert [row["nct_id"] for row in rows] == ["NCT04268537"]
    missing = text(get(site, "/demo/search_studies", q="NCT09999999"))
    assert "NCT09999999 is not in this file: harvest fetch NCT09999999 gets it." in re.sub(r"<[^>]+>", "", missing)


def test_hits_say_which_synonym_found_them_and_which_trial_only_mirrors_carry(site: str, demo: Path) -> None:
    page = text(get(site, "/demo/search_studies", q="covid"))
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    by_trial = {re.search(r"NCT\d{8}", row).group(0): row for row in rows if re.search(r"NCT\d{8}", row)}
    assert "found by a synonym: covid → 2019-ncov" in by_trial["NCT04261426"]
    assert MIRROR_ONLY in by_trial["NCT04261426"]
    assert MIRROR_ONLY not in by_trial["NCT04268537"] and "found by a synonym" not in by_trial["NCT04299152"]
    cli_rows = [json.loads(line) for line in cli(demo, "search", "covid", "--all", "--json").stdout.splitlines()]
    assert list(by_trial) == [row["nct_id"] for row in cli_rows]
    # a mirror-only trial with no brief title shows its display title, not "(no title)"
    ((title,),) = query(demo, "SELECT title FROM studies WHERE nct_id = 'NCT04261426'")
    assert title and title in by_trial["NCT04261426"]


def test_the_trial_page_of_a_trial_only_mirrors_carry_says_so(site: str, demo: Path) -> None:
    ((sources,),) = query(demo, "SELECT sources FROM studies WHERE nct_id = 'NCT04261426'")
    assert json.loads(sources) == ["inclinicaltrials"]
    mirrored = text(get(site, "/demo/studies/NCT04261426"))
    assert f'<p class="mirror-only" role="note">{MIRROR_ONLY}. This page shows what inclinicaltrials published' in (
        mirrored
    )
    assert 'class="mirror-only"' not in text(get(site, "/demo/studies/NCT04268537"))


def test_the_filters_chosen_are_in_the_url_and_kept_by_the_words_form(site: str, demo: Path) -> None:
    page = text(get(site, "/demo/search_studies", q="study", status="RECRUITING|COMPLETED", phase="NA"))
    form = page[page.index('<form class="harvest-search"') : page.index("</form>")]
    assert '<input type="hidden" name="status" value="RECRUITING|COMPLETED">' in form
    assert '<input type="hidden" name="phase" value="NA">' in form
    selected = re.findall(r'<li class="selected"><a href="[^"]*" data-facet="(\w+)" data-value="([^"]+)"', page)
    assert sorted(selected) == [("phase", "NA"), ("status", "COMPLETED"), ("status", "RECRUITING")]
    # a selected value's link removes it; another value's adds it
    removing = re.search(r'<a href="([^"]+)" data-facet="status" data-value="RECRUITING"', page).group(1)
    assert "status=COMPLETED" in removing and "RECRUITING" not in removing and "phase=NA" in removing
    others = re.findall(r'<li><a href="([^"]+)" data-facet="status" data-value="(\w+)"', page)
    assert others and all(f"status=RECRUITING%7CCOMPLETED%7C{value}&" in url for url, value in others)
    expected = cli(demo, "search", "study", "--all", "--json", "--status", "RECRUITING", "--status", "COMPLETED",
                   "--phase", "NA").stdout.splitlines()  # fmt: skip
    shown = re.findall(r'<td class="col-nct_id"><a href="/demo/studies/(NCT\d{8})"', page)
    assert shown == [json.loads(line)["nct_id"] for line in expected] and shown
    # the date ranges: a form that keeps the words and the other filters
    dates = page[page.index('<form class="date-filters"') :]
    dates = dates[: dates.index("</form>")]
    assert (
        '<input type="hidden" name="q" value="study">' in dates
        and 'name="status" value="RECRUITING|COMPLETED"' in dates
    )


def test_the_counts_beside_the_filters_are_harvest_searchs(site: str, demo: Path) -> None:
    page = text(get(site, "/demo/search_studies", q="trial", country="United States"))
    shown = {
        (facet, value): int(count.replace(",", ""))
        for facet, value, count in re.findall(
            r'data-facet="(\w+)" data-value="([^"]+)"[^>]*>'
            r'<span class="label">[^<]*</span> <span class="count">([\d,]+)',
            page,
        )
    }
    counted = cli(demo, "search", "trial", "--counts", "--json", "--country", "United States")
    expected = {
        (row["filter"], row["value"]): row["trials"]
        for row in map(json.loads, counted.stdout.splitlines())
        if row["filter"] != "total"
    }
    assert shown == expected and len(shown) >= 10
