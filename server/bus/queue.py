"""A subscriber's bounded queue: a slow client loses its oldest events, not our memory."""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Any

log = logging.getLogger(__name__)

_CLOSED = object()


class SubscriberQueue:
    """An async iterator of messages with a fixed capacity that drops the oldest on overflow."""

    def __init__(self, maxsize: int) -> None:
        self._items: collections.deque[Any] = collections.deque()
        self._maxsize = maxsize
        self._ready = asyncio.Event()
        self.dropped = 0
        """How many messages this subscriber lost because it read too slowly."""

    def put(self, message: dict[str, Any]) -> None:
        """Add ``message`` without waiting; drop the oldest one when full."""
        if len(self._items) >= self._maxsize:
            self._items.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("slow subscriber: %d events dropped so far", self.dropped)
        self._items.append(message)
        self._ready.set()

    def close(self) -> None:
        """End the iteration once the queued messages are read."""
        self._items.append(_CLOSED)
        self._ready.set()

    def __len__(self) -> int:
        return len(self._items)

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
        return item  # type: ignore[no-any-return]
