"""Parse workers that end with the run that started them, however it ends.

The workers are forked by multiprocessing's fork server, which the harvest process starts. A run that is killed
(kill -9, the out-of-memory killer, a cron wrapper's timeout) would leave the fork server and its workers behind,
idle and holding their memory, one set more for every killed run. On Linux each of them asks the kernel to kill
it when its parent dies (``PR_SET_PDEATHSIG``): the fork server when the harvest process dies, a worker when the
fork server does. Elsewhere nothing is asked.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Be killed when the parent process dies; exit now if it died before the kernel was asked."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        asked = ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return
    if asked and os.getppid() != parent:  # reparented in between: the parent is gone already
        os._exit(1)


def in_fork_server() -> bool:
    """Whether this process is multiprocessing's fork server (which imports the modules it is given to preload)."""
    return "multiprocessing.forkserver" in " ".join(getattr(sys, "orig_argv", ()))
