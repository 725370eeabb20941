"""A slug another workspace holds is answered exactly like one the caller holds itself."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from socialcrm.server.tables import ChannelAccount

CONNECT = """
mutation Connect($input: ConnectChannelInput!) {
  connectChannel(input: $input) {
    account { slug webhookUrl }
    userErrors { field message code }
  }
}
"""

SETTINGS = {
    "app_id": "wx1234567890abcdef",
    "app_secret": "s3cr3t-app-secret-value",
    "token": "tokenABC123",
    "encoding_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "mode": "safe",
}


async def connect(graphql: Any, token: str, slug: str) -> dict[str, Any]:
    """``connectChannel`` of a WeChat account at ``slug``; its payload."""
    variables = {"input": {"channel": "wechat", "slug": slug, "settings": SETTINGS}}
    answer = await graphql(CONNECT, variables, token=token)
    return answer["data"]["connectChannel"]  # type: ignore[no-any-return]


async def accounts_of(sessions: async_sessionmaker[AsyncSession], workspace_id: int) -> int:
    """How many channel accounts ``workspace_id`` has."""
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).where(col(ChannelAccount.workspace_id) == workspace_id)
        )
    return int(count or 0)


async def test_another_workspaces_slug_reveals_nothing_about_its_holder(
    graphql: Any, make_workspace: Any, make_token: Any, sessions: Any
) -> None:
    holder = await make_workspace("Holder brand")
    curious = await make_workspace("Curious brand")
    holder_token = await make_token(holder, "admin")
    curious_token = await make_token(curious, "admin")
    slug = f"oa-{uuid.uuid4().hex[:8]}"
    assert (await connect(graphql, holder_token, slug))["userErrors"] == []

    from_holder = await connect(graphql, holder_token, slug)
    from_curious = await connect(graphql, curious_token, slug)

    # Byte for byte the same answer: the curious workspace cannot tell whose the slug is.
    assert from_curious == from_holder
    assert from_curious["account"] is None
    [error] = from_curious["userErrors"]
    assert (error["field"], error["code"]) == ("slug", "DUPLICATE")
    assert "shared by every workspace" in error["message"]
    for detail in (holder.slug, holder.name, str(holder.id)):
        assert detail not in error["message"]
    assert await accounts_of(sessions, curious.id) == 0
    assert (await connect(graphql, curious_token, f"{slug}-2"))["userErrors"] == []
