"""Logs a cron user can read: one line per event on stderr, plain text or JSON lines."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from typing import Any

from harvest.cli.output import json_text
from harvest.core.text import escape_controls


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = dt.datetime.fromtimestamp(record.created, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # One line, whatever a page or a server put in the message: its control characters written out.
        line = f"{when} {record.levelname.lower():7} {escape_controls(record.getMessage())}"
        if record.exc_info:  # logged at debug level only: a bug's traceback, for whoever reports it (-vv)
            line += "\n" + self.formatException(record.exc_info)
        return line


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="seconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        event.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            event["traceback"] = self.formatException(record.exc_info)
        return json_text(event)


def setup(verbosity: int, quiet: bool, as_json: bool) -> None:
    level = logging.ERROR if quiet else {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if as_json else _TextFormatter())
    root = logging.getLogger("harvest")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # -vv: every request httpx makes (method, URL, status line) and what httpcore does for it (connections,
    # headers sent and received, the body's end), in the same format on stderr. Their loggers have no handler
    # of their own, so without one here their debug lines went nowhere.
    for name in ("httpx", "httpcore"):
        http_logger = logging.getLogger(name)
        http_logger.handlers[:] = [handler] if verbosity >= 2 and not quiet else []
        http_logger.setLevel(logging.DEBUG if verbosity >= 2 and not quiet else logging.WARNING)
        http_logger.propagate = False


def event(logger: logging.Logger, level: int, message: str, **fields: Any) -> None:
    """Log a message with structured fields (shown as keys in --log-json mode)."""
    logger.log(level, message, extra={"fields": fields})
