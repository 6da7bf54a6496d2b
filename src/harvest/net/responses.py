"""Responses as sources see them, and reading what a server said: bodies, JSON, ``Retry-After``."""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from harvest.core.errors import BadResponse


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


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header in either form (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def decode_json(response: Response) -> Any:
    """Parse a JSON body; a body that is not JSON (truncated, an HTML error page) is a BadResponse."""
    try:
        return orjson.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadResponse(
            f"response is not valid JSON ({len(response.content):,} bytes; {exc.__class__.__name__}: {exc})",
            url=response.url,
        ) from None


def first_line(content: bytes) -> str:
    text = content[:500].decode("utf-8", errors="replace").strip()
    return text.splitlines()[0][:200] if text else ""
