"""Shared fixtures: a fresh PostgreSQL database per test run, an app, clients and tokens.

Each run creates its own database on the server named by ``TEST_DATABASE_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``) and drops it at the end, so runs
never see each other's rows. Tests isolate themselves further with a workspace each.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from socialcrm.plugins.manager import PluginManager
from socialcrm.server.app import create_app
from socialcrm.server.auth import create_token
from socialcrm.server.db import create_engine, session_factory
from socialcrm.server.migrations import upgrade_database
from socialcrm.server.settings import Settings
from socialcrm.server.tables import Workspace

DEFAULT_TEST_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """A new, migrated PostgreSQL database for this test run."""
    base = os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)
    name = f"scrm_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_asyncpg_dsn(base))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    await upgrade_database(url)
    yield url
    admin = await asyncpg.connect(_asyncpg_dsn(base))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database for fixtures and assertions."""
    engine = create_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Session factory on the test database."""
    return session_factory(engine)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Server settings pointing at the test database."""
    # The demo's openness (as ``make run``): tests of the production defaults build their own.
    return Settings(  # type: ignore[call-arg]
        database_url=database_url,
        public_url="http://testserver",
        graphiql=True,
        introspection="on",
        metrics="on",
        _env_file=None,
    )


PARTNER_SOURCE = Path(__file__).parent / "partner" / "scrm_acme.py"


@pytest.fixture(scope="session")
def partner_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site directory holding the partner's ``acme`` channel as an installed distribution.

    It has what ``pip install`` leaves behind (the module and a dist-info with an ``scrm``
    entry point), so the plugin manager finds it exactly as it finds a partner's package.
    Subprocesses get it through ``PYTHONPATH``.
    """
    site = tmp_path_factory.mktemp("partner-site")
    shutil.copy(PARTNER_SOURCE, site / "scrm_acme.py")
    dist_info = site / "scrm_acme-1.0.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: scrm-acme\nVersion: 1.0.0\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text("[scrm]\nacme = scrm_acme\n", encoding="utf-8")
    (dist_info / "RECORD").write_text("", encoding="utf-8")
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    return site


@pytest.fixture
def plugin_manager(partner_site: Path) -> PluginManager:
    """A fresh plugin manager with the built-ins and installed entry points (acme included)."""
    return PluginManager()


@pytest.fixture
async def app(settings: Settings, plugin_manager: PluginManager) -> AsyncIterator[Any]:
    """The running app (lifespan started)."""
    application = create_app(settings, plugin_manager)
    async with LifespanManager(application):
        yield application


@pytest.fixture
def services(app: Any) -> Any:
    """The app's services (database, bus, plugins)."""
    return app.state.services


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client speaking to the app in-process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


WorkspaceFactory = Callable[..., Awaitable[Workspace]]


@pytest.fixture
def make_workspace(sessions: async_sessionmaker[AsyncSession]) -> WorkspaceFactory:
    """Create a workspace with a unique slug."""

    async def make(name: str = "Test brand") -> Workspace:
        async with sessions() as session, session.begin():
            workspace = Workspace(slug=f"ws-{uuid.uuid4().hex[:10]}", name=name)
            session.add(workspace)
        return workspace

    return make


@pytest.fixture
async def workspace(make_workspace: WorkspaceFactory) -> Workspace:
    """A fresh workspace for this test."""
    return await make_workspace()


TokenFactory = Callable[..., Awaitable[str]]


@pytest.fixture
def make_token(sessions: async_sessionmaker[AsyncSession]) -> TokenFactory:
    """Create a bearer token of a workspace with a scope; returns the plain token."""

    async def make(workspace: Workspace, scope: str = "admin") -> str:
        async with sessions() as session, session.begin():
            assert workspace.id is not None
            return await create_token(session, workspace.id, scope, name="test")

    return make


@pytest.fixture
async def admin_token(workspace: Workspace, make_token: TokenFactory) -> str:
    """An admin token of ``workspace``."""
    return await make_token(workspace, "admin")


GraphQL = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def graphql(client: httpx.AsyncClient) -> GraphQL:
    """POST a GraphQL operation; returns the decoded JSON response (data and errors)."""

    async def execute(
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        expect_status: int | None = None,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        if expect_status is not None:
            assert response.status_code == expect_status, response.text
        return response.json()  # type: ignore[no-any-return]

    return execute
