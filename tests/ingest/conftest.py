"""Fixtures of the ingest tests: a connected account of the partner channel ``acme``."""

from __future__ import annotations

import uuid

import pytest
from helpers.acme import SECRET
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialcrm.server.tables import ChannelAccount, Workspace


@pytest.fixture
async def account(
    sessions: async_sessionmaker[AsyncSession], workspace: Workspace
) -> ChannelAccount:
    """A connected Acme account of the test workspace."""
    async with sessions() as session, session.begin():
        row = ChannelAccount(
            workspace_id=workspace.id,
            channel="acme",
            slug=f"acme-{uuid.uuid4().hex[:8]}",
            settings={"secret": SECRET},
        )
        session.add(row)
    return row
