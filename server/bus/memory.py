"""The in-memory event bus: one process, no broker (the default, and SQLite's)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from socialcrm.server.bus.base import encode_envelope
from socialcrm.server.bus.queue import SubscriberQueue


class MemoryBus:
    """Delivers each published message to every subscriber of its topic in this process.

    Also the local fan-out of the PostgreSQL bus, which feeds ``deliver`` from its
    notifications.
    """

    def __init__(self, queue_size: int = 1000) -> None:
        self._queue_size = queue_size
        self._topics: dict[str, set[SubscriberQueue]] = {}
        self.dropped = 0
        """Messages dropped for slow subscribers since start, over all of them."""

    async def start(self) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """End every open subscription."""
        for queues in self._topics.values():
            for queue in queues:
                queue.close()
        self._topics.clear()

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        """Hand ``message`` to the subscribers of ``topic``; never waits on a slow one."""
        # Checked here too so an oversized envelope fails on a laptop, not first in production.
        encode_envelope({"t": topic, "m": message})
        self.deliver(topic, message)

    def deliver(self, topic: str, message: dict[str, Any]) -> None:
        """Put ``message`` on every local subscriber queue of ``topic``."""
        for queue in self._topics.get(topic, ()):
            queue.put(message)

    def _count_drop(self, n: int) -> None:
        self.dropped += n

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """Subscribe to ``topic``; the queue is registered before this yields.

        Registration has no await in it, so no message published after ``subscribe`` is
        entered can slip past: the event loop runs nothing else between check and insert.
        """
        queue = SubscriberQueue(self._queue_size, topic=topic, on_drop=self._count_drop)
        self._topics.setdefault(topic, set()).add(queue)
        try:
            yield queue
        finally:
            subscribers = self._topics.get(topic)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._topics[topic]
            queue.close()

    def stats(self) -> dict[str, int | bool]:
        """Counters for ``/readyz`` and ``/metrics``."""
        return {
            "listening": True,
            "subscriptions": self.subscriber_count(),
            "dropped": self.dropped,
            "reconnects": 0,
            "publish_failures": 0,
        }

    def queued(self, topic: str | None = None) -> int:
        """How many messages wait in subscriber queues (on ``topic``, or in all)."""
        topics = [topic] if topic is not None else list(self._topics)
        return sum(len(q) for t in topics for q in self._topics.get(t, ()))

    def subscriber_count(self, topic: str | None = None) -> int:
        """How many subscriptions are open (on ``topic``, or in all)."""
        if topic is not None:
            return len(self._topics.get(topic, ()))
        return sum(len(q) for q in self._topics.values())
