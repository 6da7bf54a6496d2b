"""Politeness per host: a request rate, a bound on concurrent requests, and what the network did (stats)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class FetchStats:
    """What the network did during one run; the run report prints these."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0  # 429s seen
    server_errors: int = 0
    bytes: int = 0
    robots_skipped: int = 0
    not_modified: int = 0  # 304s: a page unchanged since our last visit, no body sent
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


class RateLimiter:
    """Spaces requests to one host at least ``1/rps`` seconds apart, across threads."""

    def __init__(
        self,
        rps: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rps if rps > 0 else 0.0
        self.unlimited = rps <= 0
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self._sleep(start - now)

    def pause(self, seconds: float) -> None:
        """Hold every request to this host back (a 429 is about the host, not one URL)."""
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)


@dataclass
class HostPolicy:
    limiter: RateLimiter
    slots: threading.BoundedSemaphore


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
