"""`make bench` (second part): what `harvest run --history` costs, per trial, against the same run without it.

A replay server (harvest.testing.CtgovSite, in this process) serves N synthetic trials made from the real
fixture records, each with a record history of 1 to 9 versions (5 on average), every request delayed by a
fixed latency (`--latency`, default 20 ms: a loopback server answers in microseconds, CT.gov does not).
`harvest` runs in its own process with no rate limit, so the seconds are harvest's own plus the latency.

1. First sight: `harvest run` into a fresh file (the baseline) against `harvest run --history` into another
   fresh file: every trial is new, so the second also fetches every version of each.
2. Changed trials: from the file stage 1 left (histories stored), M trials get a new version upstream, dated
   today, and an incremental `harvest run` (the baseline) is timed against `harvest run --history` on a copy.

Per trial: (requests, seconds with --history) - (requests, seconds without), divided by the trials concerned;
and what those requests take at CT.gov's default rate (0.8 requests/s), which is what a real run waits for.
Writes bench/history-results.md (`--quick`: bench/out/history-results-quick.md) and prints the same.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harvest.testing import CtgovSite, ReplayServer, base_url_env

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"

CTGOV_RPS = 0.8  # the default request rate for ClinicalTrials.gov (HARVEST_CTGOV_RPS)
TARGET_REQUESTS_PER_CHANGED_TRIAL = 2  # the version list and the one new version


@dataclass
class Timed:
    seconds: float
    requests: int
    history_requests: int
    versions: int


@dataclass
class Comparison:
    stage: str
    trials: int  # the trials the extra cost is spread over
    base: Timed
    with_history: Timed

    @property
    def requests_per_trial(self) -> float:
        return (self.with_history.requests - self.base.requests) / self.trials

    @property
    def seconds_per_trial(self) -> float:
        return (self.with_history.seconds - self.base.seconds) / self.trials


def _ident(study: dict[str, Any]) -> dict[str, Any]:
    return study["protocolSection"]["identificationModule"]


def build_site(count: int) -> CtgovSite:
    """``count`` trials cloned from the real fixture records, each with a history of 1 to 9 versions."""
    templates = [study for _, study in sorted(CtgovSite.from_dir().studies.items())]
    site = CtgovSite()
    for i in range(count):
        study = copy.deepcopy(templates[i % len(templates)])
        nct = f"NCT9{i:07d}"
        _ident(study)["nctId"] = nct
        _ident(study).pop("nctIdAliases", None)
        status = study["protocolSection"].setdefault("statusModule", {})
        status["lastUpdatePostDateStruct"] = {"date": "2024-01-15", "type": "ACTUAL"}
        site.put(study)
        versions = 1 + i % 9
        changes, bodies = [], {}
        for number in range(versions):
            version = copy.deepcopy(study)
            if number < versions - 1:  # earlier versions: another enrollment figure, an earlier update
                design = version["protocolSection"].setdefault("designModule", {})
                design["enrollmentInfo"] = {"count": 10 * (number + 1), "type": "ESTIMATED"}
            date = (dt.date(2015, 1, 1) + dt.timedelta(days=200 * number)).isoformat()
            changes.append({"version": number, "date": date, "status": status.get("overallStatus")})
            bodies[number] = {"study": version}
        site.history.put_list(nct, {"history": {"changes": changes}}, bodies)
    return site


def harvest(db: Path, env: dict[str, str], server: ReplayServer, *args: str) -> Timed:
    before = len(server.requests)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "harvest", "--db", str(db), "--quiet", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"harvest {' '.join(args)} exited {done.returncode}: {done.stderr[-500:]}")
    served = server.requests[before:]
    conn = sqlite3.connect(db)
    try:
        (versions,) = conn.execute("SELECT versions FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    finally:
        conn.close()
    return Timed(seconds, len(served), sum(r.startswith("/api/int/") for r in served), versions or 0)


def copy_db(source: Path, target: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", f"{target}{suffix}")
    return target


def run_stages(trials: int, changed: int, latency: float) -> list[Comparison]:
    OUT.mkdir(exist_ok=True)
    for stale in OUT.glob("history-*.db*"):
        stale.unlink()
    site = build_site(trials)
    with ReplayServer(site) as server:
        if latency:
            server.add_fault("delay", ".*", seconds=latency, times=-1)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HARVEST_")}
        env.update(base_url_env({"ctgov": server}))
        plain, with_history = OUT / "history-plain.db", OUT / "history-on.db"
        first = Comparison(
            "1. first sight: every trial new", trials, harvest(plain, env, server, "run"),
            harvest(with_history, env, server, "run", "--history"),
        )  # fmt: skip
        today = dt.datetime.now(dt.UTC).date().isoformat()
        for i in range(0, trials, max(1, trials // changed))[:changed]:
            study = copy.deepcopy(site.studies[f"NCT9{i:07d}"])
            study["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"] = {"date": today, "type": "ACTUAL"}
            design = study["protocolSection"].setdefault("designModule", {})
            design["enrollmentInfo"] = {"count": 1000 + i, "type": "ACTUAL"}
            site.add_version(study, today)
        base = copy_db(with_history, OUT / "history-base.db")
        second = Comparison(
            "2. nightly: changed trials", changed, harvest(base, env, server, "run"),
            harvest(with_history, env, server, "run", "--history"),
        )  # fmt: skip
    for stale in OUT.glob("history-*.db*"):
        stale.unlink()
    return [first, second]


def render(results: list[Comparison], trials: int, latency: float, quick: bool) -> str:
    command = "make bench-quick" if quick else "make bench"
    lines = [
        "# harvest benchmarks: record history",
        "",
        f"`{command}` (`bench/history.py`), one run on this machine ({os.cpu_count()} cores, "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC): {trials:,} synthetic trials (real fixture records, 1 to 9 "
        f"versions each), {latency * 1000:.0f} ms latency per request, no rate limit. Baseline: the same run "
        "without `--history`, on the same file and the same server state.",
        "",
        "| stage | trials | requests without | requests with | history requests | versions | seconds without "
        "| seconds with | requests per trial | seconds per trial | at 0.8 req/s per trial |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.stage} | {r.trials:,} | {r.base.requests:,} | {r.with_history.requests:,} "
            f"| {r.with_history.history_requests:,} | {r.with_history.versions:,} | {r.base.seconds:.2f} "
            f"| {r.with_history.seconds:.2f} | {r.requests_per_trial:.2f} | {r.seconds_per_trial:.3f} "
            f"| {r.requests_per_trial / CTGOV_RPS:.1f} s |"
        )
    changed = results[-1]
    met = changed.requests_per_trial <= TARGET_REQUESTS_PER_CHANGED_TRIAL
    lines += [
        "",
        f"Target: at most {TARGET_REQUESTS_PER_CHANGED_TRIAL} more requests per changed trial (its version list and "
        f"its new version): {changed.requests_per_trial:.2f}, {'met' if met else '**missed**'}. A trial seen for "
        "the first time costs its number of versions plus one. At CT.gov's rate the requests, not harvest, set "
        "the time: the last column is what a real run waits per trial.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="60 trials (a few seconds)")
    parser.add_argument("--trials", type=int, help="how many trials (default 300)")
    parser.add_argument("--changed", type=int, help="how many change in stage 2 (default a quarter)")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every response")
    args = parser.parse_args()
    trials = args.trials or (60 if args.quick else 300)
    changed = min(trials, args.changed or max(1, trials // 4))
    results = run_stages(trials, changed, args.latency)
    text = render(results, trials, args.latency, args.quick)
    target = OUT / "history-results-quick.md" if args.quick or args.trials else BENCH / "history-results.md"
    target.write_text(text)
    print(text)
    print(f"written to {target.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
