"""The ASGI application: ``create_app()`` builds it from settings and plugins."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from socialcrm.plugins.manager import PluginManager
from socialcrm.server.analysis import warm_up
from socialcrm.server.auth import Authenticator
from socialcrm.server.bus import create_bus
from socialcrm.server.db import create_engine, session_factory
from socialcrm.server.graphql_app import create_graphql_app
from socialcrm.server.health import healthz, metrics, readyz
from socialcrm.server.ingest import recover_pending
from socialcrm.server.limits import BodySizeLimit
from socialcrm.server.poller import run_poller
from socialcrm.server.scoring.periodic import run_rescorer
from socialcrm.server.services import Services
from socialcrm.server.settings import Settings, get_settings
from socialcrm.server.webhooks import webhook_endpoint

STATIC_FOLDER = Path(__file__).resolve().parent / "static"
"""Files served under ``/static/``: GraphiQL's scripts and styles (package data)."""


def create_app(settings: Settings | None = None, plugins: PluginManager | None = None) -> Starlette:
    """The server as an ASGI app; nothing connects until its lifespan starts."""
    settings = settings or get_settings()
    plugins = plugins or PluginManager()
    plugins.channels  # noqa: B018 - fail at start-up on two channels with one name
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    sessions = session_factory(engine)
    services = Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        plugins=plugins,
        bus=create_bus(settings),
        auth=Authenticator(sessions),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.bus.start()
        tune_garbage_collector()
        loop = asyncio.get_running_loop()
        loops: list[asyncio.Task[object]] = [loop.create_task(recover_pending(services))]
        if settings.poll_interval_seconds > 0:
            loops.append(loop.create_task(run_poller(services)))
        if settings.rescore_interval_seconds > 0:
            loops.append(loop.create_task(run_rescorer(services)))
        if settings.text_analysis:
            services.spawn(asyncio.to_thread(warm_up, plugins), name="text analysis warm-up")
        try:
            yield
        finally:
            for task in loops:
                task.cancel()
            await services.drain()
            await services.bus.stop()
            await engine.dispose()

    graphql = create_graphql_app(services)
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *([Route("/metrics", metrics)] if settings.metrics == "on" else []),
            Route("/webhooks/{channel}/{account}", webhook_endpoint, methods=["GET", "POST"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Mount("/static", StaticFiles(directory=STATIC_FOLDER), name="static"),
        ],
        lifespan=lifespan,
        middleware=[Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)],
    )
    app.state.services = services
    return app


GC_GEN0_THRESHOLD = 50_000
"""Allocations between young-generation collections (CPython's default is 700 or 2,000)."""

_gc_tuned = False


def tune_garbage_collector() -> None:
    """Collect less often; once per process, after start-up.

    A page of 50 customers allocates tens of thousands of short-lived objects, and the
    default threshold ran several young collections per request, each one walking the
    long-lived objects of the schema and the ORM again. Freezing what start-up made moves
    it out of the collector's way; the higher threshold makes collections rare.
    """
    global _gc_tuned
    if _gc_tuned:
        return
    _gc_tuned = True
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, older, oldest)
