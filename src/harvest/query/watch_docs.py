"""Datasette descriptions of the watches (``harvest watch``): ``watches``, ``watch_matches``, ``watch_entries``."""

from __future__ import annotations

from harvest.query.record_docs import NCT

_WATCH = "The watch's name (watches.name)"
_WHEN = "A UTC timestamp (YYYY-MM-DDTHH:MM:SSZ)"

TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "watches": (
        "Trials a person follows (harvest watch add): a saved search, a SQL condition over studies, a list of NCT "
        "numbers (a trial must meet each one given), or the compliance watch (results reporting). harvest watch "
        "report says what is new for each since its last report; harvest serve publishes each as an Atom feed "
        "(/-/feeds/watch/NAME.atom).",
        {
            "name": "The watch's name (letters, digits, '.', '_', '-'; part of its feed's address)",
            "search": "The words of its search, as harvest search takes them (NULL: no words)",
            "filters": "Its search filters, JSON: statuses, phases, study_types, countries, results, "
            "sponsor_classes, age_groups, sexes, start_from, start_to, completion_from, completion_to",
            "where_sql": "Its SQL condition over the studies table (run read-only)",
            "nct_ids": "The trials it names (JSON array of NCT numbers; a retired number follows the trial it became)",
            "compliance": "For a compliance watch, JSON: the standard (fdaaa or who) and the sponsor filter; NULL "
            "for other watches",
            "fields": 'Which changes count (JSON array of changes.field names, or ["all"]); NULL for a '
            "compliance watch",
            "created_at": f"When it was added. {_WHEN}",
            "created_change_id": "The last changes.id when it was added (--since looks back before it through the "
            "trials it matches)",
            "reported_at": f"When its last report was made (NULL: none yet). {_WHEN}",
            "change_cursor": "The last changes.id its last report read: the next report starts after it",
            "as_of": "Compliance watch: the day its last report judged (YYYY-MM-DD)",
        },
    ),
    "watch_matches": (
        "Bookkeeping of the watches: the trials each matched at its last report, so the next report can say which "
        "trials newly match and which stopped.",
        {
            "watch": _WATCH,
            "nct_id": NCT,
            "since": "When it was first found matching (since it last began to match)",
            "state": "Compliance watch: the outcome and deadline judged at the last report (JSON); NULL otherwise",
        },
    ),
    "watch_entries": (
        "What the watches' reports said, one row per entry: a trial newly matching (kind matched) or no longer "
        "(unmatched), a change of a watched field (changed: a row of changes), or a compliance transition "
        "(newly_due, newly_overdue, newly_reported, no_longer_overdue). A watch's feed carries these entries.",
        {
            "id": "Row id",
            "watch": _WATCH,
            "entry_key": "The entry's key within its watch (change/<changes.id>, or kind/NCT/n): the same in the "
            "report, here and in the feed",
            "kind": "matched, unmatched, changed, newly_due, newly_overdue, newly_reported or no_longer_overdue",
            "nct_id": NCT,
            "field": "The field changed (changes.field), or outcome for a compliance transition",
            "old": "The value before: JSON text as in changes, or the outcome before (NULL: not on the list)",
            "new": "The value after: JSON text as in changes, or the outcome now (NULL: no longer on the list)",
            "dated": "When it happened: the change's changed_at, when the trial was first seen or changed into "
            "the watch, or the day a compliance report judged",
            "change_id": "The row of changes it reports (NULL for other kinds)",
            "detail": "Compliance: the deadline, the date of the report counted, days late (JSON)",
            "reported_at": f"When the report that gave it was made. {_WHEN}",
        },
    ),
}
