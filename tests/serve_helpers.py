"""A web server as a subprocess on a free 127.0.0.1 port (`harvest serve`, or `datasette serve` itself), for the
tests that read its pages over a real socket; and a read-only look at the file it serves."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running(command: Callable[[int], list[str]], what: str) -> Iterator[str]:
    """The base URL of the Datasette that ``command(port)`` starts, once it answers; stopped after the block."""
    port = free_port()
    process = subprocess.Popen(command(port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/-/versions.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"{what} did not start: {process.communicate()[0]}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serving(db: Path) -> Any:
    """The base URL of `harvest --db DB serve` while the block runs (a context manager)."""
    return running(
        lambda port: [sys.executable, "-m", "harvest", "--db", str(db), "serve", "--port", str(port)], "harvest serve"
    )


def rows(db: Path, sql: str, *args: Any) -> list[tuple]:
    """Rows read from the served file over a read-only connection (the tests must not change it)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()
