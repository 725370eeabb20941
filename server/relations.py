"""What an event says about the network: customer-to-customer edges and communities."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from socialcrm.plugins.models import InboundEvent, Relation
from socialcrm.server.identities import resolve_customer
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import (
    ChannelAccount,
    Community,
    Membership,
    ReferralCode,
    Relationship,
)


async def apply_relations(
    session: AsyncSession,
    workspace_id: int,
    source_id: int,
    relations: list[Relation],
    occurred_at: datetime,
) -> list[str]:
    """Count an edge from ``source_id`` for each relation; returns referral codes not found.

    A target identity never seen becomes a customer (a mentioned user is a person too).
    Edges to oneself are dropped.
    """
    unresolved: list[str] = []
    for relation in relations:
        target_id: int | None = None
        if relation.referral_code is not None:
            target_id = await session.scalar(
                select(col(ReferralCode.customer_id)).where(
                    col(ReferralCode.workspace_id) == workspace_id,
                    col(ReferralCode.code) == relation.referral_code,
                )
            )
            if target_id is None:
                unresolved.append(relation.referral_code)
                continue
        elif relation.target is not None:
            target_id = (await resolve_customer(session, workspace_id, relation.target)).customer.id
        if target_id is None or target_id == source_id:
            continue
        await count_edge(
            session, workspace_id, source_id, target_id, str(relation.kind), occurred_at
        )
    return unresolved


async def count_edge(
    session: AsyncSession,
    workspace_id: int,
    source_id: int,
    target_id: int,
    kind: str,
    at: datetime,
) -> None:
    """Add one occurrence of the edge ``source → target`` of ``kind``."""
    edge = await session.scalar(
        select(Relationship).where(
            col(Relationship.source_id) == source_id,
            col(Relationship.target_id) == target_id,
            col(Relationship.kind) == kind,
        )
    )
    if edge is None:
        session.add(
            Relationship(
                workspace_id=workspace_id,
                source_id=source_id,
                target_id=target_id,
                kind=kind,
                first_at=at,
                last_at=at,
            )
        )
    else:
        edge.count += 1
        edge.last_at = max(edge.last_at, at)
    await session.flush()


async def apply_community(
    session: AsyncSession, workspace_id: int, account: ChannelAccount, event: InboundEvent
) -> int | None:
    """Find or create the event's community and apply its member changes; its id or None."""
    ref = event.community
    if ref is None:
        return None
    community = await session.scalar(
        select(Community).where(
            col(Community.workspace_id) == workspace_id,
            col(Community.channel) == account.channel,
            col(Community.external_id) == ref.external_id,
        )
    )
    if community is None:
        community = Community(
            workspace_id=workspace_id,
            name=ref.name or ref.external_id,
            channel=account.channel,
            account_id=account.id,
            external_id=ref.external_id,
        )
        session.add(community)
        await session.flush()
    elif ref.name and community.name != ref.name:
        community.name = ref.name
    if ref.dismissed and community.dismissed_at is None:
        community.dismissed_at = event.occurred_at
    assert community.id is not None
    for change in event.member_changes:
        member = (await resolve_customer(session, workspace_id, change.identity)).customer
        assert member.id is not None
        existing = await session.scalar(
            select(Membership).where(
                col(Membership.community_id) == community.id,
                col(Membership.customer_id) == member.id,
            )
        )
        if change.joined and existing is None:
            session.add(
                Membership(
                    workspace_id=workspace_id,
                    community_id=community.id,
                    customer_id=member.id,
                    role=str(change.role),
                    joined_at=event.occurred_at or utcnow(),
                )
            )
        elif change.joined and existing is not None:
            existing.role = str(change.role)
        elif not change.joined and existing is not None:
            await session.execute(delete(Membership).where(col(Membership.id) == existing.id))
    await session.flush()
    return community.id
