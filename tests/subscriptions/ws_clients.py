"""WebSocket subscribers and live servers for the subscription tests.

Subscriptions are tested over real sockets: a uvicorn server runs either inside the test's
event loop (so a test can reach the app's bus) or as separate processes (the acceptance
test), and clients speak ``graphql-transport-ws`` or legacy ``graphql-ws`` with the
``websockets`` library.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
REPO = Path(__file__).resolve().parents[2]

INTERACTION_RECEIVED = """
subscription Received($channel: String, $customerId: ID, $communityId: ID) {
  interactionReceived(channel: $channel, customerId: $customerId, communityId: $communityId) {
    id channel kind direction content
    customer { id displayName }
    community { id name }
  }
}
"""


class ProtocolError(AssertionError):
    """The server answered something a subscriber did not expect."""


class Subscriber:
    """One WebSocket connection carrying one subscription, in either protocol."""

    _ids = itertools.count(1)

    def __init__(
        self,
        url: str,
        *,
        token: str | None,
        protocol: str = TRANSPORT_WS,
        query: str = INTERACTION_RECEIVED,
        variables: dict[str, Any] | None = None,
        init_payload: dict[str, Any] | None = None,
        max_queue: int | None = None,
    ) -> None:
        self.url = url
        self.protocol = protocol
        self.query = query
        self.variables = variables or {}
        self.init_payload = init_payload if init_payload is not None else {"token": token}
        self.operation_id = str(next(self._ids))
        self.max_queue = max_queue
        """Frames buffered before the client stops reading the socket (None: unbounded)."""
        self._ws: ClientConnection | None = None

    @property
    def ws(self) -> ClientConnection:
        """The open connection."""
        assert self._ws is not None, "not connected"
        return self._ws

    async def connect(self, within: float = 10.0) -> None:
        """Open the socket and complete the protocol's handshake (``connection_ack``)."""
        async with asyncio.timeout(within):
            self._ws = await connect(
                self.url,
                subprotocols=[self.protocol],
                open_timeout=within,
                max_queue=self.max_queue,
            )
            await self.send({"type": "connection_init", "payload": self.init_payload})
            message = await self.receive()
            if message.get("type") != "connection_ack":
                raise ProtocolError(f"expected connection_ack, got {message}")

    async def subscribe(self) -> None:
        """Start the subscription operation."""
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.send(
            {
                "id": self.operation_id,
                "type": kind,
                "payload": {"query": self.query, "variables": self.variables},
            }
        )

    async def __aenter__(self) -> Subscriber:
        await self.connect()
        await self.subscribe()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the socket (the server ends the subscription)."""
        if self._ws is not None:
            await self._ws.close()

    async def send(self, message: dict[str, Any]) -> None:
        """Send one protocol message."""
        await self.ws.send(json.dumps(message))

    async def receive(self) -> dict[str, Any]:
        """The next protocol message, answering pings and skipping keep-alives."""
        while True:
            message: dict[str, Any] = json.loads(await self.ws.recv())
            kind = message.get("type")
            if kind == "ping":
                await self.send({"type": "pong"})
            elif kind not in ("pong", "ka"):
                return message

    async def next_result(self, within: float = 10.0) -> dict[str, Any]:
        """The next execution result (``data``/``errors``) of the subscription."""
        async with asyncio.timeout(within):
            while True:
                message = await self.receive()
                kind = message.get("type")
                if kind in ("next", "data") and message.get("id") == self.operation_id:
                    return message["payload"]  # type: ignore[no-any-return]
                if kind in ("error", "connection_error"):
                    raise ProtocolError(f"subscription failed: {message}")
                if kind == "complete":
                    raise ProtocolError("subscription completed")

    async def next_interaction(self, within: float = 10.0) -> dict[str, Any]:
        """The next ``interactionReceived`` payload; fails on GraphQL errors."""
        result = await self.next_result(within)
        if result.get("errors"):
            raise ProtocolError(f"subscription errors: {result['errors']}")
        return result["data"]["interactionReceived"]  # type: ignore[no-any-return]

    async def expect_nothing(self, seconds: float = 0.5) -> None:
        """Fail when a result arrives within ``seconds``."""
        with contextlib.suppress(TimeoutError):
            result = await self.next_result(seconds)
            raise AssertionError(f"unexpected result: {result}")


@dataclass
class LiveServer:
    """A uvicorn server running the app in this event loop."""

    app: Any
    base_url: str

    @property
    def ws_url(self) -> str:
        """The GraphQL WebSocket endpoint."""
        return self.base_url.replace("http://", "ws://") + "/graphql"

    @property
    def services(self) -> Any:
        """The app's services (its bus, its database)."""
        return self.app.state.services

    async def wait_subscribers(self, topic: str, count: int) -> None:
        """Wait (up to 10 s) until ``count`` subscriptions are registered on ``topic``."""
        bus = self.services.bus
        for _ in range(1000):
            if bus.subscriber_count(topic) >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{bus.subscriber_count(topic)} of {count} subscribers registered")


@dataclass
class ServerProcess:
    """A server started as its own process, stopped by its PID at teardown."""

    process: asyncio.subprocess.Process
    base_url: str
    log_path: Path

    @property
    def ws_url(self) -> str:
        """The GraphQL WebSocket endpoint."""
        return self.base_url.replace("http://", "ws://") + "/graphql"

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    def rss_kb(self) -> int:
        """Resident memory of the process, in KiB (Linux)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def log(self) -> str:
        """What the process wrote so far (for failure messages)."""
        return self.log_path.read_text(errors="replace")[-4000:]

    async def stop(self) -> None:
        """Terminate the process by its PID; kill it if it does not exit in time."""
        if self.process.returncode is not None:
            return
        os.kill(self.pid, signal.SIGTERM)
        try:
            async with asyncio.timeout(15):
                await self.process.wait()
        except TimeoutError:
            os.kill(self.pid, signal.SIGKILL)
            await self.process.wait()


ServerProcessFactory = Callable[..., Awaitable[ServerProcess]]
"""Starts a server process with extra environment variables (``server_processes``)."""
