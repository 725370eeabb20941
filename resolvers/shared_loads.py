"""One load per key for every subscriber of a process that wants it at the same moment.

The bus announces an event to hundreds of subscribers of one workspace at once, and each
wants the same row. ``SharedLoads`` runs the load once and hands every one of them its
result; keys carry the workspace, so a workspace is never handed another's row.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SharedLoads(Generic[K, V]):
    """Keeps the last ``size`` loads (in flight or done) for ``ttl`` seconds, by key.

    The subscribers that receive one envelope share one query, and a row announced again
    later (its delivery status or its scores changed) is read afresh.
    """

    def __init__(
        self, load: Callable[[K], Awaitable[V]], size: int = 256, ttl: float = 2.0
    ) -> None:
        self._load = load
        self._size = size
        self._ttl = ttl
        self._loads: collections.OrderedDict[K, tuple[float, asyncio.Task[V]]] = (
            collections.OrderedDict()
        )

    async def get(self, key: K) -> V:
        """The value of ``key``, loaded now or shared with a recent load."""
        loop = asyncio.get_running_loop()
        entry = self._loads.get(key)
        if entry is None or entry[0] < loop.time():
            task = loop.create_task(self._run(key))
            task.add_done_callback(lambda done: self._forget_failure(key, done))
            self._loads[key] = (loop.time() + self._ttl, task)
            self._loads.move_to_end(key)
            while len(self._loads) > self._size:
                self._loads.popitem(last=False)
        else:
            task = entry[1]
        # Shielded: a subscriber that disconnects mid-load must not cancel everyone's load.
        return await asyncio.shield(task)

    async def _run(self, key: K) -> V:
        return await self._load(key)

    def _forget_failure(self, key: K, task: asyncio.Task[V]) -> None:
        # A failed load (the database hiccuped) is retried by the next subscriber, not cached.
        entry = self._loads.get(key)
        if (task.cancelled() or task.exception() is not None) and entry and entry[1] is task:
            del self._loads[key]
