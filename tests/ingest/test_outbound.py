"""Sending through a channel: routing, the reply window, and what is recorded."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from helpers.acme import deliver, message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialcrm.plugins import OutboundMessage
from socialcrm.server.outbound import SendRefused, send_message
from socialcrm.server.tables import ChannelAccount, Identity, Interaction


async def customer_of(sessions: async_sessionmaker[AsyncSession], external_id: str) -> int:
    async with sessions() as session:
        found = await session.scalar(
            select(Identity.customer_id).where(Identity.external_id == external_id)
        )
    assert found is not None
    return int(found)


async def outbound_rows(sessions: async_sessionmaker[AsyncSession], customer_id: int) -> list[Any]:
    async with sessions() as session:
        return list(
            (
                await session.execute(
                    select(Interaction).where(
                        Interaction.customer_id == customer_id, Interaction.direction == "outbound"
                    )
                )
            ).scalars()
        )


async def test_send_within_window_is_recorded(
    client: httpx.AsyncClient, account: ChannelAccount, sessions: Any, services: Any
) -> None:
    import scrm_acme

    sender = f"u-{uuid.uuid4().hex[:8]}"
    await deliver(client, account.slug, message(**{"from": sender}))
    await services.drain()
    customer_id = await customer_of(sessions, sender)
    outcome = await send_message(
        services, account.workspace_id, customer_id, OutboundMessage(text="感谢您的反馈")
    )
    assert outcome.result.ok
    assert (sender, "感谢您的反馈") in scrm_acme.SENT
    [row] = await outbound_rows(sessions, customer_id)
    assert (row.delivery_status, row.account_id, row.content) == (
        "sent",
        account.id,
        "感谢您的反馈",
    )
    assert row.external_id == outcome.result.external_id


async def test_platform_failure_is_recorded_as_failed(
    client: httpx.AsyncClient, account: ChannelAccount, sessions: Any, services: Any
) -> None:
    sender = f"u-{uuid.uuid4().hex[:8]}"
    await deliver(client, account.slug, message(**{"from": sender}))
    await services.drain()
    customer_id = await customer_of(sessions, sender)
    outcome = await send_message(
        services, account.workspace_id, customer_id, OutboundMessage(text="this will fail")
    )
    assert not outcome.result.ok
    assert outcome.result.error_code == "4001"
    [row] = await outbound_rows(sessions, customer_id)
    assert row.delivery_status == "failed"
    assert row.data["error"] == {"code": "4001", "message": "refused"}


@pytest.mark.parametrize(
    ("age_hours", "kind", "reason"),
    [(49, "message", "within 48 hours"), (1, "unfollow", "unfollowed")],
)
async def test_outside_reply_window_is_refused_and_stores_nothing(
    client: httpx.AsyncClient,
    account: ChannelAccount,
    sessions: Any,
    services: Any,
    age_hours: int,
    kind: str,
    reason: str,
) -> None:
    sender = f"u-{uuid.uuid4().hex[:8]}"
    old = int(time.time()) - age_hours * 3600
    await deliver(client, account.slug, message(**{"from": sender, "ts": old, "kind": kind}))
    await services.drain()
    customer_id = await customer_of(sessions, sender)
    with pytest.raises(SendRefused) as refused:
        await send_message(services, account.workspace_id, customer_id, OutboundMessage(text="hi"))
    assert refused.value.code == "OUTSIDE_REPLY_WINDOW"
    assert reason in refused.value.message
    assert await outbound_rows(sessions, customer_id) == []


async def test_other_workspace_customer_is_not_found(
    client: httpx.AsyncClient,
    account: ChannelAccount,
    sessions: Any,
    services: Any,
    make_workspace: Any,
) -> None:
    sender = f"u-{uuid.uuid4().hex[:8]}"
    await deliver(client, account.slug, message(**{"from": sender}))
    await services.drain()
    customer_id = await customer_of(sessions, sender)
    other = await make_workspace("Other brand")
    with pytest.raises(SendRefused) as refused:
        await send_message(services, other.id, customer_id, OutboundMessage(text="hi"))
    assert refused.value.code == "NOT_FOUND"
    assert await outbound_rows(sessions, customer_id) == []
