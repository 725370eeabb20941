"""Fixtures of the scoring tests: customers, interactions stored through the live path,
and reads of what the scoring engine wrote."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from scoring_helpers import CustomerFactory, Recorder
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialcrm.plugins.manager import PluginManager
from socialcrm.server.tables import ChannelAccount, Customer, Workspace


@pytest.fixture
def make_customer(
    sessions: async_sessionmaker[AsyncSession], workspace: Workspace
) -> CustomerFactory:
    """Create a customer of the test workspace (``created_at`` may be given)."""

    async def make(
        name: str = "李雷", created_at: datetime | None = None, **fields: Any
    ) -> Customer:
        async with sessions() as session, session.begin():
            customer = Customer(workspace_id=workspace.id, display_name=name, **fields)
            if created_at is not None:
                customer.created_at = created_at
            session.add(customer)
        return customer

    return make


@pytest.fixture
def recorder(plugin_manager: PluginManager) -> Iterator[Recorder]:
    """A plugin recording the ``scrm_customer_changed`` events of this test."""
    plugin = Recorder()
    plugin_manager.register(plugin, name="scoring-recorder")
    yield plugin
    plugin_manager.unregister(plugin)


@pytest.fixture
async def account(
    sessions: async_sessionmaker[AsyncSession], workspace: Workspace
) -> ChannelAccount:
    """A connected account of the partner channel ``acme`` in the test workspace."""
    from helpers.acme import SECRET

    async with sessions() as session, session.begin():
        row = ChannelAccount(
            workspace_id=workspace.id,
            channel="acme",
            slug=f"acme-{uuid.uuid4().hex[:8]}",
            settings={"secret": SECRET},
        )
        session.add(row)
    return row
