"""Text out of HTML the way a reader sees it: one line per block, words never glued across blocks.

Mirror parsers are label-driven, so what matters is the rendered text and its
line structure, not tags or classes. Block elements and ``<br>`` end lines.
Inline elements join as the browser joins them inside a sentence (``The <b>drug</b>
was given``), but an element that holds only elements (two or more, no text of
its own between them) is a list of values: a status badge beside a phase badge,
condition links written ``<a>…</a><a>…</a>``. Browsers lay such lists out apart
(flex and grid), and component kits write them with no whitespace between, so
each of those children is a line of its own.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from harvest.core.errors import TooDeeplyNested
from harvest.core.text import strip_controls

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


# Deeper than any page a browser builds (Chromium's parser stops nesting at 512 levels); real study pages nest
# some 20 to 40. Building a tree costs lexbor time in proportion to the square of its depth (128,000 nested
# <div>s, a 1.4 MB page: 27 s), so a page nested deeper is refused before it is parsed.
MAX_NESTING = 512


def parse_html(content: bytes | str) -> LexborHTMLParser:
    """The page's tree, or ``TooDeeplyNested`` for a page no real site serves (see ``MAX_NESTING``)."""
    text = content if isinstance(content, str) else content.decode("utf-8", errors="replace")
    # A page with fewer tags than the limit cannot nest deeper than it: most pages need no scan.
    if text.count("<") > MAX_NESTING and (depth := nesting_depth(text, MAX_NESTING)) > MAX_NESTING:
        raise TooDeeplyNested(
            f"page nests elements more than {depth - 1} levels deep (real pages: some 30; a browser stops at "
            f"{MAX_NESTING}); not parsed"
        )
    return LexborHTMLParser(text)


# Elements that never hold others, and those the parser closes when a sibling of their kind opens (<li><li>)
# or that only sit inside one that is counted (<tr> in <table>): neither kind deepens a tree on its own.
_EMPTY = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
                    "source", "track", "wbr"})  # fmt: skip
_SIBLINGS = frozenset({"p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot",
                       "rb", "rt", "rp", "rtc", "colgroup"})  # fmt: skip
# Formatting left open inside one of those (<p><b>text</p>) ends with it: the parser does not nest it further.
_FORMATTING = frozenset({"a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt",
                         "u"})  # fmt: skip
# An <a> (<nobr>, <button>) opened inside another closes that one first: they do not nest either.
_NOT_NESTED = frozenset({"a", "nobr", "button"})
_RAW_TEXT = {name: re.compile(f"</{name}", re.I) for name in ("script", "style", "textarea", "title", "xmp", "iframe")}
_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)|<!--")


def nesting_depth(html: str, stop_at: int) -> int:
    """How deep the page's elements nest, read from its tags in one pass and without building a tree: a close
    tag closes up to the nearest open element of its name (and is ignored when there is none), as the HTML
    parser does; comments and the text of scripts and styles are skipped. The scan stops as soon as the depth
    passes ``stop_at``, so its work is bounded by the page's size whatever the nesting."""
    stack: list[str] = []
    open_by_name: dict[str, int] = {}

    def close(name: str) -> None:  # up to and including the nearest open element of that name
        while (top := stack.pop()) != name:
            open_by_name[top] -= 1
        open_by_name[name] -= 1

    deepest = 0
    position = 0
    while (found := _TAG.search(html, position)) is not None:
        if found.group(2) is None:  # a comment: to its end, or to the end of the page
            end = html.find("-->", found.end())
            if end < 0:
                break
            position = end + 3
            continue
        name = found.group(2).lower()
        end = html.find(">", found.end())
        if end < 0:
            break
        position = end + 1
        if name in _SIBLINGS:
            while stack and stack[-1] in _FORMATTING:
                close(stack[-1])
            continue
        if found.group(1):  # a close tag
            if open_by_name.get(name):
                close(name)
            continue
        if name in _RAW_TEXT:
            closing = _RAW_TEXT[name].search(html, position)
            if closing is None:
                break
            position = closing.end()
            continue
        foreign = open_by_name.get("svg") or open_by_name.get("math")
        if name in _EMPTY or (foreign and html[end - 1] == "/"):  # <path/> closes itself inside SVG, not <div/>
            continue
        if name in _NOT_NESTED and open_by_name.get(name):
            close(name)
        stack.append(name)
        open_by_name[name] = open_by_name.get(name, 0) + 1
        if len(stack) > deepest:
            deepest = len(stack)
            if deepest > stop_at:
                break
    return deepest


_PRESERVE = re.compile(r"white-space\s*:\s*(pre|pre-wrap|pre-line|break-spaces)\b", re.I)
_LEAVE_PRE = object()  # stack marker: the preformatted element opened before it ends here


def _preformatted(node: LexborNode) -> bool:
    """Whether a browser keeps this element's source line breaks (<pre>, or an inline white-space style)."""
    if node.tag in ("pre", "textarea", "listing", "plaintext"):
        return True
    style = node.attributes.get("style")  # (``attributes`` builds a dict at each call: once is enough)
    return bool(style and _PRESERVE.search(style))


# Any element that could keep source line breaks: most pages have none, and then no element of theirs needs
# itself or its ancestors checked (that checking was a tenth of a mirror parser's time).
_MAY_PRESERVE = 'pre, textarea, listing, plaintext, [style*="white-space" i]'
_last_document: tuple[LexborHTMLParser, bool] | None = None


def _document_may_preserve(node: LexborNode) -> bool:
    """Whether the node's document has an element that might keep line breaks (remembered for the last
    document; parsers add text to a tree, never elements or styles, so the answer holds while it is read)."""
    global _last_document
    parser = node.parser
    known = _last_document
    if known is None or known[0] is not parser:
        known = _last_document = (parser, parser.css_first(_MAY_PRESERVE) is not None)
    return known[1]


def _within_preformatted(node: LexborNode) -> bool:
    current: LexborNode | None = node
    while current is not None and current.tag not in ("body", "html"):
        if _preformatted(current):
            return True
        current = current.parent
    return False


def _read_children(node: LexborNode) -> tuple[list[LexborNode], list[bool], bool]:
    """A node's children, which of them are inline elements, and whether they are a list of values: two or more
    elements that can show text and no text between them (module docstring). One pass: this runs for every
    element with several children that a parser renders."""
    children: list[LexborNode] = []
    inline: list[bool] = []
    shown = 0
    listed = True
    child = node.child
    while child is not None:
        children.append(child)
        tag = child.tag
        if tag == "-text":
            inline.append(False)
            if listed and (child.text_content or "").strip():
                listed = False
        elif tag in SKIP_TAGS:
            inline.append(False)
        else:
            shown += 1
            inline.append(tag not in BLOCK_TAGS and not tag.startswith("-"))
        child = child.next
    return children, inline, listed and shown > 1


def _push_children(node: LexborNode, pending: list[LexborNode | str | object]) -> None:
    """Push a node's children so that they pop in document order, a line break between the values of a list.

    Only inline values need a break pushed between them: a block ends its own lines, and the empty line an
    extra break would make is dropped."""
    child = node.child
    if child is None:
        return
    if child.next is None:  # one child (the common case): no list, nothing to separate
        pending.append(child)
        return
    children, inline, listed = _read_children(node)
    if not listed:
        children.reverse()
        pending.extend(children)
        return
    for index in range(len(children) - 1, -1, -1):
        item = children[index]
        pending.append(item)
        if index and inline[index] and not _continues(item):
            pending.append("\n")


# A value that begins with one of these continues the one before it ("<span>Lyon</span><span>, France</span>").
_CONTINUATION = frozenset(",.;:)]}!?%")


def _continues(node: LexborNode) -> bool:
    text = (node.text(deep=True) or "").lstrip()
    return bool(text) and text[0] in _CONTINUATION


def _holds_value_list(node: LexborNode) -> bool:
    """Whether the element or one inside it is a list of values (only elements with element siblings can be)."""
    parents: dict[int, LexborNode] = {}
    for later in node.css("* + *"):  # an element with an element before it: its parent may be such a list
        parent = later.parent
        if parent is not None:
            parents.setdefault(parent.mem_id, parent)
    return any(_read_children(parent)[2] for parent in parents.values())


def _walk(node: LexborNode, out: list[str]) -> None:
    # An explicit stack, not recursion: a page nested thousands of levels deep must not exhaust Python's stack.
    # This loop runs once per node of every text a parser reads, so it is kept lean: strings are told apart by
    # their exact type, and children are pushed straight onto the stack.
    pending: list[LexborNode | str | object] = []
    _push_children(node, pending)
    may_preserve = _document_may_preserve(node)
    preformatted = int(may_preserve and _within_preformatted(node))
    append = out.append
    while pending:
        item = pending.pop()
        if item.__class__ is str:
            append(item)  # type: ignore[arg-type]
            continue
        if item is _LEAVE_PRE:
            preformatted -= 1
            continue
        assert isinstance(item, LexborNode)
        tag = item.tag
        if tag == "-text":
            text = item.text_content or ""
            # Outside preformatted text a source line break is just a space, as a browser renders it.
            append(text if preformatted else text.replace("\r", " ").replace("\n", " "))
        elif tag == "br":
            append("\n")
        elif tag not in SKIP_TAGS:
            block = tag in BLOCK_TAGS
            keep_breaks = may_preserve and _preformatted(item)
            if block:
                pending.append("\n")
            if keep_breaks:
                pending.append(_LEAVE_PRE)
            _push_children(item, pending)
            if keep_breaks:
                preformatted += 1
            if block:
                pending.append("\n")


# Elements that end a line or hide their text: an element with none of them inside shows its text() on one line.
_BREAKS = (BLOCK_TAGS | SKIP_TAGS | {"br"}) - {"-comment"}


def _one_line(node: LexborNode) -> bool:
    """Whether the element shows its whole ``text()`` (the text of every text node inside) on one line."""
    if _document_may_preserve(node):  # cached per document: the cheap test first
        return False
    inner = node.traverse()  # comments come out too, and text() leaves them out as the walk does
    next(inner)  # the element itself
    inside = 0
    for element in inner:
        if element.tag in _BREAKS:
            return False
        inside += 1
    # A list of values inside (see the module's docstring) has its values on lines of their own: the walk does that.
    # A list needs two elements below the one that holds it, so most values (one span, one link) are done here.
    return inside < 2 or not _holds_value_list(node)


def text_lines(node: LexborNode | None) -> list[str]:
    """The visible lines of a subtree, whitespace collapsed, empty lines dropped."""
    if node is None:
        return []
    out: list[str] = []
    tag = node.tag
    if tag == "-text":
        out.append(node.text_content or "")
    elif not tag.startswith("-") and _one_line(node):
        # Nothing inside breaks a line: lexbor's own text() renders it without a walk from Python.
        line = " ".join(strip_controls(node.text(deep=True) or "").split())
        return [line] if line else []
    else:
        _walk(node, out)
    # Control characters (raw, or from &#x1b;) are no part of what a page shows: a label or value never has one.
    lines = (" ".join(line.split()) for line in strip_controls("".join(out)).split("\n"))
    return [line for line in lines if line]
