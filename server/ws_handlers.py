"""The two WebSocket protocols' handlers, refusing an unauthenticated connection alike.

Strawberry's handlers call the view's ``on_ws_connect`` on ``connection_init``; on a refusal
``graphql-transport-ws`` closes with 4403 and the reason "Forbidden", and legacy
``graphql-ws`` sends ``connection_error`` and then closes with 1011, an internal error. Here
the connection is authenticated first: both protocols close with 4403 and the reason says
what was wrong (no token, or one that is unknown or revoked), which legacy ``graphql-ws``
also sends as its ``connection_error`` payload. Strawberry's handler then carries on with
the authenticated connection (``on_ws_connect`` keeps a viewer it already has).

An authenticated connection outlives the token cache, so its token is read again from the
database every ``token_recheck_seconds`` (``TokenWatch``): once it is revoked, expired or its
workspace gone, the connection's operations end and it closes with 4403 in both protocols.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
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
from socialcrm.server.auth import INVALID_TOKEN

log = logging.getLogger(__name__)

REFUSED = 4403
"""The close code of a refused connection (``graphql-transport-ws``'s "Forbidden")."""


class TokenWatch:
    """Re-checks an authenticated connection's token; ends the connection once it is refused."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def start(
        self, view: Any, context: Context, websocket: Any, end: Callable[[], Awaitable[None]]
    ) -> None:
        """Start watching (once): ``end`` stops the connection's operations before it closes."""
        token = view.ws_token(context)
        if self._task is None and token is not None:
            self._task = asyncio.create_task(self._watch(view, token, websocket, end))

    async def stop(self) -> None:
        """Stop watching (the connection is over)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @staticmethod
    async def _watch(
        view: Any, token: str, websocket: Any, end: Callable[[], Awaitable[None]]
    ) -> None:
        services = view.services
        while True:
            await asyncio.sleep(services.settings.token_recheck_seconds)
            try:
                viewer = await services.auth.recheck(token)
            except (SQLAlchemyError, OSError) as exc:
                # An unreachable database is not a revocation: the next check decides.
                log.warning("could not re-check a WebSocket's token: %s", exc)
                continue
            if viewer is None:
                await end()
                await websocket.close(code=REFUSED, reason=INVALID_TOKEN)
                return


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

    token_watch: TokenWatch

    async def handle(self) -> None:
        """Strawberry's handling, with the connection's token watched once it is acknowledged."""
        self.token_watch = TokenWatch()
        try:
            await super().handle()
        finally:
            await self.token_watch.stop()

    async def _end_operations(self) -> None:
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)

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
        if self.connection_acknowledged:
            self.token_watch.start(self.view, self.context, self.websocket, self._end_operations)


class GraphQLWSHandler(BaseGraphQLWSHandler[Any, None]):
    """Legacy ``graphql-ws``: a refused connection gets ``connection_error``, then 4403."""

    token_watch: TokenWatch

    async def handle(self) -> None:
        """Strawberry's handling, with the connection's token watched once it is acknowledged."""
        self.token_watch = TokenWatch()
        try:
            await super().handle()
        finally:
            await self.token_watch.stop()

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
        if self.connection_acknowledged:
            self.token_watch.start(self.view, self.context, self.websocket, self.cleanup)
