"""Where a benchmark's CPU went: seconds of CPU by server, read from ``/proc`` (Linux).

On a machine whose cores are all busy a rate is CPU per request, and this says whose: the app's server
(gunicorn and its workers), the load's clients (this process), and each PostgreSQL server by its port (its
postmaster and every backend it started). A process that started during the measurement counts from zero; one
that ended during it is not counted (the servers' connections are pooled, so that is none of the measured ones).

    with CpuMeter(app=server.proc.pid) as cpu:
        ...load...
    cpu.seconds  # {"app": 12.1, "clients": 3.0, "postgres :5432": 14.2, "machine": 30.1, "other": 0.8}
"""
from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, float]]:
    """Every process's parent and CPU seconds so far (user and system)."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:  # ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, …, utime (11), stime (12)
        out[int(name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK)
    return out


def _postmasters(procs: dict[int, tuple[int, float]]) -> dict[int, str]:
    """Each running PostgreSQL postmaster's pid and its group's name, ``postgres :<port>``."""
    found = {}
    for pid in procs:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not argv[0].endswith(b"/postgres") or b"-D" not in argv:
            continue
        data = Path(argv[argv.index(b"-D") + 1].decode())
        try:
            port = (data / "postmaster.pid").read_text().splitlines()[3]
        except (OSError, IndexError):
            continue
        found[pid] = f"postgres :{port}"
    return found


def _machine_busy() -> float:
    """CPU seconds every core has spent on anything but idling and waiting for disks, since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICK


class CpuMeter:
    """CPU seconds by group between entering and leaving: ``roots`` names process trees (a label and the pid
    at their root), ``clients`` is this process, every PostgreSQL server found is a group of its own, and
    ``machine`` is every core's busy time (``other``: what no group accounts for, a process that ended among it)."""

    def __init__(self, **roots: int):
        self.roots = roots
        self.seconds: dict[str, float] = {}

    def _snapshot(self) -> tuple[dict[int, tuple[str, float]], float]:
        """Each process of a group with its group and CPU seconds so far, and the machine's busy seconds."""
        procs = _processes()
        roots = {pid: label for label, pid in self.roots.items()} | _postmasters(procs) | {os.getpid(): "clients"}
        found = {}
        for pid, (_, cpu) in procs.items():
            at, seen = pid, 0
            while at not in roots and at > 1 and seen < 64:  # up the tree to a root, if any
                at, seen = procs.get(at, (0, 0.0))[0], seen + 1
            if at in roots:
                found[pid] = (roots[at], cpu)
        return found, _machine_busy()

    def __enter__(self) -> CpuMeter:
        self._start = self._snapshot()
        return self

    def __exit__(self, *exc) -> None:
        (before, busy_before), (after, busy_after) = self._start, self._snapshot()
        totals: dict[str, float] = {}
        for pid, (group, cpu) in after.items():
            start = before.get(pid)
            totals[group] = totals.get(group, 0.0) + cpu - (start[1] if start and start[0] == group else 0.0)
        self.seconds = {k: round(v, 2) for k, v in totals.items()}
        self.seconds["machine"] = round(busy_after - busy_before, 2)
        self.seconds["other"] = round(self.seconds["machine"] - sum(totals.values()), 2)

    def busy(self, seconds: float) -> float:
        """The share of ``seconds`` of wall time that every core spent busy."""
        return round(self.seconds["machine"] / (seconds * (os.cpu_count() or 1)), 2)

    def per(self, n: int) -> dict[str, float]:
        """Milliseconds of CPU per one of ``n`` things done, by group."""
        return {k: round(v * 1000 / n, 1) for k, v in self.seconds.items()} if n else {}
