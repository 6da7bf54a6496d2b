"""A deadline for a whole response: connecting, the headers and the body, together.

httpx times each network operation (``HARVEST_TIMEOUT`` bounds the wait for the next bytes), not the exchange:
a server that sends a byte just before each read would time out is never cut off, and one page can hold a run
(and the file's lock) for hours. httpx has no total timeout, so the limit is put where every read happens: the
network backend of the client's connection pools. Each of its reads, writes and connects waits at most until
the deadline of the request under way (``within``, per thread), so a response that is not complete in time
fails as a timeout, wherever it was stalling, headers included.
"""

from __future__ import annotations

import time
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import httpcore
import httpx

_deadline: ContextVar[float | None] = ContextVar("harvest_deadline", default=None)


@contextmanager
def within(seconds: float) -> Iterator[Callable[[], bool]]:
    """Every network operation of this thread finishes within ``seconds`` from now; yields "has it passed?"."""
    end = time.monotonic() + seconds
    token = _deadline.set(end)
    try:
        yield lambda: time.monotonic() >= end
    finally:
        _deadline.reset(token)


def _wait(timeout: float | None, error: type[Exception]) -> float | None:
    """The operation's own timeout, shortened to what is left before the deadline (none: as it was)."""
    end = _deadline.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise error("deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _wait(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _wait(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: typing.Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> _Stream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _wait(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> _Stream:
        wait = _wait(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, wait, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: typing.Iterable[typing.Any] | None = None
    ) -> _Stream:
        return _Stream(self._inner.connect_unix_socket(path, _wait(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def bound(client: httpx.Client) -> httpx.Client:
    """Put the deadline under every transport of ``client``: its own and those of proxies from the environment.

    httpx builds its connection pools itself and offers no setting for their network backend, hence the
    private attributes (``_transport``, ``_mounts``, ``_pool``, ``_network_backend``); a change there fails
    the deadline tests (tests/test_http_faults.py), not silently.
    """
    transports = [client._transport, *client._mounts.values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        if transport is not None and not hasattr(pool, "_network_backend"):
            raise RuntimeError(f"cannot put a deadline under {transport!r}: httpx changed")
        if pool is not None:
            pool._network_backend = _Backend(pool._network_backend)
    return client
