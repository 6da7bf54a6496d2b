"""Record history on the command line: ``harvest history NCT… [--changes]`` fetches the registry's past versions
of trials (and prints one trial's timeline), and one read-only command per analysis view."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

import click

from harvest.cli.app import EXIT_CODES, Context, fail, handle_errors
from harvest.cli.harvesting import Progress, failure_printer, finish_run
from harvest.cli.output import echo_text, print_rows, row_format
from harvest.core.errors import EXIT_PARTIAL
from harvest.core.ids import normalize_nct
from harvest.pipeline.report import Callbacks
from harvest.query.history import ANALYSES, TimelineVersion, analysis, timeline

TEXT_WIDTH = 70
_WORD = re.compile(r"^[A-Z0-9_]+$|^[0-9]{4}(-[0-9]{2}){0,2}$")  # enum words and dates are shown without quotes


@click.command(epilog=EXIT_CODES)
@click.argument("nct_ids", nargs=-1, required=True, metavar="NCT...")
@click.option("--changes", is_flag=True, help="Then print each trial's timeline: its versions and what each changed.")
@click.option("--offline", is_flag=True, help="Fetch nothing: print the timeline the file holds (implies --changes).")
@click.pass_obj
@handle_errors
def history(obj: Context, nct_ids: tuple[str, ...], changes: bool, offline: bool) -> None:
    """Fetch the record history of trials: every past version ClinicalTrials.gov keeps.

    One request for each trial's version list, then one per version the file
    does not hold yet (run it again with nothing new: one request per trial).
    Versions go to `study_versions`, what each changed to `version_changes`,
    and the views outcome_changes, enrollment_history, completion_slips and
    status_durations analyse them. Takes the lock, like `harvest run`.

    \b
    harvest history NCT02210780 NCT01126879
    harvest history NCT02210780 --changes       # and print its timeline
    """
    ids = [normalize_nct(n) for n in nct_ids]
    report = None
    if not offline:
        harvester = obj.harvester()
        progress = Progress(not obj.quiet and not obj.log_json)
        try:
            report = harvester.history(ids, Callbacks(on_batch=progress.update, on_failure=failure_printer(obj)))
        finally:
            progress.close()
            harvester.close()
    if changes or offline:
        empty = _print_timelines(obj, ids)
        if offline and empty:
            fail(f"no versions in {obj.db} for {', '.join(empty)} (run `harvest history` to fetch them)", EXIT_PARTIAL)
    if report is not None:
        finish_run(obj, report)


def _print_timelines(obj: Context, ids: list[str]) -> list[str]:
    """Print each trial's timeline; returns the trials the file holds no version of."""
    store = obj.readonly_store()
    empty = []
    try:
        for nct in ids:
            nct = store.aliases.current(nct)
            versions = timeline(store.conn, nct)
            if not versions:
                empty.append(nct)
                click.echo(f"{nct}: no versions in the file")
                continue
            echo_text("\n".join(timeline_lines(nct, versions)))
    finally:
        store.close()
    return empty


def timeline_lines(nct: str, versions: list[TimelineVersion]) -> list[str]:
    """A trial's history as a person reads it: one line per version, then one per change it made."""
    first, last = versions[0], versions[-1]
    lines = [f"{nct}: {len(versions)} versions, {first.date} to {last.date}"]
    for item in versions:
        head = f"v{item.version:<3} {item.date}  {item.status or '(status not given)'}"
        lines.append(head + ("  (first version)" if item is first else ""))
        width = max((len(name) for name, _, _ in item.changes), default=0)
        for name, old, new in item.changes:
            if name == "design_outcomes" and item.outcomes:
                continue  # told outcome by outcome below
            lines.append(f"      {name.ljust(width)}  {_change(old, new)}")
        for outcome in item.outcomes:
            when = "" if outcome.after_start is None else (" after start" if outcome.after_start else " before start")
            kind = (outcome.outcome_type or "outcome").lower()
            if outcome.change == "added":
                what = _text(outcome.new_measure)
            elif outcome.change == "removed":
                what = _text(outcome.old_measure)
            elif outcome.old_measure == outcome.new_measure:
                what = f"{_text(outcome.new_measure)}: time frame {_text(outcome.old_time_frame)} → "
                what += _text(outcome.new_time_frame)
            else:
                what = f"{_text(outcome.old_measure)} → {_text(outcome.new_measure)}"
            lines.append(f"      {kind} outcome {outcome.change}{when}: {what}")
    return lines


def _change(old: Any, new: Any) -> str:
    if isinstance(old, list) or isinstance(new, list):
        return _list_change(old or [], new or [])
    return f"{_value(old)} → {_value(new)}"


def _list_change(old: list[Any], new: list[Any]) -> str:
    before = [label for item in old if (label := _label(item)) is not None]
    after = [label for item in new if (label := _label(item)) is not None]
    added = [label for label in after if label not in before]
    removed = [label for label in before if label not in after]
    parts = [f"{len(old)} → {len(new)} items"]
    if added:
        parts.append("added " + "; ".join(_text(label, 40) for label in added[:3]) + (" …" if len(added) > 3 else ""))
    if removed:
        shown = "; ".join(_text(label, 40) for label in removed[:3])
        parts.append("removed " + shown + (" …" if len(removed) > 3 else ""))
    if not added and not removed and len(old) == len(new):
        parts.append("edited")
    return ", ".join(parts)


def _label(item: Any) -> str | None:
    """What names a list item for a reader (a condition, a site's facility, an arm's label); None if nothing does."""
    if isinstance(item, dict):
        for key in ("measure", "name", "label", "facility", "term", "title"):
            if isinstance(item.get(key), str):
                return str(item[key])
        return None
    return str(item)


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, dict) and "value" in value:  # a partial date and its type
        return f"{value['value']} ({value['type']})" if value.get("type") else str(value["value"])
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value if _WORD.match(value) else _text(value)
    return str(value)


def _text(value: str | None, width: int = TEXT_WIDTH) -> str:
    if value is None:
        return "(none)"
    text = " ".join(value.split())
    return f'"{text}"' if len(text) <= width else f'"{text[: width - 1]}…"'


# -- one command per analysis ---------------------------------------------------------------------


def _analysis_command(view: str) -> click.Command:
    _, answers = ANALYSES[view]

    @click.argument("nct_ids", nargs=-1, metavar="[NCT...]")
    @row_format
    @click.pass_obj
    @handle_errors
    def command(obj: Context, nct_ids: tuple[str, ...], fmt: str) -> None:
        ids = [normalize_nct(n) for n in nct_ids]
        store = obj.readonly_store()
        try:
            columns, rows = analysis(store.conn, view, [store.aliases.current(n) for n in ids])
        finally:
            store.close()
        print_rows(columns, rows, fmt, max_width=50)
        if not rows and sys.stderr.isatty():
            click.echo("no rows: is the record history of these trials fetched? (harvest history NCT…)", err=True)

    command.__doc__ = (
        f"{answers}\n\nRows of the `{view}` view (every trial with stored versions, or the NCT numbers given); "
        "the file is read only, nothing is fetched."
    )
    return click.command(view.replace("_", "-"))(command)


ANALYSIS_COMMANDS: dict[str, Callable[..., Any]] = {view: _analysis_command(view) for view in ANALYSES}
