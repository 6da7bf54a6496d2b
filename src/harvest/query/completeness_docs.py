"""Datasette descriptions of what says how complete the file is: trials the registry no longer shows
(``studies.removed_on``), a full listing's bookkeeping (``listed_studies``) and its counts in ``runs``."""

from __future__ import annotations

from harvest.query.record_docs import NCT

STUDY_COLUMNS: dict[str, str] = {
    "removed_on": "Day the registry was first found no longer showing this trial (a full listing did not list it "
    "and ClinicalTrials.gov answered 404 for it: withdrawn from public view); NULL while it is shown. Every row "
    "is kept; a trial shown again is unmarked (both are rows of changes, field removed_on)",
}

RUN_COLUMNS: dict[str, str] = {
    "listed": "NCT numbers a full listing of the registry listed (harvest run --full, harvest reconcile)",
    "registry_total": "The registry's own count of its studies (totalCount) at that listing; NULL for other runs",
    "removed": "Stored trials the listing lacked that the registry answered 404 for: marked removed_on",
    "merged": "Stored trials the listing lacked that the registry redirected to another NCT number: now aliases",
    "restored": "Trials marked removed that the registry shows again: unmarked",
}

TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "listed_studies": (
        "Bookkeeping of a full listing of the registry under way: the NCT numbers it has listed so far, so that "
        "a listing killed half-way resumes, and the stored trials it did not list can be looked for once it is "
        "complete. Emptied when the listing is done with.",
        {"listing": "Which listing: run (harvest run --full) or reconcile (harvest reconcile)", "nct_id": NCT},
    ),
}
