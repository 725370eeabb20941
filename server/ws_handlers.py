"""The two WebSocket protocols' handlers, refusing an unauthenticated connection alike.

Strawberry's handlers call the view's ``on_ws_connect`` on ``connection_init``; on a refusal
``graphql-transport-ws`` closes with 4403 and the reason "Forbidden", and legacy
``graphql-ws`` sends ``connection_error`` and then closes with 1011, an internal error. Here
the connection is authenticated first: both protocols close with 4403 and the reason says
what was wrong (no token, or one that is unknown or revoked), which legacy ``graphql-ws``
also sends as its ``connection_error`` payload. Strawberry's handler then carries on with
the authenticated connection (``on_ws_connect`` keeps a viewer it already has).
"""

from __future__ import annotations

from typing import Any

from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage as TransportInit,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage as LegacyInit,
)

from socialcrm.resolvers.context import Context

REFUSED = 4403
"""The close code of a refused connection (``graphql-transport-ws``'s "Forbidden")."""


async def _refusal(view: Any, context: Context, payload: dict[str, Any] | None) -> Any:
    """The payload of the view's refusal of ``connection_init`` (None when it accepts)."""
    context.connection_params = payload
    try:
        await view.on_ws_connect(context)
    except ConnectionRejectionError as rejection:
        return rejection.payload
    return None


def _reason(refusal: Any) -> str:
    message = refusal.get("message") if isinstance(refusal, dict) else None
    return str(message or "Forbidden")


# The handlers' context is this server's ``Context``; they are typed ``Any`` over it because
# the view they plug into (Strawberry's ``GraphQL``) declares no context type.
class GraphQLTransportWSHandler(BaseGraphQLTransportWSHandler[Any, None]):
    """``graphql-transport-ws``: a refused connection closes with 4403 and says why."""

    async def handle_connection_init(self, message: TransportInit) -> None:
        """Authenticate a first, well-formed ``connection_init``; Strawberry does the rest."""
        payload = message.get("payload", {})
        if isinstance(payload, dict) and not (
            self.connection_init_received or self.connection_timed_out
        ):
            refusal = await _refusal(self.view, self.context, payload)
            if refusal is not None:
                self.connection_init_received = True
                await self.websocket.close(code=REFUSED, reason=_reason(refusal))
                return
        await super().handle_connection_init(message)


class GraphQLWSHandler(BaseGraphQLWSHandler[Any, None]):
    """Legacy ``graphql-ws``: a refused connection gets ``connection_error``, then 4403."""

    async def handle_connection_init(self, message: LegacyInit) -> None:
        """Authenticate a well-formed ``connection_init``; Strawberry does the rest."""
        payload = message.get("payload")
        if payload is None or isinstance(payload, dict):
            refusal = await _refusal(self.view, self.context, payload)
            if refusal is not None:
                await self.send_message({"type": "connection_error", "payload": refusal})
                await self.websocket.close(code=REFUSED, reason=_reason(refusal))
                return
        await super().handle_connection_init(message)
