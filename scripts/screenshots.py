"""`make screenshots`: PNGs of the home, search, studies, trial and charts pages of `harvest serve`, in docs/.

Serves the file with `harvest serve` on a free 127.0.0.1 port and loads each page in headless chromium
(harvest.testing.browser) at 1280 x 800; the trial page is taken down to 4,000 px.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from harvest.testing.browser import Browser, find

PAGES = [
    ("home.png", "/", False),
    ("search.png", "/{db}/search_studies?q=covid", False),  # synonyms, filters, a mirror-only trial
    ("studies.png", "/{db}/studies", False),
    ("trial.png", "/{db}/studies/NCT02513394", True),
    ("charts.png", "/-/charts", False),
]


def main() -> int:
    db = Path(sys.argv[1] if len(sys.argv) > 1 else "demo.db")
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "docs")
    chromium = find()
    if chromium is None:
        print("make screenshots needs chromium (apt-get install chromium)", file=sys.stderr)
        return 3
    if not db.is_file():
        print(f"{db} does not exist: run make demo first", file=sys.stderr)
        return 3
    out.mkdir(exist_ok=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "harvest", "-q", "--db", str(db), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                httpx.get(base + "/-/versions.json", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        with Browser(chromium) as browser:
            for name, path, full in PAGES:
                browser.open(base + path.format(db=db.stem))
                browser.screenshot(out / name, full_page=full)
                print(f"wrote {out / name}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
