"""``studies.provenance`` (which record supplied which fields) and the ``field_provenance`` view that spells it out.

Most trials are one record's: the registry's, every field of the trial from it. Listing those fields again (over
a kilobyte a trial, the names of every field the trial has) would store twice what the row and its tables say,
so such a trial's provenance names the record and ``"*"``: every field the trial has. A trial that two records
describe lists each one's fields, as before. ``field_provenance`` gives one row per field either way: for ``"*"``
the fields the trial has are read from its row and its tables, as ``Study.populated_fields`` reads them from the
study (a value that is neither NULL nor empty; a table with at least one row).
"""

from __future__ import annotations

import json

from harvest.core.schema import ROW_TABLES, STUDY_FIELDS

EVERY_FIELD = "*"
_TABLES = ("conditions", "keywords", "interventions", "locations", "contacts", "identifiers", *ROW_TABLES)


def provenance_text(provenance: dict[str, list[str]]) -> str | None:
    """The column's JSON: ``{"source|record_key": "*"}`` for a trial one record supplied, else each record's
    fields."""
    if not provenance:
        return None
    if len(provenance) == 1:
        return json.dumps(dict.fromkeys(provenance, EVERY_FIELD))
    return json.dumps(provenance, sort_keys=True)


def _has(field: str) -> str:
    """SQL: whether the trial ``s`` has a value for ``field``."""
    if field == "collaborators":
        return "EXISTS (SELECT 1 FROM sponsors x WHERE x.nct_id = s.nct_id AND x.role = 'COLLABORATOR')"
    if field in _TABLES:
        return f"EXISTS (SELECT 1 FROM {field} x WHERE x.nct_id = s.nct_id)"
    return f"(s.{field} IS NOT NULL AND s.{field} != '')"


# The fields a trial has, as a JSON array in the order ``merge`` lists them (sorted by name).
FIELDS_OF_TRIAL = (
    "(SELECT json_group_array(name) FROM ("
    + " UNION ALL ".join(f"SELECT '{field}' AS name WHERE {_has(field)}" for field in sorted(STUDY_FIELDS))
    + "))"
)

FIELD_PROVENANCE = f"""
    SELECT s.nct_id, f.value AS field,
           substr(p.key, 1, instr(p.key, '|') - 1) AS source,
           r.url, r.fetched_at
    FROM studies s, json_each(s.provenance) p,
         json_each(CASE WHEN p.type = 'text' AND p.value = '{EVERY_FIELD}' THEN {FIELDS_OF_TRIAL} ELSE p.value END) f
    LEFT JOIN source_records r
      ON r.source = substr(p.key, 1, instr(p.key, '|') - 1) AND r.record_key = substr(p.key, instr(p.key, '|') + 1)"""
