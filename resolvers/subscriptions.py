"""Subscription resolvers: bus envelopes in, GraphQL objects of the viewer's workspace out.

The bus announces a stored interaction with a small envelope (id and the fields filters
use). Each subscription listens on its own workspace's topic only, filters on the envelope,
and loads the interaction, again restricted to that workspace, before yielding it.

Hundreds of subscribers of one workspace want the same row at the same moment, so the load
is shared: one query per event per process (interaction, customer and community at once).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlmodel import col

from socialcrm.resolvers.shared_loads import SharedLoads
from socialcrm.schema.community import Community
from socialcrm.schema.customer import Customer
from socialcrm.schema.errors import ApiError, BadUserInput, ErrorCode
from socialcrm.schema.interaction import Interaction
from socialcrm.schema.node import from_global_id
from socialcrm.server.auth import Viewer
from socialcrm.server.bus import interactions_topic
from socialcrm.server.tables import Community as CommunityRow
from socialcrm.server.tables import Customer as CustomerRow
from socialcrm.server.tables import Interaction as InteractionRow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Announced:
    """An announced interaction as GraphQL objects, shared read-only by its subscribers."""

    interaction: Interaction
    customer: Customer | None
    community: Community | None


class AnnouncedInteractions(SharedLoads[tuple[int, int], Announced | None]):
    """Loads each announced interaction once per process, however many subscribers want it:
    keyed by (workspace, interaction id)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], size: int = 256, ttl: float = 2.0
    ) -> None:
        super().__init__(self._load_interaction, size, ttl)
        self._sessions = sessions

    async def _load_interaction(self, key: tuple[int, int]) -> Announced | None:
        workspace_id, interaction_id = key
        customer = aliased(CustomerRow)
        community = aliased(CommunityRow)
        statement = (
            select(InteractionRow, customer, community)
            .join(
                customer,
                (col(customer.id) == col(InteractionRow.customer_id))
                & (col(customer.workspace_id) == workspace_id),
                isouter=True,
            )
            .join(
                community,
                (col(community.id) == col(InteractionRow.community_id))
                & (col(community.workspace_id) == workspace_id),
                isouter=True,
            )
            .where(
                col(InteractionRow.workspace_id) == workspace_id,
                col(InteractionRow.id) == interaction_id,
            )
        )
        async with self._sessions() as session:
            row = (await session.execute(statement)).first()
        if row is None:
            return None
        interaction_row, customer_row, community_row = row
        return Announced(
            interaction=Interaction.from_row(interaction_row),
            # A merged customer is answered by the loaders (they know the survivor).
            customer=(
                Customer.from_row(customer_row)
                if customer_row is not None and customer_row.merged_into_id is None
                else None
            ),
            community=Community.from_row(community_row) if community_row is not None else None,
        )


# One per process (per bus): the bus is what every subscriber of the process shares.
_announced: weakref.WeakKeyDictionary[Any, AnnouncedInteractions] = weakref.WeakKeyDictionary()


def announced_interactions(services: Any) -> AnnouncedInteractions:
    """The shared loader of announced interactions of ``services``' process."""
    loader = _announced.get(services.bus)
    if loader is None:
        loader = _announced[services.bus] = AnnouncedInteractions(services.sessions)
    return loader


def filter_pk(global_id: str | None, type_name: str, argument: str) -> int | None:
    """The primary key a filter argument names, or None when the argument is not given."""
    if global_id is None:
        return None
    parsed = from_global_id(global_id)
    if parsed is None or parsed[0] != type_name:
        raise BadUserInput(
            f"{argument} must be the global id of a {type_name}, not {global_id!r}",
            field=argument,
        )
    return parsed[1]


async def watched_customer(info: strawberry.Info, customer_id: strawberry.ID | None) -> int | None:
    """The customer a subscription is limited to: a merged customer's id means the customer
    it was merged into, as `customer(id:)` answers. NOT_FOUND when there is none."""
    if customer_id is None:
        return None
    # Imported here: the customer resolvers import ``schema``, which imports this module.
    from socialcrm.resolvers.customers import customer_argument

    found = await customer_argument(info.context, customer_id, "customerId")
    if found is None:
        raise ApiError(
            f"no customer with id {customer_id!r} in this workspace",
            code=ErrorCode.NOT_FOUND,
            field="customerId",
        )
    return found.pk


def fresh_loaders(info: strawberry.Info, announced: Announced) -> None:
    """Give this event fresh DataLoaders, primed with the shared customer and community.

    A subscription's context lives as long as its WebSocket, so objects loaded for an
    earlier event must not answer for this one (stale, and an ever-growing cache). Priming
    takes effect when the context's loaders cache; without caching each subscriber loads
    the customer and community itself.
    """
    info.context.reset_loaders()
    loaders = info.context.loaders
    if not loaders.cache:
        return
    interaction = announced.interaction
    if announced.customer is not None:
        loaders.customers.prime(interaction.customer_pk, announced.customer)
    if announced.community is not None and interaction.community_pk is not None:
        loaders.communities.prime(interaction.community_pk, announced.community)


async def interaction_received(
    info: strawberry.Info,
    channel: str | None = None,
    customer_id: strawberry.ID | None = None,
    community_id: strawberry.ID | None = None,
) -> AsyncGenerator[Interaction, None]:
    """Yield each interaction stored in the viewer's workspace that matches the filters."""
    viewer: Viewer = info.context.require("read")
    customer_pk = await watched_customer(info, customer_id)
    community_pk = filter_pk(community_id, "Community", "communityId")
    services = info.context.services
    loader = announced_interactions(services)
    async with services.bus.subscribe(interactions_topic(viewer.workspace_id)) as events:
        async for event in events:
            if channel is not None and event.get("channel") != channel:
                continue
            if customer_pk is not None and event.get("customer_id") != customer_pk:
                continue
            if community_pk is not None and event.get("community_id") != community_pk:
                continue
            announced = await loader.get((viewer.workspace_id, int(event["id"])))
            if announced is None:
                # Gone already (a merge moved it? a rollback?) or not ours: nothing to show.
                continue
            fresh_loaders(info, announced)
            yield announced.interaction
