"""Storing interactions and announcing them: observer hooks and the event bus.

Every interaction, whether a channel delivered it, the brand sent it or an operator
recorded it by hand, is stored through here, so observers and subscribers see them all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from socialcrm.plugins.manager import await_me_maybe
from socialcrm.plugins.models import CustomerChange, IdentityRef, StoredInteraction
from socialcrm.server.bus import interactions_topic, scores_topic
from socialcrm.server.scoring.announce import ScoreAnnouncement
from socialcrm.server.scoring.live import on_interaction_stored
from socialcrm.server.services import Services
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import Community, Customer, Interaction

log = logging.getLogger(__name__)


@dataclass(slots=True)
class NewInteraction:
    """The fields of an interaction to store."""

    workspace_id: int
    customer_id: int
    channel: str
    kind: str
    direction: str
    occurred_at: datetime
    content_type: str = "text"
    content: str | None = None
    account_id: int | None = None
    external_id: str | None = None
    community_id: int | None = None
    thread_id: str | None = None
    in_reply_to_id: int | None = None
    delivery_status: str | None = None
    raw_event_id: int | None = None
    data: dict[str, Any] | None = None
    raw: dict[str, Any] | None = None


async def find_by_external_id(
    session: AsyncSession, account_id: int, external_id: str
) -> Interaction | None:
    """The interaction stored for (account, external id), if any."""
    result = await session.execute(
        select(Interaction).where(
            col(Interaction.account_id) == account_id, col(Interaction.external_id) == external_id
        )
    )
    return result.scalar_one_or_none()


async def add_interaction(session: AsyncSession, new: NewInteraction) -> Interaction:
    """Insert an interaction in the caller's transaction (unique per account + external id:
    a duplicate raises ``IntegrityError`` at flush)."""
    row = Interaction(
        workspace_id=new.workspace_id,
        customer_id=new.customer_id,
        channel=new.channel,
        kind=new.kind,
        direction=new.direction,
        occurred_at=new.occurred_at,
        content_type=new.content_type,
        content=new.content,
        account_id=new.account_id,
        external_id=new.external_id,
        community_id=new.community_id,
        thread_id=new.thread_id,
        in_reply_to_id=new.in_reply_to_id,
        delivery_status=new.delivery_status,
        raw_event_id=new.raw_event_id,
        data=new.data or {},
        raw=new.raw or {},
    )
    session.add(row)
    await session.flush()
    return row


def stored_view(
    row: Interaction, *, account_slug: str | None = None, sender: IdentityRef | None = None
) -> StoredInteraction:
    """The plugin-facing view of a stored interaction row."""
    assert row.id is not None
    return StoredInteraction(
        id=row.id,
        workspace_id=row.workspace_id,
        customer_id=row.customer_id,
        channel=row.channel,
        kind=row.kind,
        direction=row.direction,
        content_type=row.content_type,
        content=row.content,
        occurred_at=row.occurred_at,
        account_id=row.account_id,
        account_slug=account_slug,
        external_id=row.external_id,
        community_id=row.community_id,
        data=dict(row.data),
        sender=sender,
    )


def envelope(interaction: StoredInteraction) -> dict[str, Any]:
    """The bus message announcing an interaction: ids and filter fields only."""
    return {
        "id": interaction.id,
        "channel": interaction.channel,
        "customer_id": interaction.customer_id,
        "community_id": interaction.community_id,
        "kind": interaction.kind,
        "direction": interaction.direction,
    }


async def announce(
    services: Services,
    interaction: StoredInteraction,
    customer_changes: list[CustomerChange] | None = None,
    scores: ScoreAnnouncement | None = None,
) -> None:
    """Run the observer hooks for a stored interaction, then publish it on the bus, then
    announce what it did to the customer's scores and stage (``announce_scores``).

    Observer failures are logged and never stop the publication.
    """
    for change in customer_changes or ():
        await notify_customer_changed(services, change)
    for result in services.plugins.hook.scrm_interaction_stored(interaction=interaction):
        try:
            await await_me_maybe(result)
        except Exception:
            log.exception("an scrm_interaction_stored observer failed on %s", interaction.id)
    await services.bus.publish(interactions_topic(interaction.workspace_id), envelope(interaction))
    if scores is not None:
        await announce_scores(services, scores)


async def announce_scores(services: Services, scores: ScoreAnnouncement) -> None:
    """Run ``scrm_customer_changed`` for a committed score update's stage change and publish
    its envelope on the scores topic."""
    for change in scores.customer_changes:
        await notify_customer_changed(services, change)
    if scores.envelope is not None:
        await services.bus.publish(scores_topic(scores.workspace_id), scores.envelope)


async def notify_customer_changed(services: Services, change: CustomerChange) -> None:
    """Run the ``scrm_customer_changed`` observers; failures are logged."""
    try:
        results = services.plugins.hook.scrm_customer_changed(change=change)
    except Exception:
        log.exception("an scrm_customer_changed observer failed")
        return
    for result in results:
        try:
            await await_me_maybe(result)
        except Exception:
            log.exception("an scrm_customer_changed observer failed")


async def record_manual_interaction(
    services: Services,
    workspace_id: int,
    customer_id: int,
    *,
    kind: str,
    content: str | None,
    occurred_at: datetime | None = None,
    direction: str = "inbound",
    community_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> Interaction | None:
    """Record an interaction by hand (a call, a visit, a note) and announce it.

    Returns None when the customer is not in the workspace (nothing is stored then).
    """
    occurred_at = occurred_at or utcnow()
    async with services.sessions() as session, session.begin():
        customer = await session.get(Customer, customer_id, with_for_update=True)
        if (
            customer is None
            or customer.workspace_id != workspace_id
            or customer.merged_into_id is not None
        ):
            return None
        if community_id is not None:
            community = await session.get(Community, community_id)
            if community is None or community.workspace_id != workspace_id:
                return None
        row = await add_interaction(
            session,
            NewInteraction(
                workspace_id=workspace_id,
                customer_id=customer_id,
                channel="manual",
                kind=kind,
                direction=direction,
                occurred_at=occurred_at,
                content=content,
                community_id=community_id,
                data=data,
            ),
        )
        if direction == "inbound" and (
            customer.last_seen_at is None or occurred_at > customer.last_seen_at
        ):
            customer.last_seen_at = occurred_at
        scores = await on_interaction_stored(session, services, row)
    await announce(services, stored_view(row), scores=scores)
    return row
