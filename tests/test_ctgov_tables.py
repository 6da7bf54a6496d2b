"""The whole CT.gov record as tables: every declared path is in the API spec, and on real records every table
holds as many rows as the JSON has elements, counted here by hand, independently of the mapping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harvest.core.schema import RESULTS_FIELDS, ROW_TABLES
from harvest.sources.ctgov_record import DATE_STRUCTS, SCALARS, TABLES
from harvest.sources.reading.jsonrows import Rows, number
from tests.conftest import FIXTURES, Cli, load_study, rows, scalar

SPEC = FIXTURES / "ctgov" / "openapi" / "ctg-oas-v2.yaml"
WITH_RESULTS = ["NCT02513394", "NCT02210780", "NCT00763412", "NCT01126879"]
WITHOUT_RESULTS = ["NCT03418623", "NCT04267848"]


# -- the declaration against the OpenAPI spec ------------------------------------------------------------


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    return yaml.safe_load(SPEC.read_text(encoding="utf-8"))["components"]["schemas"]


def _resolve(node: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schemas[node["$ref"].rsplit("/", 1)[-1]]
    return node


def spec_node(path: list[str], schemas: dict[str, Any]) -> dict[str, Any]:
    """The spec's schema at a dotted path from a Study, ``[]`` stepping into an array's items."""
    node = _resolve(schemas["Study"], schemas)
    for step in path:
        if step == "[]":
            assert node.get("type") == "array", f"not an array before []: {path}"
            node = _resolve(node["items"], schemas)
            continue
        properties = node.get("properties", {})
        assert step in properties, f"{'.'.join(path)}: no {step!r} (has {sorted(properties)})"
        node = _resolve(properties[step], schemas)
    return node


def _steps(dotted: str) -> list[str]:
    out: list[str] = []
    for piece in dotted.replace("[]", ".[].").split("."):
        if piece:
            out.append(piece)
    return out


def column_full_paths(part: Rows) -> dict[str, list[str]]:
    """Each column's path from the Study root, as the spec would spell it."""
    levels = part.levels()
    prefix_of: dict[str | None, list[str]] = {}
    walked: list[str] = []
    for path, name in levels:
        walked = [*walked, *path] + (["[]"] if name else [])
        prefix_of[name] = list(walked)
    innermost = list(walked)
    out = {}
    for column, (level, path, is_index) in part.column_paths().items():
        if is_index:
            continue
        base = innermost if level is None else prefix_of[level]
        out[column] = base + list(path)
    return out


@pytest.mark.parametrize("part", TABLES, ids=lambda p: f"{p.table}:{p.root.rsplit('.', 1)[-1]}")
def test_every_declared_row_path_is_in_the_api_spec(part: Rows, schemas: dict[str, Any]) -> None:
    assert part.table in ROW_TABLES, f"{part.table} is not a row table of the schema"
    spec_node(_steps(part.root), schemas)
    for column, path in column_full_paths(part).items():
        assert column in ROW_TABLES[part.table].model_fields, f"{part.table}.{column} is not a column"
        spec_node(path, schemas)


@pytest.mark.parametrize("column", [*SCALARS, *DATE_STRUCTS])
def test_every_declared_scalar_path_is_in_the_api_spec(column: str, schemas: dict[str, Any]) -> None:
    path = {**SCALARS, **DATE_STRUCTS}[column]
    spec_node(_steps(path), schemas)


def test_a_wrong_path_is_caught(schemas: dict[str, Any]) -> None:
    with pytest.raises(AssertionError, match="no 'armGroup'"):
        spec_node(_steps("protocolSection.armsInterventionsModule.armGroup[]"), schemas)


# -- row counts on real records, counted by hand ------------------------------------------------------------


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _items(data: Any, *keys: str) -> list[Any]:
    found = _get(data, *keys)
    return found if isinstance(found, list) else []


def expected_counts(study: dict[str, Any]) -> dict[str, int]:
    ps, rs, ds = study.get("protocolSection", {}), study.get("resultsSection", {}), study.get("derivedSection", {})
    arms = _items(ps, "armsInterventionsModule", "armGroups")
    interventions = _items(ps, "armsInterventionsModule", "interventions")
    outcomes_module = ps.get("outcomesModule", {})
    flow = rs.get("participantFlowModule", {})
    baseline = rs.get("baselineCharacteristicsModule", {})
    measures = _items(rs, "outcomeMeasuresModule", "outcomeMeasures")
    events = rs.get("adverseEventsModule", {})
    more = rs.get("moreInfoModule", {})

    def browse(module: str) -> dict[str, list[Any]]:
        return {key: _items(ds, module, key) for key in ("meshes", "ancestors", "browseLeaves", "browseBranches")}

    conditions, drugs = browse("conditionBrowseModule"), browse("interventionBrowseModule")
    measurements = 0  # a measure, class or category without values still has one row (as AACT stores it)
    for measure in _items(baseline, "measures"):
        for klass in measure.get("classes") or [{}]:
            for category in klass.get("categories") or [{}]:
                measurements += len(category.get("measurements") or [{}])
    outcome_measurements = 0
    for measure in measures:
        for klass in measure.get("classes", []):
            for category in klass.get("categories", []):
                outcome_measurements += len(category.get("measurements", []))
    return {
        "design_groups": len(arms),
        "design_group_interventions": sum(len(i.get("armGroupLabels", [])) for i in interventions),
        "intervention_other_names": sum(len(i.get("otherNames", [])) for i in interventions),
        "design_outcomes": sum(
            len(outcomes_module.get(k, [])) for k in ("primaryOutcomes", "secondaryOutcomes", "otherOutcomes")
        ),
        "browse_conditions": len(conditions["meshes"]) + len(conditions["ancestors"]),
        "browse_interventions": len(drugs["meshes"]) + len(drugs["ancestors"]),
        "browse_leaves": len(conditions["browseLeaves"]) + len(drugs["browseLeaves"]),
        "browse_branches": len(conditions["browseBranches"]) + len(drugs["browseBranches"]),
        "study_references": len(_items(ps, "referencesModule", "references")),
        "retractions": sum(len(r.get("retractions", [])) for r in _items(ps, "referencesModule", "references")),
        "links": len(_items(ps, "referencesModule", "seeAlsoLinks")),
        "provided_documents": len(_items(study, "documentSection", "largeDocumentModule", "largeDocs")),
        "documents": len(_items(ps, "referencesModule", "availIpds")),
        "location_contacts": sum(
            len(loc.get("contacts", [])) for loc in _items(ps, "contactsLocationsModule", "locations")
        ),
        "ipd_information_types": len(_items(ps, "ipdSharingStatementModule", "infoTypes")),
        "removed_countries": len(_items(ds, "miscInfoModule", "removedCountries")),
        "id_information": len(_items(ps, "identificationModule", "nctIdAliases"))
        + (1 if _get(ps, "identificationModule", "orgStudyIdInfo") else 0)
        + len(_items(ps, "identificationModule", "secondaryIdInfos")),
        "result_groups": len(flow.get("groups", []))
        + len(baseline.get("groups", []))
        + sum(len(m.get("groups", [])) for m in measures)
        + len(events.get("eventGroups", [])),
        "milestones": sum(
            len(m.get("achievements", [])) for p in flow.get("periods", []) for m in p.get("milestones", [])
        ),
        "drop_withdrawals": sum(
            len(d.get("reasons", [])) for p in flow.get("periods", []) for d in p.get("dropWithdraws", [])
        ),
        "baseline_counts": sum(len(d.get("counts", [])) for d in baseline.get("denoms", [])),
        "baseline_measurements": measurements,
        "outcomes": len(measures),
        "outcome_counts": sum(len(d.get("counts", [])) for m in measures for d in m.get("denoms", [])),
        "outcome_measurement_values": outcome_measurements,
        "outcome_analyses": sum(len(m.get("analyses", [])) for m in measures),
        "reported_event_stats": sum(
            len(e.get("stats", [])) for kind in ("seriousEvents", "otherEvents") for e in events.get(kind, [])
        ),
        "reported_event_totals": 3 * len(events.get("eventGroups", [])),
        "result_agreements": 1 if more.get("certainAgreement") else 0,
        "result_contacts": 1 if more.get("pointOfContact") else 0,
        "submissions": len(_items(study, "derivedSection", "miscInfoModule", "submissionTracking", "submissionInfos")),
        "pending_results": len(
            _items(study, "annotationSection", "annotationModule", "unpostedAnnotation", "unpostedEvents")
        ),
    }


@pytest.fixture(scope="module")
def harvested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full harvest of every study fixture, through the replay server and the CLI."""
    from harvest.testing import CtgovSite, ReplayServer, base_url_env
    from tests.conftest import TEST_ENV

    db = tmp_path_factory.mktemp("tables") / "harvest.db"
    with ReplayServer(CtgovSite.from_dir()) as server:
        cli = Cli({**TEST_ENV, **base_url_env({"ctgov": server}), "HARVEST_DB": str(db)})
        result = cli("run")
        assert result.exit_code == 0, result.output
    return db


@pytest.mark.parametrize("nct", WITH_RESULTS + WITHOUT_RESULTS)
def test_every_table_holds_as_many_rows_as_the_json_has_elements(harvested: Path, nct: str) -> None:
    expected = expected_counts(load_study(nct))
    assert set(expected) == set(ROW_TABLES), "every row table is counted"
    found = {table: scalar(harvested, f"SELECT count(*) FROM {table} WHERE nct_id = ?", (nct,)) for table in expected}
    assert found == expected
    if nct in WITH_RESULTS:
        assert found["result_groups"] > 0 and found["outcomes"] > 0
    else:
        assert found["result_groups"] == 0 and found["design_outcomes"] > 0


def test_the_largest_record_fills_its_tables(harvested: Path) -> None:
    """NCT02513394 (1.45 MB, 437 sites): thousands of event rows, every site that has coordinates with them."""
    study = load_study("NCT02513394")
    counts = expected_counts(study)
    assert counts["reported_event_stats"] > 4000
    sites = study["protocolSection"]["contactsLocationsModule"]["locations"]
    with_point = sum(1 for site in sites if "geoPoint" in site)
    assert len(sites) == 437 and with_point > 400
    located = scalar(harvested, "SELECT count(*) FROM locations WHERE nct_id = 'NCT02513394' AND latitude IS NOT NULL")
    assert located == with_point


def test_values_checked_by_hand(harvested: Path) -> None:
    """NCT02210780 (dupilumab): values read off the JSON by eye."""
    age = rows(
        harvested,
        "SELECT title, param_type, units, ctgov_group_code, param_value, param_value_num, dispersion_value, "
        "dispersion_value_num FROM baseline_measurements WHERE nct_id = 'NCT02210780' AND measure_position = 0 "
        "ORDER BY position LIMIT 1",
    )
    assert age == [("Age, Continuous", "MEAN", "years", "BG000", "39.9", 39.9, "14.04", 14.04)]
    serious = rows(
        harvested,
        "SELECT e.organ_system, e.term, e.vocabulary, e.assessment, g.title, e.subjects_affected, "
        "e.subjects_at_risk FROM reported_events e JOIN result_groups g ON g.nct_id = e.nct_id "
        "AND g.result_type = 'Reported Event' AND g.ctgov_group_code = e.ctgov_group_code "
        "WHERE e.nct_id = 'NCT02210780' AND e.event_type = 'serious' AND e.term = 'Serum sickness-like reaction' "
        "ORDER BY e.position",
    )
    assert serious[1] == (
        "Immune system disorders",
        "Serum sickness-like reaction",
        "MedDRA (18.0)",
        "SYSTEMATIC_ASSESSMENT",
        rows(
            harvested,
            "SELECT title FROM result_groups WHERE nct_id = 'NCT02210780' AND ctgov_group_code = 'EG001' "
            "AND result_type = 'Reported Event'",
        )[0][0],
        1,
        97,
    )
    assert serious[0][5:] == (0, 97)
    ancestors = {
        term
        for (term,) in rows(
            harvested, "SELECT term FROM browse_conditions WHERE nct_id = 'NCT02210780' AND mesh_type = 'mesh-ancestor'"
        )
    }
    assert "Skin Diseases" in ancestors
    mesh = rows(
        harvested,
        "SELECT mesh_id FROM browse_conditions WHERE nct_id = 'NCT02210780' AND term = ?",
        ("Dermatitis, Atopic",),
    )
    assert mesh == [("D000003876",)]
    dates = rows(
        harvested,
        "SELECT results_first_submitted, results_first_posted, results_first_posted_type, disp_first_submitted, "
        "first_submitted, last_update_submitted FROM studies WHERE nct_id = 'NCT02210780'",
    )
    assert dates == [("2020-03-20", "2020-05-07", "ACTUAL", "2017-02-07", "2014-08-05", "2020-04-23")]


def test_measurement_text_is_kept_and_a_number_added_only_where_it_parses() -> None:
    assert number("39.9") == 39.9 and number("-3") == -3.0 and number("1e-3") == 0.001
    for text in ("NA", "<0.001", "5%", "", "0.05 (one-sided)"):
        assert number(text) is None


def test_derived_mesh_lists_are_stored_in_a_stable_order(source: Any) -> None:
    """The registry reorders derived MeSH lists between releases: the same terms give the same rows."""
    from tests.conftest import parse_ctgov

    raw = load_study("NCT02210780")
    shuffled = json.loads(json.dumps(raw))
    module = shuffled["derivedSection"]["conditionBrowseModule"]
    for key in ("meshes", "ancestors", "browseLeaves", "browseBranches"):
        module[key].reverse()
    assert parse_ctgov(source, raw).content_hash() == parse_ctgov(source, shuffled).content_hash()


def test_the_views_put_a_trial_with_results_on_one_line(harvested: Path) -> None:
    """Values expected from NCT02210780's JSON: two arms, the first primary outcome's two values, serious events."""
    study = load_study("NCT02210780")
    results = study["resultsSection"]
    arms = [g["title"] for g in results["participantFlowModule"]["groups"]]
    outcome = results["outcomeMeasuresModule"]["outcomeMeasures"][0]
    groups = {g["id"]: g["title"] for g in outcome["groups"]}
    values = [
        f"{groups[m['groupId']]}: {m['value']} {outcome['unitOfMeasure']}"
        for c in outcome["classes"]
        for k in c["categories"]
        for m in k["measurements"]
    ]
    events = {g["id"]: g for g in results["adverseEventsModule"]["eventGroups"]}
    serious = [f"{g['title']}: {g['seriousNumAffected']}/{g['seriousNumAtRisk']}" for g in events.values()]
    (row,) = rows(
        harvested,
        "SELECT groups, primary_outcome, primary_outcome_values, serious_events FROM results_overview "
        "WHERE nct_id = 'NCT02210780'",
    )
    assert row == ("; ".join(arms), outcome["title"], "; ".join(values), "; ".join(serious))
    primary = study["protocolSection"]["outcomesModule"]["primaryOutcomes"]
    (line,) = rows(
        harvested, "SELECT primary_outcomes, secondary_outcomes FROM study_outcomes WHERE nct_id = 'NCT02210780'"
    )
    assert line == (
        "; ".join(f"{o['measure']} [{o['timeFrame']}]" for o in primary),
        len(study["protocolSection"]["outcomesModule"].get("secondaryOutcomes", [])),
    )
    without = scalar(harvested, "SELECT count(*) FROM results_overview WHERE nct_id = 'NCT03418623'")
    assert without == 0


def test_the_results_fields_are_what_the_results_section_fills() -> None:
    """RESULTS_FIELDS (core, used where a version's changes are summed up) against the CT.gov declaration: every
    column and table read from ``resultsSection``, plus the flag and dates the status module gives with them."""
    scalars = {column for column, path in {**SCALARS, **DATE_STRUCTS}.items() if path.startswith("resultsSection.")}
    tables = {part.table for part in TABLES if part.root.startswith("resultsSection.")}
    dates = {"has_results", "results_first_submitted", "results_first_submitted_qc", "results_first_posted"}
    assert scalars and tables
    assert scalars | tables | dates == RESULTS_FIELDS
