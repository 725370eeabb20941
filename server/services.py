"""The services one server process holds: settings, database, plugins, bus, auth."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from socialcrm.plugins.manager import PluginManager
from socialcrm.server.auth import Authenticator
from socialcrm.server.bus.base import EventBus
from socialcrm.server.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a request handler needs, built once per process by ``create_app``."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    plugins: PluginManager
    bus: EventBus
    auth: Authenticator
    graphql_operations: Counter[str] = field(default_factory=Counter)
    """HTTP GraphQL requests by how they were answered: ``compiled`` or ``resolvers``."""
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, keeping a reference and logging its failure."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    @property
    def background_task_count(self) -> int:
        """How many background tasks are running."""
        return len(self._tasks)

    async def drain(self, seconds: float = 10.0) -> None:
        """Wait for background work to finish (shutdown, tests)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=seconds)
