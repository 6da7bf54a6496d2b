"""Two simulated nights on the replay server, with one of each kind of watch: what `tests/test_watches.py` and
`tests/test_feeds.py` check.

Night 1 harvests the fixture registry as it stood before; between the nights it changes four real records, as
the registry would (each changed record is built in code from a real fixture record, `fixtures/ctgov/studies/`
or a recorded list page, and its last update date moved to night 2, so an incremental run with a fixed
``--since`` sees it whatever the day the suite runs on):

- NCT04267848 (a real NCI lung cancer trial, 1,148 sites): status RECRUITING → ACTIVE_NOT_RECRUITING, and a new
  site (a real site of NCT02513394's record, which it lacked);
- NCT05602779 (a real device trial, an ACT): primary completion date 2027-04-15 (estimated) → 2025-10-31
  (actual);
- NCT02513394 (PALLAS, real, results posted 2022): night 1 serves it as it stood before its results were posted
  (built: the real record less its results section, results dates and hasResults), night 2 the real record;
- NCT04523987 (real, from a recorded list page): not registered on night 1, new on night 2.

Compliance is judged on fixed days (``--as-of``): the watch is added as of DAY_1, reported as of DAY_2.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import Result

from harvest.core.dates import utcnow
from harvest.testing import CtgovSite, ReplayServer, base_url_env
from tests.conftest import TEST_ENV, Cli, load_study

STATUS_AND_SITE = "NCT04267848"
COMPLETION = "NCT05602779"
RESULTS = "NCT02513394"
NEW = "NCT04523987"
NIGHT_2 = "2026-12-19"  # the changed records' last update, and night 2's --since
DAY_1, DAY_2 = "2026-12-10", "2026-12-20"  # the compliance watch's days: added, reported
NEW_SITE = "University of South Alabama Mitchell Cancer Institute"

# One watch of each kind: (name, arguments of `harvest watch add`).
WATCHES = [
    ("cancer-recruiting", ("--search", "cancer", "--status", "RECRUITING")),
    ("big", ("--where", "enrollment >= 1000")),
    ("mine", ("--nct", f"{COMPLETION},{RESULTS}")),
    ("compliance", ("--as-of", DAY_1)),
]
# What each reports after night 2: (kind, trial, field).
EXPECTED = {
    "cancer-recruiting": {
        ("matched", NEW, None),
        ("unmatched", STATUS_AND_SITE, None),
        ("changed", STATUS_AND_SITE, "overall_status"),
        ("changed", STATUS_AND_SITE, "locations"),
    },
    "big": {
        ("changed", STATUS_AND_SITE, "overall_status"),
        ("changed", STATUS_AND_SITE, "locations"),
        ("changed", RESULTS, "has_results"),
        ("changed", RESULTS, "results_first_posted"),
    },
    "mine": {
        ("changed", COMPLETION, "primary_completion_date"),
        ("changed", RESULTS, "has_results"),
        ("changed", RESULTS, "results_first_posted"),
    },
    "compliance": {
        ("newly_due", STATUS_AND_SITE, "outcome"),  # its deadline, 2026-12-15, fell between the two days
        ("newly_due", COMPLETION, "outcome"),  # completed early: due 2026-10-31 ...
        ("newly_overdue", COMPLETION, "outcome"),  # ... and 30 days later overdue
        ("newly_reported", RESULTS, "outcome"),
    },
}


def updated_on(study: dict[str, Any], day: str = NIGHT_2) -> dict[str, Any]:
    study["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"] = {"date": day, "type": "ACTUAL"}
    return study


def before_results(study: dict[str, Any]) -> dict[str, Any]:
    """Built from a real record with results: the record as it stood before they were posted."""
    built = copy.deepcopy(study)
    built.pop("resultsSection", None)
    built["hasResults"] = False
    status = built["protocolSection"]["statusModule"]
    for key in ("resultsFirstSubmitDate", "resultsFirstSubmitQcDate", "resultsFirstPostDateStruct"):
        status.pop(key, None)
    return updated_on(built, "2021-06-01")


def night_one(site: CtgovSite) -> dict[str, Any]:
    """The registry on night 1; returns the trial it will register on night 2 (taken out now)."""
    new = copy.deepcopy(site.studies[NEW])
    site.remove(NEW)
    site.put(before_results(load_study(RESULTS)))
    return new


def night_two(site: CtgovSite, new: dict[str, Any]) -> None:
    """The registry on night 2: the four changes, each built from a real record."""
    trial = copy.deepcopy(site.studies[STATUS_AND_SITE])
    trial["protocolSection"]["statusModule"]["overallStatus"] = "ACTIVE_NOT_RECRUITING"
    other_sites = load_study(RESULTS)["protocolSection"]["contactsLocationsModule"]["locations"]
    trial["protocolSection"]["contactsLocationsModule"]["locations"].append(
        next(site for site in other_sites if site["facility"] == NEW_SITE)
    )
    site.put(updated_on(trial))
    early = copy.deepcopy(site.studies[COMPLETION])
    early["protocolSection"]["statusModule"]["primaryCompletionDateStruct"] = {"date": "2025-10-31", "type": "ACTUAL"}
    site.put(updated_on(early))
    site.put(updated_on(load_study(RESULTS)))
    site.put(updated_on(new))


@dataclass
class TwoNights:
    db: Path
    after_night_1: Result  # `harvest watch report` right after the watches were added
    report: Result  # after night 2, --json
    again: Result  # the same again, no night in between
    entries: list[dict[str, Any]]  # the report's JSON lines


def two_nights(db: Path) -> TwoNights:
    site = CtgovSite.from_dir()
    new = night_one(site)
    with ReplayServer(site) as server:
        cli = Cli({**TEST_ENV, **base_url_env({"ctgov": server}), "HARVEST_DB": str(db)})
        assert cli("run").exit_code == 0
        for name, args in WATCHES:
            added = cli("watch", "add", name, *args)
            assert added.exit_code == 0, added.output
        after_night_1 = cli("watch", "report", "--as-of", DAY_1)
        next_second()
        night_two(site, new)
        night = cli("run", "--since", NIGHT_2)
        assert night.exit_code == 0 and "1 new, 3 changed" in night.stderr, night.stderr
        report = cli("watch", "report", "--as-of", DAY_2, "--json")
        again = cli("watch", "report", "--as-of", DAY_2)
    entries = [json.loads(line) for line in report.stdout.splitlines()]
    return TwoNights(db, after_night_1, report, again, entries)


def next_second() -> None:
    """Wait for the clock's next second: the file's timestamps are to the second, and night 2 begins in a later
    second than night 1 ended in, as any real night does (it is what tells a trial new on night 2)."""
    start = utcnow()
    while utcnow() == start:
        time.sleep(0.05)


def kinds(entries: list[dict[str, Any]], watch: str) -> set[tuple[str, str, str | None]]:
    return {(e["kind"], e["nct_id"], e["field"]) for e in entries if e["watch"] == watch}
