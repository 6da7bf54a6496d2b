"""`make bench-web`: server-side time of the trial page and a search page, `harvest serve` vs. plain Datasette.

Both sites run in this process (Datasette's ASGI app through ``datasette.client``, no socket), so the figure
is the server's time to build the page: the median over 20 loads after one warm-up. The trial page is
NCT02513394's (437 sites) if the file has it, else the study with most sites. "Plain" is `datasette FILE`
with no metadata, templates or plugin: its row page and its table search (``studies?_search=``), against our
trial page and the ranked ``search_studies``.

    python bench/web.py [FILE]        # default demo.db; the issue's target is a 100k-study file
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import sys
import time
from pathlib import Path

from datasette.app import Datasette
from datasette.plugins import pm

from harvest.web import SETTINGS, STATIC, STATIC_MOUNT, TEMPLATES, plugin, site_metadata

LOADS = 20
TARGET_MS = 300
WORDS = "cancer"  # a common word: thousands of hits at 100k


def trial_id(db: Path) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        if conn.execute("SELECT 1 FROM studies WHERE nct_id = 'NCT02513394'").fetchone():
            return "NCT02513394"
        return conn.execute("SELECT nct_id FROM locations GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
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


async def measure(db: Path) -> list[tuple[str, float, float]]:
    name, nct = db.stem, trial_id(db)
    plain = Datasette([str(db)], settings={"sql_time_limit_ms": SETTINGS["sql_time_limit_ms"]})
    words = WORDS.replace(" ", "+")
    figures = [
        ("trial page", f"/{name}/studies/{nct}", f"/{name}/studies/{nct}"),
        ("search page", f"/{name}/search_studies?q={words}", f"/{name}/studies?_search={words}"),
    ]
    plain_ms = [await median_ms(plain, plain_path) for _, _, plain_path in figures]
    pm.register(plugin, name="harvest-site")
    try:
        ours = Datasette(
            [str(db)],
            metadata=site_metadata(name),
            template_dir=str(TEMPLATES),
            static_mounts=[(STATIC_MOUNT, str(STATIC))],
            settings=SETTINGS,
        )
        ours_ms = [await median_ms(ours, path) for _, path, _ in figures]
    finally:
        pm.unregister(plugin)
    return [(label, a, b) for (label, _, _), a, b in zip(figures, ours_ms, plain_ms, strict=True)]


def main() -> int:
    db = Path(sys.argv[1] if len(sys.argv) > 1 else "demo.db")
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    studies = conn.execute("SELECT count(*) FROM studies").fetchone()[0]
    conn.close()
    rows = asyncio.run(measure(db))
    print(f"{db} ({studies:,} studies), median of {LOADS} loads, server-side:\n")
    print("| page | harvest serve | plain Datasette | target |")
    print("|---|---:|---:|---|")
    worst = 0
    for label, ours, plain in rows:
        ok = ours < TARGET_MS
        worst = max(worst, 0 if ok else 1)
        print(f"| {label} | {ours:.1f} ms | {plain:.1f} ms | < {TARGET_MS} ms {'ok' if ok else 'MISSED'} |")
    return worst


if __name__ == "__main__":
    sys.exit(main())
