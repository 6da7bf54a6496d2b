"""The one HTTP client every source uses: polite by default, stubborn about transient faults.

Layers, innermost first: a size-capped streaming GET that must be complete within a deadline (``net.deadline``:
connecting, headers and body, redirects included); retries with exponential
backoff and jitter (tenacity) on 429, 5xx, transport errors and bodies that do
not decode, honouring ``Retry-After`` (seconds or HTTP date, capped); a
per-host rate limit and concurrency bound; robots.txt, fetched once per host
and obeyed. Sources never sleep or retry on their own: they call ``get``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urljoin

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from harvest.core.config import HttpSettings
from harvest.core.errors import (
    BadResponse,
    DeadlineExceeded,
    FetchError,
    HTTPStatusError,
    NotFound,
    RedirectRefused,
    ResponseTooLarge,
    RobotsDisallowed,
    TransportFailed,
)
from harvest.net.deadline import bound, within
from harvest.net.limits import FetchStats, HostPolicy, RateLimiter, host_of
from harvest.net.responses import Response, decode_json, first_line, parse_retry_after
from harvest.net.robots import RobotsRules

log = logging.getLogger("harvest.http")
T = TypeVar("T")

MAX_REDIRECTS = 10
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class _RetryableStatus(Exception):
    def __init__(self, status: int, retry_after: float | None, url: str) -> None:
        self.status = status
        self.retry_after = retry_after
        self.url = url
        super().__init__(f"HTTP {status}")


class HttpClient:
    """A polite client. One per run; robots.txt is read once per host for its lifetime."""

    def __init__(
        self,
        settings: HttpSettings,
        *,
        stats: FetchStats | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.stats = stats or FetchStats()
        self._sleep = sleep
        self._client = bound(
            httpx.Client(
                headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
                timeout=httpx.Timeout(settings.timeout),
                # Redirects are followed here, by hand, and only on the host asked: a 301 to another host would
                # otherwise store whatever that host says under the requested site's name.
                follow_redirects=False,
            )
        )
        self._policies: dict[str, HostPolicy] = {}
        self._robots = RobotsRules(settings.user_agent, lambda url: self._get(url, None, None), self._policy)
        self._policy_lock = threading.Lock()

    # -- configuration --------------------------------------------------------------------------

    def set_policy(self, base_url: str, *, rps: float, concurrency: int = 1) -> None:
        with self._policy_lock:
            self._policies[host_of(base_url)] = HostPolicy(
                RateLimiter(rps, sleep=self._sleep), threading.BoundedSemaphore(max(1, concurrency))
            )

    def _policy(self, url: str) -> HostPolicy:
        key = host_of(url)
        with self._policy_lock:
            if key not in self._policies:
                self._policies[key] = HostPolicy(RateLimiter(1.0, sleep=self._sleep), threading.BoundedSemaphore(1))
            return self._policies[key]

    # -- robots.txt -----------------------------------------------------------------------------

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets us fetch the URL (see ``net.robots``)."""
        return self._robots.allowed(url)

    # -- fetching -------------------------------------------------------------------------------

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        decode: Callable[[Response], T] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """GET a URL politely. ``decode`` runs inside the retry loop: a body it rejects is retried. ``headers``
        are sent with the request (a conditional one: a 304 then comes back as a Response with no body)."""
        if not self.allowed(url):
            self.stats.add(robots_skipped=1)
            raise RobotsDisallowed("robots.txt forbids this URL; not requested", url=url)
        return self._get(url, params, decode, headers)

    def get_json(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        check: Callable[[Any, Response], None] | None = None,
    ) -> tuple[Response, Any]:
        """GET and decode JSON; a body that does not decode (or that ``check`` rejects) is retried."""
        holder: list[Any] = []

        def decode(response: Response) -> None:
            body = decode_json(response)
            if check is not None:
                check(body, response)
            holder[:] = [body]

        response = self.get(url, params, decode=decode)
        return response, holder[0]

    def _get(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        decode: Callable[[Response], Any] | None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        policy = self._policy(url)
        settings = self.settings
        backoff = wait_exponential_jitter(
            multiplier=settings.backoff, max=settings.backoff_cap, jitter=settings.backoff
        )

        delays: list[float] = []

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _RetryableStatus) and exc.retry_after is not None:
                delay = min(exc.retry_after, settings.retry_after_cap)
            else:
                delay = backoff(state)
            # The host's limiter does the waiting: a 429 or a 503 holds back every request to the host (other
            # threads included), not just this one; the retry itself then waits in ``limiter.wait()``.
            policy.limiter.pause(delay)
            delays.append(delay)
            return 0.0

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            self.stats.add(retries=1)
            log.info(
                "retrying %s in %.1fs after %s (attempt %d of %d)",
                url,
                delays[-1] if delays else 0.0,
                _describe(exc),
                state.attempt_number + 1,
                settings.attempts,
            )

        retrying = Retrying(
            retry=retry_if_exception(_is_retryable),
            stop=stop_after_attempt(settings.attempts),
            wait=wait,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    policy.limiter.wait()
                    with policy.slots:
                        response = self._request_once(url, params, headers)
                    if decode is not None:
                        decode(response)
        except _RetryableStatus as exc:
            raise HTTPStatusError(
                f"HTTP {exc.status} after {settings.attempts} attempts", url=url, status=exc.status
            ) from None
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise TransportFailed(f"{_describe(exc)} after {settings.attempts} attempts", url=url) from None
        except httpx.HTTPError as exc:
            raise TransportFailed(_describe(exc), url=url) from None
        return response

    def _request_once(
        self, url: str, params: Mapping[str, Any] | None, headers: Mapping[str, str] | None = None
    ) -> Response:
        """One GET, following redirects that stay on the requested host (CT.gov's alias 301s do), all of it
        within the deadline: a response still arriving then is cut off, and not retried (a server that slow
        is not a passing fault, and five attempts would hold the run five times as long)."""
        seconds = self.settings.deadline
        with within(seconds) as passed:
            try:
                return self._follow(url, params, headers, passed)
            except httpx.TimeoutException:
                if not passed():
                    raise
        raise DeadlineExceeded(f"response not complete after {seconds:g} s (HARVEST_DEADLINE); cut off", url=url)

    def _follow(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        passed: Callable[[], bool],
    ) -> Response:
        target, query = url, params
        for _ in range(MAX_REDIRECTS + 1):
            response = self._exchange(target, query, headers, passed)
            if isinstance(response, Response):
                return response
            location = response
            if host_of(location) != host_of(url):
                raise RedirectRefused(f"redirect to another host refused: {location}", url=url)
            if not self.allowed(location):
                self.stats.add(robots_skipped=1)
                raise RobotsDisallowed(f"redirected to {location}, which robots.txt forbids; not requested", url=url)
            target, query = location, None  # the Location carries its own query
        raise HTTPStatusError(f"more than {MAX_REDIRECTS} redirects", url=url)

    def _exchange(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None = None,
        passed: Callable[[], bool] = lambda: False,
    ) -> Response | str:
        """One request: the response, or the absolute URL a redirect points to."""
        cap = self.settings.max_bytes
        with self._client.stream("GET", url, params=params, headers=headers) as raw:
            self.stats.add(requests=1)
            final_url = str(raw.url)
            location = raw.headers.get("location")
            if raw.status_code in REDIRECT_STATUSES and location:
                return urljoin(final_url, location)
            if raw.status_code == 429 or raw.status_code >= 500:
                if raw.status_code == 429:
                    self.stats.add(throttled=1)
                else:
                    self.stats.add(server_errors=1)
                raise _RetryableStatus(raw.status_code, parse_retry_after(raw.headers.get("retry-after")), url)
            declared = raw.headers.get("content-length")
            if declared and declared.isascii() and declared.isdigit() and int(declared) > cap:
                raise ResponseTooLarge(f"body of {int(declared):,} bytes exceeds the {cap:,}-byte cap", url=url)
            chunks: list[bytes] = []
            size = 0
            for chunk in raw.iter_bytes():
                size += len(chunk)
                if size > cap:
                    raise ResponseTooLarge(f"body exceeds the {cap:,}-byte cap", url=url)
                if passed():  # the next read would time out anyway; a body decoded from a buffer may not read
                    raise httpx.ReadTimeout("deadline passed")
                chunks.append(chunk)
            self.stats.add(bytes=size)
            content = b"".join(chunks)
            status = raw.status_code
            received = dict(raw.headers)
        if status == 304:  # not modified: the answer to a conditional request, no body
            self.stats.add(not_modified=1)
        if status == 404 or status == 410:
            raise NotFound(f"not found: {first_line(content) or f'HTTP {status}'}", url=final_url)
        if status >= 400:
            raise HTTPStatusError(
                f"HTTP {status}: {first_line(content) or 'no reason given'}", url=final_url, status=status
            )
        return Response(final_url, status, received, content, dt.datetime.now(dt.UTC))

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(
        exc,
        (
            _RetryableStatus,
            BadResponse,
            httpx.TimeoutException,
            httpx.NetworkError,
            httpx.RemoteProtocolError,
            httpx.DecodingError,  # a compressed body cut or mangled on the way
        ),
    )


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    if isinstance(exc, _RetryableStatus):
        return f"HTTP {exc.status}"
    if isinstance(exc, FetchError):
        return exc.one_line()
    name = exc.__class__.__name__
    text = str(exc).strip()
    return f"{name}: {text}" if text else name
