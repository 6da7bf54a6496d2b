"""A feed (``query.feeds``) as an Atom document (RFC 4287), written with the standard library's XML writer.

What RFC 4287 requires is always there: the feed's ``id``, ``title``, ``updated`` and an ``author`` (so no entry
needs one), and a ``link rel="self"``; every entry's ``id``, ``title``, ``updated`` and a ``link`` to the trial's
page (its ``rel="alternate"``, required of an entry without content), with a text ``summary``.

Everything in it is text from the records, which anyone with a registry account typed: it is written as XML
text or attribute values by the writer, which escapes markup, and characters XML 1.0 cannot hold at all
(control characters, lone surrogates, U+FFFE and U+FFFF) are dropped first, so no record can make the
document ill-formed or smuggle markup into a reader.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

from harvest import __version__
from harvest.query.feeds import Feed

ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
# What XML 1.0 cannot hold (its Char production): C0 controls but tab and line breaks, surrogates, U+FFFE/FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {name: clean(value) for name, value in attributes.items()})
    if text is not None:
        element.text = clean(text)
    return element


def render(feed: Feed, *, self_url: str, page_url: str, trial_url: Callable[[str], str]) -> bytes:
    """The feed as an Atom document: ``self_url`` is where it is served, ``page_url`` the page it follows (the
    watch, the trial, the search), ``trial_url`` the address of a trial's page."""
    root = ET.Element("feed", {"xmlns": ATOM})
    _add(root, "id", feed.id)
    _add(root, "title", feed.title, type="text")
    _add(root, "subtitle", feed.subtitle, type="text")
    _add(root, "updated", feed.updated)
    author = _add(root, "author")
    _add(author, "name", "harvest")
    _add(root, "link", rel="self", type="application/atom+xml", href=self_url)
    _add(root, "link", rel="alternate", type="text/html", href=page_url)
    _add(root, "generator", "harvest", version=__version__)
    for item in feed.items:
        entry = _add(root, "entry")
        _add(entry, "id", item.id)
        _add(entry, "title", item.title, type="text")
        _add(entry, "updated", item.updated)
        _add(entry, "link", rel="alternate", type="text/html", href=trial_url(item.nct_id))
        _add(entry, "summary", item.text, type="text")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
