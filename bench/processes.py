"""A process and every process under it (harvest's parse workers and the fork server that starts them): their
CPU time and their memory together, sampled from /proc while they run.

``os.wait4`` gives exact figures for the harvest process alone (and its children that it waited for): the parse
workers are children of multiprocessing's fork server, not of harvest, so their CPU and memory would not be
counted. The tree is sampled every 100 ms, followed down from its root: reading a process's PSS makes the
kernel walk its page tables, and at 20 samples a second, finding the tree by reading every process of the
machine, the sampler took 15% of a core from the two cores it measures (9% now). Its memory is
the sum of each process's proportional set size (PSS: a page two processes share counts half in each, so the
sum is what the tree holds of the machine's memory; a sum of RSS would count the interpreter and libraries the
workers share with the fork server once per process); the peak is the largest sum seen at one instant. CPU is
the last value seen for each process (a worker's last 100 ms may be missed)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from harvest.testing.processes import descendants

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float | None:
    """CPU seconds of one process, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _pss(pid: int) -> int:
    """Proportional set size of one process in bytes (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class TreeSampler:
    """Samples the tree under ``root`` in a thread until ``stop``."""

    root: int
    interval: float = 0.1
    peak_memory: int = 0  # bytes: the largest PSS sum of the tree seen
    cpu: dict[int, float] = field(default_factory=dict)
    processes: set[int] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> TreeSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        tree = {self.root, *descendants(self.root)}
        memory = 0
        for pid in tree:
            cpu = _cpu(pid)
            if cpu is not None:
                self.cpu[pid] = cpu
                memory += _pss(pid)
        self.processes |= tree
        self.peak_memory = max(self.peak_memory, memory)

    def cpu_of_others(self) -> float:
        """CPU seconds of every process of the tree but its root (the root's own comes exactly from wait4)."""
        return sum(cpu for pid, cpu in self.cpu.items() if pid != self.root)
