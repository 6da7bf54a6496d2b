"""Control characters in text from the sites: removed where they can never be meant, escaped on a terminal.

A registry record is text anyone with a PRS account typed, and a mirror page is any site's HTML: either can
carry ESC and BEL, which a terminal acts on (colours, a retitled window, a cursor moved over earlier output)
when a table prints them. No trial's title, condition or site name means one, so the canonical record keeps
none (tab and line breaks stay: prose has paragraphs); the raw payload keeps what the site sent. Whatever is
printed for a person (tables, text reports, logs, error lines) shows any that remain as ``\\x1b``.
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls but tab, line feed and carriage return; DEL; the C1 controls (U+0080-U+009F: CSI is U+009B).
_UNMEANT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# On a terminal, one line: every control character, tab and line breaks too.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# ... or several lines: every control character but tab and line feed.
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


# Those Python counts as white space (vertical tab, form feed, the separators, NEL) part words as a space does.
_AS_SPACE = {0x0B, 0x0C, 0x1C, 0x1D, 0x1E, 0x1F, 0x85}
_STRIPPED = {code: (" " if code in _AS_SPACE else None) for code in range(0xA0) if _UNMEANT.match(chr(code))}


def strip_controls(text: str) -> str:
    """``text`` without the control characters no text of a trial means (tab and line breaks kept; one that
    separates words, such as a form feed, becomes a space)."""
    return text.translate(_STRIPPED) if _UNMEANT.search(text) else text


def without_controls(value: Any) -> Any:
    """A parsed value (dicts, lists, strings) with ``strip_controls`` applied to every string in it."""
    if isinstance(value, str):
        return value.translate(_STRIPPED) if _UNMEANT.search(value) else value
    if isinstance(value, dict):
        return {key: without_controls(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_controls(item) for item in value]
    return value


def _shown(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def escape_controls(text: str, *, lines: bool = False) -> str:
    """``text`` as a terminal may print it: each control character written out (ESC as ``\\x1b``); with
    ``lines``, tab and line feed are left to do their work."""
    pattern = _CONTROL_BUT_LINES if lines else _CONTROL
    return pattern.sub(_shown, text) if pattern.search(text) else text
