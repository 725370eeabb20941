"""Fixtures of the subscription tests: a live server in this event loop, or several as
separate processes (the acceptance test across processes)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from helpers.serve import listening_socket, serve
from ws_clients import REPO, LiveServer, ServerProcess, ServerProcessFactory

from socialcrm.plugins.manager import PluginManager
from socialcrm.server.app import create_app
from socialcrm.server.settings import Settings


@pytest.fixture
async def live_server(
    settings: Settings, plugin_manager: PluginManager
) -> AsyncIterator[LiveServer]:
    """The app served over a real socket by uvicorn, inside the test's event loop."""
    app = create_app(settings, plugin_manager)
    async with serve(app, lifespan="on") as base_url:
        yield LiveServer(app=app, base_url=base_url)


@pytest.fixture
async def server_processes(
    tmp_path: Path, partner_site: Path
) -> AsyncIterator[ServerProcessFactory]:
    """Start ``socialcrm.server.app:create_app`` in uvicorn subprocesses with the given environment.

    Each gets a pre-bound listening socket (``--fd``), so no free-port race; the partner's
    channel is installed for them through ``PYTHONPATH``.
    """
    started: list[ServerProcess] = []
    sockets: list[socket.socket] = []

    async def start(env: dict[str, str], *, name: str = "server") -> ServerProcess:
        sock = listening_socket()
        sockets.append(sock)
        port = sock.getsockname()[1]
        log_path = tmp_path / f"{name}-{port}.log"
        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(partner_site), str(REPO), os.environ.get("PYTHONPATH")) if p
            ),
            "SCRM_PUBLIC_URL": f"http://127.0.0.1:{port}",
            **env,
        }
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "uvicorn",
                "socialcrm.server.app:create_app",
                "--factory",
                "--fd",
                str(sock.fileno()),
                "--log-level",
                "warning",
                cwd=tmp_path,  # no stray .env file is read from the working directory
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(sock.fileno(),),
            )
        server = ServerProcess(process, f"http://127.0.0.1:{port}", log_path)
        started.append(server)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=2) as client:
            for _ in range(300):  # bounded: ~30 s
                if process.returncode is not None:
                    raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/readyz")).status_code == 200:
                        return server
                await asyncio.sleep(0.1)
        raise RuntimeError(f"server did not become ready:\n{server.log()}")

    yield start
    for server in started:
        await server.stop()
    for sock in sockets:
        sock.close()
