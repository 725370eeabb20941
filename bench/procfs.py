"""What processes on this machine used, read from ``/proc`` (Linux; zeros elsewhere)."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.baseline import asyncpg_dsn


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds(pid: int) -> float:
    """CPU time of a process's children that have exited and been waited for (``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def parent_pid(pid: int) -> int | None:
    """A process's parent (``/proc``), or None."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


POSTMASTER = -1
"""The key of ``database_cpu_seconds`` under which backends that exited are counted."""


def database_cpu_seconds(url: str) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend of the bench database, and (under
    ``POSTMASTER``) by backends that have exited.

    Only meaningful when PostgreSQL runs on this machine (``/proc``); the backends of the
    server that is not under load are idle, so the sum over a run is the loaded one's. A pool
    that opens and closes connections under load leaves backends that exit before the run
    ends: the postmaster's children time counts them (and any other PostgreSQL process that
    exited meanwhile, such as an autovacuum worker).
    """
    return asyncio.run(database_cpu_seconds_async(url))


async def database_cpu_seconds_async(url: str, *, exited: bool = True) -> dict[int, float]:
    """:func:`database_cpu_seconds` from inside an event loop; without ``exited``, only the
    backends alive now (on a shared server the postmaster's children time also counts
    other databases' backends that exited)."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    backends = [row["pid"] for row in rows]
    used = {pid: cpu_seconds(pid) for pid in backends}
    postmaster = parent_pid(backends[0]) if backends else None
    if exited and postmaster is not None:
        used[POSTMASTER] = children_cpu_seconds(postmaster)
    return used


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """Seconds of CPU between two :func:`database_cpu_seconds` readings."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


@dataclass(frozen=True, slots=True)
class Memory:
    """A process's memory from ``/proc/PID/status``, in bytes (zeros when it is gone).

    ``anonymous`` is the process's own memory; ``shared`` the shared memory it has touched
    (for PostgreSQL: the shared buffers), counted again in every process that maps it.
    """

    resident: int = 0
    peak_resident: int = 0
    anonymous: int = 0
    shared: int = 0


_STATUS_FIELDS = {
    "VmRSS": "resident",
    "VmHWM": "peak_resident",
    "RssAnon": "anonymous",
    "RssShmem": "shared",
}


def memory(pid: int) -> Memory:
    """What ``pid`` holds in memory now, and its peak resident size so far."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return Memory()
    values: dict[str, int] = {}
    for line in lines:
        name, _, rest = line.partition(":")
        field = _STATUS_FIELDS.get(name)
        if field is not None:
            values[field] = int(rest.split()[0]) * 1024  # the kernel reports kB
    return Memory(**values)


def processes() -> dict[int, tuple[str, int]]:
    """Every process on the machine: PID → (command name, parent PID)."""
    found: dict[int, tuple[str, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue  # it exited while we looked
        name = text[text.index("(") + 1 : text.rindex(")")]
        found[int(entry.name)] = (name, int(text.rsplit(")", 1)[1].split()[1]))
    return found


def descendants(pid: int, table: dict[int, tuple[str, int]]) -> list[int]:
    """``pid`` and every process below it, from a :func:`processes` table."""
    children: dict[int, list[int]] = {}
    for child, (_, parent) in table.items():
        children.setdefault(parent, []).append(child)
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, ()))
    return found
