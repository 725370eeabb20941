"""Community mutations: create a community, add and remove members."""

from __future__ import annotations

import strawberry

from socialcrm.resolvers.mutations.base import (
    decode_id,
    require_scope,
    services_of,
    transaction,
    user_error,
)
from socialcrm.schema.community import Community
from socialcrm.schema.customer import Customer
from socialcrm.schema.enums import MemberRole
from socialcrm.schema.mutation_types import (
    CommunityMemberPayload,
    CreateCommunityInput,
    CreateCommunityPayload,
)
from socialcrm.server import communities, customers
from socialcrm.server.errors import ChangeRejected


async def create_community(
    info: strawberry.Info, data: CreateCommunityInput
) -> CreateCommunityPayload:
    """Create a community of the viewer's workspace."""
    viewer = require_scope(info, "write")
    services = services_of(info)
    try:
        async with transaction(services) as session:
            row = await communities.create_community(
                session,
                viewer.workspace_id,
                name=data.name,
                description=data.description,
                channel=data.channel,
                external_id=data.external_id,
                known_channels=set(services.plugins.channels),
            )
    except ChangeRejected as exc:
        return CreateCommunityPayload(user_errors=[user_error(exc)])
    return CreateCommunityPayload(community=Community.from_row(row))


async def change_member(
    info: strawberry.Info,
    community_global_id: str,
    customer_global_id: str,
    role: MemberRole | None,
) -> CommunityMemberPayload:
    """Add a member with ``role`` (or change its role); with ``role`` None, remove it."""
    viewer = require_scope(info, "write")
    services = services_of(info)
    try:
        community_id = decode_id(community_global_id, "Community", "communityId")
        customer_id = decode_id(customer_global_id, "Customer", "customerId")
        async with transaction(services) as session:
            customer = await customers.get_customer(
                session, viewer.workspace_id, customer_id, field_name="customerId"
            )
            assert customer.id is not None
            if role is None:
                await communities.remove_member(
                    session, viewer.workspace_id, community_id, customer.id
                )
            else:
                await communities.add_member(
                    session, viewer.workspace_id, community_id, customer.id, str(role.value)
                )
            community = await communities.get_community(session, viewer.workspace_id, community_id)
    except ChangeRejected as exc:
        sent = {"communityId": community_global_id, "customerId": customer_global_id}
        return CommunityMemberPayload(user_errors=[user_error(exc, sent)])
    return CommunityMemberPayload(
        community=Community.from_row(community), customer=Customer.from_row(customer), role=role
    )
