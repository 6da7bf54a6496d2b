"""Imported first by the parse workers' fork server as it starts (``set_forkserver_preload``): the fork server
then dies with the harvest process that started it (``pipeline.parent_death``). Importing it anywhere else does
nothing."""

from __future__ import annotations

from harvest.pipeline.parent_death import die_with_parent, in_fork_server

if in_fork_server():
    die_with_parent()
