"""Communities changed by operators: create one, add and remove members."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from socialcrm.plugins.models import MemberRole
from socialcrm.server.customers import get_customer
from socialcrm.server.errors import ChangeRejected
from socialcrm.server.tables import Community, Membership

NAME_LIMIT = 200
"""The longest community name (the column's limit)."""
DESCRIPTION_LIMIT = 10_000
EXTERNAL_ID_LIMIT = 255
ROLES: tuple[str, ...] = tuple(role.value for role in MemberRole)


@dataclass(slots=True)
class MembershipChange:
    """A membership after an add: the row and whether it was new or its role changed."""

    membership: Membership
    created: bool
    role_changed: bool


async def get_community(
    session: AsyncSession, workspace_id: int, community_id: int, *, field: str = "communityId"
) -> Community:
    """The workspace's community ``community_id``, or ``ChangeRejected`` NOT_FOUND."""
    community = (
        await session.execute(
            select(Community).where(
                col(Community.workspace_id) == workspace_id, col(Community.id) == community_id
            )
        )
    ).scalar_one_or_none()
    if community is None:
        raise ChangeRejected("no such community", code="NOT_FOUND", field=field)
    return community


async def create_community(
    session: AsyncSession,
    workspace_id: int,
    *,
    name: str,
    description: str | None = None,
    channel: str | None = None,
    external_id: str | None = None,
    known_channels: Collection[str] | None = None,
) -> Community:
    """Create a community; (channel, external id) must be new in the workspace.

    ``known_channels`` (the installed channel names) restricts ``channel`` when given.
    """
    name = (name or "").strip()
    if not name:
        raise ChangeRejected("a community needs a name", code="REQUIRED", field="name")
    if len(name) > NAME_LIMIT:
        raise ChangeRejected(
            f"name is longer than {NAME_LIMIT} characters", code="INVALID", field="name"
        )
    description = (description or "").strip()
    if len(description) > DESCRIPTION_LIMIT:
        raise ChangeRejected(
            f"description is longer than {DESCRIPTION_LIMIT} characters",
            code="INVALID",
            field="description",
        )
    channel = (channel or "").strip() or None
    external_id = (external_id or "").strip() or None
    if channel is not None and known_channels is not None and channel not in known_channels:
        raise ChangeRejected(
            f"no channel named {channel!r}; installed: {', '.join(sorted(known_channels))}",
            code="UNKNOWN_CHANNEL",
            field="channel",
        )
    if external_id is not None:
        if channel is None:
            raise ChangeRejected(
                "an external id needs the channel it belongs to", code="REQUIRED", field="channel"
            )
        if len(external_id) > EXTERNAL_ID_LIMIT:
            raise ChangeRejected(
                f"externalId is longer than {EXTERNAL_ID_LIMIT} characters",
                code="INVALID",
                field="externalId",
            )
        taken = await session.scalar(
            select(col(Community.id)).where(
                col(Community.workspace_id) == workspace_id,
                col(Community.channel) == channel,
                col(Community.external_id) == external_id,
            )
        )
        if taken is not None:
            raise ChangeRejected(
                f"a {channel} community with external id {external_id!r} already exists",
                code="DUPLICATE",
                field="externalId",
            )
    community = Community(
        workspace_id=workspace_id,
        name=name,
        description=description,
        channel=channel,
        external_id=external_id,
    )
    session.add(community)
    await session.flush()
    return community


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ChangeRejected(
            f"role must be one of {', '.join(ROLES)}", code="INVALID", field="role"
        )
    return role


async def add_member(
    session: AsyncSession,
    workspace_id: int,
    community_id: int,
    customer_id: int,
    role: str = MemberRole.MEMBER.value,
) -> MembershipChange:
    """Make a customer a member of a community, or give an existing member ``role``.

    A dismissed community takes no new members (CONFLICT).
    """
    _check_role(role)
    community = await get_community(session, workspace_id, community_id)
    await get_customer(session, workspace_id, customer_id, lock=True, field_name="customerId")
    membership = await _membership(session, workspace_id, community_id, customer_id)
    if membership is not None:
        changed = membership.role != role
        membership.role = role
        await session.flush()
        return MembershipChange(membership=membership, created=False, role_changed=changed)
    if community.dismissed_at is not None:
        raise ChangeRejected("the community was dismissed", code="CONFLICT", field="communityId")
    membership = Membership(
        workspace_id=workspace_id, community_id=community_id, customer_id=customer_id, role=role
    )
    session.add(membership)
    await session.flush()
    return MembershipChange(membership=membership, created=True, role_changed=False)


async def remove_member(
    session: AsyncSession, workspace_id: int, community_id: int, customer_id: int
) -> Membership:
    """End a customer's membership of a community; NOT_FOUND when there is none."""
    await get_community(session, workspace_id, community_id)
    await get_customer(session, workspace_id, customer_id, lock=True, field_name="customerId")
    membership = await _membership(session, workspace_id, community_id, customer_id)
    if membership is None:
        raise ChangeRejected(
            "the customer is not a member of the community",
            code="NOT_FOUND",
            field="customerId",
        )
    await session.delete(membership)
    await session.flush()
    return membership


async def _membership(
    session: AsyncSession, workspace_id: int, community_id: int, customer_id: int
) -> Membership | None:
    return (
        await session.execute(
            select(Membership).where(
                col(Membership.workspace_id) == workspace_id,
                col(Membership.community_id) == community_id,
                col(Membership.customer_id) == customer_id,
            )
        )
    ).scalar_one_or_none()
