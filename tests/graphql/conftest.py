"""Fixtures for the GraphQL read tests."""

from __future__ import annotations

import pytest
from graphql_seed import Seed
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


@pytest.fixture
def seed(sessions: async_sessionmaker[AsyncSession]) -> Seed:
    """Seeds rows into the test database."""
    return Seed(sessions)
