"""AACT's own test expectations hold on harvest's file.

AACT's model specs (spec/models/*_spec.rb) load a JSON record and expect rows in its tables. Here the same JSON
records (fixtures/aact/json_data, each under its own NCT number: AACT's placeholder NCT000001 is none) are
harvested through the replay server, and every row each spec expects is looked for, value for value, in the
AACT-named table or view of harvest's file. A value may differ only where harvest differs from AACT on purpose;
each such difference is named here, checked by its own rule (not waved through), and named in README's
"Coming from AACT"; and each one named must actually occur, so the list cannot go stale.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest

from harvest.testing import FIXTURES, CtgovSite, ReplayServer, base_url_env
from tests.conftest import ROOT, TEST_ENV, Cli

AACT = FIXTURES / "aact"
SPEC = json.loads((AACT / "spec_expectations.json").read_text(encoding="utf-8"))
Row = dict[str, Any]

# AACT's model specs that expect no table of the registry's data, or whose table another change builds.
NOT_RUN = {
    "pending_result_spec.rb": "checked in tests/test_compliance_qc.py, on AACT's own fixture and expected rows",
    "search_result_spec.rb": "AACT's saved searches: its own bookkeeping, not the registry's data",
    "study_search_spec.rb": "AACT's saved searches",
    "mesh_term_spec.rb": "AACT's copy of the MeSH thesaurus, loaded from a file, not from records",
    "clinical_trials_api_v2_spec.rb": "AACT's HTTP client",
    "study_downloader_spec.rb": "AACT's download machinery",
    "study_json_record_spec.rb": "AACT's staging of raw records",
    "study_record_spec.rb": "AACT's staging of raw records",
    "study_processor_spec.rb": "AACT's load orchestration",
    "study_content_spec.rb": "empty spec",
    "file_record_spec.rb": "AACT's published file bookkeeping",
    "support_load_event_spec.rb": "AACT's load events",
    "verifier_spec.rb": "AACT's load checks",
}
# The specs whose expectations are computed from their JSON, as the spec computes them (below).
PROVIDED_DOCUMENT_NCT = "NCT03064438"  # the spec's own, which the documents' URLs contain


# -- the deliberate differences ------------------------------------------------------------------------------


class Context:
    """What a difference's rule may look at: the record as harvested (``unmapped``) and its JSON."""

    def __init__(self, unmapped: dict[str, str], record: dict[str, Any]) -> None:
        self.unmapped = unmapped
        self.record = record


def _partial_date(aact: Any, ours: Any, ctx: Context) -> bool:
    """A date known to the month or year is kept as written; AACT stores a day of it (the last; for
    anticipated postings the first)."""
    return isinstance(ours, str) and len(ours) in (4, 7) and isinstance(aact, str) and aact.startswith(ours + "-")


def _unknown_word(aact: Any, ours: Any, ctx: Context) -> bool:
    """A word harvest's vocabulary does not know is kept in ``unmapped`` and the column is NULL (for phases: the
    known ones kept); AACT stores any word. What AACT derives from the word follows (arms or groups)."""
    noted = " ".join(ctx.unmapped.values())
    if isinstance(aact, str) and "/" in aact:  # phases
        missing = set(aact.split("/")) - set((ours or "").split("/"))
        return (
            bool(missing)
            and all(word in noted for word in missing)
            and set((ours or "").split("/")) <= set(aact.split("/"))
        )
    if isinstance(aact, int) or isinstance(ours, int):  # number_of_arms / number_of_groups
        return "INTERVENTIONAL" in ctx.unmapped.get("study_type", "")
    return ours is None and isinstance(aact, str) and aact in noted


def _milestone_description(aact: Any, ours: Any, ctx: Context) -> bool:
    """AACT's milestones.description reads achievements[].description, which the API does not define (its spec's
    JSON has it; the registry's records do not); harvest's description is the achievement's comment."""
    achievements = [
        a
        for period in ctx.record.get("resultsSection", {}).get("participantFlowModule", {}).get("periods", [])
        for m in period.get("milestones", [])
        for a in m.get("achievements", [])
    ]
    return ours is None and any(a.get("description") == aact and "comment" not in a for a in achievements)


Rule = Callable[[Any, Any, Context], bool]
DIFFERENCES: dict[str, tuple[Rule, set[tuple[str, str]]]] = {
    "partial-dates": (
        _partial_date,
        {
            ("studies", "start_date"),
            ("studies", "completion_date"),
            ("studies", "primary_completion_date"),
            ("studies", "verification_date"),
            ("outcomes", "anticipated_posting_date"),
        },
    ),
    "unknown-words": (
        _unknown_word,
        {
            ("studies", "study_type"),
            ("studies", "phase"),
            ("studies", "number_of_arms"),
            ("studies", "number_of_groups"),
            ("facilities", "status"),
        },
    ),
    "milestone-description": (_milestone_description, {("milestones", "description")}),
}


# -- the harvest -------------------------------------------------------------------------------------------


def _record(case: dict[str, Any]) -> dict[str, Any]:
    record = json.loads((AACT / "json_data" / case["json"]).read_text(encoding="utf-8"))
    record.setdefault("protocolSection", {}).setdefault("designModule", {}).update(case.get("design_module", {}))
    if not record["protocolSection"]["designModule"]:
        del record["protocolSection"]["designModule"]
    return record


def _key(case: dict[str, Any]) -> str:
    return case["json"] + json.dumps(case.get("design_module", {}), sort_keys=True)


class Harvested:
    """One harvest of every record the specs load, each under an NCT number of its own."""

    def __init__(self, db: Path, records: dict[str, tuple[str, dict[str, Any]]]) -> None:
        self.db = db
        self.records = records  # record key -> (NCT number, record)

    def nct(self, key: str) -> str:
        return self.records[key][0]

    def rows(self, sql: str, *params: Any) -> list[Row]:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in conn.execute(sql, params)]
        finally:
            conn.close()

    def context(self, key: str) -> Context:
        nct, record = self.records[key]
        (row,) = self.rows("SELECT unmapped FROM studies WHERE nct_id = ?", nct)
        return Context(json.loads(row["unmapped"] or "{}"), record)


def _numbered(records: dict[str, dict[str, Any]]) -> dict[str, tuple[str, dict[str, Any]]]:
    out = {}
    for index, (key, record) in enumerate(records.items()):
        nct = PROVIDED_DOCUMENT_NCT if key.startswith("provided_document.json") else f"NCT{90000001 + index}"
        record = copy.deepcopy(record)
        record["protocolSection"].setdefault("identificationModule", {})["nctId"] = nct
        out[key] = (nct, record)
    return out


@pytest.fixture(scope="module")
def harvested(tmp_path_factory: pytest.TempPathFactory) -> Harvested:
    records: dict[str, dict[str, Any]] = {}
    for case in SPEC["cases"]:
        records[_key(case)] = _record(case)
    for name in [
        "baseline_count.json",
        "provided_document.json",
        *(f"baseline_measurements_{i}.json" for i in range(1, 7)),
    ]:
        records[_key({"json": name})] = _record({"json": name})
    built = json.loads((AACT / "json_data" / SPEC["calculated_values"]["json"]).read_text(encoding="utf-8"))
    for record in built:
        records["built:" + record["protocolSection"]["identificationModule"]["nctId"]] = record
    numbered = _numbered(records)
    db = tmp_path_factory.mktemp("aact") / "harvest.db"
    with ReplayServer(CtgovSite([record for _, record in numbered.values()])) as server:
        result = Cli({**TEST_ENV, **base_url_env({"ctgov": server}), "HARVEST_DB": str(db)})("run")
    assert result.exit_code == 0, result.stderr  # no record refused, whatever its values
    return Harvested(db, numbered)


# -- the comparison ----------------------------------------------------------------------------------------


def _same(aact: Any, ours: Any) -> bool:
    numbers = (int, float, bool, Decimal)
    if isinstance(aact, numbers) and isinstance(ours, numbers):
        return abs(float(aact) - float(ours)) < 1e-9
    return aact == ours


class Comparison:
    def __init__(self) -> None:
        self.used: set[str] = set()

    def match(self, table: str, expected: list[Row], found: list[Row], ctx: Context) -> list[str]:
        """What is wrong: expected rows not found (after the deliberate differences), rows found not expected."""
        problems, left = [], list(found)
        for row in expected:
            for candidate in left:
                used = self._agrees(table, row, candidate, ctx)
                if used is not None:
                    self.used |= used
                    left.remove(candidate)
                    break
            else:
                problems.append(f"expected {row}, found {[{k: c.get(k) for k in row} for c in left]}")
        problems.extend(f"not expected: {row}" for row in left)
        return problems

    @staticmethod
    def _agrees(table: str, aact: Row, ours: Row, ctx: Context) -> set[str] | None:
        used = set()
        for column, value in aact.items():
            if _same(value, ours.get(column)):
                continue
            names = [n for n, (rule, where) in DIFFERENCES.items() if (table, column) in where]
            if not names or not DIFFERENCES[names[0]][0](value, ours.get(column), ctx):
                return None
            used.add(names[0])
        return used


def _resolved(harvested: Harvested, nct: str, row: Row) -> Row:
    """The spec's row with our NCT number, and each ``{"result_group": code}`` as that group's id here."""
    out = {}
    for column, value in row.items():
        if column == "nct_id":
            value = nct
        elif isinstance(value, dict):
            (group,) = harvested.rows(
                "SELECT id FROM result_groups WHERE nct_id = ? AND ctgov_group_code = ?", nct, value["result_group"]
            )
            value = group["id"]
        out[column] = value
    return out


def _found(harvested: Harvested, nct: str, case: dict[str, Any], columns: list[str]) -> list[Row]:
    source = case.get("sql") or f"SELECT * FROM {case['table']}"
    return harvested.rows(f"SELECT {', '.join(columns)} FROM ({source}) q WHERE q.nct_id = ?", nct)


def _case_id(case: dict[str, Any]) -> str:
    return f"{case['spec'].rsplit('/', 1)[-1]}:{case['table']}:{case.get('json_as_aact_names_it', case['json'])}"


# -- the specs that compute their expectations from their JSON ------------------------------------------------


def _decimal(text: Any) -> float | None:
    """Ruby's BigDecimal(text) rescue nil, as the baseline spec converts."""
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None
    return float(value) if text is not None and value.is_finite() else None


def _groups(nct: str, module: dict[str, Any]) -> list[Row]:
    return [
        {"nct_id": nct, "ctgov_group_code": g["id"], "result_type": "Baseline", "title": g.get("title"),
         "description": g.get("description"), "outcome_id": None}
        for g in module.get("groups", [])
    ]  # fmt: skip


def _denominator(denoms: list[Row] | None, module_denoms: list[Row], group: str, units: str) -> Any:
    denom = next(d for d in (denoms or module_denoms) if d["units"] == units)
    return next(c for c in denom["counts"] if c["groupId"] == group)["value"]


def _baseline_rows(nct: str, module: dict[str, Any]) -> list[Row]:
    """The rows spec/models/baseline_measurement_spec.rb expects: a measure, class or category with no values
    still has one row; a value's number analysed comes from its class's denominators, else its measure's,
    else the module's, in the measure's units (Participants when it names none)."""
    rows = []
    for measure in module["measures"]:
        pct = measure.get("calculatePct")
        base = {
            "nct_id": nct, "result_group_id": None, "ctgov_group_code": None, "classification": None,
            "category": None, "title": measure.get("title"), "description": measure.get("description"),
            "units": measure.get("unitOfMeasure"), "population_description": measure.get("populationDescription"),
            "param_type": measure.get("paramType"), "param_value": None, "param_value_num": None,
            "dispersion_type": measure.get("dispersionType"), "dispersion_value": None, "dispersion_value_num": None,
            "dispersion_lower_limit": None, "dispersion_upper_limit": None, "explanation_of_na": None,
            "calculate_percentage": None if pct is None else ("No" if pct is False else "Yes"),
            "number_analyzed": None, "number_analyzed_units": "Participants",
        }  # fmt: skip
        if not measure.get("classes"):
            rows.append(base)
            continue
        for klass in measure["classes"]:
            with_class = {**base, "classification": klass.get("title")}
            if not klass.get("categories"):
                rows.append(with_class)
                continue
            for category in klass["categories"]:
                with_category = {**with_class, "category": category.get("title")}
                if not category.get("measurements"):
                    rows.append(with_category)
                    continue
                for m in category["measurements"]:
                    units = measure.get("denomUnitsSelected") or "Participants"
                    denoms = klass.get("denoms") or measure.get("denoms")
                    analysed = _denominator(denoms, module["denoms"], m["groupId"], units)
                    rows.append({
                        **with_category, "result_group_id": {"result_group": m["groupId"]},
                        "ctgov_group_code": m["groupId"], "param_value": m.get("value"),
                        "param_value_num": _decimal(m.get("value")), "dispersion_value": m.get("spread"),
                        "dispersion_value_num": _decimal(m.get("spread")),
                        "dispersion_lower_limit": _decimal(m.get("lowerLimit")),
                        "dispersion_upper_limit": _decimal(m.get("upperLimit")), "explanation_of_na": m.get("comment"),
                        "number_analyzed": None if analysed is None else int(analysed), "number_analyzed_units": units,
                    })  # fmt: skip
    return rows


Check = tuple[str, list[Row], list[Row], Context]  # table, rows expected (resolved), rows found, context


def _spec_case(harvested: Harvested, case: dict[str, Any]) -> Check:
    key = _key(case)
    nct = harvested.nct(key)
    expected = [_resolved(harvested, nct, row) for row in case["rows"]]
    return case["table"], expected, _found(harvested, nct, case, list(case["rows"][0])), harvested.context(key)


def _computed(harvested: Harvested, key: str, table: str, rows: list[Row]) -> Check:
    nct = harvested.nct(key)
    expected = [_resolved(harvested, nct, row) for row in rows]
    return table, expected, _found(harvested, nct, {"table": table}, list(rows[0])), harvested.context(key)


def _computed_checks(harvested: Harvested) -> dict[str, Check]:
    """The specs that compute their expectations from their JSON, computed the same way here."""
    checks: dict[str, Check] = {}
    key = _key({"json": "baseline_count.json"})
    nct, record = harvested.records[key]
    module = record["resultsSection"]["baselineCharacteristicsModule"]
    denoms = module["denoms"][0]
    checks["baseline_count_spec.rb:result_groups"] = _computed(harvested, key, "result_groups", _groups(nct, module))
    counts = [
        {"nct_id": nct, "result_group_id": {"result_group": c["groupId"]}, "ctgov_group_code": c["groupId"],
         "units": denoms["units"], "scope": "overall", "count": int(c["value"])}
        for c in denoms["counts"]
    ]  # fmt: skip
    checks["baseline_count_spec.rb:baseline_counts"] = _computed(harvested, key, "baseline_counts", counts)
    for index in range(1, 7):
        key = _key({"json": f"baseline_measurements_{index}.json"})
        nct, record = harvested.records[key]
        module = record["resultsSection"]["baselineCharacteristicsModule"]
        name = f"baseline_measurement_spec.rb:{index}"
        checks[f"{name}:result_groups"] = _computed(harvested, key, "result_groups", _groups(nct, module))
        counts = [{"nct_id": nct, "ctgov_group_code": c["groupId"]} for d in module["denoms"] for c in d["counts"]]
        checks[f"{name}:baseline_counts"] = _computed(harvested, key, "baseline_counts", counts)
        rows = _baseline_rows(nct, module)
        checks[f"{name}:baseline_measurements"] = _computed(harvested, key, "baseline_measurements", rows)
    key = _key({"json": "provided_document.json"})
    nct, record = harvested.records[key]
    documents = [
        {"nct_id": nct, "document_type": d.get("label"), "has_protocol": d.get("hasProtocol"),
         "has_icf": d.get("hasIcf"), "has_sap": d.get("hasSap"), "document_date": d["date"],
         "url": f"https://ClinicalTrials.gov/ProvidedDocs/{nct[-2:]}/{nct}/{d['filename']}"}
        for d in record["documentSection"]["largeDocumentModule"]["largeDocs"]
    ]  # fmt: skip
    checks["provided_document_spec.rb:provided_documents"] = _computed(harvested, key, "provided_documents", documents)
    for row in SPEC["calculated_values"]["rows"]:
        name = f"calculated_value_spec.rb:{row['nct_id']}"
        checks[name] = _computed(harvested, "built:" + row["nct_id"], "calculated_values", [row])
    return checks


CASES = {_case_id(case): case for case in SPEC["cases"]}
COMPUTED_CHECKS = [
    "baseline_count_spec.rb:result_groups",
    "baseline_count_spec.rb:baseline_counts",
    *(f"baseline_measurement_spec.rb:{i}:{t}" for i in range(1, 7)
      for t in ("result_groups", "baseline_counts", "baseline_measurements")),
    "provided_document_spec.rb:provided_documents",
    "calculated_value_spec.rb:NCT001",
    "calculated_value_spec.rb:NCT002",
]  # fmt: skip


@pytest.fixture(scope="module")
def compared(harvested: Harvested) -> tuple[dict[str, list[str]], set[str]]:
    """Every check, once: what is wrong in each, and which deliberate differences the checks needed."""
    checks = {name: _spec_case(harvested, case) for name, case in CASES.items()} | _computed_checks(harvested)
    comparison = Comparison()
    problems = {name: comparison.match(*check) for name, check in checks.items()}
    return problems, comparison.used


@pytest.mark.parametrize("name", [*CASES, *COMPUTED_CHECKS])
def test_every_row_an_aact_spec_expects_is_on_harvests_file(
    compared: tuple[dict[str, list[str]], set[str]], name: str
) -> None:
    problems = compared[0][name]
    assert not problems, "\n".join(problems)


def test_every_model_spec_is_checked_or_says_why_not(compared: tuple[dict[str, list[str]], set[str]]) -> None:
    checked = {name.split(":", 1)[0] for name in compared[0]}
    assert checked.isdisjoint(NOT_RUN)
    assert checked | set(NOT_RUN) == set(SPEC["model_specs"])


def test_every_deliberate_difference_occurs_and_the_readme_names_it(
    compared: tuple[dict[str, list[str]], set[str]],
) -> None:
    assert compared[1] == set(DIFFERENCES)  # each one was needed to match a spec's row, and no other was
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Coming from AACT", 1)[1].split("\n## ", 1)[0]
    for name in DIFFERENCES:
        assert f"`{name}`" in section, name
