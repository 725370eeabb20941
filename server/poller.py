"""Polling pull-based channels (Weibo mentions and comments …) into the ingest path.

Each account of a channel that implements ``poll`` is polled every
``settings.poll_interval_seconds``. Events go through the same storage as webhook
deliveries; the cursor is saved only after every event is stored, so a crash re-polls and
the duplicates are stored once. One worker at a time polls an account: it holds a lease in
the database, so N workers do not spend N times the platform's rate limit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from datetime import timedelta

from sqlalchemy import Text, cast, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from socialcrm.plugins.channel import Channel, ChannelError
from socialcrm.server.accounts import account_context
from socialcrm.server.ingest import process_event
from socialcrm.server.interactions import announce
from socialcrm.server.services import Services
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import ChannelAccount, ChannelState

log = logging.getLogger(__name__)

CURSOR_KEY = "_poll_cursor"
LEASE_KEY = "_poll_lease"
HOLDER = f"{socket.gethostname()}:{os.getpid()}"


def polls(channel: Channel) -> bool:
    """True when the channel overrides ``poll`` (a pull-based source)."""
    return type(channel).poll is not Channel.poll


async def claim_lease(services: Services, account_id: int, seconds: float) -> bool:
    """Take (or extend) this process's lease on polling an account; False when another holds it."""
    now = utcnow()
    until = now + timedelta(seconds=seconds)
    async with services.sessions() as session, session.begin():
        taken = await session.execute(
            update(ChannelState)
            .where(
                col(ChannelState.account_id) == account_id,
                col(ChannelState.key) == LEASE_KEY,
                (col(ChannelState.expires_at) < now)
                | (cast(ChannelState.value, Text) == json.dumps(HOLDER)),
            )
            .values(value=HOLDER, expires_at=until, updated_at=now)
        )
        if taken.rowcount:  # type: ignore[attr-defined]
            return True
        exists = await session.scalar(
            select(col(ChannelState.key)).where(
                col(ChannelState.account_id) == account_id, col(ChannelState.key) == LEASE_KEY
            )
        )
        if exists is not None:
            return False
    try:
        async with services.sessions() as session, session.begin():
            session.add(
                ChannelState(account_id=account_id, key=LEASE_KEY, value=HOLDER, expires_at=until)
            )
    except IntegrityError:
        return False  # another worker created it first
    return True


async def poll_account(services: Services, channel: Channel, account: ChannelAccount) -> int:
    """Poll one account once; returns how many new interactions were stored."""
    context = account_context(services.sessions, account, services.settings.public_url)
    cursor = await context.state.get(CURSOR_KEY)
    result = await channel.poll(context, cursor)
    if result is None:
        return 0
    stored = 0
    for event in result.events:
        outcome = await process_event(services, channel, account, context, None, event)
        if outcome.stored is not None:
            stored += 1
            services.spawn(
                announce(services, outcome.stored, outcome.customer_changes, outcome.scores),
                name=f"announce-{outcome.stored.id}",
            )
    await context.state.set(CURSOR_KEY, result.cursor)
    return stored


async def poll_due_accounts(services: Services) -> int:
    """One round: poll every account of a pull-based channel this process can lease."""
    pulling = {name for name, channel in services.plugins.channels.items() if polls(channel)}
    if not pulling:
        return 0
    async with services.sessions() as session:
        accounts = (
            (
                await session.execute(
                    select(ChannelAccount).where(col(ChannelAccount.channel).in_(pulling))
                )
            )
            .scalars()
            .all()
        )
    interval = services.settings.poll_interval_seconds
    stored = 0
    for account in accounts:
        channel = services.plugins.channel(account.channel)
        assert channel is not None and account.id is not None
        if not await claim_lease(services, account.id, interval * 2):
            continue
        try:
            stored += await poll_account(services, channel, account)
        except ChannelError as exc:
            log.warning(
                "%s/%s: poll failed (%s): %s", account.channel, account.slug, exc.code, exc.reason
            )
        except Exception:
            log.exception("%s/%s: poll failed", account.channel, account.slug)
    return stored


async def run_poller(services: Services) -> None:
    """Poll forever, every ``poll_interval_seconds`` (the app's lifespan runs this)."""
    while True:
        try:
            await poll_due_accounts(services)
        except Exception:
            log.exception("a polling round failed")
        await asyncio.sleep(services.settings.poll_interval_seconds)
