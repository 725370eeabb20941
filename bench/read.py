"""Read benchmark: the customers page query, socialcrm's GraphQL server against plain SQL.

1. Creates (or with ``--reuse`` reuses) a PostgreSQL database, migrates it, and seeds one
   workspace with 100,000 customers and 1,000,000 interactions (``--small``: 5,000 and
   50,000) through COPY, unless that workspace is already there.
2. Starts the server (``uvicorn server.app:create_app --factory``, one worker) and the
   hand-written baseline (``bench/baseline.py``: Starlette + asyncpg, one SQL statement),
   each in its own process on a free loopback port.
3. Checks once that both answer the same JSON for the page, then drives each with wrk (or
   an httpx loader process) for a fixed time after a warm-up, and prints requests/s,
   p50/p99 latency, the server processes' CPU per request, and the ratio against the
   target (socialcrm at ≥ 20% of the baseline's throughput).

It is a benchmark, not a test: it asserts nothing about time. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: import ``bench`` as a package from the root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench import pyspy
from bench.baseline import asyncpg_dsn
from bench.database import add_database_arguments, prepare_database
from bench.load import LoadResult, run_load, wrk_available
from bench.procfs import cpu_seconds, database_cpu_seconds
from bench.seed import SeedResult, describe, seed_workspace

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/scrm_bench"
TARGET_RATIO = 0.20

QUERY = (
    "query($first:Int!){ customers(first:$first){ edges{ node{ identities{ channel } tags "
    "scores{ influence } interactions(first:5){ edges{ node{ content } } } } } } }"
)


@dataclass
class Target:
    """One server under test: its name, process and measurements."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    results: list[LoadResult] = field(default_factory=list)
    cpu_ms_per_request: list[float] = field(default_factory=list)
    db_cpu_ms_per_request: list[float] = field(default_factory=list)

    def median(self) -> tuple[LoadResult, float, float]:
        """The round with the median throughput, its server and database CPU per request."""
        order = sorted(range(len(self.results)), key=lambda i: self.results[i].rps)
        middle = order[(len(order) - 1) // 2]
        return (
            self.results[middle],
            self.cpu_ms_per_request[middle],
            self.db_cpu_ms_per_request[middle],
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see ``--help``)."""
    parser = argparse.ArgumentParser(
        description="Benchmark the customers page query: socialcrm vs hand-written SQL."
    )
    add_database_arguments(
        parser,
        env="BENCH_DATABASE_URL",
        default_url=DEFAULT_DATABASE_URL,
        small="5,000 customers and 50,000 interactions",
    )
    parser.add_argument("--first", type=int, default=50, help="page size (default 50)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per run")
    parser.add_argument("--concurrency", type=int, default=16, help="open connections")
    parser.add_argument(
        "--rounds", type=int, default=1, help="alternate baseline/server runs this many times"
    )
    parser.add_argument(
        "--loader",
        choices=("auto", "wrk", "httpx"),
        default="auto",
        help="load generator: wrk (Debian package) or an httpx loader process",
    )
    parser.add_argument(
        "--only",
        choices=("both", "baseline", "server"),
        default="both",
        help="measure only one side (the ratio needs both)",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="after measuring, profile the server under the same load with py-spy, write "
        "its collapsed stacks to FILE and print where the time goes",
    )
    parser.add_argument(
        "--server-root",
        default=str(ROOT),
        metavar="DIR",
        help="run the server from this checkout (e.g. a git worktree of another commit); "
        "default: this one",
    )
    parser.add_argument(
        "--seed-only", action="store_true", help="prepare and seed the database, then stop"
    )
    args = parser.parse_args(argv)
    if args.customers is None:
        args.customers = 5_000 if args.small else 100_000
    if args.interactions is None:
        args.interactions = 50_000 if args.small else 1_000_000
    return args


# --- the database -------------------------------------------------------------------------


async def seed_and_token(url: str, customers: int, interactions: int) -> tuple[SeedResult, str]:
    """Seed the workspace (unless present) and create a read token for it."""
    from socialcrm.server.auth import create_token
    from socialcrm.server.db import create_engine, session_factory, transaction

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        print(f"seeding {customers:,} customers and {interactions:,} interactions …", flush=True)
        result = await seed_workspace(conn, customers, interactions)
    finally:
        await conn.close()
    print(describe(result))
    engine = create_engine(url, pool_size=1)
    try:
        async with transaction(session_factory(engine)) as session:
            token = await create_token(session, result.workspace_id, "read", name="bench")
    finally:
        await engine.dispose()
    return result, token


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nothing listens on right now, on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def uvicorn_process(
    name: str, app: str, env: dict[str, str], logs: Path, root: Path = ROOT
) -> Iterator[Target]:
    """Run ``app`` (an app factory, imported from ``root``) under uvicorn with one worker.

    The process is stopped by its PID when the context ends.
    """
    port = free_port()
    log = logs / f"{name}.log"
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--app-dir",
        str(root),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    target = Target(name, f"http://127.0.0.1:{port}/graphql", process, log)
    try:
        _wait_ready(target, f"http://127.0.0.1:{port}/healthz")
        yield target
    finally:
        _stop(process)


def _wait_ready(target: Target, health_url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if target.process.poll() is not None:
            raise RuntimeError(
                f"{target.name} exited with {target.process.returncode}:\n"
                + target.log.read_text(errors="replace")[-3000:]
            )
        try:
            if httpx.get(health_url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{target.name} did not answer {health_url} within {timeout:g} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


# --- same data ------------------------------------------------------------------------------


def fetch_page(url: str, body: str, token: str) -> Any:
    """One request's decoded JSON answer (raises on a non-200 answer)."""
    response = httpx.post(
        url,
        content=body,
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
        timeout=60.0,
    )
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:500]}")
    return response.json()


def differences(left: Any, right: Any, path: str = "$", limit: int = 10) -> list[str]:
    """Where two decoded JSON documents differ (at most ``limit`` paths)."""
    found: list[str] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if len(found) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                if key not in a or key not in b:
                    found.append(f"{where}.{key}: only in {'left' if key in a else 'right'}")
                else:
                    walk(a[key], b[key], f"{where}.{key}")
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                found.append(f"{where}: {len(a)} items vs {len(b)}")
            for index, (x, y) in enumerate(zip(a, b, strict=False)):
                walk(x, y, f"{where}[{index}]")
        elif a != b:
            found.append(f"{where}: {json.dumps(a)[:80]} vs {json.dumps(b)[:80]}")

    walk(left, right, path)
    return found


def page_summary(document: Any) -> str:
    """Counts of what a page holds, to show the comparison is not of empty pages."""
    nodes = [edge["node"] for edge in document["data"]["customers"]["edges"]]
    identities = sum(len(node["identities"]) for node in nodes)
    tags = sum(len(node["tags"]) for node in nodes)
    interactions = sum(len(node["interactions"]["edges"]) for node in nodes)
    return (
        f"{len(nodes)} customers, {identities} identities, {tags} tags, {interactions} interactions"
    )


def check_same_data(baseline: Target, server: Target, body: str, token: str) -> bool:
    """Fetch the page from both and compare the JSON; print what differs."""
    ours = fetch_page(server.url, body, token)
    theirs = fetch_page(baseline.url, body, token)
    if "errors" in ours:
        print(f"server answered errors: {json.dumps(ours['errors'])[:1000]}")
        return False
    found = differences(ours, theirs, limit=10)
    if found:
        print("NOT the same data (left: socialcrm, right: baseline):")
        for line in found:
            print(f"  {line}")
        return False
    print(f"same data from both: {page_summary(ours)}")
    return True


# --- measuring ------------------------------------------------------------------------------


def measure(target: Target, loader: str, body: str, token: str, args: argparse.Namespace) -> None:
    """Warm up, then run the load once and record throughput, latency and CPU."""
    if args.warmup > 0:
        run_load(loader, target.url, body, token, args.warmup, args.concurrency)
    db_before = database_cpu_seconds(args.database_url)
    before = cpu_seconds(target.process.pid)
    result = run_load(loader, target.url, body, token, args.duration, args.concurrency)
    used = cpu_seconds(target.process.pid) - before
    db_after = database_cpu_seconds(args.database_url)
    db_used = sum(seconds - db_before.get(pid, 0.0) for pid, seconds in db_after.items())
    per_request = 1000 / result.requests if result.requests else 0.0
    target.results.append(result)
    target.cpu_ms_per_request.append(used * per_request)
    target.db_cpu_ms_per_request.append(db_used * per_request)
    print(
        f"  {target.name:<10} {result.rps:9.1f} req/s  p50 {result.p50_ms:8.2f} ms  "
        f"p99 {result.p99_ms:8.2f} ms  errors {result.errors}",
        flush=True,
    )


def report(targets: list[Target], args: argparse.Namespace, same_data: bool | None) -> None:
    """The summary table, the ratio and the verdict on the target."""
    print()
    print(
        f"{'':<10} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9} "
        f"{'errors':>7} {'CPU ms/req':>11} {'DB CPU ms/req':>14}"
    )
    medians: dict[str, LoadResult] = {}
    for target in targets:
        result, cpu, db_cpu = target.median()
        medians[target.name] = result
        print(
            f"{target.name:<10} {result.rps:9.1f} {result.p50_ms:9.2f} {result.p99_ms:9.2f} "
            f"{result.max_ms:9.1f} {result.errors:7d} {cpu:11.2f} {db_cpu:14.2f}"
        )
    if "baseline" in medians and "socialcrm" in medians and medians["baseline"].rps:
        ratio = medians["socialcrm"].rps / medians["baseline"].rps
        verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
        print(
            f"\nratio socialcrm/baseline: {ratio:.3f} ({ratio:.1%} of the baseline's "
            f"throughput); target >= {TARGET_RATIO:.0%}: {verdict}"
        )
        if same_data is False:
            print("warning: the two answered different data; the ratio is not a fair one")
        if any(result.errors for result in medians.values()):
            print("warning: some requests failed; see the errors column")


def main(argv: list[str] | None = None) -> None:
    """Prepare, seed, start both servers, compare, measure, report."""
    args = parse_args(argv)
    loader = args.loader
    if loader == "auto":
        loader = "wrk" if wrk_available() else "httpx"
    if loader == "wrk" and not wrk_available():
        raise SystemExit("wrk is not installed (apt-get install wrk), or use --loader httpx")
    url = args.database_url
    print(f"database: {make_url(url).render_as_string(hide_password=True)}")

    async def prepare() -> tuple[SeedResult, str]:
        await prepare_database(url, args.reuse)
        return await seed_and_token(url, args.customers, args.interactions)

    seeded, token = asyncio.run(prepare())
    if args.seed_only:
        return
    body = json.dumps({"query": QUERY, "variables": {"first": args.first}})
    print(
        f"load: {loader}, {args.concurrency} connections, {args.duration:g} s per run after "
        f"{args.warmup:g} s warm-up, {args.rounds} round(s); page of {args.first} customers; "
        f"dataset {seeded.customers:,} customers / {seeded.interactions:,} interactions"
    )

    with ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scrm-bench-")))
        targets: list[Target] = []
        if args.only in ("both", "baseline"):
            targets.append(
                stack.enter_context(
                    uvicorn_process(
                        "baseline", "bench.baseline:create_app", {"BENCH_DATABASE_URL": url}, logs
                    )
                )
            )
        if args.only in ("both", "server"):
            targets.append(
                stack.enter_context(
                    uvicorn_process(
                        "socialcrm",
                        "socialcrm.server.app:create_app",
                        # Reads alone: the periodic rescore would rescore the whole seeded
                        # workspace during the run (bench/rescore.py measures that).
                        {
                            "SCRM_DATABASE_URL": url,
                            "SCRM_GRAPHIQL": "false",
                            "SCRM_RESCORE_INTERVAL_SECONDS": "0",
                        },
                        logs,
                        Path(args.server_root).resolve(),
                    )
                )
            )
        same_data: bool | None = None
        if len(targets) == 2:
            same_data = check_same_data(targets[0], targets[1], body, token)
        else:
            document = fetch_page(targets[0].url, body, token)
            print(f"{targets[0].name} answers: {page_summary(document)}")
        for round_number in range(1, args.rounds + 1):
            print(f"round {round_number}:")
            for target in targets:
                measure(target, loader, body, token, args)
        report(targets, args, same_data)
        server = next((target for target in targets if target.name == "socialcrm"), None)
        if args.profile and server is not None:
            profile_server(server, loader, body, token, args)


def profile_server(
    server: Target, loader: str, body: str, token: str, args: argparse.Namespace
) -> None:
    """Sample the server with py-spy while the load runs again; print the hot spots."""
    if shutil.which("py-spy") is None and not Path(sys.executable).with_name("py-spy").exists():
        print("\n--profile needs py-spy (pip install py-spy); skipped")
        return
    output = Path(args.profile).resolve()
    print(f"\nprofiling socialcrm (pid {server.process.pid}) for {args.duration:g} s …")
    with pyspy.py_spy_record(server.process.pid, output, args.duration + 2) as recorder:
        time.sleep(1.0)
        before = cpu_seconds(server.process.pid)
        result = run_load(loader, server.url, body, token, args.duration, args.concurrency)
        used = cpu_seconds(server.process.pid) - before
    if recorder.returncode != 0:
        print(f"py-spy failed: {recorder.stderr[-1000:]}")
        return
    cpu_ms = used * 1000 / result.requests if result.requests else None
    print(f"(under the profiler: {result.rps:.1f} req/s; stacks in {output})")
    print(pyspy.summarize(output, requests=result.requests, cpu_ms_per_request=cpu_ms))


if __name__ == "__main__":
    main()
