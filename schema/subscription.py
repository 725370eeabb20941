"""The root Subscription type: live events of the viewer's workspace, over WebSocket."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from socialcrm.resolvers import subscriptions
from socialcrm.schema.interaction import Interaction
from socialcrm.schema.score_change import DEFAULT_MIN_DELTA, ScoreChange


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
            strawberry.argument(
                description="Only of this customer (a global id; a merged customer's id means "
                "the customer it was merged into)."
            ),
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

    @strawberry.subscription(
        description="Each change of a customer's scores or lifecycle stage, as soon as the "
        "scoring engine stores it: those where some score moved by more than `minDelta` of "
        "its range, and every stage change. A client that reads too slowly loses the oldest "
        "undelivered changes."
    )
    async def score_changed(
        self,
        info: strawberry.Info,
        customer_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only of this customer (a global id; a merged customer's id "
                "means the customer it was merged into)."
            ),
        ] = None,
        min_delta: Annotated[
            float,
            strawberry.argument(
                description="The smallest move worth a message, as a fraction of a score's "
                "range (0.05: 5 points of a 0-100 score, 0.1 of sentiment's -1..1, 0.05 of "
                "churn risk's 0..1); a change is delivered when its largest move exceeds it. "
                "0 delivers every move."
            ),
        ] = DEFAULT_MIN_DELTA,
    ) -> AsyncGenerator[ScoreChange, None]:
        # Imported here: the resolver reads customers, whose resolvers import ``schema``.
        from socialcrm.resolvers import score_changes

        changes = score_changes.score_changed(info, customer_id, min_delta)
        async with contextlib.aclosing(changes):
            async for change in changes:
                yield change
