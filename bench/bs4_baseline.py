"""The HTML baseline: the mirrors' label-driven extraction over a BeautifulSoup (html.parser) tree.

To compare like with like, the baseline runs the very same extraction as the product (each site module's
``parse``: the same labels, the same text rendering, the same mapping and validation) and swaps only the
HTML library: ``parse_html`` returns a BeautifulSoup tree dressed in the few members of selectolax's node
API the site modules use (``tag``, ``parent``, ``child``, ``next``, ``text()``, ``css()``, ...). So it
extracts the same fields the same way, by construction, and ``run.py`` checks that every fixture gives an
identical result. What the ratio then measures is the HTML library and its tree access: what the product
would cost had it been written with BeautifulSoup. The wrapper adds one small object per node visited,
so ``run.py`` also reports BeautifulSoup's parse alone (no extraction at all) as the most flattering
baseline there can be.

This is benchmark code, not product code: it is never imported by ``harvest``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bs4 import BeautifulSoup, Comment, NavigableString, Tag
from bs4.element import CData, Script, Stylesheet, TemplateString

# lexbor's text() includes the text of scripts and styles (not comments); BeautifulSoup's get_text() does not.
TEXT_TYPES = (NavigableString, CData, Script, Stylesheet, TemplateString)
PRESERVE_ALL = frozenset({"html", "pre", "textarea"})
# The modules that call parse_html (veeva reads its pages in veeva.page).
SITE_MODULES = ("harvest.sources.veeva.page", "harvest.sources.inclinicaltrials", "harvest.sources.ichgcp")


def _kind(node: Any) -> str:
    if isinstance(node, BeautifulSoup):
        return "-document"
    if isinstance(node, Tag):
        return node.name
    if isinstance(node, Comment):
        return "-comment"
    if type(node) is NavigableString:
        return "-text"
    return "-" + type(node).__name__.lower()  # Doctype, Declaration, ... (script text is never walked into)


def _wrap(node: Any, tree: Tree) -> Node | None:
    return None if node is None else Node(node, tree)


class Node:
    """A BeautifulSoup element or string, seen through selectolax's ``LexborNode`` API."""

    __slots__ = ("node", "tree")

    def __init__(self, node: Any, tree: Tree) -> None:
        self.node = node
        self.tree = tree

    @property
    def tag(self) -> str:
        return _kind(self.node)

    @property
    def mem_id(self) -> int:
        return id(self.node)

    @property
    def parser(self) -> Tree:
        return self.tree

    @property
    def parent(self) -> Node | None:
        return _wrap(self.node.parent, self.tree)

    @property
    def next(self) -> Node | None:
        return _wrap(self.node.next_sibling, self.tree)

    @property
    def prev(self) -> Node | None:
        return _wrap(self.node.previous_sibling, self.tree)

    @property
    def child(self) -> Node | None:
        contents = getattr(self.node, "contents", None)
        return Node(contents[0], self.tree) if contents else None

    @property
    def last_child(self) -> Node | None:
        contents = getattr(self.node, "contents", None)
        return Node(contents[-1], self.tree) if contents else None

    @property
    def text_content(self) -> str | None:
        return str(self.node) if isinstance(self.node, NavigableString) else None

    @property
    def attributes(self) -> dict[str, Any]:
        return getattr(self.node, "attrs", None) or {}

    def text(self, deep: bool = True) -> str:
        if isinstance(self.node, NavigableString):
            return str(self.node)
        if deep:
            return self.node.get_text(types=TEXT_TYPES)
        return "".join(str(c) for c in self.node.contents if type(c) is NavigableString)

    def iter(self, include_text: bool = False) -> Iterator[Node]:
        for child in getattr(self.node, "contents", ()):
            if include_text or not _kind(child).startswith("-") or isinstance(child, Comment):
                yield Node(child, self.tree)

    def traverse(self, include_text: bool = False) -> Iterator[Node]:
        yield self
        for child in getattr(self.node, "descendants", ()):
            if include_text or isinstance(child, Tag):
                yield Node(child, self.tree)

    def css(self, selector: str) -> list[Node]:
        return [Node(found, self.tree) for found in self.node.select(selector)]

    def css_first(self, selector: str) -> Node | None:
        return _wrap(self.node.select_one(selector), self.tree)

    def replace_with(self, text: str) -> None:
        self.node.replace_with(NavigableString(text))

    def insert_before(self, text: str) -> None:
        self.node.insert_before(NavigableString(text))


class Tree:
    """A parsed page, as ``LexborHTMLParser`` presents it."""

    def __init__(self, content: str | bytes) -> None:
        text = content if isinstance(content, str) else content.decode("utf-8", errors="replace")
        # By default BeautifulSoup shrinks whitespace-only text to one space or newline; lexbor keeps it as written,
        # and the parsers' length checks see it. Keeping it from the root down makes the two trees' text the same.
        self.soup = BeautifulSoup(text, "html.parser", preserve_whitespace_tags=PRESERVE_ALL)

    @property
    def body(self) -> Node | None:
        return _wrap(self.soup.body, self)

    @property
    def root(self) -> Node | None:
        return _wrap(self.soup.html, self)

    def css(self, selector: str) -> list[Node]:
        return [Node(found, self) for found in self.soup.select(selector)]

    def css_first(self, selector: str) -> Node | None:
        return _wrap(self.soup.select_one(selector), self)


def parse_html(content: str | bytes) -> Tree:
    return Tree(content)


@contextmanager
def beautifulsoup_trees() -> Iterator[None]:
    """Within the block, every mirror parser reads its pages through BeautifulSoup instead of lexbor."""
    import importlib

    import harvest.sources.reading.htmltext as htmltext

    modules = [importlib.import_module(name) for name in SITE_MODULES]
    saved = [module.parse_html for module in modules]
    node_type = htmltext.LexborNode
    try:
        for module in modules:
            module.parse_html = parse_html
        htmltext.LexborNode = Node  # the text walker asserts what kind of node it walks
        yield
    finally:
        htmltext.LexborNode = node_type
        for module, original in zip(modules, saved, strict=True):
            module.parse_html = original
