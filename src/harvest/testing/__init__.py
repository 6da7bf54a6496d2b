"""The 127.0.0.1 replay server the tests, the demo and the benchmarks talk to (never the real sites).

Tests, the demo and the benchmarks point a source's base URL here (``HARVEST_CTGOV_URL=http://127.0.0.1:PORT/api/v2``)
so the same code that talks to the real site is exercised over real sockets.
"""

from harvest.testing.ctgov_site import FIXTURES, CtgovSite
from harvest.testing.fixtures import base_url_env, default_sites, serve_fixtures
from harvest.testing.server import Fault, ReplayServer, Reply, Site, json_reply, text_reply
from harvest.testing.static_site import StaticSite

__all__ = [
    "FIXTURES",
    "CtgovSite",
    "Fault",
    "ReplayServer",
    "Reply",
    "Site",
    "StaticSite",
    "base_url_env",
    "default_sites",
    "json_reply",
    "serve_fixtures",
    "text_reply",
]
