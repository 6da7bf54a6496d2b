"""Canonical records an older harvest stored (``source_records.record``, ``study_versions.record``), read into
today's ``Study``.

A record is stored as the JSON of the ``Study`` it was parsed into; when the schema renames or reshapes a field,
the records stored before no longer validate. They are re-parsed from their raw payloads when the file is
rebuilt after an upgrade, but they are read before that too (the record a rebuild replaces, ``harvest show``),
so ``load_record`` brings one written by schema 5 to today's shape first.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from harvest.core.aact import number, p_value_parts
from harvest.core.schema import Study

# Schema 5's row lists whose names are now AACT's views (or, for documents, AACT's other table).
_RENAMED = {
    "documents": "provided_documents",
    "facility_contacts": "location_contacts",
    "outcome_measurements": "outcome_measurement_values",
    "reported_events": "reported_event_stats",
}
_MESH_TYPE = {"mesh": "mesh-list", "ancestor": "mesh-ancestor"}


def load_record(text: str | bytes) -> Study:
    """A stored record as a Study, whichever schema stored it."""
    try:
        return Study.model_validate_json(text)
    except ValidationError:
        data = json.loads(text)
        if not upgrade_record(data):
            raise
        return Study.model_validate(data)


def upgrade_record(data: dict[str, Any]) -> bool:
    """Bring a record stored by schema 5 to today's shape, in place; False when it is not such a record."""
    if "provided_documents" in data or "documents" not in data:
        return False
    for old, new in _RENAMED.items():
        data[new] = data.pop(old, [])
    for table in ("browse_conditions", "browse_interventions"):
        for term in data.get(table) or ():
            term["mesh_type"] = _MESH_TYPE.get(term.get("mesh_type"), term.get("mesh_type"))
    for outcome in data.get("design_outcomes") or ():
        outcome["outcome_type"] = (outcome.get("outcome_type") or "").lower() or None
    for analysis in data.get("outcome_analyses") or ():
        _numbers_beside_text(analysis)
    return True


def _numbers_beside_text(analysis: dict[str, Any]) -> None:
    """Schema 5 kept an analysis's estimate, p-value and limits as text; today they are numbers, the text in
    ``*_raw`` beside them (as AACT keeps them)."""
    analysis["param_value_raw"] = analysis.get("param_value")
    analysis["param_value"] = analysis.pop("param_value_num", None)
    for name in ("dispersion_value", "ci_lower_limit", "ci_upper_limit"):
        analysis[f"{name}_raw"] = analysis.get(name)
        analysis[name] = number(analysis.get(name))
    analysis["p_value_raw"] = analysis.get("p_value")
    analysis["p_value"], analysis["p_value_modifier"] = p_value_parts(analysis.get("p_value"))
    analysis["ci_percent"] = number(analysis.get("ci_percent"))
