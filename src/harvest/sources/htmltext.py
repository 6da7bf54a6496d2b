"""Text out of HTML the way a reader sees it: one line per block, words never glued across blocks.

Mirror parsers are label-driven, so what matters is the rendered text and its
line structure, not tags or classes. Block elements and ``<br>`` end lines;
inline elements join as the browser joins them (so a page that glues two
inline elements without whitespace stays glued, and the site module decides).
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "caption",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "html",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
        "option",
        "label",
        "legend",
    }
)
SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head", "title", "meta", "link", "-comment"})


def parse_html(content: bytes | str) -> LexborHTMLParser:
    return LexborHTMLParser(content if isinstance(content, str) else content.decode("utf-8", errors="replace"))


def _children(node: LexborNode) -> list[LexborNode]:
    children = []
    child = node.child
    while child is not None:
        children.append(child)
        child = child.next
    return children


_PRESERVE = re.compile(r"white-space\s*:\s*(pre|pre-wrap|pre-line|break-spaces)\b", re.I)
_LEAVE_PRE = object()  # stack marker: the preformatted element opened before it ends here


def _preformatted(node: LexborNode) -> bool:
    """Whether a browser keeps this element's source line breaks (<pre>, or an inline white-space style)."""
    if node.tag in ("pre", "textarea", "listing", "plaintext"):
        return True
    style = node.attributes.get("style") if node.attributes else None
    return bool(style and _PRESERVE.search(style))


def _within_preformatted(node: LexborNode) -> bool:
    current: LexborNode | None = node
    while current is not None and current.tag not in ("body", "html"):
        if _preformatted(current):
            return True
        current = current.parent
    return False


def _walk(node: LexborNode, out: list[str]) -> None:
    # An explicit stack, not recursion: a page nested thousands of levels deep must not exhaust Python's stack.
    pending: list[LexborNode | str | object] = _children(node)[::-1]
    preformatted = int(_within_preformatted(node))
    while pending:
        item = pending.pop()
        if item is _LEAVE_PRE:
            preformatted -= 1
            continue
        if isinstance(item, str):
            out.append(item)
            continue
        assert isinstance(item, LexborNode)
        tag = item.tag
        if tag == "-text":
            text = item.text_content or ""
            # Outside preformatted text a source line break is just a space, as a browser renders it.
            out.append(text if preformatted else text.replace("\r", " ").replace("\n", " "))
        elif tag == "br":
            out.append("\n")
        elif tag not in SKIP_TAGS:
            block = tag in BLOCK_TAGS
            keep_breaks = _preformatted(item)
            if block:
                pending.append("\n")
            if keep_breaks:
                pending.append(_LEAVE_PRE)
            pending.extend(_children(item)[::-1])
            if keep_breaks:
                preformatted += 1
            if block:
                pending.append("\n")


def text_lines(node: LexborNode | None) -> list[str]:
    """The visible lines of a subtree, whitespace collapsed, empty lines dropped."""
    if node is None:
        return []
    out: list[str] = []
    if node.tag == "-text":
        out.append(node.text_content or "")
    else:
        _walk(node, out)
    lines = (" ".join(line.split()) for line in "".join(out).split("\n"))
    return [line for line in lines if line]


def block_text(node: LexborNode | None, separator: str = "\n") -> str:
    """The visible text of a subtree with its lines joined by ``separator``."""
    return separator.join(text_lines(node))
