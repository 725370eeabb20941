"""Profile a running server with py-spy and say where its time goes, per request.

py-spy samples the process from outside (no change to the server, little overhead) and
writes collapsed stacks (``frame;frame;frame count`` per line). :func:`summarize` turns them
into three views: the packages the CPU is spent in, the functions with the most self time,
and the functions with the most inclusive time, each in milliseconds per request.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SAMPLE_RATE = 250
"""Samples per second; at this rate py-spy costs the server a few percent."""

_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")

# Leaf-frame files → the package the time is spent in (first match wins).
_BUCKETS: tuple[tuple[str, str], ...] = (
    ("strawberry/", "strawberry"),
    ("graphql/", "graphql-core"),
    ("sqlalchemy/", "sqlalchemy"),
    ("sqlmodel/", "sqlmodel"),
    ("asyncpg/", "asyncpg"),
    ("starlette/", "starlette"),
    ("uvicorn/", "uvicorn"),
    ("httptools/", "uvicorn"),
    ("pydantic", "pydantic"),
    ("json/", "json (stdlib)"),
    ("asyncio/runners.py", "event loop (uvloop, native)"),
    ("asyncio/", "asyncio (stdlib)"),
    ("resolvers/", "resolvers/ (ours)"),
    ("schema/", "schema/ (ours)"),
    ("server/", "server/ (ours)"),
    ("plugins/", "plugins/ (ours)"),
)

# Frames every sample passes through (process start, the loop's entry): not informative.
_SCAFFOLDING: tuple[str, ...] = (
    "<frozen runpy>",
    "click/",
    "uvicorn/__main__.py",
    "uvicorn/main.py",
    "uvicorn/_compat.py",
    "uvicorn/server.py",
    "asyncio/runners.py",
    "asyncio/base_events.py",
    "asyncio/events.py",
)
_OURS: tuple[str, ...] = ("resolvers/", "schema/", "server/", "plugins/")


@dataclass
class Recorder:
    """A py-spy process's outcome, filled in when the recording ends."""

    returncode: int | None = None
    stderr: str = ""


def py_spy_binary() -> str:
    """The py-spy executable: next to this Python, or on the PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    if beside.exists():
        return str(beside)
    found = shutil.which("py-spy")
    if found is None:
        raise FileNotFoundError("py-spy is not installed (pip install py-spy)")
    return found


@contextmanager
def py_spy_record(pid: int, output: Path, duration: float) -> Iterator[Recorder]:
    """Record ``pid`` for ``duration`` seconds while the body runs (stopped by its PID)."""
    command = [
        py_spy_binary(),
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(duration))),
        "--rate",
        str(SAMPLE_RATE),
        "--format",
        "raw",
        "--function",
        "--nonblocking",
        "--output",
        str(output),
    ]
    recorder = Recorder()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        yield recorder
        _, stderr = process.communicate(timeout=duration + 60)
        recorder.returncode = process.returncode
        recorder.stderr = stderr
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


def _parse_frame(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip(), ""
    return match["function"], match["file"]


def _bucket(file: str) -> str:
    for needle, name in _BUCKETS:
        if needle in file:
            return name
    return "other" if file else "native/unknown"


def load_stacks(path: Path) -> Counter[tuple[str, ...]]:
    """Collapsed stacks (root first) → sample counts."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[tuple(stack.split(";"))] += int(count)
    return stacks


def summarize(
    path: Path,
    *,
    requests: int,
    rate: int = SAMPLE_RATE,
    top: int = 20,
    cpu_ms_per_request: float | None = None,
) -> str:
    """Where the sampled time went, in ms per request, as a printable report.

    py-spy counts a thread that is runnable but waiting for a core as busy, and requests
    still in flight when the load stops are sampled but not counted; so when the process's
    measured CPU per request is known, each share is scaled to it instead of to the samples.
    """
    stacks = load_stacks(path)
    total = sum(stacks.values())
    if not total or not requests:
        return "no samples"
    sampled_ms = total * 1000.0 / rate / requests
    scale_ms = cpu_ms_per_request if cpu_ms_per_request else sampled_ms
    per_request = scale_ms / total  # ms per request of one sample

    packages: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    for stack, count in stacks.items():
        leaf_function, leaf_file = _parse_frame(stack[-1])
        packages[_bucket(leaf_file)] += count
        self_time[f"{leaf_function} ({leaf_file})"] += count
        seen: set[str] = set()
        for frame in stack:
            function, file = _parse_frame(frame)
            key = f"{function} ({file})"
            if key in seen or any(part in file for part in _SCAFFOLDING):
                continue
            seen.add(key)
            inclusive[key] += count
            if file.startswith(_OURS):
                ours[key] += count

    basis = (
        f"shares scaled to the measured {cpu_ms_per_request:.2f} ms of CPU per request"
        if cpu_ms_per_request
        else "shares scaled to the samples"
    )
    lines = [
        f"{total} samples at {rate}/s over {requests} requests "
        f"({sampled_ms:.2f} ms sampled per request); {basis}",
        "",
        "by package (self time):",
    ]
    lines += _table(packages.most_common(), total, per_request)
    lines += ["", f"top {top} functions by self time:"]
    lines += _table(self_time.most_common(top), total, per_request)
    lines += ["", f"top {top} functions by inclusive time:"]
    lines += _table(inclusive.most_common(top), total, per_request)
    lines += ["", f"top {top} of our functions (resolvers/, schema/, server/) by inclusive time:"]
    lines += _table(ours.most_common(top), total, per_request)
    return "\n".join(lines)


def _table(rows: list[tuple[str, int]], total: int, per_request: float) -> list[str]:
    return [
        f"  {count / total:6.1%}  {count * per_request:7.3f} ms/req  {name[:110]}"
        for name, count in rows
    ]


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Summarize py-spy raw (collapsed) stacks.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--rate", type=int, default=SAMPLE_RATE)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--cpu-ms-per-request", type=float, help="scale shares to this")
    arguments = parser.parse_args()
    print(
        summarize(
            arguments.file,
            requests=arguments.requests,
            rate=arguments.rate,
            top=arguments.top,
            cpu_ms_per_request=arguments.cpu_ms_per_request,
        )
    )
