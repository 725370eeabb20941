"""A subscriber's bounded queue: a slow client loses its oldest events, not our memory."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_CLOSED = object()


class SubscriberQueue:
    """An async iterator of messages with a fixed capacity that drops the oldest on overflow.

    ``put`` never waits, so one slow reader can neither block the publisher nor the other
    subscribers; what it costs is at most ``maxsize`` queued (shared, read-only) messages.
    """

    def __init__(
        self,
        maxsize: int,
        *,
        topic: str = "",
        on_drop: Callable[[int], None] | None = None,
    ) -> None:
        if maxsize < 1:
            raise ValueError("a subscriber queue holds at least one message")
        self._items: collections.deque[Any] = collections.deque()
        self._maxsize = maxsize
        self._ready = asyncio.Event()
        self._closed = False
        self._topic = topic
        self._on_drop = on_drop
        self.dropped = 0
        """How many messages this subscriber lost because it read too slowly."""

    @property
    def maxsize(self) -> int:
        """The most messages this queue holds before it drops the oldest."""
        return self._maxsize

    @property
    def closed(self) -> bool:
        """True once ``close`` was called: nothing more is accepted."""
        return self._closed

    def put(self, message: dict[str, Any]) -> None:
        """Add ``message`` without waiting; drop the oldest one when full."""
        if self._closed:
            return
        if len(self._items) >= self._maxsize:
            self._items.popleft()
            self.dropped += 1
            if self._on_drop is not None:
                self._on_drop(1)
            # The first drop and then every thousandth: enough to notice, never a log flood.
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning(
                    "slow subscriber on %s: %d events dropped so far (queue size %d)",
                    self._topic or "?",
                    self.dropped,
                    self._maxsize,
                )
        self._items.append(message)
        self._ready.set()

    def close(self) -> None:
        """End the iteration once the queued messages are read."""
        if self._closed:
            return
        self._closed = True
        self._items.append(_CLOSED)
        self._ready.set()

    def __len__(self) -> int:
        return len(self._items) - (1 if self._closed and self._items else 0)

    def __aiter__(self) -> SubscriberQueue:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        item = self._items.popleft()
        if item is _CLOSED:
            self._items.appendleft(_CLOSED)
            raise StopAsyncIteration
        return item
