"""A value of the wrong type is coerced where that is safe, else left out, and either way noted, never fatal.

The registry's JSON now and then carries a value of another type than its own spec says (a number where the
spec says text: ``achievements[].numUnits`` given as ``10``). Rejecting the study over it would lose every other
field of it, in every table, so ``repair`` mends the data the schema rejected: a number where text is wanted
becomes that text, text or a float that is a whole number where a count is wanted becomes the number, and
anything else is left out (the field NULL, or the list item dropped when the item itself cannot be stored).
Each repair is noted in the record's ``unmapped`` (field path -> what was given, and what became of it), as an
unknown enum word is. The NCT number and the provenance are never repaired: without them there is no record.
"""

from __future__ import annotations

import json
import re
from typing import Any

_NEVER = {"nct_id", "provenance"}
_WHOLE = re.compile(r"^\s*[+-]?[0-9]+\s*$")
_DELETE = object()


def repair(data: dict[str, Any], errors: list[dict[str, Any]]) -> bool:
    """Mend ``data`` where pydantic's ``errors`` point; False when one of them is not for a repair to settle."""
    notes: dict[str, str] = data.setdefault("unmapped", {})
    drops: list[tuple[list[Any], int]] = []
    for error in errors:
        chain = _chain(data, list(error["loc"]))
        if not chain or chain[0][1] in _NEVER:
            return False
        holder, key = chain[-1]
        given = holder[key]
        field = ".".join(str(k) for _, k in chain if isinstance(k, str))
        fixed, outcome = _coerced(given, error["type"])
        if fixed is _DELETE:
            del holder[key]
        elif outcome is not None:
            holder[key] = fixed
        else:
            outcome = "not stored"
            if given is None and len(chain) > 1:  # already empty and still refused: the enclosing value goes
                holder, key = chain[-2]
                if holder is data and key in _NEVER:
                    return False
            if isinstance(holder, list):
                drops.append((holder, key))
            else:
                holder[key] = None
        notes.setdefault(field, f"{_shown(given)} ({error['msg'].lower()}; {outcome})")
    for holder, index in sorted(drops, key=lambda d: (id(d[0]), d[1]), reverse=True):
        del holder[index]
    return True


def _chain(data: dict[str, Any], loc: list[Any]) -> list[tuple[Any, Any]]:
    """(container, key) for each step of ``loc`` that exists in ``data``. pydantic may add a type tag or a
    missing key's name after the value's own place; those steps are not in the data and end the chain."""
    chain: list[tuple[Any, Any]] = []
    node: Any = data
    for part in loc:
        if not _holds(node, part):
            break
        chain.append((node, part))
        node = node[part]
    return chain


def _holds(node: Any, part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _coerced(given: Any, kind: str) -> tuple[Any, str | None]:
    """(the repaired value, what became of it) when the value can be kept; (None, None) when it cannot."""
    if kind == "extra_forbidden":
        return _DELETE, "not stored"
    if kind == "string_type" and isinstance(given, int | float) and not isinstance(given, bool):
        text = json.dumps(given)
        return text, f"stored as text {text!r}"
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        if isinstance(given, float) and given.is_integer():
            return int(given), f"stored as {int(given)}"
        if isinstance(given, str) and _WHOLE.match(given):
            return int(given), f"stored as {int(given)}"
    return None, None


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
