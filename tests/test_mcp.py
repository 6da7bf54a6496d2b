"""`harvest mcp`, tested with the MCP SDK's own client: it spawns `harvest --db FILE mcp` and speaks to it over
stdio, as a desktop client does. Every tool is listed and called; answers are checked against the demo file
read with plain SQL; refusals (a write, a bad NCT number, a runaway query) are tool errors, and the file is
left as it was."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.query_helpers import cli, fingerprint, query

mcp = pytest.importorskip("mcp", reason="the MCP SDK is not installed (pip install 'harvest[mcp]')")
from mcp import Client  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

TOOLS = {"search_trials", "show_trial", "trial_changes", "run_sql", "list_tables", "compliance"}
HISTORY = "NCT02210780"  # its record history is in the demo file (fixtures/ctgov/history)
LONG_CRITERIA = "NCT02513394"  # eligibility criteria far over the 2,000-character cap


def session(db: Path, scenario: Callable[[Any], Awaitable[None]], tmp_path: Path, *args: str) -> None:
    """Spawn `harvest --db DB mcp ARGS` and run ``scenario(client)`` against it (the server's stderr to a file)."""
    import anyio

    # the whole environment, not the SDK's default few variables: a clock moved by faketime moves the server's too
    command = ["-m", "harvest", "--db", str(db), "mcp", *args]
    server = StdioServerParameters(command=sys.executable, args=command, cwd=str(ROOT), env=dict(os.environ))

    async def main() -> None:
        with (tmp_path / "server-stderr.txt").open("w") as errlog:
            async with Client(stdio_client(server, errlog=errlog)) as client:
                await scenario(client)

    anyio.run(main)


async def call(client: Any, tool: str, **arguments: Any) -> Any:
    """A tool's answer as JSON; a tool error fails the test."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text
    return json.loads(result.content[0].text)


async def refused(client: Any, tool: str, **arguments: Any) -> str:
    """A tool error's message."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.content
    return result.content[0].text


def test_every_tool_is_listed_and_answers_what_the_file_says(demo_file: Path, tmp_path: Path) -> None:
    def searched(*args: str) -> list[dict[str, Any]]:  # what `harvest search ARGS --all --json` finds
        result = cli(demo_file, "search", *args, "--all", "--json")
        return [json.loads(line) for line in result.stdout.splitlines()]

    covid = [row["nct_id"] for row in searched("covid")]
    us_with_results = [row["nct_id"] for row in searched("cancer", "--country", "United States", "--results", "yes")]

    async def scenario(client: Any) -> None:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(listed) == TOOLS
        assert all(tool.description for tool in listed.values())
        status = listed["search_trials"].input_schema["$defs"]["OverallStatus"]["enum"]
        assert "RECRUITING" in status

        found = await call(client, "search_trials", query="covid", limit=100)
        assert [t["nct_id"] for t in found["trials"]] == covid and covid  # synonyms and ranking as harvest search
        assert found["total"] == len(covid)
        filtered = await call(
            client, "search_trials", query="cancer", country=["United States"], has_results=True, limit=100
        )
        assert [t["nct_id"] for t in filtered["trials"]] == us_with_results and us_with_results
        first = await call(client, "search_trials", query="covid", limit=1)
        assert len(first["trials"]) == 1 and first["total"] == len(covid)
        dated = await call(client, "search_trials", query="covid", start_from="2020", start_to="2020-12", limit=100)
        assert {t["nct_id"] for t in dated["trials"]} == {row["nct_id"] for row in searched(
            "covid", "--start-from", "2020", "--start-to", "2020-12")}  # fmt: skip
        recruiting = await call(client, "search_trials", query="covid", status=["RECRUITING"], limit=100)
        assert recruiting["trials"] and {t["overall_status"] for t in recruiting["trials"]} == {"RECRUITING"}

        shown = await call(client, "show_trial", nct_id="nct02210780", sections=["conditions", "locations"])
        assert shown["trial"]["nct_id"] == HISTORY and shown["trial"]["phases"] == ["PHASE2"]
        names = query(demo_file, f"SELECT name FROM conditions WHERE nct_id = '{HISTORY}' ORDER BY position")
        assert [row["name"] for row in shown["sections"]["conditions"]["rows"]] == [name for (name,) in names]
        sites = query(demo_file, f"SELECT facility FROM locations WHERE nct_id = '{HISTORY}' ORDER BY position")
        assert shown["sections"]["locations"]["total"] == shown["sections_available"]["locations"] == len(sites)
        assert [row["facility"] for row in shown["sections"]["locations"]["rows"]] == [f for (f,) in sites]

        everything = await call(client, "show_trial", nct_id=LONG_CRITERIA, sections=["all"], limit=5)
        assert set(everything["sections"]) == set(everything["sections_available"])
        assert everything["trial"]["eligibility_criteria"].endswith("more characters]")  # cut at 2,000
        assert everything["sections"]["locations"]["total"] == 437
        assert len(everything["sections"]["locations"]["rows"]) == 5

        changes = await call(client, "trial_changes", nct_id=HISTORY)
        versions = query(demo_file, "SELECT version, version_date, overall_status FROM study_versions "
                                    f"WHERE nct_id = '{HISTORY}' ORDER BY version")  # fmt: skip
        assert [tuple(v.values()) for v in changes["registry_versions"]] == versions and versions
        fields = query(demo_file, "SELECT version, field FROM version_changes "
                                  f"WHERE nct_id = '{HISTORY}' ORDER BY version, field")  # fmt: skip
        listed = [(row["version"], row["field"]) for row in changes["registry_changes"]]
        assert listed == fields[: len(listed)] and listed  # in order; as many as fit in an answer
        assert changes["truncated"] is (len(listed) < min(len(fields), 100))

        answer = await call(client, "run_sql", sql="SELECT nct_id, enrollment FROM studies ORDER BY nct_id")
        assert [tuple(row) for row in answer["rows"]] == query(
            demo_file, "SELECT nct_id, enrollment FROM studies ORDER BY nct_id"
        )
        assert answer["columns"] == ["nct_id", "enrollment"] and answer["truncated"] is False
        capped = await call(client, "run_sql", sql="SELECT nct_id FROM studies", limit=5)
        assert len(capped["rows"]) == 5 and capped["truncated"] is True

        tables = {t["name"]: t for t in (await call(client, "list_tables"))["tables"]}
        assert "nct_id" in tables["studies"]["columns"] and tables["studies"]["description"]
        assert tables["study_overview"]["type"] == "view"

        judged = await call(client, "compliance", limit=500)
        assert sorted((r["nct_id"], r["outcome"]) for r in judged["rows"]) == query(
            demo_file, "SELECT nct_id, outcome FROM results_compliance ORDER BY nct_id"
        )
        by_sponsor = await call(client, "compliance", by_sponsor=True)
        assert by_sponsor["rows"] and all("organisation" in row for row in by_sponsor["rows"])

    session(demo_file, scenario, tmp_path)


def test_writes_bad_input_and_runaway_queries_are_refused_and_the_file_is_untouched(
    demo_file: Path, tmp_path: Path
) -> None:
    before = fingerprint(demo_file)

    async def scenario(client: Any) -> None:
        for sql in (
            "DELETE FROM studies",
            "UPDATE studies SET brief_title = 'x'",
            "ATTACH DATABASE 'other.db' AS other",
            "PRAGMA journal_mode = DELETE",
            "CREATE TABLE x (a)",
        ):
            assert "read-only" in await refused(client, "run_sql", sql=sql), sql
        assert "one statement at a time" in await refused(client, "run_sql", sql="SELECT 1; SELECT 2")
        assert "SQL error: no such table: nope" in await refused(client, "run_sql", sql="SELECT * FROM nope")
        endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
        assert "ran longer than 0.5 s and was stopped" in await refused(client, "run_sql", sql=endless)
        assert "string or blob too big" in await refused(client, "run_sql", sql="SELECT length(zeroblob(100000000))")

        assert "is not an NCT number" in await refused(client, "show_trial", nct_id="NCT123")
        assert "is not an NCT number" in await refused(client, "trial_changes", nct_id="x'; DROP TABLE y")
        assert "NCT09999999 is not in the file" in await refused(client, "show_trial", nct_id="NCT09999999")
        assert "no section 'nope'" in await refused(client, "show_trial", nct_id="NCT04268537", sections=["nope"])
        assert "not a date" in await refused(client, "trial_changes", nct_id="NCT04268537", since="yesterday")
        assert "not a date" in await refused(client, "compliance", as_of="2024-13-45")
        assert "validation error" in await refused(client, "search_trials", query="covid", status=["BOGUS"])
        assert "validation error" in await refused(client, "search_trials", query="covid", limit=100_000)
        assert "validation error" in await refused(client, "run_sql", sql="SELECT 1", limit=0)
        assert "validation error" in await refused(client, "compliance", standard="eu")
        assert "nothing to search for" in await refused(client, "search_trials", query="!!!")

    session(demo_file, scenario, tmp_path, "--sql-seconds", "0.5")
    assert fingerprint(demo_file) == before


def test_every_answer_is_capped_in_size(demo_file: Path, tmp_path: Path) -> None:
    from harvest.mcp.tools import MAX_ANSWER, MAX_TEXT

    # every site with its trial's eligibility criteria: far over the cap, each criteria far over a value's cap
    sql = (
        "SELECT l.nct_id, s.eligibility_criteria FROM locations l JOIN studies s USING (nct_id) "
        "ORDER BY length(s.eligibility_criteria) DESC"
    )
    conn = sqlite3.connect(f"file:{demo_file}?mode=ro", uri=True)
    whole = sum(len(row[1] or "") for row in conn.execute(sql))
    conn.close()
    assert whole > 10 * MAX_ANSWER

    async def scenario(client: Any) -> None:
        result = await client.call_tool("run_sql", {"sql": sql, "limit": 500})
        text = result.content[0].text
        answer = json.loads(text)
        assert answer["truncated"] is True and 0 < len(answer["rows"]) < 50
        assert len(json.dumps(answer, ensure_ascii=False)) <= MAX_ANSWER
        assert all(len(row[1]) <= MAX_TEXT + 40 for row in answer["rows"])  # each value cut, saying so
        assert any(row[1].endswith("more characters]") for row in answer["rows"])

        whole = await call(client, "show_trial", nct_id=LONG_CRITERIA, sections=["all"], limit=500)
        assert whole["truncated"] is True and len(json.dumps(whole, ensure_ascii=False)) <= MAX_ANSWER
        assert whole["sections"]["locations"]["total"] == 437 > len(whole["sections"]["locations"]["rows"])
        assert all(len(s["rows"]) <= s["total"] for s in whole["sections"].values())

    session(demo_file, scenario, tmp_path)
