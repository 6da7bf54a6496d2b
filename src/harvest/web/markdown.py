"""The registry's Markdown (eligibility criteria, summaries) as safe HTML: paragraphs, nested lists, bold.

CT.gov writes a small Markdown: ``* item`` and ``1. item`` lists nested by two-space indents, ``**bold**``,
and backslash escapes (``\\[``, ``\\>``). This renders that much, and escapes everything else, so a record
cannot put HTML on the page. Any other Markdown shows as the text it is.
"""

from __future__ import annotations

import html
import re

_ITEM = re.compile(r"^( *)(?:[*+-]|[0-9]+[.)])\s+(.*)$")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>&|~])")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def plain(text: str) -> str:
    """Backslash escapes undone: the text as a person reads it."""
    return _ESCAPED.sub(r"\1", text)


def _inline(text: str) -> str:
    return _BOLD.sub(r"<strong>\1</strong>", html.escape(plain(text), quote=False))


def render(text: str | None) -> str:
    """HTML for ``text`` (empty for None). Lists nest by indent; other lines are paragraphs."""
    if not text:
        return ""
    out: list[str] = []
    depths: list[tuple[int, str]] = []  # open lists: (indent, "ul" or "ol")

    def close_to(indent: int) -> None:
        while depths and depths[-1][0] > indent:
            out.append(f"</li></{depths.pop()[1]}>")

    for line in text.splitlines():
        if not line.strip():
            continue
        item = _ITEM.match(line)
        if item:
            indent, body = len(item.group(1)), item.group(2)
            kind = "ul" if line.lstrip()[0] in "*+-" else "ol"
            close_to(indent)
            if depths and depths[-1][0] == indent:
                out.append("</li>")
            else:
                out.append(f"<{kind}>")
                depths.append((indent, kind))
            out.append(f"<li>{_inline(body)}")
        else:
            close_to(-1)
            out.append(f"<p>{_inline(line.strip())}</p>")
    close_to(-1)
    return "".join(out)
