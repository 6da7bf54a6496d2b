"""A value of another type than the registry's spec says costs that value at most, never the study: harvested
through the replay server, the built record (a real one with ``achievements[].numUnits`` given as a number) is
stored in every table like the real one, the value kept as text and noted in ``unmapped``."""

from __future__ import annotations

import json
from pathlib import Path

from harvest.core.schema import ROW_TABLES
from harvest.testing import FIXTURES, CtgovSite, ReplayServer, base_url_env
from tests.conftest import TEST_ENV, Cli, rows, scalar

BUILT = FIXTURES / "ctgov" / "built" / "NCT02210780.numunits-number.built.json"
NCT = "NCT02210780"


def _harvest(tmp_path: Path, name: str, site: CtgovSite) -> tuple[Path, str]:
    db = tmp_path / name
    with ReplayServer(site) as server:
        result = Cli({**TEST_ENV, **base_url_env({"ctgov": server}), "HARVEST_DB": str(db)})("run")
    assert result.exit_code == 0, result.stderr
    return db, result.stderr


def test_a_number_where_the_spec_says_text_is_stored_as_text_and_noted(tmp_path: Path) -> None:
    built = json.loads(BUILT.read_text(encoding="utf-8"))
    given = built["resultsSection"]["participantFlowModule"]["periods"][0]["milestones"][0]["achievements"][0]
    assert given["numUnits"] == 97  # a number, where the spec says a string
    real, _ = _harvest(tmp_path, "real.db", CtgovSite.from_dir())
    site = CtgovSite.from_dir()
    site.put(built)  # served in place of the real record
    db, stderr = _harvest(tmp_path, "built.db", site)
    assert " 0 failed," in stderr

    # every table holds the study as it holds the real record, but for the one value
    for table in ROW_TABLES:
        sql = f"SELECT * FROM {table} WHERE nct_id = ? ORDER BY position"
        if table == "milestones":
            found, expected = rows(db, sql, (NCT,)), rows(real, sql, (NCT,))
            assert found[1:] == expected[1:] and len(found) == len(expected) > 0
        else:
            assert rows(db, sql, (NCT,)) == rows(real, sql, (NCT,)), table
    assert rows(db, "SELECT count_units FROM milestones WHERE nct_id = ? AND position = 0", (NCT,)) == [("97",)]
    note = json.loads(scalar(db, "SELECT unmapped FROM studies WHERE nct_id = ?", (NCT,)))
    assert note == {"milestones.count_units": "97 (input should be a valid string; stored as text '97')"}
    assert scalar(real, "SELECT unmapped FROM studies WHERE nct_id = ?", (NCT,)) is None
    assert scalar(db, "SELECT count(*) FROM quarantine") == 0
