"""Polling pull-based channels: stored once, cursor saved, one poller per account."""

from __future__ import annotations

import uuid
from typing import Any

from helpers.acme import message
from sqlalchemy import func, select

from socialcrm.server.poller import CURSOR_KEY, claim_lease, poll_due_accounts
from socialcrm.server.tables import ChannelState, Interaction


async def test_poll_stores_new_posts_once_and_saves_the_cursor(
    account: Any, sessions: Any, services: Any
) -> None:
    import scrm_acme

    scrm_acme.FEED.clear()
    posts = [message(kind="mention"), message(kind="mention")]
    scrm_acme.FEED.extend(posts)
    await poll_due_accounts(services)
    # Polled again (the lease is ours, the cursor moved): nothing new is stored.
    scrm_acme.FEED.append(posts[0])
    await poll_due_accounts(services)
    await services.drain()
    async with sessions() as session:
        stored = await session.scalar(
            select(func.count()).where(Interaction.account_id == account.id)
        )
        cursor = await session.get(ChannelState, (account.id, CURSOR_KEY))
    assert stored == 2
    assert cursor is not None and cursor.value == 3
    scrm_acme.FEED.clear()


async def test_only_one_process_holds_the_poll_lease(account: Any, services: Any) -> None:
    import socialcrm.server.poller

    assert await claim_lease(services, account.id, 60)
    assert await claim_lease(services, account.id, 60)  # renewing our own lease
    original = socialcrm.server.poller.HOLDER
    socialcrm.server.poller.HOLDER = f"other-{uuid.uuid4().hex}"
    try:
        assert not await claim_lease(services, account.id, 60)
    finally:
        socialcrm.server.poller.HOLDER = original
