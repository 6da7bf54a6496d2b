"""`make bench` (last stage): server-side time of the trial page and a search page, `harvest serve` vs. plain Datasette.

The file: with ``--studies N`` (what `make bench` runs, N = 100,000) a fresh harvest of N studies from the
synthetic CT.gov API (bench/ctgov_server.py, as bench/run.py's stage 1), then the real NCT02513394 (PALLAS,
437 sites, results posted) fetched into it from the recorded fixtures, so the trial page timed is the one the
issue names, in a file of that size. With a FILE instead, that file as it is.

Both sites run in this process (Datasette's ASGI app through ``datasette.client``, no socket), so the figure is
the server's time to build the page: the median over 20 loads after one warm-up. "Plain" is `datasette FILE`
with no metadata, templates or plugin: its row page and its table search (``studies?_search=``), against our
trial page and the ranked ``search_studies`` (with its filter counts, the bundled synonyms in its SQL), and the
same with two filters chosen (status and phase; plain Datasette's table search with the same two filters).
Figures go to bench/web-results.md (``--quick``: bench/out/).

    python bench/web.py --studies 100000      # what make bench runs (about 8 minutes on 2 cores)
    python bench/web.py demo.db               # any harvest file
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from datasette import __version__ as datasette_version
from datasette.app import Datasette
from datasette.plugins import pm
from run import BENCH, OUT, ROOT, ctgov_server, fresh, harvest_cmd, harvest_env, machine

from harvest.query import synonyms
from harvest.sources.base import registry_name
from harvest.testing import CtgovSite, ReplayServer, base_url_env
from harvest.web import SETTINGS, STATIC, STATIC_MOUNT, TEMPLATES, plugin, site_metadata

LOADS = 20
TARGET_MS = 300
TRIAL = "NCT02513394"
WORDS = "cancer"  # a common word: thousands of hits at 100k


def build(n: int, db: Path) -> float:
    """A fresh harvest of ``n`` synthetic studies plus the real TRIAL; returns the seconds it took."""
    started = time.perf_counter()
    with ctgov_server(n) as url:
        subprocess.run(harvest_cmd(fresh(db), "run", "--full"), env=harvest_env(url), check=True, cwd=ROOT)
    with ReplayServer(CtgovSite.from_dir()) as server:
        env = {**harvest_env(""), **base_url_env({"ctgov": server})}
        subprocess.run(harvest_cmd(db, "fetch", TRIAL), env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def trial_id(db: Path) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        if conn.execute("SELECT 1 FROM studies WHERE nct_id = ?", (TRIAL,)).fetchone():
            return TRIAL
        return conn.execute("SELECT nct_id FROM locations GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    finally:
        conn.close()


def describe(db: Path, nct: str) -> tuple[int, int, int]:
    """Studies in the file, sites of the timed trial, studies the search words match."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        studies = conn.execute("SELECT count(*) FROM studies").fetchone()[0]
        sites = conn.execute("SELECT count(*) FROM locations WHERE nct_id = ?", (nct,)).fetchone()[0]
        hits = conn.execute("SELECT count(*) FROM studies_fts WHERE studies_fts MATCH ?", (WORDS,)).fetchone()[0]
        return studies, sites, hits
    finally:
        conn.close()


async def median_ms(ds: Datasette, path: str) -> float:
    first = await ds.client.get(path)
    assert first.status_code == 200, (path, first.status_code)
    times = []
    for _ in range(LOADS):
        start = time.perf_counter()
        response = await ds.client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return statistics.median(times)


async def measure(db: Path, nct: str) -> list[tuple[str, float, float]]:
    name = db.stem
    plain = Datasette([str(db)], settings={"sql_time_limit_ms": SETTINGS["sql_time_limit_ms"]})
    words = WORDS.replace(" ", "+")
    figures = [
        ("trial page", f"/{name}/studies/{nct}", f"/{name}/studies/{nct}"),
        ("search page", f"/{name}/search_studies?q={words}", f"/{name}/studies?_search={words}"),
        (
            "search page, status and phase chosen",
            f"/{name}/search_studies?q={words}&status=RECRUITING&phase=PHASE3",
            f"/{name}/studies?_search={words}&overall_status=RECRUITING&phases__contains=PHASE3",
        ),
    ]
    plain_ms = [await median_ms(plain, plain_path) for _, _, plain_path in figures]
    pm.register(plugin, name="harvest-site")
    try:
        ours = Datasette(
            [str(db)],
            metadata=site_metadata(name, registry=registry_name(), synonyms=synonyms.load()),
            template_dir=str(TEMPLATES),
            static_mounts=[(STATIC_MOUNT, str(STATIC))],
            settings=SETTINGS,
        )
        ours_ms = [await median_ms(ours, path) for _, path, _ in figures]
    finally:
        pm.unregister(plugin)
    return [(label, a, b) for (label, _, _), a, b in zip(figures, ours_ms, plain_ms, strict=True)]


def render(
    db: Path, nct: str, rows: list[tuple[str, float, float]], built: float | None, command: str
) -> tuple[str, bool]:
    studies, sites, hits = describe(db, nct)
    info = machine()
    lines = [
        "# harvest serve: page times",
        "",
        f"Measured {info['date']} on {info['CPU']} ({info['cores']} cores), Python {info['Python']}, SQLite"
        f" {info['SQLite']}, datasette {datasette_version}, by `{command}`.",
        "",
        f"The file: {studies:,} studies"
        + (f" (the synthetic CT.gov harvest plus the real {TRIAL}, built in {built:.0f} s)" if built else "")
        + f", {db.stat().st_size / 2**20:,.0f} MB. Trial page: {nct} ({sites:,} sites). Search: `{WORDS}`"
        f" ({hits:,} studies match; the search page shows the best 100, how many match in all and each filter"
        f" value's count). Median of {LOADS} loads after a"
        " warm-up, server-side (Datasette's ASGI app in process). Plain Datasette is the same file with no"
        " metadata, templates or plugin: its row page, and its table search (`studies?_search=`, unranked).",
        "",
        "| page | harvest serve | plain Datasette | target |",
        "|---|---:|---:|---|",
    ]
    ok = True
    for label, ours, plain in rows:
        met = ours < TARGET_MS
        ok = ok and met
        lines.append(f"| {label} | {ours:.1f} ms | {plain:.1f} ms | < {TARGET_MS} ms {'met' if met else 'MISSED'} |")
    return "\n".join(lines) + "\n", ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", type=Path, help="time this harvest file instead of building one")
    parser.add_argument("--studies", type=int, help="build a file of N synthetic studies (+ the real trial)")
    parser.add_argument("--quick", action="store_true", help="5,000 studies; figures to bench/out/")
    args = parser.parse_args()
    if args.quick:
        args.studies = args.studies or 5_000
    if (args.file is None) == (args.studies is None):
        parser.error("give a FILE or --studies N (or --quick)")
    built = None
    if args.studies is not None:
        OUT.mkdir(exist_ok=True)
        db = OUT / "web.db"
        print(f"building a {args.studies:,}-study file …", file=sys.stderr)
        built = build(args.studies, db)
    else:
        db = args.file
    nct = trial_id(db)
    command = "python bench/web.py " + " ".join(sys.argv[1:])
    text, ok = render(db, nct, asyncio.run(measure(db, nct)), built, command.strip())
    target = OUT / "web-results-quick.md" if args.quick or args.file else BENCH / "web-results.md"
    target.parent.mkdir(exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(text)
    print(f"written to {os.path.relpath(target, ROOT)}", file=sys.stderr)
    if built is not None:
        for stale in OUT.glob("web.db*"):
            stale.unlink()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
