"""Load generators, each run in its own process: wrk (preferred) or an httpx/asyncio loop.

Both POST the same body with the same bearer token on ``concurrency`` keep-alive
connections for a fixed time and report the same figures (:class:`LoadResult`). Only
loopback addresses are accepted.

Run as a module, this file is the httpx loader's process::

    BENCH_BODY='{...}' BENCH_TOKEN=scrm_... python -m bench.load URL --duration 5 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LUA_SCRIPT = HERE / "graphql.lua"
RESULT_PREFIX = "BENCH_RESULT "
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_DURATION = 600.0
MAX_CONCURRENCY = 512


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What one load run measured; latencies in milliseconds."""

    tool: str
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    """Connection errors, timeouts and non-2xx answers."""

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def check_bounds(url: str, duration: float, concurrency: int) -> None:
    """Refuse anything but a bounded run against this machine."""
    host = urlsplit(url).hostname
    if host not in LOOPBACK:
        raise ValueError(f"load is only sent to loopback addresses, not {host!r}")
    if not 0 < duration <= MAX_DURATION:
        raise ValueError(f"duration must be in (0, {MAX_DURATION:g}] seconds")
    if not 0 < concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency must be in (0, {MAX_CONCURRENCY}]")


def wrk_available() -> bool:
    """True when a ``wrk`` binary is on the PATH."""
    return shutil.which("wrk") is not None


def run_load(
    tool: str, url: str, body: str, token: str, duration: float, concurrency: int
) -> LoadResult:
    """Drive ``url`` for ``duration`` seconds with ``tool`` (``wrk`` or ``httpx``)."""
    check_bounds(url, duration, concurrency)
    env = {**os.environ, "BENCH_BODY": body, "BENCH_TOKEN": token}
    if tool == "wrk":
        command = [
            "wrk",
            "--threads",
            "1",
            "--connections",
            str(concurrency),
            "--duration",
            f"{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "--script",
            str(LUA_SCRIPT),
            url,
        ]
    elif tool == "httpx":
        command = [
            sys.executable,
            "-m",
            "bench.load",
            url,
            "--duration",
            str(duration),
            "--concurrency",
            str(concurrency),
        ]
    else:
        raise ValueError(f"unknown load tool {tool!r}")
    completed = subprocess.run(
        command,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=False,
    )
    for line in completed.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return _parse(tool, json.loads(line[len(RESULT_PREFIX) :]))
    raise RuntimeError(
        f"{tool} exited {completed.returncode} without a result:\n"
        f"{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}"
    )


def _parse(tool: str, raw: dict[str, float]) -> LoadResult:
    errors = sum(
        int(raw[key])
        for key in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    return LoadResult(
        tool=tool,
        requests=int(raw["requests"]),
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1e3,
        p90_ms=raw["p90_us"] / 1e3,
        p99_ms=raw["p99_us"] / 1e3,
        max_ms=raw["max_us"] / 1e3,
        errors=errors,
    )


def _percentile(sorted_values: list[float], percent: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(percent / 100 * (len(sorted_values) - 1)))
    return sorted_values[index]


async def _httpx_load(url: str, body: str, token: str, duration: float, concurrency: int) -> None:
    import httpx

    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    content = body.encode()
    latencies: list[float] = []
    counts = {"bytes": 0, "status_errors": 0, "read_errors": 0, "timeouts": 0}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:
        started = time.perf_counter()
        deadline = started + duration

        async def worker() -> None:
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                try:
                    response = await client.post(url, content=content, headers=headers)
                except httpx.TimeoutException:
                    counts["timeouts"] += 1
                    continue
                except httpx.HTTPError:
                    counts["read_errors"] += 1
                    continue
                latencies.append(time.perf_counter() - sent)
                counts["bytes"] += len(response.content)
                if not 200 <= response.status_code < 300:
                    counts["status_errors"] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    us = [value * 1e6 for value in latencies]
    result = {
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        "bytes": counts["bytes"],
        "p50_us": _percentile(us, 50),
        "p90_us": _percentile(us, 90),
        "p99_us": _percentile(us, 99),
        "max_us": us[-1] if us else 0.0,
        "mean_us": sum(us) / len(us) if us else 0.0,
        "connect_errors": 0,
        "read_errors": counts["read_errors"],
        "write_errors": 0,
        "status_errors": counts["status_errors"],
        "timeouts": counts["timeouts"],
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def main(argv: list[str] | None = None) -> None:
    """The httpx loader's process: reads BENCH_BODY and BENCH_TOKEN, prints one result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("url")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    check_bounds(args.url, args.duration, args.concurrency)
    asyncio.run(
        _httpx_load(
            args.url,
            os.environ["BENCH_BODY"],
            os.environ.get("BENCH_TOKEN", ""),
            args.duration,
            args.concurrency,
        )
    )


if __name__ == "__main__":
    main()
