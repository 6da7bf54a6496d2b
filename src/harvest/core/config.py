"""Settings, read from the environment so cron lines and tests can change them without flags.

Per source: ``HARVEST_<SOURCE>_URL`` (base URL), ``HARVEST_<SOURCE>_RPS``
(requests per second, 0 = no limit) and ``HARVEST_<SOURCE>_CONCURRENCY``.
Global: ``HARVEST_DB``, ``HARVEST_CONTACT``, ``HARVEST_USER_AGENT``,
``HARVEST_TIMEOUT``, ``HARVEST_DEADLINE``, ``HARVEST_MAX_BYTES``, ``HARVEST_RETRIES``,
``HARVEST_BACKOFF``, ``HARVEST_RETRY_AFTER_CAP``, ``HARVEST_PRECEDENCE``, ``HARVEST_REMOVAL_MAX_SHARE``.

Every command checks all of them (``Settings.check``) before it does anything: a value that cannot work is
bad input, named in a one-line error, whichever command was given it.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from harvest import __version__
from harvest.core.errors import InputError

DEFAULT_DB = "harvest.db"
DEFAULT_CONTACT = "https://github.com/harvest-trials/harvest"


def _number(env: Mapping[str, str], name: str, default: float, *, above_zero: bool = False) -> float:
    """A setting that is a number: finite (``nan`` and ``inf`` parse as floats, but mean nothing here), not
    negative, and above 0 when 0 would mean nothing either (a timeout)."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{name}={raw!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(f"{name}={raw!r} is not a finite number")
    if value < 0:
        raise InputError(f"{name}={raw!r} must not be negative")
    if above_zero and value == 0:
        raise InputError(f"{name}={raw!r} must be more than 0")
    return value


def _header_value(name: str, value: str) -> str:
    """A value that goes into an HTTP header as it is: printable ASCII on one line (a line break would start a
    header of its own; httpx refuses anything else, deep inside the first request)."""
    if not all(" " <= char <= "~" for char in value):
        raise InputError(
            f"{name}={value!r} cannot go into the User-Agent header: use printable ASCII on one line "
            "(percent-encode the rest, e.g. mailto:j%C3%B6ns@example.org)"
        )
    return value


def _base_url(name: str, value: str) -> str:
    """An http(s) URL with a host: anything else (ftp://, a typo, a bare word) is refused here, not found out at
    the first request as an unreachable robots.txt."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or _UNSAFE.search(value):
        raise InputError(f"{name}={value!r} is not an http:// or https:// URL with a host")
    return value


_UNSAFE = re.compile(r"[\x00-\x20\x7f]")  # spaces and control characters have no place in a base URL
# The settings read per source, by suffix: HARVEST_<SOURCE>_URL, _RPS, _CONCURRENCY.
_PER_SOURCE = re.compile(r"^HARVEST_([A-Z0-9]+)_(URL|RPS|CONCURRENCY)$")


@dataclass(frozen=True)
class HttpSettings:
    user_agent: str
    timeout: float = 30.0
    deadline: float = 300.0  # a whole response (connect, headers, body) within this many seconds
    max_bytes: int = 256 * 1024 * 1024
    attempts: int = 5
    backoff: float = 1.0  # first wait; doubles per attempt, with jitter
    backoff_cap: float = 60.0
    retry_after_cap: float = 300.0


@dataclass(frozen=True)
class Settings:
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    def http(self) -> HttpSettings:
        contact = _header_value("HARVEST_CONTACT", self.env.get("HARVEST_CONTACT") or DEFAULT_CONTACT)
        agent = self.env.get("HARVEST_USER_AGENT")
        agent = _header_value("HARVEST_USER_AGENT", agent) if agent else f"harvest/{__version__} (+{contact})"
        return HttpSettings(
            user_agent=agent,
            timeout=_number(self.env, "HARVEST_TIMEOUT", 30.0, above_zero=True),
            deadline=_number(self.env, "HARVEST_DEADLINE", 300.0, above_zero=True),
            max_bytes=int(_number(self.env, "HARVEST_MAX_BYTES", 256 * 1024 * 1024)),
            attempts=max(1, int(_number(self.env, "HARVEST_RETRIES", 4)) + 1),
            backoff=_number(self.env, "HARVEST_BACKOFF", 1.0),
            backoff_cap=_number(self.env, "HARVEST_BACKOFF_CAP", 60.0),
            retry_after_cap=_number(self.env, "HARVEST_RETRY_AFTER_CAP", 300.0),
        )

    def check(self) -> None:
        """Read every setting the environment gives, so that any command refuses one that cannot work (exit 2,
        naming it), not only the commands that would use it."""
        self.http()
        for name in sorted(self.env):
            match = _PER_SOURCE.match(name)
            if match is None:
                continue
            source, kind = match.group(1).lower(), match.group(2)
            if kind == "URL":
                self.base_url(source, "https://example.org")
            elif kind == "RPS":
                self.rps(source, 1.0)
            else:
                self.concurrency(source, 1)

    def base_url(self, source: str, default: str) -> str:
        name = f"HARVEST_{source.upper()}_URL"
        given = self.env.get(name)
        return (_base_url(name, given) if given else default).rstrip("/")

    def rps(self, source: str, default: float) -> float:
        return _number(self.env, f"HARVEST_{source.upper()}_RPS", default)

    def concurrency(self, source: str, default: int) -> int:
        return max(1, int(_number(self.env, f"HARVEST_{source.upper()}_CONCURRENCY", default)))

    def removal_max_share(self, default: float) -> float:
        """HARVEST_REMOVAL_MAX_SHARE: the largest share of the registry's stored trials one listing may find
        missing and look for (a fraction, 0 to 1); more is taken for a listing glitch, and nothing is marked."""
        share = _number(self.env, "HARVEST_REMOVAL_MAX_SHARE", default)
        if share > 1:
            raise InputError(f"HARVEST_REMOVAL_MAX_SHARE={share:g} is a share of the file: a fraction from 0 to 1")
        return share

    def precedence(self, default: list[str], registry: str) -> list[str]:
        """Merge order, most trusted first. HARVEST_PRECEDENCE=veeva,ichgcp,... reorders the mirrors."""
        raw = self.env.get("HARVEST_PRECEDENCE")
        if not raw:
            return list(default)
        order = [name.strip() for name in raw.split(",") if name.strip()]
        unknown = [name for name in order if name not in default]
        if unknown:
            raise InputError(f"HARVEST_PRECEDENCE names unknown sources: {', '.join(unknown)}")
        # The registry itself is never outranked by a mirror, whatever the setting says.
        order = [name for name in order if name != registry]
        rest = [name for name in default if name not in order and name != registry]
        return [registry, *order, *rest]
