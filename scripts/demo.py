"""`make demo`: harvest the bundled fixtures from a local replay server into a SQLite file, then query it.

Everything runs on this machine: the replay server serves the recorded ClinicalTrials.gov API responses and
mirror pages on 127.0.0.1, and each source's base URL is pointed at it through HARVEST_<SOURCE>_URL, exactly
as a user would point harvest at another endpoint. Against the real sites, the same command is plain
`harvest run --all` with no environment variables.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harvest.testing import base_url_env, default_sites, serve_fixtures

HISTORIES = ("NCT02210780", "NCT01126879", "NCT00763412")
EXAMPLE_QUERY = (
    "SELECT nct_id, overall_status, phases, enrollment, substr(title, 1, 60) AS title "
    "FROM studies WHERE overall_status IN ('RECRUITING', 'NOT_YET_RECRUITING') ORDER BY nct_id"
)


def harvest(env: dict[str, str], *args: str) -> int:
    print(f"\n$ harvest {' '.join(args)}", flush=True)
    return subprocess.run([sys.executable, "-m", "harvest", *args], env=env).returncode


def main() -> int:
    db = Path(sys.argv[1] if len(sys.argv) > 1 else "demo.db")
    for stale in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}.lock")):
        stale.unlink(missing_ok=True)
    servers = serve_fixtures(default_sites())
    try:
        env = {**os.environ, **base_url_env(servers), "HARVEST_DB": str(db)}
        print("Replay server (the bundled fixtures, on 127.0.0.1):")
        for name, server in servers.items():
            print(f"  {name:18} {server.url}")
        # every source in turn, as the nightly cron line does: the registry first, then the mirrors merge onto it
        worst = harvest(env, "run", "--all")
        # the registry's past versions of the trials whose history is recorded (fixtures/ctgov/history)
        worst = max(worst, harvest(env, "history", *HISTORIES))
        harvest(env, "runs")
        harvest(env, "query", "--table", "SELECT source, count(*) AS records FROM source_records GROUP BY source")
        harvest(env, "query", "--table", EXAMPLE_QUERY)
        print(f"\nDone: {db} holds the harvest. Try: .venv/bin/harvest --db {db} show NCT04268537 --provenance")
        print(f"Browse it: .venv/bin/harvest --db {db} serve   (then open http://127.0.0.1:8001/)")
        return 0 if worst <= 1 else worst
    finally:
        for server in servers.values():
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
