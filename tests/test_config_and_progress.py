"""Settings from the environment, and the progress display (a terminal gets one; cron gets none)."""

from __future__ import annotations

import io

import pytest

from harvest.cli.harvesting import Progress
from harvest.core.config import Settings
from harvest.core.errors import InputError
from harvest.pipeline.report import RunReport

SOURCES = ["ctgov", "veeva", "inclinicaltrials", "ichgcp"]


def test_precedence_is_configurable_but_the_registry_stays_first() -> None:
    assert Settings(env={}).precedence(SOURCES, "ctgov") == SOURCES
    reordered = Settings(env={"HARVEST_PRECEDENCE": "ichgcp,veeva"}).precedence(SOURCES, "ctgov")
    assert reordered == ["ctgov", "ichgcp", "veeva", "inclinicaltrials"]
    demoted = Settings(env={"HARVEST_PRECEDENCE": "veeva,ctgov"}).precedence(SOURCES, "ctgov")
    assert demoted[0] == "ctgov"
    with pytest.raises(InputError, match="unknown sources: nope"):
        Settings(env={"HARVEST_PRECEDENCE": "nope"}).precedence(SOURCES, "ctgov")


def test_per_source_settings_and_bad_numbers() -> None:
    settings = Settings(env={"HARVEST_VEEVA_URL": "http://127.0.0.1:9/", "HARVEST_VEEVA_RPS": "0.25"})
    assert settings.base_url("veeva", "https://ctv.veeva.com") == "http://127.0.0.1:9"
    assert settings.rps("veeva", 1.0) == 0.25
    assert settings.rps("ctgov", 0.8) == 0.8
    with pytest.raises(InputError, match="HARVEST_TIMEOUT='soon' is not a number"):
        Settings(env={"HARVEST_TIMEOUT": "soon"}).http()
    agent = Settings(env={"HARVEST_CONTACT": "mailto:me@example.org"}).http().user_agent
    assert agent.startswith("harvest/") and agent.endswith("(+mailto:me@example.org)")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    report = RunReport(source="ctgov", fetched=2_000, new=1_500, changed=3, failed=1)
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    progress = Progress(enabled=True)
    progress.update(report, 10_000)
    progress.close()
    shown = terminal.getvalue()
    assert shown.startswith("\rctgov: 2,000/10,000 records, 1,500 new, 3 changed, 1 failed (")
    assert shown.endswith("\n")
    piped = io.StringIO()  # cron, pipes: not a terminal
    monkeypatch.setattr("sys.stderr", piped)
    progress = Progress(enabled=True)
    progress.update(report, 10_000)
    progress.close()
    assert piped.getvalue() == ""
