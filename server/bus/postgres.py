"""The PostgreSQL event bus: LISTEN/NOTIFY between the processes of one deployment.

Every process holds one LISTEN connection on one channel; the topic travels inside the
payload. One channel keeps subscribing free of round trips: a subscriber's queue is
registered in this process's memory with no await in between, so no event published after
``subscribe`` is entered can be missed (the race that loses subscribers in fan-out
libraries that LISTEN per topic).

A publishing process hands the message to its own subscribers at once and then sends the
NOTIFY; when its own notification comes back it recognizes it by an origin id and skips it,
so each process delivers each event exactly once.

NOTIFY is not durable: while a process's LISTEN connection is down it misses what other
processes publish. The connection is watched and re-established with backoff; the gap is
logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg

from socialcrm.server.bus.base import encode_envelope
from socialcrm.server.bus.memory import MemoryBus

log = logging.getLogger(__name__)

DEFAULT_CHANNEL = "scrm_events"
# How the bus's connections show in pg_stat_activity.
LISTEN_APPLICATION_NAME = "scrm-bus-listen"
PUBLISH_APPLICATION_NAME = "scrm-bus-publish"
_CHANNEL_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# What a dropped or unreachable server raises; anything else is a bug and propagates.
_CONNECTION_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)


def asyncpg_dsn(url: str) -> str:
    """``url`` as asyncpg wants it: ``postgresql+asyncpg://`` and ``postgres://`` become
    ``postgresql://``; the rest (credentials, host, database, query) is kept as given."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+", 1)[0] not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL: {scheme}://…")
    return f"postgresql://{rest}"


class PostgresBus:
    """Publish/subscribe over PostgreSQL LISTEN/NOTIFY, with local delivery in-process.

    ``dsn`` is a ``postgresql://`` URL; ``channel`` the one NOTIFY channel every process of
    the deployment shares (a plain lowercase identifier, so it needs no quoting).
    """

    def __init__(
        self,
        dsn: str,
        *,
        queue_size: int = 1000,
        channel: str = DEFAULT_CHANNEL,
        health_interval: float = 5.0,
        max_backoff: float = 5.0,
        connect_timeout: float = 10.0,
    ) -> None:
        if not _CHANNEL_RE.match(channel):
            raise ValueError(f"bus channel must be a lowercase identifier, not {channel!r}")
        self._dsn = asyncpg_dsn(dsn)
        self._channel = channel
        self._local = MemoryBus(queue_size)
        self._origin = uuid.uuid4().hex
        self._health_interval = health_interval
        self._max_backoff = max_backoff
        self._connect_timeout = connect_timeout
        self._listener: asyncpg.Connection | None = None
        self._listening = asyncio.Event()
        self._lost = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._publisher: asyncpg.Pool | None = None
        self._stopping = False
        self.received = 0
        """Notifications from other processes handed to local subscribers."""
        self.reconnects = 0
        """How many times the LISTEN connection was re-established after a loss."""
        self.publish_failures = 0
        """Publishes whose NOTIFY did not reach PostgreSQL (local delivery still happened)."""

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Open the publishing pool and the LISTEN connection; fail loudly if unreachable."""
        self._stopping = False
        self._publisher = await asyncpg.create_pool(
            self._dsn,
            min_size=1,
            max_size=4,
            timeout=self._connect_timeout,
            server_settings={"application_name": PUBLISH_APPLICATION_NAME},
        )
        try:
            await self._listen()
        except BaseException:
            await self._publisher.close()
            self._publisher = None
            raise
        self._supervisor = asyncio.get_running_loop().create_task(
            self._supervise(), name="bus-listen-supervisor"
        )

    async def stop(self) -> None:
        """End every subscription, stop listening and close the connections."""
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        await self._close_listener()
        if self._publisher is not None:
            await self._publisher.close()
            self._publisher = None
        await self._local.stop()

    @property
    def listening(self) -> bool:
        """True while the LISTEN connection is up (events from other processes arrive)."""
        return self._listening.is_set()

    @property
    def listener_pid(self) -> int | None:
        """The PostgreSQL backend pid of the LISTEN connection (for operators and tests)."""
        if self._listener is None or self._listener.is_closed():
            return None
        return self._listener.get_server_pid()

    @property
    def dropped(self) -> int:
        """Messages dropped for slow subscribers in this process since start."""
        return self._local.dropped

    def stats(self) -> dict[str, int | bool]:
        """Counters for ``/readyz`` and ``/metrics``."""
        return {
            **self._local.stats(),
            "listening": self.listening,
            "reconnects": self.reconnects,
            "publish_failures": self.publish_failures,
        }

    async def wait_listening(self) -> None:
        """Wait until the LISTEN connection is up (bound it with ``asyncio.timeout``)."""
        await self._listening.wait()

    # -- publish / subscribe -----------------------------------------------------------

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        """Deliver ``message`` here at once, then NOTIFY the other processes."""
        if self._publisher is None:
            raise RuntimeError("the PostgreSQL bus is not started")
        payload = encode_envelope({"o": self._origin, "t": topic, "m": message})
        # Local subscribers must not wait for (or depend on) the round trip to PostgreSQL.
        self._local.deliver(topic, message)
        for attempt in (1, 2):
            try:
                async with self._publisher.acquire() as conn:
                    await conn.execute("SELECT pg_notify($1, $2)", self._channel, payload)
                return
            except _CONNECTION_ERRORS as exc:
                # A pooled connection may have been terminated; the pool replaces it, so
                # one retry covers a server restart between publishes.
                if attempt == 2:
                    self.publish_failures += 1
                    log.error("bus: NOTIFY on %s failed, other processes miss it: %s", topic, exc)

    def subscribe(self, topic: str) -> AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]:
        """Subscribe to ``topic`` in this process; registered before the context yields."""
        return self._local.subscribe(topic)

    def subscriber_count(self, topic: str | None = None) -> int:
        """How many subscriptions are open in this process (on ``topic``, or in all)."""
        return self._local.subscriber_count(topic)

    def queued(self, topic: str | None = None) -> int:
        """How many messages wait in this process's subscriber queues."""
        return self._local.queued(topic)

    # -- the LISTEN connection ---------------------------------------------------------

    def _on_notification(
        self, connection: asyncpg.Connection, pid: int, channel: str, payload: str
    ) -> None:
        try:
            envelope = json.loads(payload)
            origin, topic, message = envelope["o"], envelope["t"], envelope["m"]
        except (ValueError, KeyError, TypeError):
            log.warning("bus: ignoring a malformed notification on %s", channel)
            return
        if origin == self._origin:
            return  # delivered locally when it was published
        self.received += 1
        self._local.deliver(topic, message)

    def _on_termination(self, connection: asyncpg.Connection) -> None:
        if connection is self._listener:
            self._lost.set()

    async def _listen(self) -> None:
        connection: asyncpg.Connection = await asyncpg.connect(
            self._dsn,
            timeout=self._connect_timeout,
            server_settings={"application_name": LISTEN_APPLICATION_NAME},
        )
        try:
            self._lost.clear()
            connection.add_termination_listener(self._on_termination)
            await connection.add_listener(self._channel, self._on_notification)
        except BaseException:
            connection.terminate()
            raise
        self._listener = connection
        self._listening.set()

    async def _close_listener(self) -> None:
        self._listening.clear()
        connection, self._listener = self._listener, None
        if connection is None or connection.is_closed():
            return
        try:
            await asyncio.wait_for(connection.close(), timeout=2)
        except (*_CONNECTION_ERRORS, asyncio.CancelledError):
            connection.terminate()

    async def _watch(self) -> None:
        """Return when the LISTEN connection is gone (closed by the server or silent)."""
        while True:
            connection = self._listener
            if connection is None or connection.is_closed():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), timeout=self._health_interval)
                return
            # A half-open TCP connection raises no event; a ping notices it.
            try:
                await asyncio.wait_for(connection.execute("SELECT 1"), self._health_interval)
            except _CONNECTION_ERRORS:
                return

    async def _supervise(self) -> None:
        """Keep the LISTEN connection up: watch it, and reconnect with backoff when lost."""
        loop = asyncio.get_running_loop()
        while not self._stopping:
            await self._watch()
            if self._stopping:
                return
            lost_at = loop.time()
            log.warning("bus: LISTEN connection lost; reconnecting")
            await self._close_listener()
            backoff = 0.05
            while not self._stopping:
                try:
                    await self._listen()
                except _CONNECTION_ERRORS as exc:
                    log.warning("bus: reconnect failed (%s); retrying in %.2fs", exc, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self._max_backoff)
                    continue
                self.reconnects += 1
                log.warning(
                    "bus: LISTEN connection back after %.2fs; events published by other "
                    "processes meanwhile were not received",
                    loop.time() - lost_at,
                )
                break
