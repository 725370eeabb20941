"""``scrm serve`` as a real process: start it, read the printed admin token, stop it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

TOKEN = re.compile(r"\b(scrm_[A-Za-z0-9_-]{20,})\b")


@dataclass
class RunningServer:
    """A started ``scrm serve``: where it listens, the admin token it printed, its banner."""

    base_url: str
    token: str
    banner: list[str]

    def graphql(self, query: str) -> httpx.Response:
        """POST ``query`` with the admin token."""
        return httpx.post(
            f"{self.base_url}/graphql",
            json={"query": query},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def scrm_serve(
    command: list[str], *, cwd: Path, env: dict[str, str], workspace: str = "demo"
) -> Iterator[RunningServer]:
    """Run ``command serve --port N --admin-token-for workspace`` until healthy; stop it after.

    ``command`` is how to call ``scrm`` (its script, or ``python -m socialcrm.server.cli``).
    """
    port = free_port()
    process = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--admin-token-for", workspace],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        token = None
        deadline = time.monotonic() + 30
        # The banner comes before uvicorn starts: read until the token line.
        while token is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            match = TOKEN.search(line)
            if match:
                token = match.group(1)
        assert token, "".join(lines)
        base = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "the server exited early: " + "".join(lines)
            time.sleep(0.2)
        yield RunningServer(base_url=base, token=token, banner=lines)
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
