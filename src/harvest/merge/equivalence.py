"""When two sources say the same thing, however they wrote it; and a field's value as plain JSON data."""

from __future__ import annotations

import re
from typing import Any

from harvest.core.dates import same_date
from harvest.core.schema import PartialDate


def jsonable(value: Any) -> Any:
    """A field's value as plain JSON data (models dumped without their empty keys)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    return value


_ESCAPES = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>=~|])")


def normal_text(value: str) -> str:
    """Text as a reader compares it: case, spacing, markdown escapes and trailing punctuation don't count."""
    text = _ESCAPES.sub(r"\1", value)
    text = re.sub(r"\s+", " ", text).strip().casefold()
    return text.rstrip(" .;,")


def _item_key(item: Any) -> Any:
    if isinstance(item, str):
        return normal_text(item)
    if hasattr(item, "name") and isinstance(getattr(item, "name", None), str):  # interventions
        return normal_text(item.name)
    if hasattr(item, "facility"):  # locations
        return (normal_text(item.facility or ""), normal_text(item.country or ""))
    if hasattr(item, "design_group_label"):  # arm-intervention links
        return (normal_text(item.design_group_label or ""), normal_text(item.intervention_name or ""))
    if hasattr(item, "label") and hasattr(item, "group_type"):  # arm groups: mirrors show labels, not types
        return normal_text(item.label or "")
    if hasattr(item, "scheme"):  # identifiers
        return (str(item.scheme), item.value.casefold())
    return jsonable(item)


def equivalent(name: str, a: Any, b: Any) -> bool:
    """Whether two sources say the same thing about a field, however they wrote it."""
    if isinstance(a, PartialDate) and isinstance(b, PartialDate):
        return same_date(a.value, b.value)
    if isinstance(a, str) and isinstance(b, str):
        return normal_text(a) == normal_text(b)
    if isinstance(a, list) and isinstance(b, list):
        keys_a = {repr(_item_key(item)) for item in a}
        keys_b = {repr(_item_key(item)) for item in b}
        if name in {"locations", "contacts", "identifiers", "collaborators"}:
            # mirrors show a subset (first sites, "Loading..."): a subset is not a disagreement
            return keys_a <= keys_b or keys_b <= keys_a
        return keys_a == keys_b
    return a == b
