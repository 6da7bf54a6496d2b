"""The one HTTP client every source uses: polite by default, stubborn about transient faults.

Layers, innermost first: a size-capped streaming GET; retries with exponential
backoff and jitter (tenacity) on 429, 5xx, transport errors and bodies that do
not decode, honouring ``Retry-After`` (seconds or HTTP date, capped); a
per-host rate limit and concurrency bound; robots.txt, fetched once per host
and obeyed. Sources never sleep or retry on their own: they call ``get``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx
import orjson
from protego import Protego
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from harvest.core.config import HttpSettings
from harvest.core.errors import (
    BadResponse,
    FetchError,
    HTTPStatusError,
    NotFound,
    RedirectRefused,
    ResponseTooLarge,
    RobotsDisallowed,
    TransportFailed,
)

log = logging.getLogger("harvest.net.http")
T = TypeVar("T")

MAX_REDIRECTS = 10
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass
class FetchStats:
    """What the network did during one run; the run report prints these."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0  # 429s seen
    server_errors: int = 0
    bytes: int = 0
    robots_skipped: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True)
class Response:
    url: str  # final URL, after redirects
    status: int
    headers: Mapping[str, str]
    content: bytes
    fetched_at: dt.datetime

    @property
    def text(self) -> str:
        return decode_body(self.content, self.headers.get("content-type"))


def decode_body(content: bytes, content_type: str | None) -> str:
    charset = "utf-8"
    if content_type and "charset=" in content_type.lower():
        charset = content_type.lower().split("charset=", 1)[1].split(";")[0].strip().strip('"') or "utf-8"
    try:
        return content.decode(charset, errors="replace")
    except LookupError:
        return content.decode("utf-8", errors="replace")


class _RetryableStatus(Exception):
    def __init__(self, status: int, retry_after: float | None, url: str) -> None:
        self.status = status
        self.retry_after = retry_after
        self.url = url
        super().__init__(f"HTTP {status}")


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header in either form (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


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


class HttpClient:
    """A polite client. One per run; robots.txt is cached per host for its lifetime."""

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
        self._client = httpx.Client(
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(settings.timeout),
            # Redirects are followed here, by hand, and only on the host asked: a 301 to another host would
            # otherwise store whatever that host says under the requested site's name.
            follow_redirects=False,
        )
        self._policies: dict[str, HostPolicy] = {}
        self._robots: dict[str, Protego | FetchError | None] = {}  # None: no robots.txt, everything allowed
        self._robots_lock = threading.Lock()
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
        """Whether robots.txt lets us fetch the URL (fetching robots.txt once per host).

        A host whose robots.txt cannot be read (network failure, 5xx, 429 after retries) is not crawled at all
        (RFC 9309: unreachable means disallowed); that is a failure to reach the site, raised as one, not a
        page the site forbids.
        """
        host = host_of(url)
        with self._robots_lock:
            if host not in self._robots:
                self._robots[host] = self._load_robots(host)
            rules = self._robots[host]
        if isinstance(rules, FetchError):
            raise TransportFailed(f"robots.txt of {host} unreachable ({rules.one_line()}); nothing requested", url=url)
        if rules is None:
            return True
        return rules.can_fetch(url, self.settings.user_agent)

    def _load_robots(self, host: str) -> Protego | FetchError | None:
        url = f"{host}/robots.txt"
        try:
            response = self._get(url, None, None)
        except NotFound:
            return None
        except HTTPStatusError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                return None  # RFC 9309: an unavailable robots.txt (4xx) allows everything
            log.warning("robots.txt at %s unreachable (%s): nothing will be requested there", host, exc.one_line())
            return exc
        except FetchError as exc:
            log.warning("robots.txt at %s unreachable (%s): nothing will be requested there", host, exc.one_line())
            return exc
        rules = Protego.parse(response.text)
        delay = rules.crawl_delay(self.settings.user_agent)
        policy = self._policy(host)
        if delay and not policy.limiter.unlimited and float(delay) > policy.limiter.interval:
            log.info("%s asks for a crawl delay of %ss; obeying", host, delay)
            policy.limiter.interval = float(delay)
        return rules

    # -- fetching -------------------------------------------------------------------------------

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        decode: Callable[[Response], T] | None = None,
    ) -> Response:
        """GET a URL politely. ``decode`` runs inside the retry loop: a body it rejects is retried."""
        if not self.allowed(url):
            self.stats.add(robots_skipped=1)
            raise RobotsDisallowed("robots.txt forbids this URL; not requested", url=url)
        return self._get(url, params, decode)

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

    def _get(self, url: str, params: Mapping[str, Any] | None, decode: Callable[[Response], Any] | None) -> Response:
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
                        response = self._request_once(url, params)
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

    def _request_once(self, url: str, params: Mapping[str, Any] | None) -> Response:
        """One GET, following redirects that stay on the requested host (CT.gov's alias 301s do)."""
        target, query = url, params
        for _ in range(MAX_REDIRECTS + 1):
            response = self._exchange(target, query)
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

    def _exchange(self, url: str, params: Mapping[str, Any] | None) -> Response | str:
        """One request: the response, or the absolute URL a redirect points to."""
        cap = self.settings.max_bytes
        with self._client.stream("GET", url, params=params) as raw:
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
            if declared and declared.isdigit() and int(declared) > cap:
                raise ResponseTooLarge(f"body of {int(declared):,} bytes exceeds the {cap:,}-byte cap", url=url)
            chunks: list[bytes] = []
            size = 0
            for chunk in raw.iter_bytes():
                size += len(chunk)
                if size > cap:
                    raise ResponseTooLarge(f"body exceeds the {cap:,}-byte cap", url=url)
                chunks.append(chunk)
            self.stats.add(bytes=size)
            content = b"".join(chunks)
            status = raw.status_code
            headers = dict(raw.headers)
        if status == 404 or status == 410:
            raise NotFound(f"not found: {_first_line(content) or f'HTTP {status}'}", url=final_url)
        if status >= 400:
            raise HTTPStatusError(
                f"HTTP {status}: {_first_line(content) or 'no reason given'}", url=final_url, status=status
            )
        return Response(final_url, status, headers, content, dt.datetime.now(dt.UTC))

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def decode_json(response: Response) -> Any:
    """Parse a JSON body; a body that is not JSON (truncated, an HTML error page) is a BadResponse."""
    try:
        return orjson.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadResponse(
            f"response is not valid JSON ({len(response.content):,} bytes; {exc.__class__.__name__}: {exc})",
            url=response.url,
        ) from None


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


def _first_line(content: bytes) -> str:
    text = content[:500].decode("utf-8", errors="replace").strip()
    return text.splitlines()[0][:200] if text else ""
