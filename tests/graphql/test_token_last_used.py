"""``last_used_at`` of API tokens: written on use, at most once a minute per token."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from socialcrm.server.auth import Authenticator, hash_token
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import ApiToken

VIEWER = "{ viewer { scopes } }"


async def _last_used(sessions: async_sessionmaker[AsyncSession], token: str) -> datetime | None:
    async with sessions() as session:
        value: datetime | None = await session.scalar(
            select(col(ApiToken.last_used_at)).where(col(ApiToken.token_hash) == hash_token(token))
        )
        return value


async def _set_last_used(
    sessions: async_sessionmaker[AsyncSession], token: str, value: datetime
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(ApiToken)
            .where(col(ApiToken.token_hash) == hash_token(token))
            .values(last_used_at=value)
        )


async def test_a_request_records_when_its_token_was_used(
    graphql: Any, admin_token: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    assert await _last_used(sessions, admin_token) is None
    before = utcnow()
    result = await graphql(VIEWER, token=admin_token)
    assert "errors" not in result, result
    used = await _last_used(sessions, admin_token)
    assert used is not None and used >= before - timedelta(seconds=1)


async def test_last_used_is_written_at_most_once_a_minute_per_token(
    graphql: Any, admin_token: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await graphql(VIEWER, token=admin_token)
    long_ago = utcnow() - timedelta(hours=2)
    await _set_last_used(sessions, admin_token, long_ago)
    # This process wrote it less than a minute ago: no second write.
    await graphql(VIEWER, token=admin_token)
    assert await _last_used(sessions, admin_token) == long_ago
    # A process that has not seen the token lately reads the old value and writes it.
    fresh = Authenticator(sessions)
    assert await fresh.authenticate(admin_token) is not None
    used = await _last_used(sessions, admin_token)
    assert used is not None and used > long_ago + timedelta(hours=1)


async def test_a_use_recorded_by_another_process_within_the_minute_is_kept(
    admin_token: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    recent = utcnow() - timedelta(seconds=5)
    await _set_last_used(sessions, admin_token, recent)
    assert await Authenticator(sessions).authenticate(admin_token) is not None
    assert await _last_used(sessions, admin_token) == recent


async def test_unknown_tokens_record_nothing(
    graphql: Any, admin_token: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    result = await graphql(VIEWER, token="scrm_not-a-real-token")
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await _last_used(sessions, admin_token) is None
