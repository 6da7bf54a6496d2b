"""What changed between two versions of a study, field by field, values as JSON text (the ``changes`` table)."""

from __future__ import annotations

import json
from typing import Any

from harvest.core.schema import STUDY_FIELDS, Study
from harvest.merge.equivalence import jsonable


def json_value(value: Any) -> str | None:
    if value is None or value == [] or value == {}:
        return None
    return json.dumps(jsonable(value), ensure_ascii=False, sort_keys=True)


def diff_studies(old: Study, new: Study) -> list[tuple[str, str | None, str | None]]:
    """Field-level differences between two versions of a study, values as JSON text."""
    changes = []
    for name in STUDY_FIELDS:
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            old_json, new_json = json_value(before), json_value(after)
            if old_json != new_json:
                changes.append((name, old_json, new_json))
    return changes
