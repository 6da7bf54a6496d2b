"""The ``harvest`` group: global options, the context every command gets, and how errors end.

The commands live in their own modules (``cli.harvesting``, ``cli.reading``, ``cli.querying``, ``cli.mirrors``)
and are registered on this group in one place, ``harvest/cli/__init__.py``. Data goes to stdout (JSON, CSV or
a table); logs, progress and the run summary go to stderr, so ``harvest show NCT… | jq`` and cron mail both work.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar

import click
from click.core import ParameterSource

from harvest import __version__
from harvest.cli import logs
from harvest.core.config import DEFAULT_DB, Settings
from harvest.core.errors import (
    EXIT_BAD_INPUT,
    EXIT_CANNOT_RUN,
    EXIT_OK,
    EXIT_PARTIAL,
    HarvestError,
)
from harvest.core.text import escape_controls
from harvest.pipeline.harvester import Harvester
from harvest.sources import registered
from harvest.sources.base import registry_name
from harvest.store.database import Store

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=click.Command)

EXIT_CODES = f"""Exit codes: {EXIT_OK} ok; {EXIT_PARTIAL} finished, but something failed anew (listed on
stderr; a page failing as it did on the last run, or gone, does not count; for fetch: a target that could not be
fetched or stored); {EXIT_BAD_INPUT} bad input (invalid NCT number,
unknown source, bad option or setting, bad SQL); {EXIT_CANNOT_RUN} could not run (lock held, missing file,
a directory or a file that is not a harvest database, disk failure; for run and reconcile: source
unreachable, or refused by a sanity check); run --all: the worst of its sources; 130 interrupted."""


class Context:
    """What every command gets: the file, how loud to be, and today's settings."""

    def __init__(self) -> None:
        self.db = DEFAULT_DB
        self.quiet = False
        self.verbose = 0
        self.log_json = False
        self.settings = Settings()

    def apply(self, db: str | None = None, quiet: bool = False, verbose: int = 0, log_json: bool = False) -> None:
        """Take the global options given in one place (before the command, or after it) on top of the others."""
        if db:
            self.db = db
        self.quiet = self.quiet or quiet
        self.verbose += verbose
        self.log_json = self.log_json or log_json
        logs.setup(self.verbose, self.quiet, self.log_json)

    def harvester(self) -> Harvester:
        return Harvester(self.db, self.settings)

    def readonly_store(self) -> Store:
        return Store(self.db, readonly=True)

    def precedence(self) -> list[str]:
        """The merge order of today's settings (``HARVEST_PRECEDENCE``), for merges made on the fly."""
        return self.settings.precedence(list(registered()), registry_name())

    def check_settings(self) -> None:
        """Every HARVEST_* setting, whatever the command: one that cannot work is refused before anything runs."""
        self.settings.check()
        self.precedence()


def fail(message: str, code: int) -> None:
    click.echo(f"harvest: {escape_controls(message)}", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Every error a user can meet ends as one line on stderr and its exit code; never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (BrokenPipeError, click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # the reader left (HarvestGroup ends the command), or click's own usage error or exit
        except HarvestError as exc:
            fail(exc.one_line(), exc.exit_code)
        except sqlite3.DatabaseError as exc:
            fail(f"database error: {exc}", EXIT_CANNOT_RUN)
        except OSError as exc:
            fail(f"{exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "), EXIT_CANNOT_RUN)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except Exception as exc:  # a bug: still one line, and the traceback for whoever reports it (-vv)
            logging.getLogger("harvest").debug("internal error", exc_info=True)
            fail(f"internal error (a bug in harvest; -vv shows where): {type(exc).__name__}: {exc}", EXIT_CANNOT_RUN)

    return wrapper  # type: ignore[return-value]


def _reader_left() -> NoReturn:
    """The reader of stdout left (`harvest query … | head -1`): stop quietly, exit 0. Python's own recipe:
    stdout goes to /dev/null so that the flush at exit, with output still buffered, cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(EXIT_OK)


# Options whose value is a file name: a name need not be UTF-8 (Linux allows any bytes), text must be.
PATH_OPTIONS = ("--db", "-o", "--output")


def undecodable_argument(args: list[str]) -> str | None:
    """The first argument that is not UTF-8 text (Python hands such bytes over as lone surrogates, which SQLite,
    JSON and the terminal all refuse, each with a traceback of its own), shown with its bytes escaped."""
    for index, arg in enumerate(args):
        if (index and args[index - 1] in PATH_OPTIONS) or arg.startswith(tuple(f"{o}=" for o in PATH_OPTIONS)):
            continue
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            return arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return None


class HarvestGroup(click.Group):
    """The ``harvest`` group. A closed pipe on stdout ends any command quietly, with exit 0, whether it comes
    while the command writes or when the last of its output is flushed. An argument that is not UTF-8 text is
    bad input, said in one line before any command sees it."""

    def main(self, args: Any = None, *rest: Any, **kwargs: Any) -> Any:
        given = list(sys.argv[1:] if args is None else args)
        shown = undecodable_argument(given)
        if shown is not None:
            fail(f"argument '{shown}' is not valid UTF-8 text", EXIT_BAD_INPUT)
        return super().main(given, *rest, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            finally:
                sys.stdout.flush()
        except BrokenPipeError:
            _reader_left()


GLOBAL_OPTIONS = ("db", "quiet", "verbose", "log_json")

# A count given to SQLite (``LIMIT``): at most its largest integer, else the query fails with a traceback.
ROW_COUNT = click.IntRange(1, 2**63 - 1)


def _global_options() -> list[click.Option]:
    return [
        click.Option(
            ["--db"],
            default=None,
            envvar="HARVEST_DB",
            show_envvar=True,
            metavar="PATH",
            help=f"SQLite file to write and read [default: {DEFAULT_DB}]",
        ),
        click.Option(["-q", "--quiet"], is_flag=True, help="Print nothing unless something went wrong (for cron)."),
        click.Option(["-v", "--verbose"], count=True, help="More detail on stderr (-vv for HTTP debugging)."),
        click.Option(["--log-json"], is_flag=True, help="Log to stderr as JSON lines (for log collectors)."),
    ]


def global_options(command: C) -> C:
    """Give a command (the group, and every command registered on it) ``--db``, ``-q``, ``-v`` and
    ``--log-json``, so ``harvest runs --quiet`` works as ``harvest --quiet runs`` does.

    The group's values come first; a command's are applied on top: its ``--db`` wins, ``-q`` and
    ``--log-json`` switch on, ``-v`` adds up (``harvest -v run -v`` is ``-vv``). Only the group reads the
    environment (``HARVEST_DB``): after the command, only what was typed counts.
    """
    callback = command.callback
    assert callback is not None

    @wraps(callback)
    def apply_then_run(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        values = {name: kwargs.pop(name) for name in GLOBAL_OPTIONS}
        counted = {ParameterSource.COMMANDLINE} | ({ParameterSource.ENVIRONMENT} if ctx.parent is None else set())
        obj = ctx.find_object(Context)
        if obj is None:
            obj = ctx.obj = Context()
        obj.apply(**{name: v for name, v in values.items() if ctx.get_parameter_source(name) in counted})
        if ctx.parent is not None:  # a command (its --help has been answered): the settings are checked first
            try:
                obj.check_settings()
            except HarvestError as exc:
                fail(exc.one_line(), exc.exit_code)
        return callback(*args, **kwargs)

    command.params.extend(_global_options())
    command.callback = apply_then_run
    return command


@click.version_option(__version__, prog_name="harvest")
@global_options
@click.group(
    cls=HarvestGroup,
    epilog=EXIT_CODES
    + "\n\nExamples:\n\n\b\n  harvest run                      # nightly: incremental ClinicalTrials.gov harvest"
    "\n  harvest run --all                # nightly: every source in turn"
    "\n  harvest reconcile                # weekly: mark what the registry no longer shows"
    "\n  harvest fetch NCT04268537        # one trial, now\n  harvest show NCT04268537         # what the file says"
    '\n  harvest query "SELECT overall_status, count(*) FROM studies GROUP BY 1"',
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
def main() -> None:
    """Harvest clinical-trial records from ClinicalTrials.gov and its mirror sites into one SQLite file.

    One row per trial in `studies`, keyed by NCT number, merged from every source
    that carries it (ClinicalTrials.gov first); what each source said is kept in
    `source_records`. Query the file with `harvest query`, sqlite3, sqlite-utils
    or Datasette.

    Global options (--db, -q, -v, --log-json) go before the command or after it.

    Sources' base URLs and request rates come from the environment:
    HARVEST_<SOURCE>_URL, HARVEST_<SOURCE>_RPS (0 = unlimited),
    HARVEST_CONTACT (put your URL or e-mail in the User-Agent).
    """


def parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD)") from None
