"""Where one request's time goes, measured inside one process (no HTTP server, no load).

Runs the read benchmark's query against ``socialcrm.server.app:create_app`` through an in-process
ASGI client, one request at a time, and prints per request: wall and CPU time (this
process only: the client, the app and the driver, not PostgreSQL), the SQL statements
sent, the time the cyclic garbage collector took (and the same run again with the
collector tuned, to size what tuning it would give), and optionally cProfile's top
functions with their call counts. The bench database must be seeded (``bench/read.py
--seed-only``)::

    .venv/bin/python -m bench.inprocess --small --requests 50 --cprofile
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import pstats
import re
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import event

from bench.read import DEFAULT_DATABASE_URL, QUERY, seed_and_token

_SITE_PACKAGES = re.compile(r"\S*site-packages/")


@dataclass
class GcMeter:
    """Counts and times cyclic garbage collections through ``gc.callbacks``."""

    seconds: float = 0.0
    collections: dict[int, int] = field(default_factory=lambda: {0: 0, 1: 0, 2: 0})
    _started: float = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections[info["generation"]] += 1


@dataclass
class Run:
    """The figures of one series of sequential requests."""

    label: str
    wall_ms: list[float]
    cpu_ms: list[float]
    statements: int
    gc: GcMeter

    def describe(self) -> str:
        """One line of per-request figures."""
        n = len(self.wall_ms)
        gens = ", ".join(f"gen{g} {c / n:.1f}" for g, c in self.gc.collections.items())
        return (
            f"{self.label:<28} median {statistics.median(self.wall_ms):7.2f} ms  "
            f"mean {statistics.fmean(self.wall_ms):7.2f} ms  "
            f"CPU median {statistics.median(self.cpu_ms):6.2f} ms  SQL statements "
            f"{self.statements / n:5.1f}  GC {self.gc.seconds * 1000 / n:6.2f} ms ({gens})"
        )


async def _series(
    client: httpx.AsyncClient, body: str, token: str, requests: int, label: str, counter: list[int]
) -> Run:
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    meter = GcMeter()
    gc.callbacks.append(meter)
    counter[0] = 0
    wall: list[float] = []
    cpu: list[float] = []
    try:
        for _ in range(requests):
            started, cpu_started = time.perf_counter(), time.process_time()
            response = await client.post("/graphql", content=body, headers=headers)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
            if response.status_code != 200 or "errors" in response.json():
                raise RuntimeError(f"the query failed: {response.text[:500]}")
    finally:
        gc.callbacks.remove(meter)
    return Run(label, wall, cpu, counter[0], meter)


async def probe(args: argparse.Namespace) -> None:
    """Build the app, warm it up, and run the series."""
    from asgi_lifespan import LifespanManager

    from socialcrm.server.app import create_app
    from socialcrm.server.settings import Settings

    seeded, token = await seed_and_token(args.database_url, args.customers, args.interactions)
    settings = Settings(database_url=args.database_url, graphiql=False, _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings)
    counter = [0]

    def count(*_: Any) -> None:
        counter[0] += 1

    engine = app.state.services.engine
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    body = json.dumps({"query": QUERY, "variables": {"first": args.first}})
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await _series(client, body, token, args.warmup, "warm-up", counter)
            runs = [await _series(client, body, token, args.requests, "as configured", counter)]
            old = gc.get_threshold()
            gc.collect()
            gc.freeze()
            gc.set_threshold(50_000, 50, 100)
            try:
                runs.append(
                    await _series(
                        client, body, token, args.requests, "gc.freeze + threshold 50k", counter
                    )
                )
            finally:
                gc.set_threshold(*old)
                gc.unfreeze()
            print(
                f"{args.requests} sequential requests in process, page of {args.first}, "
                f"workspace {seeded.slug}"
            )
            for run in runs:
                print("  " + run.describe())
            if args.cprofile:
                print(await _cprofiled(client, body, token, args.requests, args.top))


async def _cprofiled(
    client: httpx.AsyncClient, body: str, token: str, requests: int, top: int
) -> str:
    profiler = cProfile.Profile()
    counter = [0]
    profiler.enable()
    try:
        await _series(client, body, token, requests, "cprofile", counter)
    finally:
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    return (
        f"\ncProfile over {requests} requests (divide calls and times by {requests}; "
        f"cProfile's own overhead inflates small functions):\n" + _trim(out.getvalue())
    )


def _trim(text: str) -> str:
    lines = (line for line in text.splitlines() if line.strip())
    return "\n".join(_SITE_PACKAGES.sub("", line) for line in lines)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the probe."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--small", action="store_true", help="the 5,000-customer workspace")
    parser.add_argument("--first", type=int, default=50)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--cprofile", action="store_true", help="also print cProfile's top list")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    args.customers, args.interactions = (5_000, 50_000) if args.small else (100_000, 1_000_000)
    asyncio.run(probe(args))


if __name__ == "__main__":
    main()
