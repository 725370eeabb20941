"""The root Query type: every read entry point, scoped to the viewer's workspace.

Resolvers are imported where they are called: ``resolvers`` imports ``schema``.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from socialcrm.schema.channel import Channel
from socialcrm.schema.community import Community, CommunityConnection, CommunityFilter
from socialcrm.schema.customer import Customer, CustomerConnection, CustomerFilter, CustomerOrder
from socialcrm.schema.interaction import InteractionConnection, InteractionFilter
from socialcrm.schema.node import Node
from socialcrm.schema.scoring_settings import ScoringSettings
from socialcrm.schema.viewer import Viewer

First = Annotated[
    int | None,
    strawberry.argument(description="How many items to return; at most the server's page cap."),
]
After = Annotated[
    str | None,
    strawberry.argument(description="Return the items after this cursor (an `endCursor`)."),
]
GlobalId = Annotated[strawberry.ID, strawberry.argument(description="A global id.")]


@strawberry.type(description="Read the viewer's workspace.")
class Query:
    """Every field answers only with the viewer's workspace's data."""

    @strawberry.field(
        description="Any object by its global id; null when it does not exist in the "
        "viewer's workspace. A merged customer's id answers the customer it was merged into."
    )
    async def node(self, info: strawberry.Info, id: GlobalId) -> Node | None:
        from socialcrm.resolvers import queries

        return await queries.node(info, id)

    @strawberry.field(
        description="Customers matching a filter, in an order (default: the order they were "
        "stored). Merged customers are not listed."
    )
    async def customers(
        self,
        info: strawberry.Info,
        filter: Annotated[
            CustomerFilter | None, strawberry.argument(description="Which customers.")
        ] = None,
        order_by: Annotated[
            CustomerOrder | None,
            strawberry.argument(description="Sort order; ties are broken by id."),
        ] = None,
        first: First = None,
        after: After = None,
    ) -> CustomerConnection:
        from socialcrm.resolvers import queries

        return await queries.customers(info, filter, order_by, first, after)

    @strawberry.field(
        description="A customer by global id. The id of a merged customer answers the "
        "customer it was merged into."
    )
    async def customer(self, info: strawberry.Info, id: GlobalId) -> Customer | None:
        from socialcrm.resolvers import queries

        return await queries.customer(info, id)

    @strawberry.field(description="Communities matching a filter, oldest first.")
    async def communities(
        self,
        info: strawberry.Info,
        filter: Annotated[
            CommunityFilter | None, strawberry.argument(description="Which communities.")
        ] = None,
        first: First = None,
        after: After = None,
    ) -> CommunityConnection:
        from socialcrm.resolvers import queries

        return await queries.communities(info, filter, first, after)

    @strawberry.field(description="A community by global id.")
    async def community(self, info: strawberry.Info, id: GlobalId) -> Community | None:
        from socialcrm.resolvers import queries

        return await queries.community(info, id)

    @strawberry.field(description="Interactions matching a filter, newest first.")
    async def interactions(
        self,
        info: strawberry.Info,
        filter: Annotated[
            InteractionFilter | None, strawberry.argument(description="Which interactions.")
        ] = None,
        first: First = None,
        after: After = None,
    ) -> InteractionConnection:
        from socialcrm.resolvers import queries

        return await queries.interactions(info, filter, first, after)

    @strawberry.field(
        description="The installed channel plugins, with the workspace's connected accounts."
    )
    async def channels(self, info: strawberry.Info) -> list[Channel]:
        from socialcrm.resolvers import queries

        return await queries.channels(info)

    @strawberry.field(description="Who is calling: the token's workspace and scopes.")
    async def viewer(self, info: strawberry.Info) -> Viewer:
        from socialcrm.resolvers import queries

        return await queries.viewer(info)

    @strawberry.field(
        description="The workspace's scoring parameters (half-lives, weights, stage "
        "thresholds …), each with its current value; `updateScoringSettings` changes them."
    )
    async def scoring_settings(self, info: strawberry.Info) -> ScoringSettings:  # type: ignore[valid-type]
        from socialcrm.resolvers.scoring_settings import scoring_settings

        return await scoring_settings(info)
