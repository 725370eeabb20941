"""Fixtures of the mutation tests: tokens, an observer, the ``quill`` channel, snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mutation_helpers import Observer, QuillChannel, QuillPlugin
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialcrm.plugins.manager import PluginManager
from socialcrm.server import tables
from socialcrm.server.tables import Workspace


@pytest.fixture
def observer(plugin_manager: PluginManager) -> Iterator[Observer]:
    """An observer registered on the app's plugin manager for this test."""
    plugin = Observer()
    plugin_manager.register(plugin, name="test-observer")
    yield plugin
    plugin_manager.unregister(plugin)


@pytest.fixture
def quill(plugin_manager: PluginManager) -> Iterator[QuillChannel]:
    """The ``quill`` channel, installed on the app's plugin manager for this test."""
    plugin = QuillPlugin()
    plugin_manager.register(plugin, name="test-quill")
    yield plugin.channel
    plugin_manager.unregister(plugin)


@pytest.fixture
async def write_token(workspace: Workspace, make_token: Any) -> str:
    """A write token of ``workspace``."""
    return str(await make_token(workspace, "write"))


@pytest.fixture
async def read_token(workspace: Workspace, make_token: Any) -> str:
    """A read token of ``workspace``."""
    return str(await make_token(workspace, "read"))


COUNTED = (
    tables.Customer,
    tables.Identity,
    tables.Interaction,
    tables.Membership,
    tables.Community,
    tables.Relationship,
    tables.Tag,
    tables.CustomerTag,
    tables.ReferralCode,
    tables.CustomerMerge,
    tables.ChannelAccount,
    tables.Score,
)


@pytest.fixture
def snapshot(sessions: async_sessionmaker[AsyncSession]) -> Any:
    """Counts of every changeable table's rows of a workspace, and who was merged into whom:
    equal snapshots mean nothing changed."""

    async def take(workspace_id: int) -> dict[str, Any]:
        counts: dict[str, Any] = {}
        async with sessions() as session:
            for table in COUNTED:
                counts[table.__tablename__] = await session.scalar(
                    select(func.count())
                    .select_from(table)
                    .where(table.workspace_id == workspace_id)
                )
            rows = await session.execute(
                select(
                    tables.Customer.id,
                    tables.Customer.merged_into_id,
                    tables.Customer.display_name,
                    tables.Customer.updated_at,
                ).where(tables.Customer.workspace_id == workspace_id)
            )
            counts["customers"] = sorted(tuple(row) for row in rows)
        return counts

    return take
