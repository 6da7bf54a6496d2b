"""What a hostile or broken mirror serves, built for the tests beside the replay server's faults (``server.py``).

Each is modelled on a real thing gone wrong: a sitemap index (sitemaps.org protocol, as the mirrors' own in
``fixtures/``) whose shards point at another host, a shard that is an HTML error page, a study page nested far
deeper than any page a browser would build. The dribbling reply is a fault of the server (``dribble``).
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import escape

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def sitemap_index(shard_urls: Iterable[str]) -> bytes:
    """A sitemap index listing these shards, wherever they are."""
    items = "".join(f"  <sitemap><loc>{escape(url)}</loc></sitemap>\n" for url in shard_urls)
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{SITEMAP_NS}">\n'
    return (head + items + "</sitemapindex>\n").encode()


def urlset(page_urls: Iterable[str]) -> bytes:
    """A sitemap shard listing these pages."""
    items = "".join(f"  <url><loc>{escape(url)}</loc></url>\n" for url in page_urls)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}">\n{items}</urlset>\n'.encode()


# What a shard URL gives when the site's CMS answers it with its error page: HTTP 200, HTML, no XML.
HTML_ERROR_PAGE = (
    b"<!DOCTYPE html><html><head><title>Oops</title></head><body><h1>Something went wrong</h1></body></html>"
)


def nested_page(depth: int, tag: str = "div", text: str = "NCT04067674") -> bytes:
    """A page whose body is ``depth`` elements, each inside the one before: a parser's worst case (building the
    tree takes time in proportion to the square of the depth), and deeper than any real page is."""
    return (
        b"<!DOCTYPE html><html><head><title>Study</title></head><body>"
        + f"<{tag}>".encode() * depth
        + text.encode()
        + f"</{tag}>".encode() * depth
        + b"</body></html>"
    )
