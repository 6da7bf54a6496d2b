"""The bundled fixtures served together: CT.gov and every mirror folder with a ``routes.json``.

``python -m harvest.testing`` serves them and prints the ``export HARVEST_<SOURCE>_URL=…`` lines to paste
into a shell, until Ctrl-C (the demo and the benchmarks start them the same way).
"""

from __future__ import annotations

from harvest.testing.ctgov_site import FIXTURES, CtgovSite
from harvest.testing.server import ReplayServer, Site
from harvest.testing.static_site import StaticSite


def serve_fixtures(sites: dict[str, Site]) -> dict[str, ReplayServer]:
    return {name: ReplayServer(site).start() for name, site in sites.items()}


def default_sites() -> dict[str, Site]:
    """The bundled fixtures: CT.gov plus every mirror folder that has a routes.json."""
    from harvest.sources import registered

    sites: dict[str, Site] = {"ctgov": CtgovSite.from_dir()}
    for name, cls in registered().items():
        folder = FIXTURES / name
        if name != "ctgov" and (folder / "routes.json").exists():
            sites[name] = StaticSite(folder, origin=cls.default_base_url)
    return sites


def base_url_env(servers: dict[str, ReplayServer]) -> dict[str, str]:
    """HARVEST_<SOURCE>_URL (and an unlimited rate) for each served site."""
    env = {}
    for name, server in servers.items():
        suffix = "/api/v2" if name == "ctgov" else ""
        env[f"HARVEST_{name.upper()}_URL"] = server.url + suffix
        env[f"HARVEST_{name.upper()}_RPS"] = "0"
    return env


def main() -> None:  # pragma: no cover - exercised by `make demo`
    import argparse
    import signal

    parser = argparse.ArgumentParser(description="Serve the bundled fixtures on 127.0.0.1 until interrupted.")
    parser.parse_args()
    servers = serve_fixtures(default_sites())
    for name, value in base_url_env(servers).items():
        print(f"export {name}={value}", flush=True)
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    for server in servers.values():
        server.stop()
