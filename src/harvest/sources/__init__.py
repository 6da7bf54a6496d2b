"""Site modules. Each registers itself; adding a mirror is one module here plus one import line below.

The order of the imports is the default merge precedence: the registry first, then mirrors by how
faithfully they republish it (configurable with HARVEST_PRECEDENCE).
"""

# The order of these imports is the default merge precedence, so isort must not sort them.
# isort: off
from harvest.sources import ctgov  # noqa: F401  (registers "ctgov")
from harvest.sources import veeva  # noqa: F401  (registers "veeva")
from harvest.sources import inclinicaltrials  # noqa: F401  (registers "inclinicaltrials")
from harvest.sources import ichgcp  # noqa: F401  (registers "ichgcp")

# isort: on
from harvest.sources.base import Source, registered, source_for_url

__all__ = ["Source", "registered", "source_for_url"]
