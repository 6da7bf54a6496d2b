"""What a column of the file holds, beyond SQLite's declared type: for engines that have more types than SQLite.

SQLite stores flags as 0/1, dates and timestamps as ISO text and lists as JSON text. PostgreSQL and Parquet
have booleans, dates, timestamps and lists, so ``harvest publish`` and ``harvest export --format parquet``
ask here what each column means. The answer is declared, never guessed from a column's values, so a column has
the same type in every copy (a value that does not fit after all, such as a date known only to the month in
a column of days, makes the copy widen that column: see ``publish.columns``).

- ``FLAG``: a yes/no the schema types ``bool`` (``core.schema``, the row models, the calculated values), a
  flag of harvest's views, and the columns AACT declares ``boolean`` (its db/structure.sql) under its names.
- ``DAY``: a date the registry always states to the day (submitted, QC, posted dates; a day harvest works
  out). Dates that may be known to the month or year (``start_date``, ``completion_date``,
  ``status_verified_date``...) are not days: they stay text beside their ``_type``, and ``length()`` of the
  text says their precision.
- ``TIMESTAMP``: every column named ``*_at`` (UTC, to the second, with a Z: ``core.dates.utcnow``).
- ``LIST``: a JSON array of strings (``studies.phases``); ``JSON``: any other JSON value (``provenance``).
"""

from __future__ import annotations

import typing
from enum import StrEnum

from harvest.core.rows import row_model
from harvest.core.schema import ROW_TABLES, Study
from harvest.store.columns import CALCULATED


class Kind(StrEnum):
    INTEGER = "integer"
    REAL = "real"
    TEXT = "text"
    BLOB = "blob"
    FLAG = "flag"
    DAY = "day"
    TIMESTAMP = "timestamp"
    LIST = "list"
    JSON = "json"
    UNKNOWN = "unknown"  # an expression of a view: what its values are says


def _hinted(model: type, wanted: typing.Callable[[typing.Any], bool]) -> set[str]:
    hints = typing.get_type_hints(model)
    return {name for name in getattr(model, "model_fields", {}) if wanted(hints[name])}


def _is(kind: type) -> typing.Callable[[typing.Any], bool]:
    def check(hint: typing.Any) -> bool:
        return hint is kind or kind in typing.get_args(hint)

    return check


def _is_list(hint: typing.Any) -> bool:
    options = (hint, *typing.get_args(hint))
    return any(typing.get_origin(option) is list and row_model(option) is None for option in options)


_CHILD_LISTS = {"conditions", "keywords", "interventions", "collaborators", "locations", "contacts", "identifiers"}

FLAGS: frozenset[str] = frozenset(
    _hinted(Study, _is(bool))
    | {name for model in ROW_TABLES.values() for name in _hinted(model, _is(bool))}
    | {name for name in CALCULATED if name in {"has_us_facility", "has_single_facility"}}
)

# Flags under the names of one table or view: harvest's views, and AACT's tables (db/structure.sql: boolean).
FLAGS_OF: dict[str, frozenset[str]] = {
    "results_compliance": frozenset(
        {"defaulted_date", "has_certificate", "submission_cancelled", "status_discrepancy", "late_certificate",
         "flags_absent", "completion_moved_after_due"}
    ),
    "outcome_changes": frozenset({"after_start"}),
    "enrollment_history": frozenset({"became_actual"}),
    "status_durations": frozenset({"current"}),
    "countries": frozenset({"removed"}),
    "calculated_values": frozenset({"were_results_reported", "has_us_facility", "has_single_facility"}),
    "submissions": frozenset({"unrelease_date_unknown"}),
    "sponsor_organisations": frozenset({"curated"}),
    "designs": frozenset({"subject_masked", "caregiver_masked", "investigator_masked", "outcomes_assessor_masked"}),
    "eligibilities": frozenset({"gender_based", "adult", "child", "older_adult", "healthy_volunteers"}),
}  # fmt: skip

DAYS: frozenset[str] = frozenset(
    {
        # the registry's submission, QC and posting dates, under harvest's names and AACT's
        "first_submitted", "first_submitted_qc", "results_first_submitted", "results_first_submitted_qc",
        "disp_first_submitted", "disp_first_submitted_qc", "last_update_submitted", "first_posted",
        "last_update_posted", "results_first_posted", "disp_first_posted",
        "study_first_submitted_date", "study_first_submitted_qc_date", "study_first_posted_date",
        "results_first_submitted_date", "results_first_submitted_qc_date", "results_first_posted_date",
        "disposition_first_submitted_date", "disposition_first_submitted_qc_date", "disposition_first_posted_date",
        "last_update_submitted_date", "last_update_submitted_qc_date", "last_update_posted_date",
        # days harvest records or works out: a version's date, a removal, compliance deadlines and the as-of day
        "version_date", "removed_on", "document_date", "completion_date_used", "due_date", "results_submitted",
        "qc_submitted", "became_act_on", "as_of",
        # the API's format "date": a results submission's release, reset and unrelease days, an unposted event's
        # day (pending_results); AACT's nlm_download_date (a date there, NULL in the file: harvest has no download)
        "release_date", "reset_date", "unrelease_date", "event_date", "nlm_download_date",
    }
)  # fmt: skip

LISTS_OF: dict[str, frozenset[str]] = {
    "studies": frozenset(
        {name for name in _hinted(Study, _is_list) if name not in _CHILD_LISTS and name not in ROW_TABLES} | {"sources"}
    ),
    **{table: frozenset(_hinted(model, _is_list)) for table, model in ROW_TABLES.items() if _hinted(model, _is_list)},
    "unresolved": frozenset({"candidates"}),
    "watches": frozenset({"nct_ids", "fields"}),
    "sponsor_compliance": frozenset({"sponsor_names"}),
}

JSON_OF: dict[str, frozenset[str]] = {
    "studies": frozenset({"unmapped", "provenance"}),
    "source_records": frozenset({"record"}),
    "study_versions": frozenset({"record"}),
    "conflicts": frozenset({"value"}),
    "changes": frozenset({"old", "new"}),
    "version_changes": frozenset({"old", "new"}),
    "harvest_state": frozenset({"cursor"}),
    "watches": frozenset({"filters", "compliance"}),
    "watch_matches": frozenset({"state"}),
    "watch_entries": frozenset({"old", "new", "detail"}),
}

# Columns AACT has that the file keeps NULL (a view's ``NULL AS x``): typed as AACT types them, not as nothing.
TEXT_OF: dict[str, frozenset[str]] = {"reported_events": frozenset({"default_vocab", "default_assessment"})}

# Tables that record how harvest runs rather than what trials say (the site hides them too): a copy of the file
# elsewhere keeps them apart from the trials' tables.
BOOKKEEPING: frozenset[str] = frozenset(
    {"runs", "harvest_state", "harvest_meta", "listed_studies", "pages", "quarantine", "unresolved", "history_queue"}
)

# Tables with an ``nct_id`` that are not a trial's record but what the user's watches saw of it: written by
# ``harvest watch`` whatever the trial's own rows did, so a copy takes them whole, not trial by trial.
NOT_BY_TRIAL: frozenset[str] = frozenset({"watches", "watch_matches", "watch_entries"})

# The bodies as received (compressed) and their fingerprints: harvest's means to parse again, rewritten without a
# time when only a data release's stamp changed. A copy for readers leaves them out.
PAYLOADS: frozenset[str] = frozenset({"raw", "raw_fingerprint"})

_DECLARED = {"INTEGER": Kind.INTEGER, "INT": Kind.INTEGER, "REAL": Kind.REAL, "TEXT": Kind.TEXT, "BLOB": Kind.BLOB}


def kind_of(relation: str, column: str, declared: str) -> Kind:
    """What ``relation.column`` holds; ``declared`` is its SQLite type ('' for a view's expression)."""
    if column in FLAGS or column in FLAGS_OF.get(relation, ()):
        return Kind.FLAG
    if column in DAYS:
        return Kind.DAY
    if column.endswith("_at"):
        return Kind.TIMESTAMP
    if column in LISTS_OF.get(relation, ()):
        return Kind.LIST
    if column in JSON_OF.get(relation, ()):
        return Kind.JSON
    if column in TEXT_OF.get(relation, ()):
        return Kind.TEXT
    return _DECLARED.get(declared.split("(")[0].strip().upper(), Kind.UNKNOWN)
