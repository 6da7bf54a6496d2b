"""One writer at a time: an advisory lock beside the database file.

The kernel releases an flock when its process dies, however it dies, so a
lock left by a killed run is never stale in practice: the next run simply
takes it (and says whose it was). The file's content says who holds it and
since when, for the "another run holds the lock" message.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
from pathlib import Path
from types import TracebackType

from harvest.core.dates import utcnow
from harvest.core.errors import DatabaseUnavailable, LockHeld
from harvest.store.database import refuse_directory, refuse_foreign

log = logging.getLogger("harvest.lock")


class RunLock:
    def __init__(self, db_path: str, command: str) -> None:
        self.db_path = db_path
        self.path = Path(f"{db_path}.lock")
        self.command = command
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        refuse_directory(self.db_path)
        parent = self.path.resolve().parent
        if not parent.is_dir():
            raise DatabaseUnavailable(f"cannot use {self.path.name[:-5]}: directory {parent} does not exist")
        refuse_foreign(self.db_path)  # before the lock file: nothing is left beside another program's file
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DatabaseUnavailable(f"cannot create lock file {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            since = holder.get("since", "an unknown time")
            who = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, {holder.get('command', '?')}"
            raise LockHeld(f"another run holds the lock since {since} ({who}); lock file {self.path}") from None
        previous = _read(fd)
        if previous.get("pid") and previous.get("pid") != os.getpid():
            log.warning(
                "took over a stale lock left by pid %s (%s, since %s)",
                previous.get("pid"),
                previous.get("command"),
                previous.get("since"),
            )
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": self.command,
            "since": utcnow(),
        }
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
            os.fsync(fd)
        except OSError as exc:  # a full disk, most likely: say which file could not be written
            os.close(fd)
            raise DatabaseUnavailable(f"cannot write lock file {self.path}: {exc.strerror}") from None
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def _read(fd: int) -> dict[str, object]:
    try:
        data = os.pread(fd, 4096, 0)
        return json.loads(data) if data.strip() else {}
    except (OSError, ValueError):
        return {}
