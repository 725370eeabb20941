"""The services of a command that works outside the server process (``scrm demo``,
``scrm rescore``): the same database, plugins and bus as the server, opened and closed
around one piece of work."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from socialcrm.plugins.manager import PluginManager
from socialcrm.server.auth import Authenticator
from socialcrm.server.bus import create_bus
from socialcrm.server.db import create_engine, session_factory
from socialcrm.server.services import Services
from socialcrm.server.settings import Settings


@contextlib.asynccontextmanager
async def standalone_services(
    settings: Settings, plugins: PluginManager | None = None, *, pool_size: int = 2
) -> AsyncIterator[Services]:
    """``Services`` for one command: what it publishes reaches the server's subscribers
    through the configured bus (stage changes of a rescore, for example)."""
    engine = create_engine(settings.database_url, pool_size=pool_size)
    sessions = session_factory(engine)
    services = Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        plugins=plugins or PluginManager(),
        bus=create_bus(settings),
        auth=Authenticator(sessions),
    )
    try:
        await services.bus.start()
        yield services
    finally:
        await services.drain()
        await services.bus.stop()
        await engine.dispose()
