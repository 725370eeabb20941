"""Over HTTP, a missing token, a header that is not ``Bearer``, and a token that is not
accepted get different messages, all UNAUTHENTICATED; a revoked token and one that never
existed get the same answer."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from socialcrm.server.auth import INVALID_TOKEN, MISSING_TOKEN, NOT_BEARER, hash_token
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import ApiToken

VIEWER = {"query": "{ viewer { scopes } }"}


async def _answer(client: httpx.AsyncClient, authorization: str | None) -> dict[str, Any]:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await client.post("/graphql", json=VIEWER, headers=headers)
    body: dict[str, Any] = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    return body


async def test_a_missing_token_is_asked_for(client: httpx.AsyncClient) -> None:
    for authorization in (None, ""):
        body = await _answer(client, authorization)
        assert body["errors"][0]["message"] == MISSING_TOKEN


async def test_a_header_that_is_not_bearer_is_named(client: httpx.AsyncClient) -> None:
    for authorization in ("Basic dXNlcjpwdw==", "Bearer", "scrm_no-scheme"):
        body = await _answer(client, authorization)
        assert body["errors"][0]["message"] == NOT_BEARER, authorization


async def test_a_wrong_token_is_told_apart_from_a_missing_one(client: httpx.AsyncClient) -> None:
    body = await _answer(client, "Bearer scrm_not-a-real-token")
    assert body["errors"][0]["message"] == INVALID_TOKEN
    assert INVALID_TOKEN != MISSING_TOKEN


async def test_a_revoked_token_is_answered_like_one_that_never_existed(
    client: httpx.AsyncClient, admin_token: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(ApiToken)
            .where(col(ApiToken.token_hash) == hash_token(admin_token))
            .values(revoked_at=utcnow())
        )
    revoked = await _answer(client, f"Bearer {admin_token}")
    unknown = await _answer(client, "Bearer scrm_never-issued")
    assert revoked == unknown
