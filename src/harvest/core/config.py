"""Settings, read from the environment so cron lines and tests can change them without flags.

Per source: ``HARVEST_<SOURCE>_URL`` (base URL), ``HARVEST_<SOURCE>_RPS``
(requests per second, 0 = no limit) and ``HARVEST_<SOURCE>_CONCURRENCY``.
Global: ``HARVEST_DB``, ``HARVEST_CONTACT``, ``HARVEST_USER_AGENT``,
``HARVEST_TIMEOUT``, ``HARVEST_MAX_BYTES``, ``HARVEST_RETRIES``,
``HARVEST_BACKOFF``, ``HARVEST_RETRY_AFTER_CAP``, ``HARVEST_PRECEDENCE``, ``HARVEST_REMOVAL_MAX_SHARE``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class HttpSettings:
    user_agent: str
    timeout: float = 30.0
    max_bytes: int = 256 * 1024 * 1024
    attempts: int = 5
    backoff: float = 1.0  # first wait; doubles per attempt, with jitter
    backoff_cap: float = 60.0
    retry_after_cap: float = 300.0


@dataclass(frozen=True)
class Settings:
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    def http(self) -> HttpSettings:
        contact = self.env.get("HARVEST_CONTACT") or DEFAULT_CONTACT
        agent = self.env.get("HARVEST_USER_AGENT") or f"harvest/{__version__} (+{contact})"
        return HttpSettings(
            user_agent=agent,
            timeout=_number(self.env, "HARVEST_TIMEOUT", 30.0, above_zero=True),
            max_bytes=int(_number(self.env, "HARVEST_MAX_BYTES", 256 * 1024 * 1024)),
            attempts=max(1, int(_number(self.env, "HARVEST_RETRIES", 4)) + 1),
            backoff=_number(self.env, "HARVEST_BACKOFF", 1.0),
            backoff_cap=_number(self.env, "HARVEST_BACKOFF_CAP", 60.0),
            retry_after_cap=_number(self.env, "HARVEST_RETRY_AFTER_CAP", 300.0),
        )

    def base_url(self, source: str, default: str) -> str:
        return (self.env.get(f"HARVEST_{source.upper()}_URL") or default).rstrip("/")

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
