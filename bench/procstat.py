"""CPU accounting from /proc (Linux): host busy time and CPU seconds of process groups."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
DATABASE_COMMANDS = frozenset({"postgres"})


@dataclass(frozen=True)
class Snapshot:
    """CPU counters at one instant, in CPU seconds."""

    host_busy: float
    host_total: float
    server: float
    broker: float
    database: float
    client: float


def snapshot(server_pid: int | None, broker_pid: int | None) -> Snapshot:
    """Read the host's, the server tree's, the broker's, PostgreSQL's and our own CPU counters."""
    busy, total = _host_ticks()
    return Snapshot(
        host_busy=busy / TICK,
        host_total=total / TICK,
        server=_tree_seconds(server_pid),
        broker=_tree_seconds(broker_pid),
        database=sum(_proc_seconds(pid) for pid in _pids_named(DATABASE_COMMANDS)),
        client=time.process_time(),
    )


def usage(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """Return CPU seconds used in between by each group and the rest of the host."""
    used = {
        name: getattr(after, name) - getattr(before, name)
        for name in ("server", "client", "broker", "database")
    }
    busy = after.host_busy - before.host_busy
    total = after.host_total - before.host_total
    used["other"] = busy - sum(used.values())
    used["host_busy"] = busy / total if total > 0 else float("nan")
    return used


def _host_ticks() -> tuple[int, int]:
    """Return (busy, total) jiffies of all CPUs, or zeros where /proc/stat is missing."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return total - idle, total


def _tree_seconds(pid: int | None) -> float:
    """Return user+system CPU seconds of a process and its live children."""
    if pid is None:
        return 0.0
    return sum(_proc_seconds(p) for p in [pid, *_children(pid)])


def _children(pid: int) -> list[int]:
    """Return the direct children of a process."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _pids_named(commands: frozenset[str]) -> list[int]:
    """Return the ids of processes whose command name is one of `commands`."""
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if entry.joinpath("comm").read_text().strip() in commands:
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def _proc_seconds(pid: int) -> float:
    """Return a process's user+system CPU seconds."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK
