"""``harvest search``: full-text search with the registry's filters, ranked, with no silent cap.

The file is opened read-only (user text never writes). What the words mean is ``query.fts_query``; the filters
and their counts ``query.search_filters``; the ranking ``query.search``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import click

from harvest.cli.app import EXIT_CODES, ROW_COUNT, Context, handle_errors
from harvest.cli.output import print_rows, row_format
from harvest.core.vocab import OverallStatus, Phase, Sex, StudyType
from harvest.query import search as search_mod
from harvest.query import synonyms as synonyms_mod
from harvest.query.search_filters import AGE_GROUPS, SPONSOR_CLASSES, SearchFilters
from harvest.sources.base import registry_name


class _Word(click.Choice):
    """A CT.gov enum word, given in any case; errors list the words as the file stores them (upper case)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return super().convert(str(value).upper(), param, ctx)


def _choice(words: type[StrEnum] | tuple[str, ...]) -> click.Choice:
    return _Word([str(word) for word in words])


def _repeatable(flag: str, name: str, words: type[StrEnum] | tuple[str, ...] | None, help_text: str) -> Any:
    kind = _choice(words) if words is not None else str
    return click.option(flag, name, multiple=True, metavar=flag.strip("-").upper(), type=kind, help=help_text)


def _date(flag: str, help_text: str) -> Any:
    return click.option(flag, default="", metavar="DATE", help=help_text)


_FILTERS = [
    _repeatable("--status", "statuses", OverallStatus, "Only this overall status, e.g. RECRUITING (repeatable)."),
    _repeatable("--phase", "phases", Phase, "Only this phase, e.g. PHASE2 (repeatable)."),
    _repeatable("--type", "study_types", StudyType, "Only this type: INTERVENTIONAL, OBSERVATIONAL, EXPANDED_ACCESS."),
    _repeatable("--country", "countries", None, "Only trials with a site in this country, e.g. France (repeatable)."),
    click.option(
        "--results", type=click.Choice(["yes", "no"]), default=None, help="Only trials with (yes) or without results."
    ),
    _repeatable("--sponsor-class", "sponsor_classes", SPONSOR_CLASSES, "Only this lead sponsor class, e.g. INDUSTRY."),
    _repeatable("--age-group", "age_groups", AGE_GROUPS, "Only trials open to CHILD, ADULT or OLDER_ADULT."),
    _repeatable("--sex", "sexes", Sex, "Only trials whose sexes eligible are ALL, FEMALE or MALE (as registered)."),
    _date("--start-from", "Started on or after (YYYY, YYYY-MM or YYYY-MM-DD)."),
    _date("--start-to", "Started on or before."),
    _date("--completion-from", "Completed (or to complete) on or after."),
    _date("--completion-to", "Completed (or to complete) on or before."),
]


def _with_filters(command: Any) -> Any:
    for option in reversed(_FILTERS):
        command = option(command)
    return command


@click.command(epilog=EXIT_CODES)
@click.argument("words", nargs=-1, required=True)
@_with_filters
@click.option("--limit", default=20, show_default=True, type=ROW_COUNT, help="At most this many trials.")
@click.option("--all", "everything", is_flag=True, help="Every matching trial (no --limit).")
@click.option("--counts", is_flag=True, help="Instead of the trials: how many match, per value of each filter.")
@click.option(
    "--fts", "raw", is_flag=True, help='WORDS is FTS5 syntax: "a phrase", OR, NOT, NEAR(), prefix*, brief_title: covid.'
)
@row_format
@click.pass_obj
@handle_errors
def search(
    obj: Context,
    words: tuple[str, ...],
    limit: int,
    everything: bool,
    counts: bool,
    raw: bool,
    fmt: str,
    results: str | None,
    start_from: str,
    start_to: str,
    completion_from: str,
    completion_to: str,
    **lists: tuple[str, ...],
) -> None:
    """Full-text search: titles, acronym, summaries, conditions, interventions, keywords, sponsor, NCT
    number and other IDs, and the MeSH terms the registry derived (and the broader terms above them).

    Best matches first (bm25: a word in the title counts more than one in the
    description, the registry's MeSH terms least). Every word must match, in any
    of those fields; words are stemmed (trial finds trials) and widened by their
    synonyms (tumour finds tumor, covid finds 2019-nCoV; the `synonyms` column
    says which one found a trial; add your own in a file named by
    HARVEST_SYNONYMS). "Double quotes" make a phrase, a trailing * a prefix; OR,
    NOT and other punctuation are plain words unless --fts. NCT numbers alone
    find those trials (a former number finds the trial it became).

    At most --limit trials are printed; stderr says how many matched in all,
    and every JSON or CSV row carries it (`total`). A trial only mirror sites
    carry is marked in `note`.

    \b
    harvest search septic shock
    harvest search covid --status RECRUITING --phase PHASE2 --phase PHASE3 --country France
    harvest search neoplasms --counts
    harvest search NCT04268537
    harvest search --fts '"septic shock" OR sepsis NOT pediatric' --json --all
    """
    text = " ".join(words)
    filters = SearchFilters(
        results=(results,) if results else (),
        start_from=start_from,
        start_to=start_to,
        completion_from=completion_from,
        completion_to=completion_to,
        **lists,
    )
    synonyms = synonyms_mod.NONE if raw else synonyms_mod.load(obj.settings.env)
    store = obj.readonly_store()
    try:
        conn = store.db.conn
        if counts:
            total, by_facet = search_mod.counts(conn, text, raw=raw, filters=filters, synonyms=synonyms)
            rows = [("total", None, total)] + [(f, v, n) for f, values in by_facet.items() for v, n in values]
            print_rows(("filter", "value", "trials"), rows, fmt)
            return
        found = search_mod.search(
            conn,
            text,
            raw=raw,
            filters=filters,
            limit=None if everything else limit,
            synonyms=synonyms,
            registry=registry_name(),
        )
    finally:
        store.close()
    print_rows(found.columns if fmt != "table" else search_mod.RESULT_COLUMNS[:-1], _shown(found.rows, fmt), fmt)
    if not found.rows and fmt == "table":
        click.echo(f"no trials match {text!r}", err=True)
    elif len(found.rows) < found.total and not obj.quiet:
        click.echo(
            f"{len(found.rows):,} of {found.total:,} matching trials shown (--limit N for more, --all for every one)",
            err=True,
        )


def _shown(rows: list[tuple[Any, ...]], fmt: str) -> list[tuple[Any, ...]]:
    """A table leaves out the total (stderr says it); JSON and CSV carry it on every row."""
    return [row[:-1] for row in rows] if fmt == "table" else rows
