"""`make bench` (publish stage): `harvest publish` of N studies into PostgreSQL, whole and then incrementally.

1. The file: a fresh harvest of N synthetic studies (bench/ctgov_server.py, as bench/web.py builds it).
2. A PostgreSQL server of the benchmark's own (Debian's binaries, PostgreSQL's default durability).
3. Baseline: the same rows of every table and view moved with COPY as plainly as it goes (every column text,
   no types, no indexes, one transaction per table): what moving these bytes through COPY costs at least.
4. `harvest publish` (its own process: wall, CPU, peak RSS), into a fresh database.
5. A second night: 1% of the studies change upstream (enrollment and last update), `harvest run --full` takes
   them in, and `harvest publish` again: only those trials are sent. Then once more with nothing changed.
6. `harvest export --format parquet` of the whole file: wall and peak RSS (memory flat: one row group at a time).

After each publish every table and view has as many rows in PostgreSQL as in the file (checked). Figures go
to bench/publish-results.md (``--quick``: 2,000 studies, bench/out/publish-results-quick.md).

    python bench/publish.py --studies 100000   # what make bench runs
    python bench/publish.py --quick
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from ctgov_server import Catalogue, SyntheticCtgov, study_values
from run import BENCH, OUT, ROOT, ChildRun, machine, run_child
from web import build

from harvest.publish.catalog import relations
from harvest.store.kinds import PAYLOADS
from harvest.testing import ReplayServer
from harvest.testing.postgres import PostgresServer, pg_bin

CHANGED_EVERY = 100  # one study in a hundred changes between the two nights


class ChangedCatalogue(Catalogue):
    """The same studies, one in ``CHANGED_EVERY`` with one more participant enrolled and a new update date."""

    def study(self, number: int) -> bytes:
        if number % CHANGED_EVERY:
            return super().study(number)
        values = study_values(number, self.release)
        values['"@@COUNT@@"'] = str(int(values['"@@COUNT@@"']) + 1).encode()
        values["@@UPDATE@@"] = b"2026-11-30"
        return b"".join(values[marker] + chunk if marker else chunk for marker, chunk in self.template_of(number).parts)


def harvest(db: Path, *args: str, env: dict[str, str] | None = None) -> ChildRun:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HARVEST_")}
    done = run_child([sys.executable, "-m", "harvest", "--db", str(db), *args], {**full_env, **(env or {})})
    if done.returncode not in (0, 1):
        raise RuntimeError(f"harvest {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    return done


def summary(run: ChildRun) -> str:
    lines = [line for line in run.stderr.splitlines() if line.startswith("published to")]
    return lines[-1].split(": ", 1)[1] if lines else "?"


def plain_copy(db: Path, url: str) -> tuple[float, int]:
    """The baseline: every relation's rows as text through COPY, no types, no indexes; (seconds, rows)."""
    started = time.perf_counter()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = 0
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute("CREATE SCHEMA plain")
        for relation in relations(conn):
            names = [r[1] for r in conn.execute(f'PRAGMA table_xinfo("{relation.name}")') if r[1] not in PAYLOADS]
            quoted = ", ".join(f'"{name}"' for name in names)
            with pg.transaction():
                pg.execute(
                    f'CREATE TABLE plain."{relation.name}" ({", ".join(f"{q} text" for q in quoted.split(", "))})'
                )
                with pg.cursor() as cursor, cursor.copy(f'COPY plain."{relation.name}" ({quoted}) FROM STDIN') as copy:
                    for row in conn.execute(f'SELECT {quoted} FROM "{relation.name}"'):
                        copy.write_row(row)
                        rows += 1
    conn.close()
    return time.perf_counter() - started, rows


def same_counts(db: Path, url: str) -> int:
    """Rows of every table and view, equal in the file and in the copy (raises if not); their total."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    total = 0
    with psycopg.connect(url) as pg:
        for relation in relations(conn):
            if relation.name == "harvest_meta":
                continue  # the publish writes its position there after copying it
            mine = conn.execute(f'SELECT count(*) FROM "{relation.name}"').fetchone()[0]
            theirs = pg.execute(f'SELECT count(*) FROM "{relation.schema}"."{relation.name}"').fetchone()[0]
            if mine != theirs:
                raise AssertionError(f"{relation.name}: {mine} rows in the file, {theirs} in PostgreSQL")
            total += mine
    conn.close()
    return total


def database_mb(url: str) -> float:
    with psycopg.connect(url) as pg:
        return pg.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 2**20


def second_night(db: Path, n: int) -> tuple[ChildRun, int]:
    """`harvest run --full` against the registry with 1% of the studies changed; (the run, studies changed)."""
    server = ReplayServer(SyntheticCtgov(ChangedCatalogue(n))).start()
    try:
        run = harvest(db, "--quiet", "run", "--full", env={"HARVEST_CTGOV_URL": server.url + "/api/v2",
                                                            "HARVEST_CTGOV_RPS": "0"})  # fmt: skip
    finally:
        server.stop()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    changed = conn.execute("SELECT changed FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0]
    conn.close()
    return run, changed


def figures(run: ChildRun) -> str:
    return f"{run.wall:,.1f} s | {run.cpu:,.1f} s | {run.peak_rss_mb:,.0f} MB"


LOADS: dict[str, tuple[float, float]] = {}  # step -> the machine's 1-minute load average before and after it


def measured(step: str, work: Any, *args: Any, **kwargs: Any) -> Any:
    """``work(*args)``, with the machine's load before and after it noted: the machine is shared."""
    before = os.getloadavg()[0]
    result = work(*args, **kwargs)
    LOADS[step] = (before, os.getloadavg()[0])
    return result


def load(step: str) -> str:
    before, after = LOADS[step]
    return f"{before:.1f} → {after:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="2,000 studies; figures to bench/out/")
    args = parser.parse_args()
    n = 2_000 if args.quick else args.studies
    bin_dir = pg_bin()
    if bin_dir is None:
        print("no PostgreSQL binaries (apt-get install postgresql): the publish benchmark is skipped", file=sys.stderr)
        return 0
    OUT.mkdir(exist_ok=True)
    db = OUT / "publish.db"
    print(f"building a {n:,}-study file …", file=sys.stderr)
    built = measured("build", build, n, db)
    file_mb = db.stat().st_size / 2**20
    server = PostgresServer(bin_dir, durable=True).start()
    try:
        results: dict[str, Any] = {}
        print("baseline: plain COPY …", file=sys.stderr)
        results["plain"] = measured("plain", plain_copy, db, server.database())
        url = server.database()
        print("harvest publish (first) …", file=sys.stderr)
        results["first"] = measured("first", harvest, db, "publish", url)
        results["rows"] = same_counts(db, url)
        results["pg_mb"] = database_mb(url)
        print("second night …", file=sys.stderr)
        results["night"], results["changed"] = measured("night", second_night, db, n)
        time.sleep(1.1)  # a new second: the night's writes are all before the next publish's position
        print("harvest publish (incremental) …", file=sys.stderr)
        results["incremental"] = measured("incremental", harvest, db, "publish", url)
        same_counts(db, url)
        results["nothing"] = measured("nothing", harvest, db, "publish", url)
        same_counts(db, url)
        folder = OUT / "parquet"
        shutil.rmtree(folder, ignore_errors=True)
        print("harvest export --format parquet …", file=sys.stderr)
        floor = ("--table", "harvest_meta")  # one row: the process itself, harvest and pyarrow loaded
        results["parquet_floor"] = measured(
            "parquet_floor", harvest, db, "--quiet", "export", "--format", "parquet", *floor, "-o", str(folder)
        )
        results["parquet"] = measured(
            "parquet", harvest, db, "--quiet", "export", "--format", "parquet", "-o", str(folder)
        )
        results["parquet_mb"] = sum(p.stat().st_size for p in folder.glob("*.parquet")) / 2**20
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        server.stop()
    text = render(n, built, file_mb, results, args.quick)
    target = OUT / "publish-results-quick.md" if args.quick else BENCH / "publish-results.md"
    target.write_text(text, encoding="utf-8")
    print(text)
    print(f"written to {os.path.relpath(target, ROOT)}", file=sys.stderr)
    for stale in OUT.glob("publish.db*"):
        stale.unlink()
    return 0


def render(n: int, built: float, file_mb: float, r: dict[str, Any], quick: bool) -> str:
    info = machine()
    plain_s, plain_rows = r["plain"]
    first, incremental, nothing = r["first"], r["incremental"], r["nothing"]
    command = "python bench/publish.py " + ("--quick" if quick else f"--studies {n}")
    lines = [
        "# harvest publish and Parquet export: times",
        "",
        f"Measured {info['date']} on {info['CPU']} ({info['cores']} cores, {info['RAM']}), Python {info['Python']},"
        f" SQLite {info['SQLite']}, PostgreSQL {bin_version()} (on the same machine, default durability), psycopg"
        f" {psycopg.__version__}, by `{command}`.",
        "",
        f"The file: {n:,} synthetic studies (+ the real NCT02513394) harvested in {built:,.0f} s, {file_mb:,.0f} MB,"
        f" {r['rows']:,} rows in its tables and views (the bodies as received, `raw`, are not published)."
        f" Published, the database takes {r['pg_mb']:,.0f} MB.",
        "",
        f"The machine is shared (another engineer's benchmarks ran beside this one): the last column is its 1-minute"
        f" load average before and after each step, on {info['cores']} cores (the harvest of the file:"
        f" {load('build')}). The baseline runs in the same run, on the same file and server, so a load that"
        f" slows both leaves the ratio less changed than the times.",
        "",
        "| step | wall | CPU (harvest) | peak RSS (harvest) | what it did | load before → after |",
        "|---|---:|---:|---:|---|---:|",
        f"| baseline: plain COPY, every column text, no indexes, a transaction per table | {plain_s:,.1f} s | | |"
        f" {plain_rows:,} rows | {load('plain')} |",
        f"| `harvest publish`, first (full) | {figures(first)} | {summary(first)} | {load('first')} |",
        f"| second night: `harvest run --full`, 1 study in {CHANGED_EVERY} changed upstream | {figures(r['night'])} |"
        f" {r['changed']:,} studies changed | {load('night')} |",
        f"| `harvest publish`, incremental | {figures(incremental)} | {summary(incremental)} | {load('incremental')} |",
        f"| `harvest publish`, nothing changed | {figures(nothing)} | {summary(nothing)} | {load('nothing')} |",
        f"| `harvest export --format parquet`, one row (`harvest_meta`): the process alone |"
        f" {figures(r['parquet_floor'])} | memory's floor | {load('parquet_floor')} |",
        f"| `harvest export --format parquet`, every table | {figures(r['parquet'])} |"
        f" {r['parquet_mb']:,.0f} MB of Parquet | {load('parquet')} |",
        "",
        f"The first publish costs {first.wall / plain_s:.1f}x the plain COPY of the same rows: PostgreSQL's types"
        " (each value checked and converted), the file's keys and indexes built as rows arrive, and a transaction"
        " per 500 trials with the state that lets a killed publish resume. The incremental publish sends only the"
        " changed trials, and copies whole the tables and views that are not by trial (bookkeeping, the watches,"
        " `results_compliance` and `status_durations`, which read today's date, `sponsor_compliance`): with"
        " nothing changed, that copy is all it does. After every publish each table and view held as many rows"
        " in PostgreSQL as in the file (checked). The Parquet export holds one bounded row group at a time: its peak"
        f" RSS is {r['parquet'].peak_rss_mb - r['parquet_floor'].peak_rss_mb:,.0f} MB above the process's own for"
        f" a {file_mb:,.0f} MB file.",
        "",
    ]
    return "\n".join(lines)


def bin_version() -> str:
    found = pg_bin()
    return found.parent.name if found else "?"


if __name__ == "__main__":
    sys.exit(main())
