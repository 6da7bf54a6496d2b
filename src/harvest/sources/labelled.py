"""Labelled values and prose out of HTML, whatever elements happen to carry them.

Mirror pages print a fact as a label followed by its value: ``<td>Status</td><td>Recruiting</td>``,
``<dt>Overall Status</dt><dd>Withheld</dd>``, ``<span>NCT number</span> <span>NCT04268537</span>``,
``<h3>Status</h3>`` in one column and ``<p>Recruiting</p>`` in the next, ``<h2>Clinical Trial Summary</h2>``
over a body. Markup changes with every redesign; the words rarely do. So site modules name the labels they
expect and this module finds them by their visible text, not by tag or class.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from selectolax.lexbor import LexborNode

from harvest.sources.htmltext import BLOCK_TAGS, SKIP_TAGS, text_lines

# A label is short; anything longer is prose, and skipping it keeps the search linear in practice.
MAX_LABEL_CHARS = 120
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_LIST_ITEM = re.compile(r"^(?:\d{1,3}[.)]|[-*•·])\s+\S")


def label_key(text: str) -> str:
    """How labels compare: case, spacing and a trailing colon do not matter."""
    return " ".join(text.split()).rstrip(":").strip().lower()


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


def elements(root: LexborNode | None) -> Iterator[LexborNode]:
    """Every element under ``root`` in document order, skipping scripts, styles and the head."""
    if root is None:
        return
    stack = [root]
    while stack:
        node = stack.pop()
        if node.tag.startswith("-") or node.tag in SKIP_TAGS:
            continue
        yield node
        children = []
        child = node.child
        while child is not None:
            children.append(child)
            child = child.next
        stack.extend(reversed(children))


def _has_content(node: LexborNode) -> bool:
    if node.tag == "-text":
        return bool((node.text_content or "").strip())
    return not node.tag.startswith("-") and node.tag not in SKIP_TAGS


def _following(node: LexborNode) -> Iterator[LexborNode]:
    sibling = node.next
    while sibling is not None:
        if _has_content(sibling):
            yield sibling
        sibling = sibling.next


def next_content(node: LexborNode) -> LexborNode | None:
    """The next sibling that shows something or is an element (blank text and comments skipped)."""
    sibling = node.next
    while sibling is not None and sibling.tag.startswith("-") and not (sibling.tag == "-text" and node_text(sibling)):
        sibling = sibling.next
    return sibling


def _anchor(node: LexborNode, key: str) -> LexborNode:
    """Climb from the innermost element holding the label while nothing follows it (``<td><b>Label</b></td>``)."""
    while next(_following(node), None) is None:
        parent = node.parent
        if parent is None or parent.tag in ("body", "html") or label_key(node_text(parent)) != key:
            break
        node = parent
    return node


def _holds_label(node: LexborNode, key: str) -> bool:
    """Whether a child element shows the same label: start from the innermost one, then climb (see _anchor)."""
    return any(not child.tag.startswith("-") and label_key(node_text(child)) == key for child in _children(node))


def _stops(anchor: LexborNode, sibling: LexborNode, wanted: set[str]) -> bool:
    """Whether ``sibling`` starts the next label rather than continuing this label's value."""
    if sibling.tag == "-text":
        return False
    if anchor.tag == sibling.tag and anchor.tag in ("dt", "th"):
        return True
    if anchor.tag in _HEADINGS and sibling.tag in _HEADINGS and sibling.tag <= anchor.tag:
        return True
    text = sibling.text(deep=True) or ""
    return len(text) <= MAX_LABEL_CHARS and label_key(node_text(sibling)) in wanted


def find_labelled(root: LexborNode | None, labels: Iterable[str]) -> dict[str, list[Labelled]]:
    """Every occurrence of the given labels under ``root``, keyed by ``label_key``, in page order.

    Pass every label the layout prints, including ones the parser ignores: a label that is not
    listed reads as part of the value before it.
    """
    wanted = {label_key(label) for label in labels}
    found: dict[str, list[Labelled]] = {}
    used: set[int] = set()
    for node in elements(root):
        raw = node.text(deep=True) or ""
        if not raw.strip() or len(raw) > MAX_LABEL_CHARS * 4:
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
        for sibling in _following(anchor):
            if _stops(anchor, sibling, wanted):
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


def _paragraphs(node: LexborNode) -> list[str]:
    if node.tag == "-text":
        text = unwrap(text_lines(node))
        return [text] if text else []
    if node.tag in ("ol", "ul"):
        text = _list_text(node)
        return [text] if text else []
    children = list(_children(node))
    if not any(child.tag in BLOCK_TAGS or child.tag in ("ol", "ul") for child in children):
        text = unwrap(text_lines(node))
        return [text] if text else []
    paragraphs: list[str] = []
    inline: list[str] = []
    for child in children:
        if child.tag == "-text" or child.tag not in BLOCK_TAGS:
            inline.extend(text_lines(child))
            continue
        if inline:
            paragraphs.append(unwrap(inline))
            inline = []
        paragraphs.extend(_paragraphs(child))
    if inline:
        paragraphs.append(unwrap(inline))
    return [p for p in paragraphs if p]


def prose(nodes: Iterable[LexborNode]) -> str | None:
    """Running text: one paragraph per block, separated by a blank line; lists as numbered or starred lines."""
    paragraphs = [p for node in nodes for p in _paragraphs(node)]
    return "\n\n".join(paragraphs) or None
