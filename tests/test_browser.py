"""The site in a real browser: Debian's headless Chromium, driven over the DevTools protocol on a pipe.

`harvest serve` runs as a subprocess over a harvest of the fixtures; the browser loads its pages, runs their
scripts and lays them out at 1280 x 800, and the tests read the rendered page and every request it made.
`.ci/run` installs chromium; where none can be found the tests are skipped, saying so.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harvest.testing import CtgovSite, ReplayServer, base_url_env
from harvest.testing.browser import HEIGHT, Browser, find
from tests.conftest import TEST_ENV, Cli, load_study
from tests.query_helpers import cli, harvested_db
from tests.serve_helpers import rows, serving

CHROMIUM = find()
TILES = re.compile(r"https://[abc]\.tile\.openstreetmap\.org/")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium; .ci/run installs it as root)"
    ),
]


@pytest.fixture(scope="module")
def harvest_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return harvested_db(tmp_path_factory)


@pytest.fixture(scope="module")
def site(harvest_db: Path) -> Iterator[str]:
    with serving(harvest_db) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM
    with Browser(CHROMIUM) as opened:
        yield opened


def js(expression: str) -> str:
    return f"(() => {{ {expression} }})()"


def texts(browser: Browser, selector: str) -> list[str]:
    return browser.evaluate(
        js(f"return [...document.querySelectorAll({json.dumps(selector)})].map(e => e.textContent.trim());")
    )


def test_home_page_search_box_first_then_the_tables_in_order(browser: Browser, site: str) -> None:
    browser.open(site + "/")
    first_field = browser.evaluate(js("return document.querySelector('section.content input').name;"))
    assert first_field == "q"
    names = texts(browser, ".harvest-tables a")
    wanted = ["study_overview", "search_studies", "studies", "conditions", "interventions", "locations",
              "results_overview", "changes"]  # fmt: skip
    assert [n for n in names if n in wanted] == wanted
    assert not {"harvest_state", "pages", "quarantine", "runs"} & set(names)


def test_a_search_from_the_home_page_box_finds_the_best_match_first(
    browser: Browser, site: str, harvest_db: Path
) -> None:
    expected = json.loads(cli(harvest_db, "search", "septic shock", "--limit", "1", "--json").stdout)["nct_id"]
    browser.open(site + "/")
    browser.submit(js("document.querySelector('#harvest-q').value = 'septic shock';"
                      " document.querySelector('form.harvest-search').submit();"))  # fmt: skip
    hits = texts(browser, "td.col-nct_id")
    assert hits and hits[0] == expected
    count = len(cli(harvest_db, "search", "septic shock", "--limit", "1000", "--json").stdout.splitlines())
    assert texts(browser, ".search-count") == [f"{count} trial{'' if count == 1 else 's'}, best match first."]
    assert browser.evaluate(js("return document.querySelector('#harvest-q').value;")) == "septic shock"
    browser.submit(js("document.querySelector('td.col-nct_id a').click();"))
    assert texts(browser, ".trial-header a.nct") == [expected]


@pytest.mark.parametrize("nct_id", ["NCT02210780", "NCT02513394"])
def test_the_trial_page_of_a_real_record(browser: Browser, site: str, harvest_db: Path, nct_id: str) -> None:
    browser.open(f"{site}/harvest/studies/{nct_id}")
    ((title, status),) = rows(harvest_db, "SELECT title, overall_status FROM studies WHERE nct_id = ?", nct_id)
    assert texts(browser, ".trial-header h1") == [title]
    assert texts(browser, ".badge")[0] == status.replace("_", " ").lower()
    conditions = [c for (c,) in rows(harvest_db, "SELECT name FROM conditions WHERE nct_id = ?", nct_id)]
    assert texts(browser, "li.condition") == conditions
    ((sites,),) = rows(harvest_db, "SELECT count(*) FROM locations WHERE nct_id = ?", nct_id)
    assert texts(browser, ".site-count") == [f"{sites:,}"]
    primary = rows(
        harvest_db, "SELECT measure FROM design_outcomes WHERE nct_id = ? AND outcome_type = 'primary'", nct_id
    )
    shown = texts(browser, "li.primary-outcome")
    assert len(shown) == len(primary) and all(s.startswith(m) for s, (m,) in zip(shown, primary, strict=True))
    # the folded site list is closed: the page is not 437 rows long
    assert browser.evaluate(js("return document.querySelector('#sites details').open;")) is False


def test_a_trial_with_results_shows_them_in_brief(browser: Browser, site: str, harvest_db: Path) -> None:
    browser.open(f"{site}/harvest/studies/NCT02210780")
    ((outcome,),) = rows(harvest_db, "SELECT primary_outcome FROM results_overview WHERE nct_id = 'NCT02210780'")
    (summary,) = texts(browser, "dd.results-primary")
    assert summary.startswith(outcome)
    assert "Results in brief" in texts(browser, "#results h2")


def test_the_first_row_of_studies_is_on_the_first_screen(browser: Browser, site: str) -> None:
    browser.open(site + "/harvest/studies")
    top = browser.evaluate(
        js("return document.querySelector('table.rows-and-columns tbody tr').getBoundingClientRect().top;")
    )
    assert 0 < top < HEIGHT - 40


@pytest.mark.parametrize(
    "path",
    ["/", "/harvest", "/harvest/studies", "/harvest/search_studies?q=cancer", "/harvest/studies/NCT02513394",
     "/harvest/locations"],
)  # fmt: skip
def test_no_request_leaves_127_0_0_1(browser: Browser, site: str, path: str) -> None:
    browser.open(site + path)
    assert browser.requested and browser.requested[0] == site + path
    elsewhere = [
        url
        for url in browser.requested
        if not url.startswith((site + "/", "data:")) and not TILES.match(url)  # map tiles are the one exception
    ]
    assert elsewhere == []


def test_the_locations_map_draws_its_markers_with_the_sites_own_scripts(browser: Browser, site: str) -> None:
    browser.open(site + "/harvest/locations?nct_id=NCT02513394")
    scripts = [url for url in browser.requested if url.endswith(".js")]
    assert any("datasette-cluster-map" in url for url in scripts) and any("leaflet" in url for url in scripts)
    assert all(url.startswith(site + "/") for url in scripts)
    deadline = time.monotonic() + 20
    while (
        not browser.evaluate("document.querySelectorAll('.leaflet-marker-icon').length") and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert browser.evaluate("document.querySelectorAll('.leaflet-marker-icon').length") > 0


def test_a_delete_through_the_sql_box_is_refused_and_changes_nothing(
    browser: Browser, site: str, harvest_db: Path
) -> None:
    before = rows(harvest_db, "SELECT count(*), group_concat(nct_id) FROM studies")
    browser.open(site + "/harvest")
    browser.submit(js("const box = document.querySelector('.CodeMirror');"
                      " if (box) { box.CodeMirror.setValue('DELETE FROM studies'); box.CodeMirror.save(); }"
                      " else { document.querySelector('textarea[name=sql]').value = 'DELETE FROM studies'; }"
                      " document.querySelector('form.sql').submit();"))  # fmt: skip
    page = browser.evaluate("document.body.innerText")
    assert "Statement must be a SELECT" in page
    assert rows(harvest_db, "SELECT count(*), group_concat(nct_id) FROM studies") == before


def test_the_trial_page_maps_its_sites(browser: Browser, site: str, harvest_db: Path) -> None:
    browser.open(f"{site}/harvest/studies/NCT02513394")
    ((located,),) = rows(
        harvest_db, "SELECT count(*) FROM locations WHERE nct_id = 'NCT02513394' AND latitude IS NOT NULL"
    )
    deadline = time.monotonic() + 20
    while browser.evaluate("document.getElementById('trial-map').dataset.drawn") is None:
        assert time.monotonic() < deadline, "the map was not drawn"
        time.sleep(0.2)
    assert browser.evaluate("document.querySelectorAll('#trial-map path.leaflet-interactive').length") == located
    scripts = [url for url in browser.requested if url.endswith(".js")]
    assert any("leaflet" in url for url in scripts) and all(url.startswith(site + "/") for url in scripts)


# -- text from the record is text, on the map too (issue 24, item 3) -------------------------------------------
# The trial page's map gave a facility name to Leaflet's tooltip, which renders HTML: a facility named as below
# ran its script when the reader hovered over the site. The record is a real one (NCT02210780) with its first
# site's facility renamed so, and its other sites left out.
HOSTILE = "<img src=x onerror=\"document.body.dataset.owned='yes'\">Site"


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    study = load_study("NCT02210780")
    module = study["protocolSection"]["contactsLocationsModule"]
    module["locations"] = [{**module["locations"][0], "facility": HOSTILE}]
    registry = CtgovSite.from_dir()
    registry.put(study)
    db = tmp_path_factory.mktemp("hostile") / "hostile.db"
    with ReplayServer(registry) as server:
        fetched = Cli({**TEST_ENV, **base_url_env({"ctgov": server}), "HARVEST_DB": str(db)})("fetch", "NCT02210780")
    assert fetched.exit_code == 0, fetched.output
    with serving(db) as base:
        yield base


def _owned(browser: Browser) -> bool:
    """Whether the facility's onerror ran (the image it names fails to load at once: a 404 from this site)."""
    time.sleep(1)
    return browser.evaluate("document.body.dataset.owned") is not None


def test_a_facility_name_on_the_trial_map_is_text_never_html(browser: Browser, hostile_site: str) -> None:
    browser.open(f"{hostile_site}/hostile/studies/NCT02210780")
    deadline = time.monotonic() + 20
    while browser.evaluate("document.getElementById('trial-map').dataset.drawn") is None:
        assert time.monotonic() < deadline, "the map was not drawn"
        time.sleep(0.2)
    browser.evaluate(js("document.querySelector('#trial-map path.leaflet-interactive')"
                        ".dispatchEvent(new MouseEvent('mouseover', {bubbles: true})); return 1;"))  # fmt: skip
    assert texts(browser, ".leaflet-tooltip") == [HOSTILE]
    assert browser.evaluate("document.querySelectorAll('#trial-map img:not(.leaflet-tile)').length") == 0
    assert not _owned(browser)


def test_a_facility_name_in_the_locations_map_popup_is_text(browser: Browser, hostile_site: str) -> None:
    browser.open(f"{hostile_site}/hostile/locations?nct_id=NCT02210780")
    deadline = time.monotonic() + 20
    while not browser.evaluate("document.querySelectorAll('.leaflet-marker-icon').length"):
        assert time.monotonic() < deadline, "no marker drawn"
        time.sleep(0.2)
    browser.evaluate(js("document.querySelector('.leaflet-marker-icon').click(); return 1;"))
    popup = browser.evaluate("document.querySelector('.leaflet-popup-content')?.textContent || ''")
    assert HOSTILE in popup
    assert browser.evaluate("document.querySelectorAll('.leaflet-popup-content img').length") == 0
    assert not _owned(browser)


def shown_counts(browser: Browser) -> dict[str, dict[str, int]]:
    """The filters beside the hits, as the page shows them: facet -> value -> count."""
    return browser.evaluate(
        js(
            "const out = {}; for (const a of document.querySelectorAll('.search-filters a[data-facet]')) {"
            " (out[a.dataset.facet] ||= {})[a.dataset.value] ="
            " Number(a.querySelector('.count').textContent.replace(/,/g, '')); } return out;"
        )
    )


def cli_counts(db: Path, *args: str) -> dict[str, dict[str, int]]:
    result = cli(db, "search", "--counts", "--json", *args)
    assert result.exit_code == 0, result.stderr
    counted: dict[str, dict[str, int]] = {}
    for line in result.stdout.splitlines():
        row = json.loads(line)
        if row["filter"] != "total":
            counted.setdefault(row["filter"], {})[row["value"]] = row["trials"]
    return counted


def cli_hits(db: Path, *args: str) -> list[str]:
    result = cli(db, "search", "--all", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line)["nct_id"] for line in result.stdout.splitlines()]


FILTERS = [("status", "--status"), ("phase", "--phase"), ("type", "--type"), ("country", "--country")]


def test_the_search_page_filters_by_status_phase_type_and_country_with_counts(
    browser: Browser, site: str, harvest_db: Path
) -> None:
    """Click a value of each filter in turn, as a person would: the hits are `harvest search` with those filters,
    each value's count is what `harvest search --counts` says, and the URL keeps it all (a bookmark)."""
    browser.open(site + "/harvest/search_studies?q=study")
    chosen: list[str] = []
    narrowed = 0
    for facet, option in FILTERS:
        shown = shown_counts(browser)
        expected = cli_counts(harvest_db, "study", *chosen)
        assert {name: shown.get(name) for name, _ in FILTERS} == {name: expected.get(name) for name, _ in FILTERS}
        before = len(texts(browser, "td.col-nct_id"))
        value, count = max(shown[facet].items(), key=lambda item: (item[1] < before, item[1]))
        link = f".search-filters a[data-facet='{facet}'][data-value='{value}']"
        browser.submit(js(f"document.querySelector({json.dumps(link)}).click();"))
        chosen += [option, value]
        hits = cli_hits(harvest_db, "study", *chosen)
        assert texts(browser, "td.col-nct_id") == hits and len(hits) == count, (facet, value)
        assert texts(browser, ".search-count") == [f"{count} trial{'' if count == 1 else 's'}, best match first."]
        assert browser.evaluate(js(f"return document.querySelector({json.dumps(link)}).closest('li').className;")) == (
            "selected"
        )
        narrowed += count < before
    assert narrowed >= 2  # the filters did filter
    # the words and every filter are in the URL: opened afresh, it is the same page
    address = browser.evaluate("location.href")
    assert all(f"{facet}=" in address for facet, _ in FILTERS)
    hits = texts(browser, "td.col-nct_id")
    browser.open(address)
    assert texts(browser, "td.col-nct_id") == hits
    assert browser.evaluate(js("return document.querySelector('#harvest-q').value;")) == "study"
    # new words keep the filters (hidden in the words form)
    browser.submit(js("document.querySelector('#harvest-q').value = 'trial';"
                      " document.querySelector('form.harvest-search').submit();"))  # fmt: skip
    assert texts(browser, "td.col-nct_id") == cli_hits(harvest_db, "trial", *chosen)
    # a chosen value clicked again is removed
    status = chosen[1]
    browser.submit(
        js(f"document.querySelector(\".search-filters a[data-facet='status'][data-value='{status}']\").click();")
    )
    assert "status=" not in browser.evaluate("location.href")
    assert texts(browser, "td.col-nct_id") == cli_hits(harvest_db, "trial", *chosen[2:])
