"""Community lists: `communities`, `Community.members` and `Customer.communities`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import strawberry

from socialcrm.resolvers.context import Context
from socialcrm.resolvers.loaders import Membership
from socialcrm.resolvers.pagination import decode_cursor, encode_cursor, page_info, page_size
from socialcrm.schema.community import (
    Community,
    CommunityConnection,
    CommunityEdge,
    MemberConnection,
    MemberEdge,
    MembershipConnection,
    MembershipEdge,
)
from socialcrm.schema.enums import MemberRole, enum_of
from socialcrm.schema.errors import BadUserInput
from socialcrm.server import read
from socialcrm.server.read import CommunityCriteria

if TYPE_CHECKING:
    from socialcrm.schema.community import CommunityFilter


COMMUNITY_CURSOR = "community"
MEMBER_CURSOR = "member"
MEMBERSHIP_CURSOR = "membership"
"""Cursor kinds of `communities`, `Community.members` and `Customer.communities`."""


def after_id(after: str | None, kind: str) -> int | None:
    """The id in a cursor of a list sorted by id (``kind``: community, member, membership)."""
    if after is None:
        return None
    (pk,) = decode_cursor(after, kind, 1)
    if not pk.isdigit():
        raise BadUserInput("`after` is not a valid cursor")
    return int(pk)


def criteria_of(filter: CommunityFilter | None) -> CommunityCriteria:
    """The storage criteria of a GraphQL community filter."""
    if filter is None:
        return CommunityCriteria()
    return CommunityCriteria(
        search=filter.search,
        channels=tuple(filter.channel or ()),
        include_dismissed=filter.include_dismissed,
    )


def role_values(roles: Sequence[MemberRole] | None) -> tuple[str, ...]:
    """Stored role values of a `role` argument, sorted (equal filters batch together)."""
    return tuple(sorted(str(role.value) for role in roles or ()))


async def communities(
    info: strawberry.Info,
    filter: CommunityFilter | None,
    first: int | None,
    after: str | None,
) -> CommunityConnection:
    """The root `communities` field: oldest first."""
    ctx: Context = info.context
    size = page_size(first, ctx.services.settings.max_page_size)
    criteria = criteria_of(filter)
    workspace_id = ctx.workspace_id
    rows = await ctx.db.all(
        read.communities_page(workspace_id, criteria, after_id(after, COMMUNITY_CURSOR), size + 1)
    )
    edges = [
        CommunityEdge(cursor=encode_cursor(COMMUNITY_CURSOR, row.id), node=Community.from_row(row))
        for row in rows[:size]
    ]

    async def count() -> int:
        return int(await ctx.db.scalar(read.communities_count(workspace_id, criteria)))

    return CommunityConnection(
        edges=edges,
        page_info=page_info([edge.cursor for edge in edges], len(rows) > size, after),
        count=count,
    )


def _role(membership: Membership) -> MemberRole:
    return enum_of(MemberRole, membership.role, MemberRole.MEMBER)


async def community_members(
    info: strawberry.Info,
    community_pk: int,
    first: int | None,
    after: str | None,
    roles: Sequence[MemberRole] | None,
) -> MemberConnection:
    """`Community.members`, in the order they joined."""
    ctx: Context = info.context
    size = page_size(first, ctx.services.settings.max_page_size)
    roles_stored = role_values(roles)
    loaders = ctx.loaders
    items = await loaders.community_members.load(
        (community_pk, roles_stored, after_id(after, MEMBER_CURSOR), size + 1)
    )
    edges = [
        MemberEdge(
            cursor=encode_cursor(MEMBER_CURSOR, item.membership_id),
            node=item.node,
            role=_role(item),
            joined_at=item.joined_at,
        )
        for item in items[:size]
    ]

    async def count() -> int:
        return await loaders.member_counts.load((community_pk, roles_stored))

    return MemberConnection(
        edges=edges,
        page_info=page_info([edge.cursor for edge in edges], len(items) > size, after),
        count=count,
    )


async def customer_communities(
    info: strawberry.Info, customer_pk: int, first: int | None, after: str | None
) -> MembershipConnection:
    """`Customer.communities`, in the order the customer joined them."""
    ctx: Context = info.context
    size = page_size(first, ctx.services.settings.max_page_size)
    loaders = ctx.loaders
    items = await loaders.customer_communities.load(
        (customer_pk, after_id(after, MEMBERSHIP_CURSOR), size + 1)
    )
    edges = [
        MembershipEdge(
            cursor=encode_cursor(MEMBERSHIP_CURSOR, item.membership_id),
            node=item.node,
            role=_role(item),
            joined_at=item.joined_at,
        )
        for item in items[:size]
    ]

    async def count() -> int:
        return await loaders.community_counts.load(customer_pk)

    return MembershipConnection(
        edges=edges,
        page_info=page_info([edge.cursor for edge in edges], len(items) > size, after),
        count=count,
    )
