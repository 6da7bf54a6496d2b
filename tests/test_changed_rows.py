"""A new data release that changes one row of a trial writes that row, not the trial's other tables, and the
``studies`` row only where one of its columns changed (issue 28, item 4).

The registry is the replay server over the real records of fixtures/ctgov; between two runs one value of one
record changes (built from the real record: one MeSH ``asFound`` word, or one site's facility name) and the data
release stamp moves. What SQLite writes is counted by triggers the test adds to every table of the file, so the
count is SQLite's own, not harvest's word for it.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

from harvest.core.schema import ROW_TABLES
from harvest.store.tables import CHILD_TABLES
from harvest.testing import CtgovSite
from tests.conftest import Cli, rows, scalar

KEYED = {*CHILD_TABLES, *ROW_TABLES}


def count_writes(db: Path) -> None:
    """Triggers on every table of the file that note each row inserted, updated or deleted in ``write_log``."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("CREATE TABLE write_log (tbl TEXT, op TEXT, nct_id TEXT)")
        tables = [
            name
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not name.startswith(("sqlite_", "studies_fts")) and name != "write_log"
        ]
        for table in tables:
            has_nct = "nct_id" in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            for op, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
                nct = f"{row}.nct_id" if has_nct else "NULL"
                conn.execute(
                    f"CREATE TRIGGER log_{table}_{op.lower()} AFTER {op} ON {table} BEGIN "
                    f"INSERT INTO write_log VALUES ('{table}', '{op}', {nct}); END"
                )
        conn.commit()
    finally:
        conn.close()


def writes(db: Path) -> Counter[tuple[str, str]]:
    return Counter(rows(db, "SELECT tbl, op FROM write_log"))


def new_release(site: CtgovSite, nct: str, change: Any) -> None:
    """The registry's next data release: every study stamped anew, one of them changed by ``change``."""
    site.version_holder = "2026-11-27"
    study = copy.deepcopy(site.studies[nct])
    change(study)
    site.put(study)


def _leaf_with_word(study: dict[str, Any]) -> dict[str, Any]:
    leaves = study["derivedSection"]["conditionBrowseModule"]["browseLeaves"]
    return next(leaf for leaf in leaves if leaf.get("asFound"))


def _trial_with_leaf(site: CtgovSite) -> str:
    for nct, study in sorted(site.studies.items()):
        leaves = study.get("derivedSection", {}).get("conditionBrowseModule", {}).get("browseLeaves") or []
        if any(leaf.get("asFound") for leaf in leaves) and study.get("resultsSection"):
            return nct
    raise AssertionError("no fixture record with results and a MeSH leaf found as a word")


def test_a_changed_mesh_word_rewrites_its_row_and_no_other_table(
    cli: Cli, db_path: Path, ctgov_site: CtgovSite
) -> None:
    assert cli("run").exit_code == 0
    nct = _trial_with_leaf(ctgov_site)
    held = {table: scalar(db_path, f"SELECT count(*) FROM {table} WHERE nct_id = ?", (nct,)) for table in KEYED}
    assert sum(held.values()) > 200  # a trial with results: hundreds of rows that must not be written again
    studies_before = rows(db_path, "SELECT * FROM studies WHERE nct_id = ?", (nct,))
    count_writes(db_path)

    def reword(study: dict[str, Any]) -> None:
        _leaf_with_word(study)["asFound"] = "Reworded Condition"

    new_release(ctgov_site, nct, reword)
    result = cli("run", "--full")
    assert result.exit_code == 0, result.output
    written = writes(db_path)
    assert {table for table, _ in written if table in KEYED} == {"browse_leaves"}
    assert (
        written[("browse_leaves", "UPDATE")] == 1 and sum(written[t] for t in written if t[0] == "browse_leaves") == 1
    )
    # the word is in the trial's search text (studies.mesh_terms): its row changes, once, as an update
    assert written[("studies", "UPDATE")] == 1 and written[("studies", "INSERT")] == 0
    assert written[("studies", "DELETE")] == 0 and written[("conflicts", "DELETE")] == 0
    assert written[("source_records", "UPDATE")] == 1  # the new payload, and no other record
    # (a full listing notes what it listed, in listed_studies: bookkeeping, not the trials' data)
    held_by_trials = ", ".join(f"'{t}'" for t in (*KEYED, "studies", "source_records", "conflicts", "changes"))
    assert rows(db_path, f"SELECT DISTINCT nct_id FROM write_log WHERE tbl IN ({held_by_trials})") == [(nct,)]
    (after,) = rows(db_path, "SELECT * FROM studies WHERE nct_id = ?", (nct,))
    names = [r[1] for r in rows(db_path, "PRAGMA table_xinfo(studies)") if r[6] != 1]  # as SELECT * lists them
    moved = {name for name, old, new in zip(names, studies_before[0], after, strict=True) if old != new}
    assert moved - {"updated_at"} == {"mesh_terms", "content_hash", "merge_hash"}  # (updated_at: to the second)
    # the change history records the field as before: the whole list, old and new
    (field, old, new) = rows(db_path, "SELECT field, old, new FROM changes WHERE nct_id = ?", (nct,))[0]
    assert field == "browse_leaves" and "Reworded Condition" in new and "Reworded Condition" not in old
    assert scalar(db_path, "SELECT count(*) FROM changes") == 1
    assert scalar(db_path, "SELECT count(*) FROM browse_leaves WHERE as_found = 'Reworded Condition'") == 1


def test_a_changed_site_rewrites_that_site_and_only_the_hashes_of_the_studies_row(
    cli: Cli, db_path: Path, ctgov_site: CtgovSite
) -> None:
    assert cli("run").exit_code == 0
    nct = "NCT04267848"  # 1,148 sites
    locations = rows(db_path, "SELECT * FROM locations WHERE nct_id = ? ORDER BY position", (nct,))
    assert len(locations) > 1000
    count_writes(db_path)

    def rename_site(study: dict[str, Any]) -> None:
        study["protocolSection"]["contactsLocationsModule"]["locations"][500]["facility"] = "Renamed Hospital"

    new_release(ctgov_site, nct, rename_site)
    assert cli("run", "--full").exit_code == 0
    written = writes(db_path)
    assert {table for table, _ in written if table in KEYED} == {"locations"}
    assert written[("locations", "UPDATE")] == 1 and written[("studies", "UPDATE")] == 1
    after = rows(db_path, "SELECT * FROM locations WHERE nct_id = ? ORDER BY position", (nct,))
    assert [i for i, (a, b) in enumerate(zip(locations, after, strict=True)) if a != b] == [500]
    assert after[500][2] == "Renamed Hospital"
    (field, _, new) = rows(db_path, "SELECT field, old, new FROM changes WHERE nct_id = ?", (nct,))[0]
    assert field == "locations" and "Renamed Hospital" in json.dumps(new)


def test_a_release_that_changes_nothing_harvest_reads_writes_no_trial_row(
    cli: Cli, db_path: Path, ctgov_site: CtgovSite
) -> None:
    assert cli("run").exit_code == 0
    count_writes(db_path)
    ctgov_site.version_holder = "2026-11-27"  # every payload differs from the stored one in its release stamp
    assert cli("run", "--full").exit_code == 0
    written = writes(db_path)
    assert not {table for table, _ in written if table in KEYED or table in ("studies", "source_records", "changes")}
