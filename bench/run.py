"""`make bench`: harvest's throughput, memory and cost growth, each against a baseline measured in the same run.

Stages (see bench/README.md):

1. CT.gov end to end: a synthetic CT.gov API (bench/ctgov_server.py, its own process) serves N realistic
   studies; `harvest run --full` (its own process, no rate limit) harvests them into a fresh file. Baseline:
   the same pages fetched over the same loopback HTTP, `json.loads`, flattened and `executemany`d into the
   same tables (no validation, no hashing, no raw payload, no search index): the practical upper limit.
2. Nightly no-op: the same N studies again with a new data release stamp (versionHolder) in every one.
3. HTML parsing: each mirror parser over its fixtures, against the same extraction over BeautifulSoup.
4. Growth and profile: every figure at each N, and a pyinstrument profile of the full run at 10k.

Writes bench/results.md (`--quick`: bench/out/results-quick.md, smaller N, no 100k) and prints the same.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import http.client
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH))

import bs4_baseline  # noqa: E402
from bs4 import BeautifulSoup  # noqa: E402
from ctgov_server import Catalogue  # noqa: E402

from harvest.sources.ctgov_record import DATE_STRUCTS, SCALARS  # noqa: E402
from harvest.sources.ctgov_record import TABLES as ROW_DECLARATION  # noqa: E402
from harvest.sources.reading.jsonrows import tables as json_tables  # noqa: E402
from harvest.store.columns import ROW_COLUMNS  # noqa: E402

TARGET_RATE = 1_000  # studies/s end to end
TARGET_RATIO = 0.5  # of the baseline (which writes the same tables)
TARGET_RSS_MB = 300  # at 100k
TARGET_NOOP_S = 30  # at 100k
TARGET_PAGES_PER_CORE = 500
TARGET_HTML_RATIO = 10
NEW_RELEASE = "2026-11-21"


# -- processes ---------------------------------------------------------------------------------------


@dataclass
class ChildRun:
    """One child process: wall time, CPU time and peak RSS of that process alone (os.wait4)."""

    wall: float
    cpu: float
    peak_rss_mb: float
    returncode: int
    stderr: str


def run_child(cmd: list[str], env: dict[str, str]) -> ChildRun:
    """Run a command to completion and take its own resource usage (not the server's, not ours)."""
    OUT.mkdir(exist_ok=True)
    err_path = OUT / "child-stderr.txt"
    with open(err_path, "wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    return ChildRun(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,
        returncode=process.returncode,
        stderr=err_path.read_text(errors="replace"),
    )


@contextmanager
def ctgov_server(count: int, release: str | None = None, delay: float = 0.0) -> Iterator[str]:
    """The synthetic CT.gov API in its own process; yields its base URL (…/api/v2)."""
    cmd = [sys.executable, str(BENCH / "ctgov_server.py"), "--count", str(count)]
    if release:
        cmd += ["--release", release]
    if delay:
        cmd += ["--delay", str(delay)]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the synthetic CT.gov server did not start (said {url!r})")
        yield url + "/api/v2"
    finally:
        process.terminate()
        process.wait(timeout=30)


def harvest_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVEST_")}
    return {**env, "HARVEST_CTGOV_URL": url, "HARVEST_CTGOV_RPS": "0"}


def harvest_cmd(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "harvest", "--db", str(db), "--quiet", *args]


def fresh(db: Path) -> Path:
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}.lock")):
        path.unlink(missing_ok=True)
    return db


# -- stage 1: CT.gov end to end, and its baseline ---------------------------------------------------


@dataclass
class Baseline:
    wall: float
    fetch: float
    decode: float
    flatten: float
    write: float
    bytes: int
    studies: int


def _flatten(study: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, list[tuple[Any, ...]]]]:
    """The studies row and child rows of one API study, straight from the JSON: no validation, no mapping."""
    p = study.get("protocolSection", {})
    ident, status = p.get("identificationModule", {}), p.get("statusModule", {})
    design, elig = p.get("designModule", {}), p.get("eligibilityModule", {})
    desc, sponsor = p.get("descriptionModule", {}), p.get("sponsorCollaboratorsModule", {})
    cond, arms, cl = (
        p.get("conditionsModule", {}),
        p.get("armsInterventionsModule", {}),
        p.get("contactsLocationsModule", {}),
    )
    info, lead = design.get("designInfo", {}), sponsor.get("leadSponsor", {})
    nct = ident.get("nctId")

    def date(key: str) -> tuple[Any, Any]:
        value = status.get(key) or {}
        return value.get("date"), value.get("type")

    row = (
        nct, ident.get("briefTitle"), ident.get("briefTitle"), ident.get("officialTitle"), ident.get("acronym"),
        status.get("overallStatus"), status.get("lastKnownStatus"), status.get("whyStopped"),
        status.get("statusVerifiedDate"), design.get("studyType"), json.dumps(design.get("phases")),
        *date("startDateStruct"), *date("primaryCompletionDateStruct"), *date("completionDateStruct"),
        *date("studyFirstPostDateStruct"), *date("lastUpdatePostDateStruct"),
        design.get("enrollmentInfo", {}).get("count"), design.get("enrollmentInfo", {}).get("type"),
        info.get("allocation"), info.get("interventionModel"), info.get("primaryPurpose"),
        info.get("maskingInfo", {}).get("masking"), elig.get("sex"), elig.get("minimumAge"), elig.get("maximumAge"),
        elig.get("healthyVolunteers"), elig.get("eligibilityCriteria"), desc.get("briefSummary"),
        desc.get("detailedDescription"), lead.get("name"), lead.get("class"), study.get("hasResults"),
    )  # fmt: skip
    people = [
        *({**x, "kind": "central"} for x in cl.get("centralContacts", [])),
        *({**x, "kind": "official"} for x in cl.get("overallOfficials", [])),
    ]
    children = {
        "conditions": [(nct, i, name) for i, name in enumerate(cond.get("conditions", []))],
        "keywords": [(nct, i, word) for i, word in enumerate(cond.get("keywords", []))],
        "interventions": [
            (nct, i, x.get("type"), x.get("name"), x.get("description"))
            for i, x in enumerate(arms.get("interventions", []))
        ],
        "locations": [
            (nct, i, x.get("facility"), x.get("city"), x.get("state"), x.get("zip"), x.get("country"), x.get("status"))
            for i, x in enumerate(cl.get("locations", []))
        ],
        "sponsors": [(nct, 0, "LEAD", lead.get("name"), lead.get("class"))]
        + [
            (nct, i + 1, "COLLABORATOR", x.get("name"), x.get("class"))
            for i, x in enumerate(sponsor.get("collaborators", []))
        ],
        "contacts": [
            (
                nct,
                i,
                x.get("role"),
                x.get("name"),
                x.get("affiliation"),
                x.get("phone"),
                x.get("email"),
                x.get("phoneExt"),
                x["kind"],
            )
            for i, x in enumerate(people)
        ],
        "identifiers": [
            (nct, i, x.get("type"), x.get("id"), x.get("domain"))
            for i, x in enumerate(ident.get("secondaryIdInfos", []))
        ],
    }
    # The tables and columns the whole record adds, by the same plain walk of the JSON (dicts and lists, no
    # validation, no merge): the declaration's paths are data, so the baseline reads the same ones.
    for table, items in json_tables(study, ROW_DECLARATION).items():
        columns = ROW_COLUMNS[table]
        children[table] = [(nct, i, *(_cell(item.get(c)) for c in columns)) for i, item in enumerate(items)]
    children["locations"] = [
        (*loc, (x.get("geoPoint") or {}).get("lat"), (x.get("geoPoint") or {}).get("lon"))
        for loc, x in zip(children["locations"], cl.get("locations", []), strict=True)
    ]
    extra = tuple(_scalar(study, path) for path in SCALARS.values())
    for path in DATE_STRUCTS.values():
        struct = _scalar(study, path) or {}
        extra += (struct.get("date"), struct.get("type"))
    return row + extra, children


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list) else value


def _scalar(study: dict[str, Any], path: str) -> Any:
    value: Any = study
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return _cell(value)


_STUDY_COLUMNS = (
    "nct_id, title, brief_title, official_title, acronym, overall_status, last_known_status, why_stopped, "
    "status_verified_date, study_type, phases, start_date, start_date_type, primary_completion_date, "
    "primary_completion_date_type, completion_date, completion_date_type, first_posted, first_posted_type, "
    "last_update_posted, last_update_posted_type, enrollment, enrollment_type, allocation, intervention_model, "
    "primary_purpose, masking, sex, minimum_age, maximum_age, healthy_volunteers, eligibility_criteria, "
    "brief_summary, detailed_description, lead_sponsor, lead_sponsor_class, has_results"
)
_STUDY_COLUMNS += "".join(f", {column}" for column in SCALARS)
_STUDY_COLUMNS += "".join(f", {column}, {column}_type" for column in DATE_STRUCTS)


def baseline(url: str, db: Path) -> Baseline:
    """Fetch every page over the same loopback HTTP, json.loads it, executemany its flattened rows."""
    from sqlite_utils import Database

    from harvest.store.studies import CHILD_INSERTS
    from harvest.store.tables import install

    conn = sqlite3.connect(fresh(db))
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    install(Database(conn))  # the same tables, columns and indexes as the harvester's file
    insert_study = f"INSERT INTO studies ({_STUDY_COLUMNS}) VALUES ({','.join('?' * (_STUDY_COLUMNS.count(',') + 1))})"
    parts = urlsplit(url)
    http_conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    query = "format=json&pageSize=1000&countTotal=true"
    token = None
    result = Baseline(0, 0, 0, 0, 0, 0, 0)
    # The same collector policy as the harvester's run loop (harvest.pipeline.nightly): paused, one collection a page.
    gc.disable()
    gc.freeze()
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        http_conn.request("GET", f"{parts.path}/studies?{query}" + (f"&pageToken={token}" if token else ""))
        response = http_conn.getresponse()
        body = response.read()
        t1 = time.perf_counter()
        page = json.loads(body)
        t2 = time.perf_counter()
        rows, children = [], {table: [] for table in CHILD_INSERTS}
        for study in page["studies"]:
            row, child_rows = _flatten(study)
            rows.append(row)
            for table, items in child_rows.items():
                children[table].extend(items)
        t3 = time.perf_counter()
        with conn:
            conn.executemany(insert_study, rows)
            for table, items in children.items():
                conn.executemany(CHILD_INSERTS[table], items)
        t4 = time.perf_counter()
        result.fetch += t1 - t0
        result.decode += t2 - t1
        result.flatten += t3 - t2
        result.write += t4 - t3
        result.bytes += len(body)
        result.studies += len(rows)
        token = page.get("nextPageToken")
        del page, body, rows, children
        gc.collect()
        if not token:
            break
    result.wall = time.perf_counter() - started
    gc.unfreeze()
    gc.enable()
    http_conn.close()
    conn.close()
    return result


@dataclass
class Harvested:
    n: int
    full: ChildRun
    noop: ChildRun
    base: Baseline
    counts_full: dict[str, Any]
    counts_noop: dict[str, Any]
    rewritten: dict[str, int]
    db_mb: float


def _last_run(db: Path) -> dict[str, Any]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return dict(conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone())


def _snapshot(db: Path) -> tuple[dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]]]:
    """What a rewrite would move: per source record (changed_at, run_id, content_hash, fetched_at) and per
    study (updated_at, merge_hash)."""
    with sqlite3.connect(db) as conn:
        records = {
            key: rest
            for key, *rest in conn.execute(
                "SELECT source || '|' || record_key, changed_at, run_id, content_hash, fetched_at FROM source_records"
            )
        }
        studies = {
            nct: tuple(rest) for nct, *rest in conn.execute("SELECT nct_id, updated_at, merge_hash FROM studies")
        }
    return {k: tuple(v) for k, v in records.items()}, studies


def _moved(before: dict[str, tuple[Any, ...]], after: dict[str, tuple[Any, ...]]) -> int:
    return sum(1 for key, value in after.items() if before.get(key) != value) + len(before.keys() - after.keys())


def ctgov_stage(n: int, db: Path) -> Harvested:
    """Baseline, full run and no-op run at one N."""
    with ctgov_server(n) as url:
        base = baseline(url, OUT / f"baseline-{n}.db")
        full = run_child(harvest_cmd(fresh(db), "run", "--full"), harvest_env(url))
    if full.returncode != 0:
        raise RuntimeError(f"harvest run --full at N={n} exited {full.returncode}: {full.stderr[-2000:]}")
    counts_full = _last_run(db)
    records_before, studies_before = _snapshot(db)
    with ctgov_server(n, NEW_RELEASE) as url:
        noop = run_child(harvest_cmd(db, "run", "--full"), harvest_env(url))
    if noop.returncode != 0:
        raise RuntimeError(f"no-op run at N={n} exited {noop.returncode}: {noop.stderr[-2000:]}")
    counts_noop = _last_run(db)
    records_after, studies_after = _snapshot(db)
    with sqlite3.connect(db) as conn:
        changes = conn.execute("SELECT count(*) FROM changes WHERE run_id = ?", (counts_noop["id"],)).fetchone()[0]
    rewritten = {
        "source_records": _moved(records_before, records_after),
        "studies": _moved(studies_before, studies_after),
        "changes": changes,
    }
    size = sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file()) / 2**20
    return Harvested(n, full, noop, base, counts_full, counts_noop, rewritten, size)


# -- stage 5: fetch overlapping work ------------------------------------------------------------------


@dataclass
class Overlap:
    n: int
    delay: float
    fetch: float  # every page fetched alone, one after the other, nothing else done
    processing: float  # the full run with no delay (stage 1 at the same N): parse, merge and store
    wall: float  # the full run with every page delayed


def fetch_only(url: str) -> float:
    """Every /studies page fetched in turn over plain HTTP, bodies read and dropped: the fetch time alone."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    token, started = None, time.perf_counter()
    while True:
        conn.request(
            "GET", f"{parts.path}/studies?format=json&pageSize=1000" + (f"&pageToken={token}" if token else "")
        )
        body = conn.getresponse().read()
        # the token is at the end of the page; decoding the tail is enough to find it
        tail = body[-200:].decode("utf-8", errors="replace")
        token = tail.split('"nextPageToken":"', 1)[1].split('"', 1)[0] if '"nextPageToken":"' in tail else None
        if not token:
            break
    conn.close()
    return time.perf_counter() - started


def overlap_stage(n: int, delay: float = 1.0) -> Overlap:
    """The synthetic server waits ``delay`` s before every page: does the run take fetch + work, or their max?

    Processing is a run with no delay made just before the delayed one, not stage 1's: this machine's speed
    drifts over a benchmark (stage 1's 10k run once took 29.1 s where the same run right before the delayed
    one took 28.2 and 27.8), and a yardstick from minutes earlier can fail or pass the target on drift alone.
    """
    db = OUT / "overlap.db"
    with ctgov_server(n) as url:
        plain = run_child(harvest_cmd(fresh(db), "run", "--full"), harvest_env(url))
    if plain.returncode != 0:
        raise RuntimeError(f"harvest run --full at N={n} exited {plain.returncode}: {plain.stderr[-2000:]}")
    processing = plain.wall
    with ctgov_server(n, delay=delay) as url:
        fetch = fetch_only(url)
        run = run_child(harvest_cmd(fresh(db), "run", "--full"), harvest_env(url))
    if run.returncode != 0:
        raise RuntimeError(f"harvest run --full (delayed) at N={n} exited {run.returncode}: {run.stderr[-2000:]}")
    return Overlap(n, delay, fetch, processing, run.wall)


def _overlap_table(report: Report) -> list[str]:
    lines = ["", "## 5. Fetching the next page while this one is parsed and stored", ""]
    lines.append(
        "The synthetic server waits before it sends every `/studies` page (a slow registry). Fetch: every page "
        "fetched alone, in turn, nothing else done. Processing: the full run with no delay at the same N, "
        "made just before the delayed run (paired, as the machine's speed drifts). Without overlap a run would "
        "take about their sum; with it, about the larger of the two."
    )
    lines += ["", "| N | delay per page s | fetch s | processing s | sum s | max s | run, delayed, s |"]
    lines.append("|---:|---:|---:|---:|---:|---:|---:|")
    for o in report.overlap:
        lines.append(
            f"| {o.n:,} | {o.delay:.1f} | {o.fetch:.1f} | {o.processing:.1f} | {o.fetch + o.processing:.1f} | "
            f"{max(o.fetch, o.processing):.1f} | {o.wall:.1f} |"
        )
    return lines


# -- stage 4: the profile ----------------------------------------------------------------------------


@dataclass
class Profile:
    n: int
    path: Path
    wall: float
    hot: list[tuple[str, float]]  # (where, share of samples)


def profile_stage(n: int, folder: Path) -> Profile:
    """pyinstrument over `harvest run --full` at N (a separate, untimed run), saved beside the results."""
    from pyinstrument.renderers import ConsoleRenderer
    from pyinstrument.session import Session

    session_file = OUT / f"profile-{n}.pyisession"
    db = fresh(OUT / f"profile-{n}.db")
    with ctgov_server(n) as url:
        cmd = [sys.executable, "-m", "pyinstrument", "-r", "pyisession", "-o", str(session_file), "-m", "harvest"]
        run = run_child([*cmd, *harvest_cmd(db, "run", "--full")[3:]], harvest_env(url))
    if run.returncode != 0:
        raise RuntimeError(f"profiled run exited {run.returncode}: {run.stderr[-2000:]}")
    session = Session.load(str(session_file))
    text = ConsoleRenderer(unicode=True, color=False, short_mode=False).render(session)
    path = folder / f"profile-{n // 1000}k.txt"
    path.write_text(text)
    return Profile(n, path, run.wall, hot_spots(session))


def hot_spots(session: Any, top: int = 8) -> list[tuple[str, float]]:
    """Self time, grouped by the innermost harvest function on the stack and the function actually running."""
    root = session.root_frame()
    total = root.time or 1.0
    spent: dict[str, float] = {}

    def name(frame: Any) -> str:
        qualified = f"{frame.class_name}.{frame.function}" if frame.class_name else frame.function
        path = frame.file_path or ""
        return f"{Path(path).stem}.{qualified}" if "/src/harvest/" in path else qualified

    def walk(frame: Any, parent: Any, owner: str | None) -> None:
        if frame.is_synthetic:  # pyinstrument's "[self]": the time its parent spent in itself
            here, running = (owner, parent) if parent is not None else (None, None)
            if here is not None and running is not None:
                key = here if name(running) == here else f"{here} → {name(running)}"
                spent[key] = spent.get(key, 0.0) + frame.time
            return
        mine = "/src/harvest/" in (frame.file_path or "")
        owner = name(frame) if mine else owner
        if not frame.children and owner is not None:
            key = owner if mine else f"{owner} → {name(frame)}"
            spent[key] = spent.get(key, 0.0) + frame.time
        for child in frame.children:
            walk(child, frame, owner)

    walk(root, None, None)
    return [(key, value / total) for key, value in sorted(spent.items(), key=lambda kv: -kv[1])[:top]]


# -- stage 3: HTML parsing ---------------------------------------------------------------------------


@dataclass
class HtmlResult:
    source: str
    pages: int
    outcomes: str
    rate: float
    cpu_rate: float
    baseline_rate: float
    parse_only_rate: float
    identical: int
    lexbor_rate: float  # lexbor's parse alone
    visit_rate: float  # lexbor's parse plus one Python look at every node: a floor for any Python extraction


def _outcome(parse: Callable[[Any], Any], page: Any) -> tuple[str, Any]:
    try:
        study = parse(page)
    except Exception as exc:  # the fixtures include pages that must be refused
        one_line = getattr(exc, "one_line", None)
        return type(exc).__name__, one_line() if one_line else str(exc)
    return "Study", study.model_dump(mode="json")


def _rate(work: Callable[[], None], count: int, seconds: float) -> tuple[float, float]:
    """Items per second of wall time and of CPU time, repeating ``work`` for at least ``seconds``."""
    work()  # warm up (imports, caches)
    rounds = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    while time.perf_counter() - wall0 < seconds:
        work()
        rounds += 1
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return rounds * count / wall, rounds * count / cpu


def html_stage(seconds: float) -> list[HtmlResult]:
    from harvest.core.config import Settings
    from harvest.core.errors import HarvestError
    from harvest.net.http import HttpClient
    from harvest.sources import registered
    from harvest.sources.base import Page
    from harvest.sources.reading.htmltext import parse_html

    settings = Settings(env={})
    client = HttpClient(settings.http())
    results = []
    fetched_at = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    for name in ("veeva", "inclinicaltrials", "ichgcp"):
        source = registered()[name](client, settings)
        folder = ROOT / "fixtures" / name
        routes = json.loads((folder / "routes.json").read_text())
        pages = [
            Page(source.base_url + path, (folder / route["file"]).read_bytes(), fetched_at, "text/html; charset=utf-8")
            for path, route in routes.items()
            if route.get("file", "").endswith(".html")
        ]

        def ours(source: Any = source, pages: list[Any] = pages) -> None:
            for page in pages:
                with contextlib.suppress(HarvestError):  # the fixtures include pages that must be refused
                    source.parse(page)

        def soup_parse(pages: list[Any] = pages) -> None:
            for page in pages:
                BeautifulSoup(page.text, "html.parser", preserve_whitespace_tags=bs4_baseline.PRESERVE_ALL)

        def lexbor_parse(pages: list[Any] = pages) -> None:
            for page in pages:
                parse_html(page.text)

        def lexbor_visit(pages: list[Any] = pages) -> None:
            for page in pages:
                for node in parse_html(page.text).root.traverse(include_text=True):
                    _ = node.tag, node.text_content

        expected = [_outcome(source.parse, page) for page in pages]
        rate, cpu_rate = _rate(ours, len(pages), seconds)
        with bs4_baseline.beautifulsoup_trees():
            got = [_outcome(source.parse, page) for page in pages]
            base_rate, _ = _rate(ours, len(pages), seconds)
        parse_only, _ = _rate(soup_parse, len(pages), seconds / 2)
        lexbor_rate, _ = _rate(lexbor_parse, len(pages), seconds / 4)
        visit_rate, _ = _rate(lexbor_visit, len(pages), seconds / 4)
        kinds: dict[str, int] = {}
        for kind, _ in expected:
            kinds[kind] = kinds.get(kind, 0) + 1
        outcomes = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        identical = sum(1 for a, b in zip(expected, got, strict=True) if a == b)
        results.append(
            HtmlResult(
                name, len(pages), outcomes, rate, cpu_rate, base_rate, parse_only, identical, lexbor_rate, visit_rate
            )
        )
    client.close()
    return results


# -- the machine -------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    import orjson
    import pydantic
    import selectolax

    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": ram,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "libraries": f"orjson {orjson.__version__}, pydantic {pydantic.VERSION}, selectolax {selectolax.__version__}",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# -- the report --------------------------------------------------------------------------------------


@dataclass
class Report:
    quick: bool
    machine: dict[str, str]
    mean_study_bytes: float
    ctgov: list[Harvested] = field(default_factory=list)
    html: list[HtmlResult] = field(default_factory=list)
    overlap: list[Overlap] = field(default_factory=list)
    profile: Profile | None = None
    elapsed: float = 0.0


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def render(report: Report) -> str:
    """results.md: the machine, one table per stage, growth, the profile, the targets, then the notes."""
    lines = ["# harvest benchmarks", ""]
    command = "make bench-quick" if report.quick else "make bench"
    lines.append(f"`{command}` (`bench/run.py`), one run on this machine; what is measured: bench/README.md.")
    lines += ["", "## Machine", ""]
    lines += [f"- {key}: {value}" for key, value in report.machine.items()]
    lines += [f"- whole benchmark: {report.elapsed:,.0f} s", "", "## Targets", ""]
    lines += targets(report)
    if report.ctgov:
        lines += _ctgov_tables(report)
    if report.html:
        lines += _html_table(report)
    if report.ctgov:
        lines += _growth(report)
    if report.overlap:
        lines += _overlap_table(report)
    notes = NOTES.read_text().split("\n", 1)[1] if NOTES.exists() else ""  # (its first line is a comment)
    lines += ["", notes.strip(), ""]
    return "\n".join(lines)


def _ctgov_tables(report: Report) -> list[str]:
    lines = ["", "## 1. CT.gov end to end: `harvest run --full` into a fresh file", ""]
    lines.append(
        f"The synthetic API runs in its own process: {report.mean_study_bytes / 1000:.1f} KB of JSON per study on "
        "average, pages of 1,000, no rate limit. Wall time is the `harvest` process's, start-up included; CPU "
        "and peak RSS are that process's own (`os.wait4`). Baseline: the same pages over the same loopback "
        "HTTP, `json.loads`, flattened and `executemany`d into the same tables (same run, same server), with "
        "the harvester's garbage-collector policy."
    )
    lines += [
        "",
        "| N | wall s | studies/s | CPU s | peak RSS MB | baseline studies/s | ratio to baseline | file MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for h in report.ctgov:
        rate, base_rate = h.n / h.full.wall, h.n / h.base.wall
        lines.append(
            f"| {h.n:,} | {h.full.wall:,.1f} | {rate:,.0f} | {h.full.cpu:,.1f} | {h.full.peak_rss_mb:,.0f} | "
            f"{base_rate:,.0f} | {rate / base_rate:.2f} | {h.db_mb:,.0f} |"
        )
    lines += ["", "Baseline, seconds by step:", "", "| N | fetch | json.loads | flatten | executemany | total | MB |"]
    lines.append("|---:|---:|---:|---:|---:|---:|---:|")
    for h in report.ctgov:
        b = h.base
        lines.append(
            f"| {h.n:,} | {b.fetch:.2f} | {b.decode:.2f} | {b.flatten:.2f} | {b.write:.2f} | {b.wall:.2f} | "
            f"{b.bytes / 2**20:,.0f} |"
        )
    lines += ["", "## 2. Nightly no-op: the same studies again, a new release stamp (versionHolder) in every one", ""]
    lines.append(
        "Rows rewritten are counted from outside the harvester: every source record's (changed_at, run_id, "
        "content_hash, fetched_at) and every study's (updated_at, merge_hash) are read before and after the "
        "run, and rows that differ or vanished are counted; so are the run's rows in `changes`."
    )
    lines += [
        "",
        "| N | wall s | studies/s | CPU s | peak RSS MB | reported new / changed / unchanged | "
        "source_records rewritten | studies rewritten | changes rows |",
        "|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for h in report.ctgov:
        c, r = h.counts_noop, h.rewritten
        lines.append(
            f"| {h.n:,} | {h.noop.wall:,.1f} | {h.n / h.noop.wall:,.0f} | {h.noop.cpu:,.1f} | "
            f"{h.noop.peak_rss_mb:,.0f} | {c['new']:,} / {c['changed']:,} / {c['unchanged']:,} | "
            f"{r['source_records']:,} | {r['studies']:,} | {r['changes']:,} |"
        )
    return lines


def _html_table(report: Report) -> list[str]:
    lines = ["", "## 3. HTML parsing: `Source.parse(Page)` over each mirror's fixtures, one process", ""]
    lines.append(
        "Baseline: the same site module's extraction over a BeautifulSoup (`html.parser`) tree instead of "
        "lexbor's (bench/bs4_baseline.py): same labels, text rendering, mapping and validation; 'identical' "
        "counts fixtures whose result (the Study, or the error) is the same both ways. 'bs4 parse alone' is "
        "BeautifulSoup building the tree and nothing else, the floor of any BeautifulSoup implementation. "
        "'lexbor parse alone' and 'lexbor + one look at each node' are the floors of ours."
    )
    lines += [
        "",
        "| source | pages | outcomes | pages/s | per CPU-second | bs4 baseline | ratio | bs4 parse alone | ratio | "
        "lexbor parse alone | lexbor + one look at each node | identical |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report.html:
        lines.append(
            f"| {r.source} | {r.pages} | {r.outcomes} | {r.rate:,.0f} | {r.cpu_rate:,.0f} | "
            f"{r.baseline_rate:,.0f} | {r.rate / r.baseline_rate:.1f}× | {r.parse_only_rate:,.0f} | "
            f"{r.rate / r.parse_only_rate:.1f}× | {r.lexbor_rate:,.0f} | {r.visit_rate:,.0f} | "
            f"{r.identical}/{r.pages} |"
        )
    lines += ["", "Per page, in µs:", "", "| source | ours | 10× target means at most | bs4 parse alone | "]
    lines[-1] += "lexbor parse alone | lexbor + one look at each node | our extraction (ours − lexbor parse) |"
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for r in report.html:
        ours, lexbor = 1e6 / r.rate, 1e6 / r.lexbor_rate
        lines.append(
            f"| {r.source} | {ours:,.0f} | {1e6 / r.baseline_rate / TARGET_HTML_RATIO:,.0f} | "
            f"{1e6 / r.parse_only_rate:,.0f} | {lexbor:,.0f} | {1e6 / r.visit_rate:,.0f} | {ours - lexbor:,.0f} |"
        )
    return lines


def _growth(report: Report) -> list[str]:
    first = report.ctgov[0]
    lines = ["", "## 4. Growth: cost per study at each N", ""]
    lines += [
        "µs of wall time per study; in brackets, relative to the smallest N (1.00: cost grows linearly with N).",
        "",
        "| N | full run | no-op run | baseline | full-run peak RSS MB | no-op peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for h in report.ctgov:
        cells = []
        for mine, ref in (
            (h.full.wall, first.full.wall),
            (h.noop.wall, first.noop.wall),
            (h.base.wall, first.base.wall),
        ):
            per, ref_per = 1e6 * mine / h.n, 1e6 * ref / first.n
            cells.append(f"{per:,.0f} ({per / ref_per:.2f})")
        lines.append(f"| {h.n:,} | {' | '.join(cells)} | {h.full.peak_rss_mb:,.0f} | {h.noop.peak_rss_mb:,.0f} |")
    if report.profile:
        p = report.profile
        lines += [
            "",
            f"Profile of the slowest stage, the full run at {p.n:,} studies, under pyinstrument "
            f"({p.wall:,.1f} s with the profiler on): [{p.path.name}]({p.path.name}). Hot spots: self time, "
            "by the innermost harvest function on the stack (→ the library function running, if any):",
            "",
            "| share of the run | where |",
            "|---:|---|",
        ]
        lines += [f"| {share:.1%} | `{where}` |" for where, share in p.hot]
    return lines


def targets(report: Report) -> list[str]:
    out = []
    if report.ctgov:
        big = report.ctgov[-1]
        rate, ratio = big.n / big.full.wall, (big.n / big.full.wall) / (big.n / big.base.wall)
        out.append(
            f"- ≥ {TARGET_RATE:,} studies/s end to end at N={big.n:,}: {rate:,.0f} — {_mark(rate >= TARGET_RATE)}"
        )
        out.append(f"- ≥ {TARGET_RATIO} of the baseline at N={big.n:,}: {ratio:.2f} — {_mark(ratio >= TARGET_RATIO)}")
        rss = [(h.n, h.full.peak_rss_mb) for h in report.ctgov]
        shown = ", ".join(f"{r:,.0f} MB at {n:,}" for n, r in rss)
        paged = [(n, r) for n, r in rss if n >= 10_000]  # below 10 pages, memory has not reached its cycle
        if len(paged) >= 2:
            (n0, r0), (n1, r1) = paged[-2], paged[-1]
            flat = r1 <= 1.15 * r0
            verdict = f"{r1 / r0 - 1:+.0%} from {n0:,} to {n1:,} studies — {_mark(flat and r1 < TARGET_RSS_MB)}"
        else:
            verdict = f"flatness not judged below 10k studies — {_mark(rss[-1][1] < TARGET_RSS_MB)} for the bound"
        out.append(f"- peak RSS flat in N and < {TARGET_RSS_MB} MB: {shown}; {verdict}")
        rewritten = sum(big.rewritten.values())
        out.append(
            f"- no-op run under {TARGET_NOOP_S} s with zero rows rewritten at N={big.n:,}: {big.noop.wall:,.1f} s, "
            f"{rewritten} rows — {_mark(big.noop.wall < TARGET_NOOP_S and rewritten == 0)}"
        )
    for o in report.overlap:
        close = o.wall <= max(o.fetch, o.processing) + 0.25 * min(o.fetch, o.processing)
        out.append(
            f"- fetch overlaps work (server delaying every page {o.delay:.0f} s, N={o.n:,}): run {o.wall:.1f} s "
            f"against fetch {o.fetch:.1f} s and processing {o.processing:.1f} s (sum {o.fetch + o.processing:.1f}) "
            f"— {_mark(close)}"
        )
    for r in report.html:
        out.append(
            f"- {r.source}: ≥ {TARGET_PAGES_PER_CORE} pages/s per core: {r.cpu_rate:,.0f} — "
            f"{_mark(r.cpu_rate >= TARGET_PAGES_PER_CORE)}; ≥ {TARGET_HTML_RATIO}× the baseline: "
            f"{r.rate / r.baseline_rate:.1f}× — {_mark(r.rate / r.baseline_rate >= TARGET_HTML_RATIO)}"
        )
    return out


NOTES = BENCH / "notes.md"  # the author's reading of the figures, appended to results.md


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N = 1k and 5k, shorter HTML timings (under a minute)")
    parser.add_argument("--sizes", help="comma-separated N to run instead (e.g. 2000,20000)")
    parser.add_argument("--no-profile", action="store_true", help="skip the pyinstrument run")
    parser.add_argument("--no-html", action="store_true", help="skip the HTML parsing stage")
    parser.add_argument("--no-overlap", action="store_true", help="skip the delayed-server run (stage 5)")
    args = parser.parse_args()
    sizes = [1_000, 5_000] if args.quick else [1_000, 10_000, 100_000]
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]
    started = time.perf_counter()
    OUT.mkdir(exist_ok=True)
    report = Report(args.quick, machine(), Catalogue(max(sizes)).mean_size())
    print(f"harvest benchmarks on {report.machine['CPU']} ({report.machine['cores']} cores)", file=sys.stderr)
    if not args.no_html:
        report.html = html_stage(0.5 if args.quick else 2.0)
        print("HTML parsing done", file=sys.stderr)
    db = OUT / "bench.db"
    for n in sizes:
        report.ctgov.append(ctgov_stage(n, db))
        h = report.ctgov[-1]
        print(
            f"N={n:,}: full {h.full.wall:.1f}s ({n / h.full.wall:,.0f}/s, {h.full.peak_rss_mb:.0f} MB), "
            f"baseline {h.base.wall:.1f}s, no-op {h.noop.wall:.1f}s",
            file=sys.stderr,
        )
    if not args.no_overlap and report.ctgov:
        stage = next((h for h in report.ctgov if h.n == 10_000), report.ctgov[-1])
        report.overlap.append(overlap_stage(stage.n))
        o = report.overlap[-1]
        print(
            f"overlap N={o.n:,}: fetch {o.fetch:.1f}s, processing {o.processing:.1f}s, run {o.wall:.1f}s",
            file=sys.stderr,
        )
    for stale in OUT.glob("*.db*"):
        stale.unlink()
    if not args.no_profile:
        report.profile = profile_stage(10_000 if not args.quick else max(sizes), BENCH if not args.quick else OUT)
        for stale in OUT.glob("profile-*.db*"):
            stale.unlink()
    report.elapsed = time.perf_counter() - started
    text = render(report)
    target = OUT / "results-quick.md" if args.quick or args.sizes else BENCH / "results.md"
    target.write_text(text)
    print(text)
    print(f"\nwritten to {target.relative_to(ROOT)}", file=sys.stderr)
    shutil.rmtree(OUT / "__pycache__", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
