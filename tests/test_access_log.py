"""uvicorn's access log keeps the path of a webhook request but not its signed query."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import httpx
import pytest
import uvicorn
from helpers.serve import listening_socket

from socialcrm.server import webhooks  # noqa: F401  (importing it installs the filter)


async def ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI app answering 200 to everything."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"success"})


async def access_lines(paths: list[str], caplog: pytest.LogCaptureFixture) -> list[str]:
    """The access-log lines real uvicorn writes for GETs of ``paths``."""
    sock = listening_socket()
    port = sock.getsockname()[1]
    # No log_config: uvicorn leaves logging alone, so its records reach caplog's handler.
    config = uvicorn.Config(ok, lifespan="off", log_config=None, log_level="info")
    server = uvicorn.Server(config)
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        try:
            async with asyncio.timeout(20):
                # uvicorn reports readiness only through this flag.
                while not server.started:
                    if task.done():
                        task.result()
                    await asyncio.sleep(0.02)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                for path in paths:
                    assert (await client.get(path)).status_code == 200
        finally:
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                async with asyncio.timeout(15):
                    await task
            sock.close()
    return [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]


async def test_webhook_queries_are_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    signed = "/webhooks/wechat/brand?signature=0f1e2d&timestamp=1733000000&nonce=n0nce&openid=o1"
    lines = await access_lines([signed, "/health?verbose=1"], caplog)
    assert len(lines) == 2
    assert '"GET /webhooks/wechat/brand HTTP/1.1" 200' in lines[0]
    for secret in ("signature", "0f1e2d", "1733000000", "n0nce", "openid"):
        assert secret not in lines[0]
    # Other paths keep their query: only the webhooks' carry credentials.
    assert '"GET /health?verbose=1 HTTP/1.1" 200' in lines[1]
