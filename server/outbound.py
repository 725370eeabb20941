"""Outbound: the brand sends a message to a customer through a channel, and it is recorded."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from socialcrm.plugins.channel import Channel
from socialcrm.plugins.models import (
    Direction,
    IdentityRef,
    InteractionKind,
    OutboundMessage,
    SendResult,
)
from socialcrm.server.accounts import account_context
from socialcrm.server.errors import ChangeRejected
from socialcrm.server.interactions import NewInteraction, add_interaction, announce, stored_view
from socialcrm.server.scoring.live import on_interaction_stored
from socialcrm.server.services import Services
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import ChannelAccount, Customer, Identity, Interaction

log = logging.getLogger(__name__)


class SendRefused(ChangeRejected):
    """The message was not sent; nothing was stored."""


def can_send(plugin: Channel | None) -> bool:
    """Whether an installed channel sends messages (its plugin overrides ``Channel.send``)."""
    return plugin is not None and type(plugin).send is not Channel.send


@dataclass(slots=True)
class SendOutcome:
    """A send attempt that reached the channel: its stored interaction and the result."""

    interaction: Interaction
    result: SendResult


async def send_message(
    services: Services,
    workspace_id: int,
    customer_id: int,
    message: OutboundMessage,
    *,
    channel: str | None = None,
    account_id: int | None = None,
) -> SendOutcome:
    """Send ``message`` to the customer through a connected account and record it.

    The account is the one given, or the one of the channel given, or the one the customer
    last wrote to, among the accounts of channels that can send. Raises ``SendRefused``
    (NOT_FOUND, UNKNOWN_CHANNEL, INVALID for a channel that cannot send, OUTSIDE_REPLY_WINDOW)
    before anything is sent or stored. A platform error is a result with ``ok=False``: the
    attempt is still stored, with delivery status ``failed``.
    """
    async with services.sessions() as session:
        customer = await session.get(Customer, customer_id)
        if customer is None or customer.workspace_id != workspace_id or customer.merged_into_id:
            raise SendRefused("no such customer", code="NOT_FOUND", field="customerId")
        if channel is not None and services.plugins.channel(channel) is None:
            raise SendRefused(
                f"no channel named {channel!r}; installed: "
                f"{', '.join(services.plugins.channels) or 'none'}",
                code="UNKNOWN_CHANNEL",
                field="channel",
            )
        account, identity = await _route(
            session, services, workspace_id, customer_id, channel, account_id
        )
        plugin = services.plugins.channel(account.channel)
        assert plugin is not None  # _route only answers accounts of channels that can send
        await _check_window(session, plugin, account, customer_id)
    context = account_context(services.sessions, account, services.settings.public_url)
    recipient = IdentityRef(identity.channel, identity.external_id, identity.handle)
    try:
        result = await plugin.send(recipient, message, context)
    except Exception as exc:
        log.exception("%s: send failed", plugin.name)
        result = SendResult(
            ok=False, status="failed", error_code="CHANNEL_ERROR", error_message=str(exc)[:500]
        )
    data = {"message": asdict(message)}
    if not result.ok:
        data["error"] = {"code": result.error_code, "message": result.error_message}
    assert account.id is not None
    async with services.sessions() as session, session.begin():
        row = await add_interaction(
            session,
            NewInteraction(
                workspace_id=workspace_id,
                customer_id=customer_id,
                channel=account.channel,
                kind=str(InteractionKind.MESSAGE),
                direction=str(Direction.OUTBOUND),
                occurred_at=utcnow(),
                content_type=message.content_type,
                content=message.text,
                account_id=account.id,
                external_id=result.external_id if result.ok else None,
                delivery_status=result.status if result.ok else "failed",
                data=data,
                raw=result.raw,
            ),
        )
        scores = await on_interaction_stored(session, services, row)
    services.spawn(
        announce(services, stored_view(row, account_slug=account.slug), scores=scores),
        name="announce-send",
    )
    return SendOutcome(interaction=row, result=result)


async def _route(
    session: AsyncSession,
    services: Services,
    workspace_id: int,
    customer_id: int,
    channel: str | None,
    account_id: int | None,
) -> tuple[ChannelAccount, Identity]:
    """The account to send through and the customer's identity on it."""
    query = select(ChannelAccount).where(col(ChannelAccount.workspace_id) == workspace_id)
    if account_id is not None:
        query = query.where(col(ChannelAccount.id) == account_id)
    if channel is not None:
        query = query.where(col(ChannelAccount.channel) == channel)
    accounts = {a.id: a for a in (await session.execute(query)).scalars()}
    if not accounts:
        raise SendRefused(
            "no connected account matches" if (channel or account_id) else "no connected account",
            code="NOT_FOUND",
            field="accountId" if account_id is not None else "channel",
        )
    sending = {
        key: account
        for key, account in accounts.items()
        if can_send(services.plugins.channel(account.channel))
    }
    if not sending:
        names = " and ".join(sorted({account.channel for account in accounts.values()}))
        raise SendRefused(
            f"the {names} channel cannot send messages (or is not installed)",
            code="INVALID",
            field="accountId" if account_id is not None else "channel",
        )
    accounts = sending
    identities = (
        (
            await session.execute(
                select(Identity).where(
                    col(Identity.workspace_id) == workspace_id,
                    col(Identity.customer_id) == customer_id,
                )
            )
        )
        .scalars()
        .all()
    )
    # Prefer the account the customer last spoke to.
    last = (
        await session.execute(
            select(col(Interaction.account_id))
            .where(
                col(Interaction.customer_id) == customer_id,
                col(Interaction.direction) == str(Direction.INBOUND),
                col(Interaction.account_id).in_(list(accounts)),
            )
            .order_by(col(Interaction.occurred_at).desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    ordered = sorted(accounts.values(), key=lambda a: (a.id != last, a.id or 0))
    for account in ordered:
        for identity in identities:
            if identity.account_id == account.id:
                return account, identity
        for identity in identities:
            if identity.channel == account.channel and identity.account_id is None:
                return account, identity
    raise SendRefused(
        "the customer has no identity on the chosen channel", code="NOT_FOUND", field="channel"
    )


async def _check_window(
    session: AsyncSession, plugin: Channel, account: ChannelAccount, customer_id: int
) -> None:
    """Refuse when the channel only allows answers soon after the customer's last message."""
    if plugin.reply_window is None:
        return
    last = (
        await session.execute(
            select(col(Interaction.occurred_at), col(Interaction.kind))
            .where(
                col(Interaction.customer_id) == customer_id,
                col(Interaction.account_id) == account.id,
                col(Interaction.direction) == str(Direction.INBOUND),
            )
            .order_by(col(Interaction.occurred_at).desc())
            .limit(1)
        )
    ).first()
    if last is not None and last.kind == str(InteractionKind.UNFOLLOW):
        raise SendRefused(
            f"the customer unfollowed this {plugin.name} account",
            code="OUTSIDE_REPLY_WINDOW",
            field="customerId",
        )
    hours = plugin.reply_window.total_seconds() / 3600
    if last is None or utcnow() - last.occurred_at > plugin.reply_window:
        raise SendRefused(
            f"{plugin.name} allows messages only within {hours:g} hours after the customer's "
            "last message to the account",
            code="OUTSIDE_REPLY_WINDOW",
            field="customerId",
        )
