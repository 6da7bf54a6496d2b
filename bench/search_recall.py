"""`make bench` (search stage): does `harvest search` find what the registry finds? Recall and precision on
queries built from real records, for the index and query as they are and as they were before (today's index),
both measured in the same run over the same file.

The corpus: the 20 real API v2 records in fixtures/ctgov, and the 100 real records ClinicalTrials.gov itself
returned for the search `covid-19` (fixtures/ctgov/search: the classic API v1, read into the v2 shape for the
fields search reads). The pipeline harvests them from the replay server into a fresh file.

The queries, and the trials each should find, worked out from the JSON (not through harvest):

- registry: `covid-19`, the registry's own query, and the other names of COVID-19 a reviewer types (covid,
  sars-cov-2, 2019-ncov, coronavirus disease 2019). Expected: the 100 trials the registry returned, and those
  of the other records whose text or MeSH terms hold one of those names.
- conditions: every condition as a record states it, typed without quotes. Expected: the trials whose searched
  text (titles, acronym, summaries, conditions, keywords, interventions, lead sponsor) or derived MeSH terms
  (terms, ancestors, the words they were found as) hold its words in that order, as the registry's condition
  search maps a condition onto the MeSH tree; a name of a synonym group in it may be any name of the group
  (SARS-CoV2 infection: COVID-19 infection too).
- mesh: every condition and intervention MeSH term and ancestor in the records; the same rule.
- synonyms: every spelling of a synonym group (query/synonyms.txt) that a record holds. Expected: the trials
  holding any spelling of the group.
- identifiers: every NCT number, organisation study ID and secondary ID. Expected: the trials that carry it.

Today's index is the one before MeSH terms, IDs and synonyms (commit 3cb0492): six text columns, conditions,
interventions and keywords under official_title, typed words quoted and nothing more. It is built beside the new
one in the same file (a second FTS5 table over the same rows) and searched with its own rules.

Recall is the share of the expected (query, trial) pairs found, precision the share of found pairs expected,
both summed over every query of a group. Words are compared as FTS5's tokenizer cuts them (letters and digits,
accents and case ignored) but not stemmed, so a stemmed match of a different word (trials for trial) counts
against precision. Writes bench/search-results.md; exits 1 when the new recall is 0.95 or less.

    python bench/search_recall.py
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import sys
import tempfile
import time
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ctgov_server import real_records
from run import BENCH, ROOT, machine

from harvest.core.config import Settings
from harvest.pipeline.harvester import Harvester
from harvest.query import search, synonyms
from harvest.testing import FIXTURES, CtgovSite, ReplayServer, base_url_env

TARGET = 0.95
REGISTRY_QUERY = FIXTURES / "ctgov" / "search" / "covid-19-search.trimmed.json"
COVID_NAMES = ["covid-19", "covid", "sars-cov-2", "2019-ncov", "coronavirus disease 2019"]
TODAY = "3cb0492"

# -- the registry's answer, read into the v2 shape ------------------------------------------------------


def _words(text: str) -> str:
    return text.replace(", ", "_").replace(" ", "_").replace("/", "_").upper()


def _date(text: str | None) -> str | None:
    for pattern, cut in (("%B %d, %Y", 10), ("%B %Y", 7)):
        try:
            return dt.datetime.strptime(text or "", pattern).date().isoformat()[:cut]
        except ValueError:
            continue
    return None


def _id_type(text: str) -> str:
    for word, kind in (
        ("NIH", "NIH"),
        ("Grant", "OTHER_GRANT"),
        ("Registry", "REGISTRY"),
        ("EudraCT", "EUDRACT_NUMBER"),
    ):
        if word in text:
            return kind
    return "OTHER"


def _browse(module: dict[str, Any], kind: str) -> dict[str, Any]:
    def rows(listed: str, item: str) -> list[dict[str, Any]]:
        return module.get(f"{kind}{listed}List", {}).get(f"{kind}{item}", [])

    return {
        "meshes": [{"id": m[f"{kind}MeshId"], "term": m[f"{kind}MeshTerm"]} for m in rows("Mesh", "Mesh")],
        "ancestors": [
            {"id": m[f"{kind}AncestorId"], "term": m[f"{kind}AncestorTerm"]} for m in rows("Ancestor", "Ancestor")
        ],
        "browseLeaves": [
            {
                "id": leaf[f"{kind}BrowseLeafId"],
                "name": leaf[f"{kind}BrowseLeafName"],
                **({"asFound": leaf[f"{kind}BrowseLeafAsFound"]} if f"{kind}BrowseLeafAsFound" in leaf else {}),
                "relevance": leaf.get(f"{kind}BrowseLeafRelevance", "").upper() or None,
            }
            for leaf in rows("BrowseLeaf", "BrowseLeaf")
        ],
    }


def _renamed(module: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {new: module[old] for new, old in names.items() if old in module}


def from_v1(study: dict[str, Any]) -> dict[str, Any]:
    """A classic API v1 study as the v2 record of the fields search reads (keys renamed, enum words upper case)."""
    p = study["ProtocolSection"]
    ident, status = p["IdentificationModule"], p.get("StatusModule", {})
    conditions, design = p.get("ConditionsModule", {}), p.get("DesignModule", {})
    lead = p.get("SponsorCollaboratorsModule", {}).get("LeadSponsor", {})
    interventions = p.get("ArmsInterventionsModule", {}).get("InterventionList", {}).get("Intervention", [])
    secondary = ident.get("SecondaryIdInfoList", {}).get("SecondaryIdInfo", [])
    derived = study.get("DerivedSection", {})
    state = _words(status.get("OverallStatus", "Unknown"))
    start = _date(status.get("StartDateStruct", {}).get("StartDate"))
    update = _date(status.get("LastUpdatePostDateStruct", {}).get("LastUpdatePostDate"))
    identification = {
        "nctId": ident["NCTId"],
        "orgStudyIdInfo": {"id": ident.get("OrgStudyIdInfo", {}).get("OrgStudyId")},
        "secondaryIdInfos": [
            {"id": s["SecondaryId"], "type": _id_type(s.get("SecondaryIdType", ""))} for s in secondary
        ],
        **_renamed(ident, {"briefTitle": "BriefTitle", "officialTitle": "OfficialTitle", "acronym": "Acronym"}),
    }
    status_module: dict[str, Any] = {"overallStatus": "UNKNOWN" if state == "UNKNOWN_STATUS" else state}
    if start:
        status_module["startDateStruct"] = {"date": start}
    if update:
        status_module["lastUpdatePostDateStruct"] = {"date": update, "type": "ACTUAL"}
    phases = [
        ("NA" if phase == "Not Applicable" else _words(phase)) for phase in design.get("PhaseList", {}).get("Phase", [])
    ]
    description = p.get("DescriptionModule", {})
    return {
        "protocolSection": {
            "identificationModule": identification,
            "statusModule": status_module,
            "sponsorCollaboratorsModule": {
                "leadSponsor": {"name": lead.get("LeadSponsorName"), "class": lead.get("LeadSponsorClass")}
            },
            "descriptionModule": _renamed(
                description, {"briefSummary": "BriefSummary", "detailedDescription": "DetailedDescription"}
            ),
            "conditionsModule": {
                "conditions": conditions.get("ConditionList", {}).get("Condition", []),
                "keywords": conditions.get("KeywordList", {}).get("Keyword", []),
            },
            "designModule": {"studyType": _words(design.get("StudyType", "")) or None, "phases": phases},
            "armsInterventionsModule": {
                "interventions": [
                    {"type": _words(i.get("InterventionType", "Other")), "name": i["InterventionName"]}
                    for i in interventions
                ]
            },
        },
        "derivedSection": {
            "conditionBrowseModule": _browse(derived.get("ConditionBrowseModule", {}), "Condition"),
            "interventionBrowseModule": _browse(derived.get("InterventionBrowseModule", {}), "Intervention"),
        },
        "hasResults": False,
    }


def registry_answer() -> tuple[str, list[dict[str, Any]]]:
    """The registry's query and the studies it returned (v2 shape)."""
    response = json.loads(REGISTRY_QUERY.read_text(encoding="utf-8"))["FullStudiesResponse"]
    return response["Expression"], [from_v1(found["Study"]) for found in response["FullStudies"]]


# -- what each trial holds, read from the JSON -----------------------------------------------------------


def tokens(text: str | None) -> tuple[str, ...]:
    """Words as the index's tokenizer cuts them (unicode61, accents removed), not stemmed."""
    folded = unicodedata.normalize("NFKD", text or "")
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    return tuple(re.findall(r"[^\W_]+", folded))


class Trial:
    """One record's searchable texts (each a token tuple), its MeSH terms, and its identifiers."""

    def __init__(self, study: dict[str, Any]) -> None:
        p = study["protocolSection"]
        ident = p["identificationModule"]
        self.nct_id: str = ident["nctId"]
        description = p.get("descriptionModule", {})
        conditions = p.get("conditionsModule", {})
        texts = [ident.get("briefTitle"), ident.get("officialTitle"), ident.get("acronym"),
                 description.get("briefSummary"), description.get("detailedDescription"),
                 p.get("sponsorCollaboratorsModule", {}).get("leadSponsor", {}).get("name"),
                 *conditions.get("conditions", []), *conditions.get("keywords", []),
                 *(i.get("name") for i in p.get("armsInterventionsModule", {}).get("interventions", []))]  # fmt: skip
        self.mesh: list[str] = []
        for name in ("conditionBrowseModule", "interventionBrowseModule"):
            module = study.get("derivedSection", {}).get(name, {})
            self.mesh += [m["term"] for m in module.get("meshes", []) + module.get("ancestors", [])]
            texts += [leaf.get("asFound") for leaf in module.get("browseLeaves", []) if leaf.get("asFound")]
        self.texts = [tokens(text) for text in texts + self.mesh if text]
        self.conditions: list[str] = list(conditions.get("conditions", []))
        self.ids = {ident["nctId"], *ident.get("nctIdAliases", [])}
        self.ids |= {ident.get("orgStudyIdInfo", {}).get("id")} | {
            s.get("id") for s in ident.get("secondaryIdInfos", [])
        }
        self.ids.discard(None)

    def holds(self, phrase: tuple[str, ...]) -> bool:
        n = len(phrase)
        return bool(n) and any(text[i : i + n] == phrase for text in self.texts for i in range(len(text) - n + 1))


# -- queries ---------------------------------------------------------------------------------------------


def variants(phrase: tuple[str, ...], groups: synonyms.Synonyms) -> set[tuple[str, ...]]:
    """The phrase, and the phrase with a name of a synonym group in it (as words) replaced by another of its names:
    the registry takes SARS-CoV2 infection and COVID-19 infection for one condition."""
    found = {phrase}
    for group in groups.groups:
        names = [tokens(name) for name in group]
        for name in names:
            for i in range(len(phrase) - len(name) + 1):
                if phrase[i : i + len(name)] == name:
                    found |= {phrase[:i] + other + phrase[i + len(name) :] for other in names}
    return found


def queries(
    trials: list[Trial], registry_query: str, registry_found: set[str], groups: synonyms.Synonyms
) -> dict[str, dict[str, set[str]]]:
    """group -> query as typed -> the trials it should find."""

    def holding(names: Iterable[str]) -> set[str]:
        phrases = {variant for name in names for variant in variants(tokens(name), groups)}
        return {t.nct_id for t in trials if any(t.holds(p) for p in phrases)}

    covid = holding(COVID_NAMES + [n for g in groups.groups if "covid-19" in g for n in g])
    built: dict[str, dict[str, set[str]]] = {
        "registry": {name: registry_found | covid for name in dict.fromkeys([registry_query, *COVID_NAMES])}
    }
    built["conditions"] = {c: holding([c]) for c in sorted({c for t in trials for c in t.conditions}) if tokens(c)}
    built["mesh"] = {m: holding([m]) for m in sorted({m for t in trials for m in t.mesh})}
    spellings = {}
    for group in groups.groups:
        found_any = holding(group)
        for name in group:
            if holding([name]):
                spellings[name] = found_any
    built["synonyms"] = spellings
    ids: dict[str, set[str]] = {}
    for t in trials:
        for value in t.ids:
            ids.setdefault(value, set()).add(t.nct_id)
    built["identifiers"] = {f'"{value}"' if " " in value else value: found for value, found in sorted(ids.items())}
    return built


# -- the two indexes ---------------------------------------------------------------------------------------

_TODAY_DOCUMENT = """s.brief_title,
  coalesce(s.official_title, '') || char(10) || {conditions} || char(10) || {interventions} || char(10) || {keywords},
  s.acronym, s.brief_summary, s.detailed_description, s.lead_sponsor"""


def _joined(table: str, column: str) -> str:
    return (
        f"coalesce((SELECT group_concat({column}, char(10)) FROM "
        f"(SELECT {column} FROM {table} WHERE nct_id = s.nct_id ORDER BY position)), '')"
    )


def build_today(conn: sqlite3.Connection) -> None:
    """The index as it was at commit 3cb0492, beside the new one (contentless: it only has to match)."""
    document = _TODAY_DOCUMENT.format(
        conditions=_joined("conditions", "name"),
        interventions=_joined("interventions", "name"),
        keywords=_joined("keywords", "keyword"),
    )
    columns = "brief_title, official_title, acronym, brief_summary, detailed_description, lead_sponsor"
    conn.execute(
        f"CREATE VIRTUAL TABLE today_fts USING fts5({columns}, content='',"
        " tokenize='porter unicode61 remove_diacritics 2')"
    )
    conn.execute(f"INSERT INTO today_fts (rowid, {columns}) SELECT s.rowid, {document} FROM studies s")
    conn.commit()


_TODAY_TERM = re.compile(r'"([^"]*)"|(\S+)')


def today_query(text: str) -> str:
    """What the search of 3cb0492 made of typed words: each quoted, a trailing * a prefix, nothing more."""
    parts = []
    for phrase, word in _TODAY_TERM.findall(text):
        term = phrase or word
        prefix = bool(word) and word.endswith("*")
        term = term.rstrip("*") if prefix else term
        if any(ch.isalnum() for ch in term):
            parts.append('"' + term.replace('"', '""') + '"' + ("*" if prefix else ""))
    return " ".join(parts)


def found_today(conn: sqlite3.Connection, text: str) -> set[str]:
    sql = "SELECT s.nct_id FROM today_fts f JOIN studies s ON s.rowid = f.rowid WHERE today_fts MATCH ?"
    return {row[0] for row in conn.execute(sql, (today_query(text),))}


def found_now(conn: sqlite3.Connection, text: str, groups: synonyms.Synonyms) -> set[str]:
    return {row[0] for row in search.search(conn, text, limit=None, synonyms=groups).rows}


# -- the run ---------------------------------------------------------------------------------------------


def harvest(studies: list[dict[str, Any]], db: Path) -> None:
    with ReplayServer(CtgovSite(studies)) as server:
        harvester = Harvester(str(db), Settings(env={**base_url_env({"ctgov": server}), "HARVEST_BACKOFF": "0.01"}))
        try:
            report = harvester.run("ctgov", full=True)
        finally:
            harvester.close()
    if report.outcome != "ok":
        raise SystemExit(f"the corpus did not harvest cleanly: {report.summary()}")


def score(pairs: list[tuple[set[str], set[str]]]) -> tuple[float, float]:
    expected = sum(len(e) for e, _ in pairs)
    found = sum(len(f) for _, f in pairs)
    hit = sum(len(e & f) for e, f in pairs)
    return hit / expected if expected else 1.0, hit / found if found else 1.0


def main() -> int:
    started = time.perf_counter()
    registry_query, registry_studies = registry_answer()
    corpus = {**{s["protocolSection"]["identificationModule"]["nctId"]: s for s in registry_studies}, **real_records()}
    trials = [Trial(study) for study in corpus.values()]
    groups = synonyms.load({})
    registry_found = {s["protocolSection"]["identificationModule"]["nctId"] for s in registry_studies}
    built = queries(trials, registry_query, registry_found, groups)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "recall.db"
        harvest(list(corpus.values()), db)
        conn = sqlite3.connect(db)
        try:
            stored = conn.execute("SELECT count(*) FROM studies").fetchone()[0]
            build_today(conn)
            rows, misses, every_now, every_before = [], [], [], []
            for group, typed in built.items():
                now = [(expected, found_now(conn, text, groups)) for text, expected in typed.items()]
                before = [(expected, found_today(conn, text)) for text, expected in typed.items()]
                rows.append((group, len(typed), sum(len(e) for e in typed.values()), *score(now), *score(before)))
                misses += [(group, text, sorted(e - f)) for text, (e, f) in zip(typed, now, strict=True) if e - f]
                every_now += now
                every_before += before
        finally:
            conn.close()
    overall = (*score(every_now), *score(every_before))
    text = render(rows, overall, misses, len(corpus), stored, registry_query, time.perf_counter() - started)
    (BENCH / "search-results.md").write_text(text, encoding="utf-8")
    print(text)
    print("written to bench/search-results.md", file=sys.stderr)
    return 0 if overall[0] > TARGET else 1


def render(rows: list[tuple[Any, ...]], overall: tuple[float, ...], misses: list[tuple[str, str, list[str]]],
           corpus: int, stored: int, registry_query: str, seconds: float) -> str:  # fmt: skip
    info = machine()
    met = "met" if overall[0] > TARGET else "MISSED"
    lines = [
        "# harvest search: recall and precision",
        "",
        f"Measured {info['date']} by `python bench/search_recall.py` ({seconds:.0f} s), SQLite {info['SQLite']}.",
        "",
        f"The corpus: {corpus} real records ({stored} stored by the harvest): the 20 API v2 records of fixtures/ctgov"
        f" and the 100 the registry returned for `{registry_query}` (fixtures/ctgov/search). Today's index: as of"
        f" {TODAY} (no MeSH terms, IDs or synonyms), built beside the new one in the same file, same run. See the"
        " script's docstring for how each group's expected trials are worked out from the JSON.",
        "",
        "| queries | count | expected pairs | recall | precision | today's recall | today's precision |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for group, count, expected, *figures in rows:
        lines.append(f"| {group} | {count} | {expected} | " + " | ".join(f"{f:.3f}" for f in figures) + " |")
    recall, *others = overall
    totals = f"| **all** | {sum(r[1] for r in rows)} | {sum(r[2] for r in rows)} | **{recall:.3f}** | "
    lines.append(totals + " | ".join(f"{f:.3f}" for f in others) + " |")
    lines += [
        "",
        f"Target: recall above {TARGET} ({met}).",
        "",
        "How to read it. The registry row is the registry's own answer: of the trials it returned for its query,"
        " how many `harvest search` finds for that query and the other names of COVID-19 (today's search found"
        " only those that spell it as typed). In the other rows the expected trials follow the rule above, over the"
        " fields the registry's search covers and the new index holds (its MeSH terms and ancestors, IDs, synonyms):"
        " today's recall there is what a reviewer lost. Precision counts as unexpected a trial that holds a query's"
        " words apart (every word must match, in any field, not as a phrase) or only a stemmed form of one; the new"
        " index searches more text (the MeSH terms and their broader terms) and widens words by their synonyms, so"
        " more trials hold a multi-word condition's words apart, which is why the conditions' precision is lower.",
        "",
    ]
    if misses:
        lines += ["Expected trials the new search did not find:", ""]
        lines += [f"- {group}: `{text}`: {', '.join(missing)}" for group, text, missing in misses[:30]]
    else:
        lines.append("The new search found every expected trial.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
