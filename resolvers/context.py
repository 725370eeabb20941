"""The per-request GraphQL context: services, the viewer, a database reader and DataLoaders."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from socialcrm.schema.errors import Forbidden, Unauthenticated
from socialcrm.server.auth import Viewer
from socialcrm.server.services import Services

if TYPE_CHECKING:
    from socialcrm.resolvers.loaders import Loaders


class Reader:
    """Runs read statements for one request.

    DataLoaders of one request dispatch their batches concurrently, and one connection must
    not run two statements at once. With ``shared``, statements take turns (a lock) on one
    connection opened on first use and closed by ``close()``: one pool checkout per request.
    Without it, each statement borrows a connection from the pool for its own duration (used
    for WebSocket connections, which live long, and for SQLite, where a long read
    transaction would keep seeing a snapshot older than the request's own writes).
    """

    def __init__(self, engine: AsyncEngine, *, shared: bool) -> None:
        self._engine = engine
        self._shared = shared
        self._connection: AsyncConnection | None = None
        self._lock = asyncio.Lock() if shared else None

    @property
    def on_postgresql(self) -> bool:
        """Whether statements run on PostgreSQL (which has constructs SQLite lacks)."""
        return self._engine.dialect.name == "postgresql"

    async def all(self, statement: Any, values: dict[str, Any] | None = None) -> Sequence[Any]:
        """Every row of ``statement``, run with the bound parameter ``values``."""
        if self._lock is None:
            async with self._engine.connect() as connection:
                return (await connection.execute(statement, values)).all()
        async with self._lock:
            if self._connection is None:
                self._connection = await self._engine.connect()
            try:
                return (await self._connection.execute(statement, values)).all()
            except Exception:
                # A failed statement aborts the read transaction; the request's later
                # statements (the resolvers after a compiled read, say) get a fresh one.
                await self.close()
                raise

    async def scalar(self, statement: Any, values: dict[str, Any] | None = None) -> Any:
        """The first column of the first row of ``statement``, or None."""
        rows = await self.all(statement, values)
        return rows[0][0] if rows else None

    async def close(self) -> None:
        """Give the shared connection back to the pool (its read transaction rolls back)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()


@dataclass(eq=False)
class Context:
    """What every resolver gets as ``info.context``, built once per request (or WebSocket).

    ``viewer`` is None until a token authenticated the caller; operations refuse to run
    without one. ``connection_params`` holds a WebSocket's ``connection_init`` payload.
    """

    services: Services
    viewer: Viewer | None
    db: Reader
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None
    cache: bool = True
    """Whether DataLoaders cache answers: off for long-lived WebSocket contexts."""
    auth_problem: str | None = None
    """Why ``viewer`` is None although credentials were sent (a header that is not
    ``Bearer <token>``, an unknown or revoked token); None when none were."""
    _loaders: Loaders | None = field(default=None, repr=False)

    @property
    def workspace_id(self) -> int:
        """The viewer's workspace; raises ``Unauthenticated`` when there is no viewer."""
        if self.viewer is None:
            raise Unauthenticated("a bearer token is required")
        return self.viewer.workspace_id

    def require(self, scope: str) -> Viewer:
        """The viewer, when its token holds ``scope``; raises Unauthenticated or Forbidden."""
        if self.viewer is None:
            raise Unauthenticated("a bearer token is required")
        if not self.viewer.allows(scope):
            raise Forbidden(f"this operation needs a token with the {scope} scope")
        return self.viewer

    @property
    def loaders(self) -> Loaders:
        """This request's DataLoaders, made on first use (the workspace is known by then)."""
        if self._loaders is None:
            from socialcrm.resolvers.loaders import Loaders

            self._loaders = Loaders(self.db, self.workspace_id, cache=self.cache)
        return self._loaders

    def reset_loaders(self) -> None:
        """Forget every loaded object (a subscription calls it before each new event)."""
        self._loaders = None
