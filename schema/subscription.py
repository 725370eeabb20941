"""The root Subscription type: live events of the viewer's workspace, over WebSocket."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from socialcrm.resolvers import subscriptions
from socialcrm.schema.interaction import Interaction


@strawberry.type(
    description="Live events of the viewer's workspace (WebSocket: `graphql-transport-ws` "
    "or `graphql-ws`; the bearer token goes in the `connection_init` payload)."
)
class Subscription:
    """Every subscription delivers only the viewer's workspace's events."""

    @strawberry.subscription(
        description="Each interaction as soon as it is stored (received on a channel, sent, "
        "or recorded by hand), matching every filter given. A client that reads too slowly "
        "loses the oldest undelivered events rather than holding them on the server."
    )
    async def interaction_received(
        self,
        info: strawberry.Info,
        channel: Annotated[
            str | None,
            strawberry.argument(description="Only on this channel (`manual` for by hand)."),
        ] = None,
        customer_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only of this customer (a global id)."),
        ] = None,
        community_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only in this community (a global id)."),
        ] = None,
    ) -> AsyncGenerator[Interaction, None]:
        events = subscriptions.interaction_received(info, channel, customer_id, community_id)
        # aclosing: when the client leaves, the inner generator (and its bus queue) ends now,
        # not whenever the garbage collector finds it.
        async with contextlib.aclosing(events):
            async for interaction in events:
                yield interaction
