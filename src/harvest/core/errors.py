"""Every error a harvest user can meet, and the exit code it maps to.

Each message is one line that says what went wrong and where; the CLI prints
``harvest: <message>`` to stderr and exits with the class's ``exit_code``.

    HarvestError                      base of everything below (exit 3)
    ├── InputError                    the user asked for something impossible (exit 2)
    │   ├── InvalidNCTId              not ``NCT`` + 8 digits
    │   ├── UnknownSource             no source of that name
    │   ├── NoSourceForURL            no configured base URL is a prefix of the URL
    │   ├── AmbiguousURL              several sources could serve the URL
    │   ├── NotAddressable            the source cannot fetch a study by NCT number
    │   └── QueryError                bad SQL, a write through ``harvest query``, bad --where
    ├── FetchError                    the network or the site failed us
    │   ├── NotFound                  404: no such study or page
    │   ├── HTTPStatusError           a status we do not retry (400, 403, ...) or retries ran out
    │   ├── TransportFailed           resets, timeouts, refused connections after all retries
    │   ├── DeadlineExceeded          a response not complete within HARVEST_DEADLINE; cut off, not retried
    │   ├── ResponseTooLarge          the body passed the size cap
    │   ├── BadResponse               a body that is not what the endpoint promises (garbage, truncated)
    │   ├── RedirectRefused           a redirect to another host; not followed
    │   ├── BadSitemap                a sitemap shard that failed or is on another host; its pages skipped
    │   └── RobotsDisallowed          robots.txt forbids the URL; it was never requested
    ├── ParseError                    a page or record could not become a Study
    │   ├── LayoutChanged             labels a study page must have are missing (or keys an endpoint's body must have)
    │   ├── NotAStudyPage             the page is something else (a search page, a translation, ...)
    │   ├── TooDeeplyNested           a page nested deeper than any real one; refused before it is parsed
    │   ├── InvalidRecord             the canonical schema rejected a value (names the field)
    │   └── MissingIdentity           the page shows no NCT number (resolvable by title, maybe)
    └── StoreError                    the SQLite file could not be used (exit 3)
        ├── LockHeld                  another run holds the lock
        ├── SanityCheckFailed         a run would have damaged the data; nothing of it applied
        └── DatabaseUnavailable       disk full, read-only, corrupt or missing file
"""

from __future__ import annotations

from typing import Any

from harvest.core.text import strip_controls

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_BAD_INPUT = 2
EXIT_CANNOT_RUN = 3


class HarvestError(Exception):
    """Something went wrong."""

    exit_code = EXIT_CANNOT_RUN
    # The body that could not be parsed, when there was one: kept so the page can be quarantined.
    raw: bytes | None = None
    content_type: str | None = None

    def __init__(self, message: str | None = None, *, url: str | None = None) -> None:
        self.url = url
        super().__init__(message or (self.__doc__ or "").strip())

    def one_line(self) -> str:
        text = " ".join(str(self).split())
        if self.url and self.url not in text:
            text = f"{text} ({self.url})"
        return text


class InputError(HarvestError):
    """Bad input."""

    exit_code = EXIT_BAD_INPUT


class InvalidNCTId(InputError):
    """Not a valid NCT number."""

    def __init__(self, value: str) -> None:
        self.value = value
        super().__init__(f"{value!r} is not an NCT number (expected NCT followed by 8 digits, e.g. NCT04268537)")


class UnknownSource(InputError):
    """No such source."""


class NoSourceForURL(InputError):
    """No source serves this URL."""


class AmbiguousURL(InputError):
    """Several sources could serve this URL."""


class NotAddressable(InputError):
    """This source cannot fetch a study by NCT number."""


class QueryError(InputError):
    """The query was rejected."""


class FetchError(HarvestError):
    """The fetch failed."""


class NotFound(FetchError):
    """Not found."""


class HTTPStatusError(FetchError):
    """Unexpected HTTP status."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        self.status = status
        super().__init__(message, url=url)


class TransportFailed(FetchError):
    """The connection failed."""


class DeadlineExceeded(FetchError):
    """The response was not complete within the deadline (connecting, headers and body together)."""


class ResponseTooLarge(FetchError):
    """The response body is larger than the size cap."""


class BadResponse(FetchError):
    """The response body is not what the endpoint promises."""


class RedirectRefused(FetchError):
    """The site redirected to another host; harvest follows redirects only on the host it asked."""


class BadSitemap(FetchError):
    """A sitemap shard could not be read (an error status, not a sitemap, on another host): a page that failed,
    not a failed run; the pages it lists are left out of this run."""


class RobotsDisallowed(FetchError):
    """robots.txt forbids this URL."""


class ParseError(HarvestError):
    """The page could not be parsed."""


class LayoutChanged(ParseError):
    """The page lacks labels every study page of this site has (or a JSON body the keys its endpoint gives).

    CT.gov's undocumented record-history endpoints raise it for a body without ``history.changes`` or
    ``study``: that one trial fails, not the run.
    """

    def __init__(self, missing: list[str], *, url: str | None = None, source: str | None = None) -> None:
        self.missing = missing
        where = f"{source} page" if source else "page"
        super().__init__(f"layout changed? {where} lacks {', '.join(repr(m) for m in missing)}", url=url)


class NotAStudyPage(ParseError):
    """This page is not a study page."""


class TooDeeplyNested(ParseError):
    """The page nests elements deeper than any real page does; it is not parsed (that would take minutes)."""


class InvalidRecord(ParseError):
    """The record has a value the canonical schema rejects."""


class MissingIdentity(ParseError):
    """The page shows no NCT number.

    Carries what was parsed so a source can resolve the NCT (e.g. by exact
    title) and build the Study without parsing the page again.
    """

    def __init__(self, title: str | None, fields: dict[str, Any], *, url: str | None = None) -> None:
        self.title = strip_controls(title) if title else title  # kept in `unresolved`, listed on a terminal
        self.fields = fields
        super().__init__(f"page shows no NCT number (title {title!r})", url=url)


class StoreError(HarvestError):
    """The database could not be used."""


class LockHeld(StoreError):
    """Another run holds the lock."""


class SanityCheckFailed(StoreError):
    """The run was not applied because it would have damaged the data."""


class DatabaseUnavailable(StoreError):
    """The database file could not be read or written."""
