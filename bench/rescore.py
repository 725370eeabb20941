"""Batch rescore benchmark: ``scrm rescore`` over a year of activity of 1,000,000 customers.

1. Creates (or with ``--reuse`` keeps) a PostgreSQL database, migrates it, and seeds one
   workspace with 1,000,000 customers, 10,000,000 interactions over the past year and a
   heavy-tailed customer graph (``--small``: 20,000 and 200,000), unless that workspace is
   already there (``bench/seed_activity.py``).
2. Times the baseline: one aggregate pass over the workspace's interactions, grouped by
   customer, the least any rescore that reads every interaction has to do.
3. Runs ``scrm rescore --workspace SLUG`` end to end as a separate process (the installed
   ``scrm`` beside this Python, ``SCRM_DATABASE_URL`` set to the bench database), sampling
   its memory and PostgreSQL's (``/proc``) and what PostgreSQL's backends are busy with
   (``pg_stat_activity``) while it runs.
4. Prints wall time, the rescore process's peak memory and CPU, PostgreSQL's peak memory,
   CPU, temporary files and rows written, rows per second, the statements the time went to,
   and the targets: under 3 minutes, under 4 GiB.

It is a benchmark, not a test: it asserts nothing about time. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import ``bench`` as a package from the root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import asyncpg
from sqlalchemy.engine import make_url

from bench import procfs, pyspy
from bench.baseline import asyncpg_dsn
from bench.database import add_database_arguments
from bench.seed import SeedResult, describe
from bench.seed_activity import DEFAULT_DATABASE_URL, prepare_activity

TARGET_SECONDS = 180.0
TARGET_BYTES = 4 * 1024**3
SAMPLE_SECONDS = 0.2
GIB = 1024**3
STAT_COLUMNS = (
    "temp_files",
    "temp_bytes",
    "tup_inserted",
    "tup_updated",
    "tup_deleted",
    "blks_read",
    "blks_hit",
)
BASELINE_SQL = """
SELECT count(*) FROM (
    SELECT customer_id, count(*), max(occurred_at), sum(amount), avg(sentiment),
           count(*) FILTER (WHERE is_complaint)
    FROM interaction WHERE workspace_id = $1 GROUP BY customer_id
) AS per_customer
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see ``--help``)."""
    parser = argparse.ArgumentParser(
        description="Benchmark `scrm rescore` on a year of activity of a large workspace."
    )
    add_database_arguments(
        parser,
        env="BENCH_RESCORE_DATABASE_URL",
        default_url=DEFAULT_DATABASE_URL,
        small="20,000 customers and 200,000 interactions",
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="run the rescore this many times, one after another"
    )
    parser.add_argument(
        "--scrm",
        default=str(Path(sys.executable).with_name("scrm")),
        help="the scrm executable (default: the one beside this Python)",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="after measuring, run the rescore once more under py-spy, write its collapsed "
        "stacks to FILE and print where the Python time goes",
    )
    parser.add_argument(
        "--seed-only", action="store_true", help="prepare and seed the database, then stop"
    )
    args = parser.parse_args(argv)
    if args.customers is None:
        args.customers = 20_000 if args.small else 1_000_000
    if args.interactions is None:
        args.interactions = 200_000 if args.small else 10_000_000
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


# --- measuring one run ------------------------------------------------------------------------


@dataclass
class Run:
    """What one rescore run used."""

    returncode: int
    seconds: float
    peak_resident: int
    cpu_seconds: float
    backends_peak_private: int
    """The bench database's backends: their private memory at its peak, added up."""
    postgres_peak_private: int
    """Every PostgreSQL process on the machine (other databases' too)."""
    postgres_private_before: int
    postgres_shared: int
    postgres_cpu_seconds: float
    stats: dict[str, int]
    statements: dict[str, float] = field(default_factory=dict)
    """Seconds each statement was seen active in a backend of the bench database."""
    parallel: dict[str, float] = field(default_factory=dict)
    """Seconds parallel workers were seen running each statement, added up."""
    waits: dict[str, float] = field(default_factory=dict)
    output: str = ""


class Sampler(threading.Thread):
    """Samples the rescore process tree's and PostgreSQL's memory every ``SAMPLE_SECONDS``."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_resident = 0
        self.postgres_peak_private = 0
        self.postgres_shared = 0
        self._finished = threading.Event()

    def run(self) -> None:
        """Sample until :meth:`stop`."""
        while not self._finished.is_set():
            self.sample()
            self._finished.wait(SAMPLE_SECONDS)

    def sample(self) -> None:
        """One sample: the process tree's resident size, PostgreSQL's private memory."""
        table = procfs.processes()
        resident = 0
        for pid in procfs.descendants(self.pid, table):
            used = procfs.memory(pid)
            resident += used.resident
            if pid == self.pid:
                self.peak_resident = max(self.peak_resident, used.peak_resident)
        self.peak_resident = max(self.peak_resident, resident)
        private, shared = postgres_memory(table)
        self.postgres_peak_private = max(self.postgres_peak_private, private)
        self.postgres_shared = max(self.postgres_shared, shared)

    def stop(self) -> None:
        """End the sampling (the thread exits within one interval)."""
        self._finished.set()


def postgres_memory(table: dict[int, tuple[str, int]] | None = None) -> tuple[int, int]:
    """All PostgreSQL processes' private memory added up, and the most shared memory one
    of them maps (the shared buffers it touched): together, what the server holds."""
    private = shared = 0
    for pid, (name, _) in (table or procfs.processes()).items():
        if name == "postgres":
            used = procfs.memory(pid)
            private += used.anonymous
            shared = max(shared, used.shared)
    return private, shared


@dataclass
class Backends:
    """What the bench database's backends did during a run, sampled every ``SAMPLE_SECONDS``
    (a backend's CPU as last seen before it exited)."""

    statements: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    """Seconds each statement was seen active in the backend that runs it."""
    parallel: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    """Seconds parallel workers were seen running each statement, added up."""
    waits: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    cpu: dict[int, float] = field(default_factory=dict)
    peak_private: int = 0
    """The most private memory the backends held at once, added up."""

    def sample(self, rows: list[asyncpg.Record]) -> None:
        """Account one sample of ``pg_stat_activity`` rows."""
        private = 0
        for row in rows:
            pid = row["pid"]
            self.cpu[pid] = procfs.cpu_seconds(pid) or self.cpu.get(pid, 0.0)
            private += procfs.memory(pid).anonymous
            if row["state"] != "active":
                continue
            query = _one_line(row["query"])
            if row["leader_pid"] is None:
                self.statements[query] += SAMPLE_SECONDS
            else:
                self.parallel[query] += SAMPLE_SECONDS
            wait = f"{row['wait_event_type']}:{row['wait_event']}"
            self.waits["CPU" if wait == "None:None" else wait] += SAMPLE_SECONDS
        self.peak_private = max(self.peak_private, private)


async def sample_backends(url: str, backends: Backends, done: threading.Event) -> None:
    """Sample the bench database's backends until ``done``."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        while not done.is_set():
            backends.sample(
                await conn.fetch(
                    "SELECT pid, leader_pid, state, query, wait_event_type, wait_event"
                    " FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            await asyncio.sleep(SAMPLE_SECONDS)
    finally:
        await conn.close()


def _one_line(query: str) -> str:
    return re.sub(r"\s+", " ", query).strip()


def _readable(statement: str) -> str:
    """A statement without the wrapper of a binary COPY of numbers, so what it reads shows
    (``pg_stat_activity`` keeps only a statement's first kilobyte)."""
    inner = re.search(r"'NaN'\) FROM \((.*)", statement)
    return f"COPY of ({inner.group(1)}" if inner else statement


async def database_stats(url: str) -> dict[str, int]:
    """The bench database's counters from ``pg_stat_database`` (a fresh snapshot)."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        row = await conn.fetchrow(
            f"SELECT {', '.join(STAT_COLUMNS)} FROM pg_stat_database"
            " WHERE datname = current_database()"
        )
    finally:
        await conn.close()
    assert row is not None
    return {name: int(row[name] or 0) for name in STAT_COLUMNS}


def run_rescore(args: argparse.Namespace, slug: str, log: Path) -> Run:
    """Run ``scrm rescore --workspace SLUG`` once and measure it."""
    url = args.database_url
    before = asyncio.run(database_stats(url))
    postgres_before, _ = postgres_memory()
    cpu_before = asyncio.run(procfs.database_cpu_seconds_async(url))
    backends = Backends()
    done = threading.Event()
    watcher = threading.Thread(
        target=asyncio.run, args=(sample_backends(url, backends, done),), daemon=True
    )
    watcher.start()
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [args.scrm, "rescore", "--workspace", slug],
            env={**os.environ, "SCRM_DATABASE_URL": url},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    sampler = Sampler(process.pid)
    sampler.start()
    # wait4 gives this child's own resource usage (peak RSS, CPU), not all children's.
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    sampler.stop()
    done.set()
    sampler.join()
    watcher.join()
    time.sleep(0.5)  # let the backends exit and flush their statistics
    after = asyncio.run(database_stats(url))
    # Backends of the bench database only: the postmaster's children time would also count
    # whatever else exited meanwhile on a shared server (other databases' backends).
    postgres_cpu = sum(seconds - cpu_before.get(pid, 0.0) for pid, seconds in backends.cpu.items())
    return Run(
        returncode=process.returncode,
        seconds=seconds,
        peak_resident=max(sampler.peak_resident, usage.ru_maxrss * 1024),
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        backends_peak_private=backends.peak_private,
        postgres_peak_private=sampler.postgres_peak_private,
        postgres_private_before=postgres_before,
        postgres_shared=sampler.postgres_shared,
        postgres_cpu_seconds=postgres_cpu,
        stats={name: after[name] - before[name] for name in STAT_COLUMNS},
        statements=backends.statements,
        parallel=backends.parallel,
        waits=backends.waits,
        output=log.read_text(errors="replace"),
    )


async def baseline_seconds(url: str, workspace_id: int) -> float:
    """Time of one aggregate pass over the workspace's interactions (the second of two runs,
    so both it and the rescore find the table in the page cache)."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        seconds = 0.0
        for _ in range(2):
            started = time.perf_counter()
            await conn.fetchval(BASELINE_SQL, workspace_id)
            seconds = time.perf_counter() - started
    finally:
        await conn.close()
    return seconds


def has_rescore(scrm: str) -> bool:
    """Whether this scrm has the ``rescore`` command."""
    if shutil.which(scrm) is None:
        raise SystemExit(f"no scrm executable at {scrm} (use --scrm)")
    answer = subprocess.run([scrm, "rescore", "--help"], capture_output=True, check=False)
    return answer.returncode == 0


# --- reporting ------------------------------------------------------------------------------


def report(run: Run, seeded: SeedResult, baseline: float, number: int) -> None:
    """Print one run's figures beside the targets."""
    stats = run.stats
    time_ok = "met" if run.seconds < TARGET_SECONDS else "NOT met"
    memory_ok = "met" if run.peak_resident < TARGET_BYTES else "NOT met"
    print(f"\nrun {number}: exit {run.returncode}")
    print(
        f"  wall time          {run.seconds:9.1f} s      target < {TARGET_SECONDS:.0f} s: {time_ok}"
    )
    print(
        f"  peak RSS (scrm)    {run.peak_resident / GIB:9.2f} GiB    target < "
        f"{TARGET_BYTES / GIB:.0f} GiB: {memory_ok}"
    )
    print(f"  CPU (scrm)         {run.cpu_seconds:9.1f} s")
    print(
        f"  rows/s             {seeded.interactions / run.seconds:11,.0f} interactions/s, "
        f"{seeded.customers / run.seconds:,.0f} customers/s"
    )
    print(
        f"  PostgreSQL         peak private memory of the bench database's backends "
        f"{run.backends_peak_private / GIB:.2f} GiB + shared {run.postgres_shared / GIB:.2f} GiB"
    )
    print(
        f"                     (all PostgreSQL processes: peak private "
        f"{run.postgres_peak_private / GIB:.2f} GiB, {run.postgres_private_before / GIB:.2f} GiB "
        "before the run)"
    )
    print(
        f"                     CPU {run.postgres_cpu_seconds:.1f} s (the bench database's "
        f"backends, sampled); temp files {stats['temp_files']} "
        f"({stats['temp_bytes'] / GIB:.2f} GiB)"
    )
    print(
        f"                     rows inserted {stats['tup_inserted']:,}, updated "
        f"{stats['tup_updated']:,}, deleted {stats['tup_deleted']:,}; blocks read "
        f"{stats['blks_read']:,}, hit {stats['blks_hit']:,}"
    )
    if baseline > 0:
        print(
            f"  baseline           one aggregate pass over the interactions {baseline:.2f} s; "
            f"the rescore took {run.seconds / baseline:.1f}× that"
        )
    if run.statements:
        print("  PostgreSQL was busy with (seconds seen active, sampled):")
        for statement, seconds in _largest(run.statements, 8):
            workers = run.parallel.get(statement, 0.0)
            helped = f" (+{workers:.1f} s in parallel workers)" if workers else ""
            print(f"    {seconds:7.1f} s{helped}  {_readable(statement)[:150]}")
        waits = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in _largest(run.waits, 5))
        print(f"  waiting on: {waits}")
    tail = run.output.strip().splitlines()[-8:]
    if tail:
        print("  scrm said:")
        for line in tail:
            print(f"    {line}")


def _largest(values: dict[str, float], count: int) -> list[tuple[str, float]]:
    return sorted(values.items(), key=lambda item: -item[1])[:count]


def profile(args: argparse.Namespace, slug: str) -> None:
    """Run the rescore once more under py-spy and print where its Python time went."""
    try:
        binary = pyspy.py_spy_binary()
    except FileNotFoundError as exc:
        print(f"\n--profile: {exc}; skipped")
        return
    output = Path(args.profile).resolve()
    print(f"\nprofiling one more rescore with py-spy → {output}")
    command = [
        binary,
        "record",
        "--rate",
        str(pyspy.SAMPLE_RATE),
        "--format",
        "raw",
        "--function",
        "--output",
        str(output),
        "--",
        args.scrm,
        "rescore",
        "--workspace",
        slug,
    ]
    env = {**os.environ, "SCRM_DATABASE_URL": args.database_url}
    answer = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if answer.returncode != 0:
        print(f"py-spy failed: {answer.stderr[-1000:]}")
        return
    print("(figures per run: the whole rescore is one 'request')")
    print(pyspy.summarize(output, requests=1))


def main(argv: list[str] | None = None) -> None:
    """Prepare, seed, time the baseline, run and measure the rescore, report."""
    args = parse_args(argv)
    url = args.database_url
    print(f"database: {make_url(url).render_as_string(hide_password=True)}")
    seeded = asyncio.run(prepare_activity(url, args.reuse, args.customers, args.interactions))
    print(describe(seeded))
    if args.seed_only:
        return
    if not has_rescore(args.scrm):
        raise SystemExit(f"{args.scrm} has no `rescore` command: nothing to measure")

    baseline = asyncio.run(baseline_seconds(url, seeded.workspace_id))
    runs = []
    with tempfile.TemporaryDirectory(prefix="scrm-rescore-") as logs:
        for number in range(1, args.runs + 1):
            print(f"rescore run {number} of workspace {seeded.slug!r} …", flush=True)
            runs.append(run_rescore(args, seeded.slug, Path(logs) / f"{number}.log"))
    print(
        f"\nworkspace {seeded.slug!r}: {seeded.customers:,} customers, "
        f"{seeded.interactions:,} interactions"
    )
    for number, run in enumerate(runs, 1):
        report(run, seeded, baseline, number)
    if args.profile:
        profile(args, seeded.slug)
    if any(run.returncode != 0 for run in runs):
        raise SystemExit("the rescore failed; see its output above")


if __name__ == "__main__":
    main()
