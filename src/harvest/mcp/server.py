"""``harvest mcp``: the file served to LLM agents as a Model Context Protocol server over stdio (the official SDK).

The tools only read, and the file is opened read-only for every call (``Store(readonly=True)``: SQLite refuses
any write, ATTACH or PRAGMA that sets something, whatever the SQL says). Arguments are typed, so the SDK
checks them against the tools' JSON schemas (enums for status, phase and type; ranges for limits); the tools
check the rest (``mcp.tools``). A refusal reaches the agent as a tool error with harvest's one-line message.
Logs go to stderr: stdout carries the protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from harvest import __version__
from harvest.core.errors import HarvestError
from harvest.core.vocab import OverallStatus, Phase, Sex, StudyType
from harvest.mcp.tools import MAX_ROWS, SQL_SECONDS, Tools
from harvest.query.compliance import OUTCOMES
from harvest.query.search_filters import AGE_GROUPS, SPONSOR_CLASSES, SearchFilters

T = TypeVar("T")

INSTRUCTIONS = """Clinical-trial records from ClinicalTrials.gov and sites that republish it, harvested into one
SQLite file by harvest: one row per trial in `studies`, keyed by NCT number (NCT + 8 digits), with child tables
(conditions, interventions, locations, design_outcomes, outcomes, ...). Values are ClinicalTrials.gov's API words
(RECRUITING, PHASE2, INTERVENTIONAL). Dates are ISO text as precise as the registry gave them. Start with
search_trials, then show_trial; list_tables and run_sql (read-only SQLite SQL) answer the rest."""

NctId = Annotated[str, Field(description="An NCT number, e.g. NCT04268537", min_length=3, max_length=20)]
Limit = Annotated[int, Field(ge=1, le=MAX_ROWS, description=f"At most this many rows (1 to {MAX_ROWS})")]
Day = Annotated[str | None, Field(description="A date, YYYY-MM-DD", max_length=10)]
Period = Annotated[str | None, Field(description="A year, month or day: YYYY, YYYY-MM or YYYY-MM-DD", max_length=10)]


def _call(function: Callable[..., T], *args: Any) -> T:
    try:
        return function(*args)
    except HarvestError as exc:
        raise ToolError(exc.one_line()) from None


def build(
    db: str, *, sql_seconds: float = SQL_SECONDS, verbose: bool = False, registry: str | None = None
) -> MCPServer:
    """The server, its tools reading the file at ``db``; ``verbose`` logs each refused call on stderr;
    ``registry`` is the registry's source name (a hit no record of it backs is noted)."""
    tools = Tools(db, sql_seconds=sql_seconds, registry=registry)
    server = MCPServer(
        "harvest", instructions=INSTRUCTIONS, version=__version__, log_level="INFO" if verbose else "WARNING"
    )

    @server.tool()
    def search_trials(
        query: Annotated[str, Field(min_length=1, max_length=500, description="Words to find, as a person types")],
        status: list[OverallStatus] | None = None,
        phase: list[Phase] | None = None,
        study_type: list[StudyType] | None = None,
        country: Annotated[
            list[Annotated[str, Field(min_length=1, max_length=100)]] | None,
            Field(description="A site's country, as the registry names it (United States, France, ...)"),
        ] = None,
        has_results: Annotated[bool | None, Field(description="Only trials with (true) or without results")] = None,
        sponsor_class: list[Literal[SPONSOR_CLASSES]] | None = None,  # type: ignore[valid-type]
        age_group: list[Literal[AGE_GROUPS]] | None = None,  # type: ignore[valid-type]
        sex: list[Sex] | None = None,
        start_from: Period = None,
        start_to: Period = None,
        completion_from: Period = None,
        completion_to: Period = None,
        limit: Limit = 20,
        fts: Annotated[bool, Field(description="query is SQLite FTS5 syntax (OR, NOT, NEAR, prefix*)")] = False,
    ) -> dict[str, Any]:
        """Full-text search of titles, summaries, conditions, interventions, keywords, sponsor, MeSH terms and
        IDs, best first, with the registry's filters (values of one filter are alternatives; filters combine).
        Every word must match (stemmed: trial finds trials; British and American spellings and the names of
        COVID-19 find each other); "double quotes" make a phrase; an NCT number alone finds that trial.
        total says how many matched in all."""
        filters = SearchFilters(
            statuses=status or (),
            phases=phase or (),
            study_types=study_type or (),
            countries=country or (),
            results=() if has_results is None else ("yes" if has_results else "no",),
            sponsor_classes=sponsor_class or (),
            age_groups=age_group or (),
            sexes=sex or (),
            start_from=start_from or "",
            start_to=start_to or "",
            completion_from=completion_from or "",
            completion_to=completion_to or "",
        )
        return _call(tools.search, query, filters, limit, fts)

    @server.tool()
    def show_trial(
        nct_id: NctId,
        sections: Annotated[
            list[str] | None,
            Field(description="Sections to include (conditions, locations, design_outcomes, ...), or ['all']"),
        ] = None,
        limit: Annotated[int, Field(ge=1, le=MAX_ROWS, description="At most this many rows per section")] = 50,
    ) -> dict[str, Any]:
        """One trial as the file holds it: its studies row and, on request, its sections. sections_available
        lists the trial's sections with their row counts."""
        return _call(tools.show, nct_id, sections or [], limit)

    @server.tool()
    def trial_changes(
        nct_id: NctId,
        since: Day = None,
        field: Annotated[str | None, Field(max_length=100, description="Only this field, e.g. overall_status")] = None,
        limit: Limit = 100,
    ) -> dict[str, Any]:
        """What changed in a trial: field by field as harvest saw it night after night (changes, newest kept
        when capped), and the registry's own record history where it was fetched (registry_changes)."""
        return _call(tools.changes, nct_id, since, field, limit)

    @server.tool(
        description=f"One read-only SQL statement (SQLite dialect) on the file; at most `limit` rows, stopped "
        f"after {sql_seconds:g} seconds. Writes, ATTACH and PRAGMAs that set something are refused. See list_tables."
    )
    def run_sql(
        sql: Annotated[str, Field(min_length=1, max_length=20_000, description="One SQLite SELECT statement")],
        limit: Limit = 100,
    ) -> dict[str, Any]:
        return _call(tools.sql, sql, limit)

    @server.tool()
    def list_tables() -> dict[str, Any]:
        """The file's tables and views, what each holds, and their columns: what run_sql can read."""
        return _call(tools.tables)

    @server.tool()
    def compliance(
        as_of: Day = None,
        standard: Literal["fdaaa", "who"] = "fdaaa",
        sponsor: Annotated[str | None, Field(max_length=200, description="Part of a sponsor's name")] = None,
        outcome: list[Literal[OUTCOMES]] | None = None,  # type: ignore[valid-type]
        by_sponsor: bool = False,
        limit: Limit = 100,
    ) -> dict[str, Any]:
        """Results reporting of the trials that must report (FDAAA 801, or the WHO's 12 months) as of a date:
        per trial (due date, outcome: overdue, reported late, ...) or per sponsor organisation."""
        return _call(tools.compliance, as_of, standard, sponsor, outcome or [], by_sponsor, limit)

    return server


def serve(db: str, *, sql_seconds: float = SQL_SECONDS, verbose: bool = False, registry: str | None = None) -> None:
    """Check the file, then serve it over stdio until the client closes the connection."""
    Tools(db).check()
    build(db, sql_seconds=sql_seconds, verbose=verbose, registry=registry).run("stdio")
