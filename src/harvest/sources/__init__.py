"""Site modules. Each registers itself; adding a mirror is one module here plus one import line below.

The order of the imports is the default merge precedence: the registry first, then mirrors by how
faithfully they republish it (configurable with HARVEST_PRECEDENCE).
"""

from harvest.sources import ctgov  # noqa: F401  (registers "ctgov")
from harvest.sources.base import Source, registered, source_for_url

__all__ = ["Source", "registered", "source_for_url"]
