"""The scoring engine on the embedded SQLite database: live path, batch, manual stages, the
periodic rescore and ``scrm rescore``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from scoring_helpers import assert_close, snapshot, story
from sqlalchemy import func, select
from sqlmodel import col
from typer.testing import CliRunner

from socialcrm.plugins.manager import PluginManager
from socialcrm.server.app import create_app
from socialcrm.server.cli import app as cli
from socialcrm.server.migrations import upgrade_database
from socialcrm.server.scoring.batch import rescore_workspace
from socialcrm.server.scoring.manual import set_manual_stage
from socialcrm.server.scoring.periodic import rescore_due
from socialcrm.server.settings import Settings
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import Customer, Score, ScoreHistory, ScoringSettings, Workspace


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database of this test."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'scrm.db'}"
    await upgrade_database(url)
    return url


@pytest.fixture
async def lite(sqlite_url: str) -> AsyncIterator[Any]:
    """The services of an app running on ``sqlite_url``."""
    settings = Settings(database_url=sqlite_url, public_url="http://testserver", _env_file=None)  # type: ignore[call-arg]
    application = create_app(settings, PluginManager())
    async with LifespanManager(application):
        yield application.state.services


async def workspace_of(services: Any, slug: str = "lite") -> Workspace:
    async with services.sessions() as session, session.begin():
        workspace = Workspace(slug=slug, name="Lite")
        session.add(workspace)
    return workspace


def maker(services: Any, workspace: Workspace) -> Any:
    async def make(name: str, created_at: datetime | None = None) -> Customer:
        async with services.sessions() as session, session.begin():
            customer = Customer(workspace_id=workspace.id, display_name=name)
            if created_at is not None:
                customer.created_at = created_at
            session.add(customer)
        return customer

    return make


async def scores(services: Any, workspace: Workspace) -> dict[int, dict[str, Any]]:
    async with services.sessions() as session:
        rows = await session.execute(select(Score).where(col(Score.workspace_id) == workspace.id))
        return {row.customer_id: snapshot(row) for row in rows.scalars()}


async def test_live_and_batch_agree_on_sqlite(lite: Any) -> None:
    workspace = await workspace_of(lite)
    end = utcnow() - timedelta(days=1)
    customers = await story(lite, maker(lite, workspace), end)
    live = await scores(lite, workspace)
    assert len(live) == len(customers)
    result = await rescore_workspace(lite, workspace.id, now=end)
    assert result is not None and result.written == len(customers)
    batch = await scores(lite, workspace)
    for customer_id, values in live.items():
        assert_close(values, batch[customer_id], str(customer_id))


async def test_a_failed_rescore_rolls_back_on_sqlite(lite: Any) -> None:
    workspace = await workspace_of(lite)
    await story(lite, maker(lite, workspace), utcnow() - timedelta(days=90))
    before = await scores(lite, workspace)

    def fail(phase: str, done: int, total: int) -> None:
        if (phase, done) == ("write", 5):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await rescore_workspace(lite, workspace.id, progress=fail)
    assert await scores(lite, workspace) == before
    async with lite.sessions() as session:
        assert await session.get(ScoringSettings, workspace.id) is None


async def test_a_manual_stage_on_sqlite(lite: Any) -> None:
    workspace = await workspace_of(lite)
    [customer, *_] = await story(lite, maker(lite, workspace), utcnow() - timedelta(days=1))
    async with lite.sessions() as session, session.begin():
        row = await session.get(Customer, customer.id)
        assert row is not None
        assert await set_manual_stage(session, lite, row, "decline", "ops") == "decline"
    await rescore_workspace(lite, workspace.id)
    async with lite.sessions() as session, session.begin():
        row = await session.get(Customer, customer.id)
        assert row is not None and row.lifecycle_stage == "decline"
        assert await set_manual_stage(session, lite, row, None, "ops") == "stability"


async def test_the_periodic_rescore_takes_due_workspaces_once(lite: Any) -> None:
    workspace = await workspace_of(lite)
    await story(lite, maker(lite, workspace), utcnow() - timedelta(days=10))
    assert await rescore_due(lite) == 1
    assert await rescore_due(lite) == 0  # rescored within the interval
    async with lite.sessions() as session:
        settings = await session.get(ScoringSettings, workspace.id)
        history = await session.scalar(select(func.count()).select_from(ScoreHistory))
    assert settings is not None and settings.rescored_at is not None
    assert history


@pytest.fixture
async def two_brands(lite: Any, sqlite_url: str) -> str:
    """``sqlite_url`` with a workspace of four customers and an empty one."""
    workspace = await workspace_of(lite, "cli-brand")
    await story(lite, maker(lite, workspace), utcnow() - timedelta(days=10))
    await workspace_of(lite, "empty-brand")
    return sqlite_url


def test_scrm_rescore(two_brands: str) -> None:
    runner = CliRunner()
    env = {"SCRM_DATABASE_URL": two_brands, "SCRM_DEBUG": ""}
    result = runner.invoke(cli, ["rescore", "--workspace", "cli-brand"], env=env)
    assert result.exit_code == 0, result.output
    assert "cli-brand: 4 customers rescored in" in result.stdout
    every = runner.invoke(cli, ["rescore"], env=env)
    assert every.exit_code == 0, every.output
    assert "cli-brand: 4 customers" in every.stdout and "empty-brand: 0 customers" in every.stdout
    unknown = runner.invoke(cli, ["rescore", "--workspace", "nope"], env=env)
    assert unknown.exit_code == 2
    assert "no workspace with slug 'nope'" in unknown.stderr
