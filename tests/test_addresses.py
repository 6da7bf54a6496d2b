"""ClinicalTrials.gov study addresses, as people copy them from the browser, stand for their NCT number in
`harvest fetch` and `harvest show`.

The addresses are the real ones on line 1 of the registry's page renders in the shared real data
(``mirrors/clinicaltrials.gov-*``) and in the classic XML records' ``<url>`` (``legacy_xml/``), plus the
address the issue names.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harvest.core.errors import InputError, InvalidNCTId
from harvest.core.ids import nct_from_registry_address, nct_or_address
from tests.conftest import Cli, rows


@pytest.mark.parametrize(
    ("address", "nct_id"),
    [
        # the site as it is
        ("https://clinicaltrials.gov/study/NCT04268537", "NCT04268537"),
        ("https://www.clinicaltrials.gov/study/NCT05693142", "NCT05693142"),
        ("https://clinicaltrials.gov/study/NCT02210780?tab=results", "NCT02210780"),
        ("https://clinicaltrials.gov/study/NCT04268537?term=2019-nCoV&rank=1#contacts", "NCT04268537"),
        ("clinicaltrials.gov/study/nct04268537", "NCT04268537"),
        # the classic site
        ("https://clinicaltrials.gov/ct2/show/NCT04299152", "NCT04299152"),
        (
            "https://www.clinicaltrials.gov/ct2/show/record/NCT04280224?cond=novel+coronavirus&draw=2&rank=1",
            "NCT04280224",
        ),
        ("https://classic.clinicaltrials.gov/ct2/show/results/NCT02210780", "NCT02210780"),
        ("https://clinicaltrials.gov/ct2/history/NCT02210780", "NCT02210780"),
        # the oldest form, as the classic XML's <url> gives it
        ("https://clinicaltrials.gov/show/NCT02513394", "NCT02513394"),
        ("http://clinicaltrials.gov/show/NCT03133988", "NCT03133988"),
    ],
)
def test_registry_addresses_give_their_nct_number(address: str, nct_id: str) -> None:
    assert nct_from_registry_address(address) == nct_id
    assert nct_or_address(address) == nct_id


@pytest.mark.parametrize(
    "text",
    [
        "NCT04268537",  # a number is not an address (nct_or_address takes it as a number)
        "https://ichgcp.net/clinical-trials-registry/NCT04268537",  # a mirror: routed as a page URL
        "https://clinicaltrials.gov.example.org/study/NCT04268537",
        "https://notclinicaltrials.gov/study/NCT04268537",
        "https://clinicaltrials.gov/search?cond=covid",
        "https://clinicaltrials.gov/api/v2/studies/NCT04268537",  # the API: routed by the registry's base URL
        "https://clinicaltrials.gov/study/NCT0426853",
        "ftp://clinicaltrials.gov/study/NCT04268537",
    ],
)
def test_other_addresses_are_not_registry_study_addresses(text: str) -> None:
    assert nct_from_registry_address(text) is None


def test_a_bad_address_is_a_one_line_input_error() -> None:
    with pytest.raises(InputError, match=r"not a ClinicalTrials\.gov study address"):
        nct_or_address("https://clinicaltrials.gov/search?cond=covid")
    with pytest.raises(InvalidNCTId):
        nct_or_address("NCT123")


def test_fetch_and_show_take_the_address_people_copy(cli: Cli, db_path: Path) -> None:
    fetched = cli(
        "fetch", "https://clinicaltrials.gov/study/NCT04268537", "https://clinicaltrials.gov/ct2/show/NCT04299152"
    )
    assert fetched.exit_code == 0, fetched.output
    assert rows(db_path, "SELECT nct_id FROM studies ORDER BY nct_id") == [("NCT04268537",), ("NCT04299152",)]
    assert rows(db_path, "SELECT command, outcome, fetched FROM runs") == [("fetch", "ok", 2)]
    shown = cli("show", "https://www.clinicaltrials.gov/study/NCT04268537?tab=results#contacts")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["brief_title"] == "Immunoregulatory Therapy for 2019-nCoV"
    classic = cli("show", "https://www.clinicaltrials.gov/ct2/show/record/NCT04299152?cond=covid&draw=2&rank=1")
    assert classic.exit_code == 0 and json.loads(classic.stdout)["nct_id"] == "NCT04299152"


@pytest.mark.parametrize("command", ["show", "fetch"])
def test_an_address_that_is_not_a_study_is_one_line_exit_2(cli: Cli, command: str) -> None:
    result = cli(command, "https://clinicaltrials.gov/search?cond=covid")
    assert result.exit_code == 2
    assert result.stderr.startswith("harvest: ") and len(result.stderr.strip().splitlines()) == 1
