"""Sitemaps (sitemaps.org protocol): an index points at shards, shards list page URLs with lastmod."""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree import ElementTree

from harvest.core.errors import BadResponse

_NS = re.compile(r"^\{[^}]*\}")


@dataclass(frozen=True)
class SitemapEntry:
    url: str
    lastmod: str | None = None


@dataclass(frozen=True)
class Sitemap:
    is_index: bool
    entries: list[SitemapEntry]


def parse_sitemap(content: bytes, url: str) -> Sitemap:
    """Parse a sitemap or sitemap index; a body that is not one is a BadResponse (retried, then reported)."""
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError as exc:
        raise BadResponse(f"sitemap is not valid XML ({exc})", url=url) from None
    kind = _NS.sub("", root.tag)
    if kind not in ("sitemapindex", "urlset"):
        raise BadResponse(f"not a sitemap (root element <{kind}>)", url=url)
    entries = []
    for child in root:
        loc = lastmod = None
        for item in child:
            name = _NS.sub("", item.tag)
            if name == "loc" and item.text:
                loc = item.text.strip()
            elif name == "lastmod" and item.text:
                lastmod = item.text.strip()
        if loc:
            entries.append(SitemapEntry(loc, lastmod))
    return Sitemap(kind == "sitemapindex", entries)
