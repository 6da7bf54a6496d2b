"""Labelled values and prose out of HTML, whatever elements happen to carry them.

Mirror pages print a fact as a label followed by its value: ``<td>Status</td><td>Recruiting</td>``,
``<dt>Overall Status</dt><dd>Withheld</dd>``, ``<span>NCT number</span> <span>NCT04268537</span>``,
``<h3>Status</h3>`` in one column and ``<p>Recruiting</p>`` in the next, ``<h2>Clinical Trial Summary</h2>``
over a body. Markup changes with every redesign; the words rarely do. So site modules name the labels they
expect and this module finds them by their visible text, not by tag or class.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Set
from dataclasses import dataclass

from selectolax.lexbor import LexborNode

from harvest.sources.reading.htmltext import BLOCK_TAGS, SKIP_TAGS, text_lines

# A label is short; anything longer is prose, and skipping it keeps the search linear in practice.
MAX_LABEL_CHARS = 120
_LONGEST_RAW_LABEL = MAX_LABEL_CHARS * 4  # a label's text() with hidden text inside it
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_LIST_ITEM = re.compile(r"^(?:[0-9]{1,3}[.)]|[-*•·])\s+\S")


@functools.lru_cache(maxsize=4096)
def label_key(text: str) -> str:
    """How labels compare: case, spacing and a trailing colon do not matter.

    Cached: parsers look the same few dozen labels up on every page.
    """
    return " ".join(text.split()).rstrip(":").strip().lower()


def compact(text: str) -> str:
    """Text without any whitespace, lower-cased: words as they are whatever the markup put between them."""
    return "".join(text.split()).lower()


class ShownText:
    """A cheap test of what an element can show, before its text is rendered (the costly part of a search).

    What an element shows (``node_text``) is the text of its text nodes with line breaks added at blocks:
    the very characters lexbor's ``text()`` returns, once whitespace is set aside, unless the element holds
    text no reader sees (a script, a style, an SVG, ...), which ``text()`` includes. So, outside such
    elements, ``compact(node.text())`` is ``compact(node_text(node))``, and an element whose compacted text
    cannot be what is sought need not be rendered at all. Measured: most of the time of a mirror parser went
    into rendering elements that were not labels.
    """

    def __init__(self, root: LexborNode | None) -> None:
        self.hidden: set[int] = set()  # elements whose text() includes text that is never shown
        if root is None:
            return
        top = root  # the whole document: a label's siblings may lie outside ``root``
        while top.parent is not None:
            top = top.parent
        for node in top.css(_HIDDEN_SELECTOR):
            current: LexborNode | None = node
            while current is not None and current.mem_id not in self.hidden:
                self.hidden.add(current.mem_id)
                current = current.parent

    def may_be(self, node: LexborNode, raw: str, keys: Set[str]) -> bool:
        """Whether the element (whose ``text()`` is ``raw``) may show one of ``keys`` (label keys, compacted
        and without trailing colons). Hidden text (a script inside a label cell) may make ``raw`` longer than
        any label, hence the room in the length test; it runs for every element of a page, so it stays cheap."""
        if len(raw) > _LONGEST_RAW_LABEL:
            return False
        squeezed = "".join(raw.split())  # what ``compact`` does, lower() only when needed
        return bool(squeezed) and (node.mem_id in self.hidden or squeezed.lower().rstrip(":") in keys)

    def may_contain(self, node: LexborNode, raw: str, words: str) -> bool:
        """Whether the element may show ``words`` (compacted) somewhere in its text."""
        return node.mem_id in self.hidden or words in compact(raw)


_HIDDEN_SELECTOR = ", ".join(sorted(tag for tag in SKIP_TAGS if not tag.startswith("-")))


def compact_keys(keys: Iterable[str]) -> set[str]:
    """Label keys in the form ``ShownText.may_be`` compares."""
    return {compact(key).rstrip(":") for key in keys}


def node_text(node: LexborNode | None) -> str:
    """The visible text of a node on one line."""
    return " ".join(text_lines(node))


@dataclass(frozen=True)
class Labelled:
    """One label as the page shows it and the nodes that make up its value."""

    label: str
    nodes: tuple[LexborNode, ...]

    @property
    def text(self) -> str:
        return " ".join(line for node in self.nodes for line in text_lines(node))

    def entries(self) -> list[str | None]:
        """A value that lists names: each list item (``li``), or each line where the value is no list."""
        names: list[str | None] = []
        for node in self.nodes:
            items = [] if node.tag.startswith("-") else [node] if node.tag == "li" else node.css("li")
            if items:
                names.extend(node_text(li) for li in items)
            else:
                names.extend(text_lines(node))
        return names


def elements(root: LexborNode | None) -> Iterator[LexborNode]:
    """Every element under ``root`` in document order, skipping scripts, styles and the head."""
    if root is None or root.tag.startswith("-") or root.tag in SKIP_TAGS:
        return
    # lexbor walks the tree in C (``traverse``, twice as fast as stepping through siblings from Python); what
    # lies inside a skipped element is left out by its identity.
    skipped: set[int] = set()
    for node in root.css(_HIDDEN_SELECTOR):
        skipped.update(inner.mem_id for inner in node.traverse())
    for node in root.traverse():
        if not node.tag.startswith("-") and node.mem_id not in skipped:
            yield node


def _has_content(node: LexborNode) -> bool:
    if node.tag == "-text":
        return bool((node.text_content or "").strip())
    return not node.tag.startswith("-") and node.tag not in SKIP_TAGS


def following(node: LexborNode) -> Iterator[LexborNode]:
    """The siblings after ``node`` that can show something, in order."""
    sibling = node.next
    while sibling is not None:
        if _has_content(sibling):
            yield sibling
        sibling = sibling.next


def next_content(node: LexborNode) -> LexborNode | None:
    """The next sibling that can show something (blank text, comments, scripts and styles skipped)."""
    return next(following(node), None)


def climb(node: LexborNode, keep: Callable[[LexborNode], bool] = lambda parent: True) -> LexborNode:
    """From ``node`` up to the outermost ancestor that still ends where it does: while nothing follows, step to
    the parent (inside the body, and while ``keep(parent)``). What follows the result is what follows ``node``
    on the page (``<td><b>Label</b></td>`` → the ``td``, whose sibling holds the value)."""
    while next_content(node) is None:
        parent = node.parent
        if parent is None or parent.tag in ("body", "html") or not keep(parent):
            break
        node = parent
    return node


def _anchor(node: LexborNode, key: str) -> LexborNode:
    """The element a label's value follows: climb while the parent shows just the label."""
    return climb(node, lambda parent: label_key(node_text(parent)) == key)


def _holds_label(node: LexborNode, key: str) -> bool:
    """Whether a child element shows the same label: start from the innermost one, then climb (see _anchor)."""
    return any(not child.tag.startswith("-") and label_key(node_text(child)) == key for child in _children(node))


def _stops(anchor: LexborNode, sibling: LexborNode, wanted: Set[str], shown: ShownText, keys: Set[str]) -> bool:
    """Whether ``sibling`` starts the next label rather than continuing this label's value."""
    if sibling.tag == "-text":
        return False
    if anchor.tag == sibling.tag and anchor.tag in ("dt", "th"):
        return True
    if anchor.tag in _HEADINGS and sibling.tag in _HEADINGS and sibling.tag <= anchor.tag:
        return True
    return shown.may_be(sibling, sibling.text(deep=True) or "", keys) and label_key(node_text(sibling)) in wanted


@functools.lru_cache(maxsize=64)
def _label_keys(labels: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """A layout's labels as keys, and as ``ShownText`` keys (each layout's list is the same on every page)."""
    wanted = frozenset(label_key(label) for label in labels)
    return wanted, frozenset(compact_keys(wanted))


def find_labelled(root: LexborNode | None, labels: Iterable[str]) -> dict[str, list[Labelled]]:
    """Every occurrence of the given labels under ``root``, keyed by ``label_key``, in page order.

    Pass every label the layout prints, including ones the parser ignores: a label that is not
    listed reads as part of the value before it.
    """
    wanted, keys = _label_keys(tuple(labels))
    visible = ShownText(root)
    found: dict[str, list[Labelled]] = {}
    used: set[int] = set()
    for node in elements(root):
        if not visible.may_be(node, node.text(deep=True) or "", keys):
            continue
        shown = node_text(node)
        key = label_key(shown)
        if key not in wanted or _holds_label(node, key):
            continue
        anchor = _anchor(node, key)
        if anchor.mem_id in used:
            continue
        used.add(anchor.mem_id)
        values = []
        for sibling in following(anchor):
            if _stops(anchor, sibling, wanted, visible, keys):
                break
            values.append(sibling)
        found.setdefault(key, []).append(Labelled(shown, tuple(values)))
    return found


def first(found: dict[str, list[Labelled]], *labels: str) -> Labelled | None:
    """The first of ``labels`` that the page shows (None when it shows none of them)."""
    for label in labels:
        items = found.get(label_key(label))
        if items:
            return items[0]
    return None


def first_text(found: dict[str, list[Labelled]], *labels: str) -> str | None:
    """The value text of the first of ``labels`` that the page shows."""
    item = first(found, *labels)
    return item.text if item else None


# -- prose --------------------------------------------------------------------------------------


def unwrap(lines: list[str]) -> str:
    """Join hard-wrapped lines back into running text, keeping list items on lines of their own."""
    out = ""
    in_list = False
    for line in lines:
        item = bool(_LIST_ITEM.match(line))
        if not out:
            out = line
        elif item:
            out += ("\n" if in_list else "\n\n") + line
        else:
            out += " " + line
        in_list = in_list or item  # a line after an item continues that item
    return out


def _list_text(node: LexborNode) -> str:
    ordered = node.tag == "ol"
    items = [child for child in _children(node) if child.tag == "li"]
    lines = []
    for number, item in enumerate(items, start=1):
        text = unwrap(text_lines(item))
        if text:
            lines.append(f"{number}. {text}" if ordered else f"* {text}")
    return "\n".join(lines)


def _children(node: LexborNode) -> Iterator[LexborNode]:
    child = node.child
    while child is not None:
        if _has_content(child):
            yield child
        child = child.next


def _paragraphs(root: LexborNode) -> list[str]:
    """A block's paragraphs, depth first. The walk keeps its own stack: pages nest thousands of levels deep."""
    paragraphs: list[str] = []
    pending: list[LexborNode | str] = [root]  # blocks still to read, and paragraphs ready, in reverse order
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            paragraphs.append(item)
            continue
        if item.tag in ("ol", "ul"):
            paragraphs.append(_list_text(item))
            continue
        children = [] if item.tag == "-text" else list(_children(item))
        if not any(child.tag in BLOCK_TAGS or child.tag in ("ol", "ul") for child in children):
            paragraphs.append(unwrap(text_lines(item)))
            continue
        inside: list[LexborNode | str] = []
        inline: list[str] = []
        for child in children:
            if child.tag == "-text" or child.tag not in BLOCK_TAGS:
                inline.extend(text_lines(child))
                continue
            if inline:
                inside.append(unwrap(inline))
                inline = []
            inside.append(child)
        if inline:
            inside.append(unwrap(inline))
        pending.extend(reversed(inside))
    return [p for p in paragraphs if p]


def prose(nodes: Iterable[LexborNode]) -> str | None:
    """Running text: one paragraph per block, separated by a blank line; lists as numbered or starred lines."""
    paragraphs = [p for node in nodes for p in _paragraphs(node)]
    return "\n\n".join(paragraphs) or None
