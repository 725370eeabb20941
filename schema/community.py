"""Communities and their members."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from socialcrm.schema.customer import Customer
from socialcrm.schema.enums import MemberRole
from socialcrm.schema.node import Node, to_global_id
from socialcrm.schema.pagination import CountFn, PageInfo


@strawberry.type(description="A brand community: a WeChat group, a Weibo topic, a mailing list.")
class Community(Node):
    """A community with members, admins and opinion leaders."""

    name: str = strawberry.field(description="The community's name.")
    description: str = strawberry.field(description="What the community is about.")
    channel: str | None = strawberry.field(
        description="The channel it lives on; null for a community kept by hand."
    )
    external_id: str | None = strawberry.field(
        description="The platform's id of the community (a group id, a topic)."
    )
    created_at: datetime = strawberry.field(description="When the community was created.")
    dismissed_at: datetime | None = strawberry.field(
        description="When the platform reported it dissolved; null while it lives."
    )
    pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: Any) -> Community:
        """Build from anything with the community table's column names as attributes."""
        return cls(
            id=to_global_id("Community", row.id),
            pk=row.id,
            name=row.name,
            description=row.description,
            channel=row.channel,
            external_id=row.external_id,
            created_at=row.created_at,
            dismissed_at=row.dismissed_at,
        )

    @strawberry.field(description="The community's members, in the order they joined.")
    async def members(
        self,
        info: strawberry.Info,
        first: Annotated[
            int | None, strawberry.argument(description="How many to return (capped).")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="The `endCursor` of the previous page.")
        ] = None,
        role: Annotated[
            list[MemberRole] | None,
            strawberry.argument(description="Only members with any of these roles."),
        ] = None,
    ) -> MemberConnection:
        from socialcrm.resolvers.communities import community_members

        return await community_members(info, self.pk, first, after, role)


@strawberry.type(description="A member of a community, with their role.")
class MemberEdge:
    """An edge of `MemberConnection`: the customer and their membership."""

    cursor: str = strawberry.field(description="Pass as `after` to continue after this item.")
    node: Customer = strawberry.field(description="The member.")
    role: MemberRole = strawberry.field(description="The member's role in the community.")
    joined_at: datetime = strawberry.field(description="When the member joined.")


@strawberry.type(description="A page of a community's members.")
class MemberConnection:
    """Members, a page at a time."""

    edges: list[MemberEdge] = strawberry.field(description="The members of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits in the list.")
    count: strawberry.Private[CountFn]

    @strawberry.field(description="How many members match, in all pages.")
    async def total_count(self) -> int:
        return await self.count()


@strawberry.type(description="A community a customer belongs to, with their role.")
class MembershipEdge:
    """An edge of `MembershipConnection`: the community and the customer's membership."""

    cursor: str = strawberry.field(description="Pass as `after` to continue after this item.")
    node: Community = strawberry.field(description="The community.")
    role: MemberRole = strawberry.field(description="The customer's role in it.")
    joined_at: datetime = strawberry.field(description="When the customer joined.")


@strawberry.type(description="A page of the communities a customer belongs to.")
class MembershipConnection:
    """Memberships, a page at a time."""

    edges: list[MembershipEdge] = strawberry.field(description="The communities of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits in the list.")
    count: strawberry.Private[CountFn]

    @strawberry.field(description="How many communities the customer belongs to.")
    async def total_count(self) -> int:
        return await self.count()


@strawberry.type(description="A community in a list, with its cursor.")
class CommunityEdge:
    """An edge of `CommunityConnection`."""

    cursor: str = strawberry.field(description="Pass as `after` to continue after this item.")
    node: Community = strawberry.field(description="The community.")


@strawberry.type(description="A page of communities.")
class CommunityConnection:
    """Communities, a page at a time."""

    edges: list[CommunityEdge] = strawberry.field(description="The communities of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits in the list.")
    count: strawberry.Private[CountFn]

    @strawberry.field(description="How many communities match the filter, in all pages.")
    async def total_count(self) -> int:
        return await self.count()


@strawberry.input(description="Which communities to list; every given condition must hold.")
class CommunityFilter:
    """Filters of `communities`."""

    search: str | None = strawberry.field(
        default=None, description="Text the name contains (case-insensitive)."
    )
    channel: list[str] | None = strawberry.field(
        default=None, description="On any of these channels."
    )
    include_dismissed: bool = strawberry.field(
        default=False, description="Also list communities the platform dissolved."
    )
