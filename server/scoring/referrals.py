"""Who brought whom: "old brings new" referrals, counted per referrer."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, case, distinct, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from socialcrm.plugins.models import InteractionKind, RelationKind
from socialcrm.server.tables import Interaction, Relationship


async def referral_counts(
    session: AsyncSession, customer_ids: Iterable[int]
) -> dict[int, tuple[int, int]]:
    """For each customer: how many customers they brought through referral edges, and how
    many of those have made a purchase. Every id asked for is in the answer ((0, 0) for a
    customer who brought nobody).

    A referral edge is stored as new customer → referrer, so the referrer is the target.
    """
    wanted = sorted(set(customer_ids))
    answer = dict.fromkeys(wanted, (0, 0))
    if not wanted:
        return answer
    source = col(Relationship.source_id)
    bought = exists().where(
        and_(
            col(Interaction.customer_id) == source,
            col(Interaction.kind) == str(InteractionKind.PURCHASE),
        )
    )
    rows = await session.execute(
        select(
            col(Relationship.target_id),
            func.count(distinct(source)),
            func.count(distinct(case((bought, source)))),
        )
        .where(
            col(Relationship.kind) == str(RelationKind.REFERRAL),
            col(Relationship.target_id).in_(wanted),
        )
        .group_by(col(Relationship.target_id))
    )
    for target_id, brought, buyers in rows:
        answer[int(target_id)] = (int(brought), int(buyers))
    return answer
