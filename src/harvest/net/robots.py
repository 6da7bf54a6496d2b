"""robots.txt, read once per host and obeyed (RFC 9309), with its Crawl-delay applied to the host's rate."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from protego import Protego

from harvest.core.errors import FetchError, HTTPStatusError, NotFound, TransportFailed
from harvest.net.limits import HostPolicy, host_of
from harvest.net.responses import Response

log = logging.getLogger("harvest.http")


class RobotsRules:
    """The robots.txt of every host asked so far. ``fetch`` GETs a URL politely (the client's own retries)."""

    def __init__(
        self, user_agent: str, fetch: Callable[[str], Response], policy_of: Callable[[str], HostPolicy]
    ) -> None:
        self._user_agent = user_agent
        self._fetch = fetch
        self._policy_of = policy_of
        self._rules: dict[str, Protego | FetchError | None] = {}  # None: no robots.txt, everything allowed
        self._lock = threading.Lock()

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets us fetch the URL (fetching robots.txt once per host).

        A host whose robots.txt cannot be read (network failure, 5xx, 429 after retries) is not crawled at all
        (RFC 9309: unreachable means disallowed); that is a failure to reach the site, raised as one, not a
        page the site forbids.
        """
        host = host_of(url)
        with self._lock:
            if host not in self._rules:
                self._rules[host] = self._load_robots(host)
            rules = self._rules[host]
        if isinstance(rules, FetchError):
            raise TransportFailed(f"robots.txt of {host} unreachable ({rules.one_line()}); nothing requested", url=url)
        if rules is None:
            return True
        return rules.can_fetch(url, self._user_agent)

    def _load_robots(self, host: str) -> Protego | FetchError | None:
        url = f"{host}/robots.txt"
        try:
            response = self._fetch(url)
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
        delay = rules.crawl_delay(self._user_agent)
        policy = self._policy_of(host)
        if delay and not policy.limiter.unlimited and float(delay) > policy.limiter.interval:
            log.info("%s asks for a crawl delay of %ss; obeying", host, delay)
            policy.limiter.interval = float(delay)
        return rules
