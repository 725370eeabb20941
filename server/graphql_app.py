"""The /graphql endpoint: HTTP GET (GraphiQL) and POST, and WebSocket subscriptions.

Each HTTP request authenticates its ``Authorization: Bearer`` header and gets a fresh
``Context`` (viewer, DataLoaders, a database reader released when the request ends). A
WebSocket authenticates with the token of its ``connection_init`` payload; without a valid
one the connection is refused with close code 4403 in both protocols (``ws_handlers``), and
an open one is closed with 4403 once its token is revoked, expired or its workspace gone
(its token is read again every ``token_recheck_seconds``). A missing token and a wrong one
get different messages.
Requests the GraphQL layer cannot even read (invalid JSON, no query) get a 400 whose body
is a GraphQL error with a code, like every other error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.types import ExecutionResult

from socialcrm.resolvers.context import Context, Reader
from socialcrm.schema import build_schema
from socialcrm.schema.errors import ErrorCode
from socialcrm.schema.extensions import coded
from socialcrm.server.auth import INVALID_TOKEN, NOT_BEARER, bearer_token
from socialcrm.server.json_body import BadJSON, load_json
from socialcrm.server.services import Services
from socialcrm.server.ws_handlers import GraphQLTransportWSHandler, GraphQLWSHandler

GRAPHIQL_PAGE = Path(__file__).resolve().parent / "graphiql.html"
"""The GraphiQL page; its scripts are under ``/static/graphiql/`` (``server/static/``)."""

WS_TOKEN_KEYS = ("Authorization", "authorization", "token")
"""Where a WebSocket's ``connection_init`` payload may carry the token."""
WS_MISSING_TOKEN = (
    'Authentication required: send {"Authorization": "Bearer <token>"} in connection_init.'
)


def token_of(params: dict[str, Any] | None) -> str | None:
    """The bearer token in a ``connection_init`` payload, with or without ``Bearer ``."""
    for key in WS_TOKEN_KEYS:
        value = (params or {}).get(key)
        if isinstance(value, str) and value.strip():
            return bearer_token(value) or value.strip()
    return None


class GraphQLApp(GraphQL):
    """Strawberry's ASGI view with this server's context, authentication and error shape."""

    graphql_transport_ws_handler_class = GraphQLTransportWSHandler
    graphql_ws_handler_class = GraphQLWSHandler

    def __init__(self, services: Services) -> None:
        settings = services.settings
        schema = build_schema(settings)
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=True,
        )
        self.services = services
        self.compiled = schema.compiled_reads if settings.compiled_reads else None
        # A pool connection held for a request's statements is only worth it on PostgreSQL;
        # see ``Reader``.
        self._share_connection = services.engine.dialect.name == "postgresql"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive=receive)
        context = await self._http_context(request)
        try:
            response: Response | None = None
            if self.compiled is not None:
                response = await self.compiled.respond(request, context)
            if response is not None:
                self.services.graphql_operations["compiled"] += 1
            else:
                self.services.graphql_operations["resolvers"] += 1
                response = await self.run(request, context=context)  # type: ignore[call-overload]
        except HTTPException as exc:
            response = bad_request(exc.reason, exc.status_code)
        finally:
            await context.db.close()
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL, from this server's own files: it works where public CDNs cannot be
        reached (Strawberry's page loads React and GraphiQL from one)."""
        return HTMLResponse(GRAPHIQL_PAGE.read_text(encoding="utf-8"))

    def decode_json(self, data: str | bytes) -> object:
        """JSON of a request body or a GET parameter, with bounded nesting (400 otherwise)."""
        try:
            return load_json(data)
        except BadJSON as exc:
            raise HTTPException(400, str(exc)) from exc

    async def parse_http_body(self, request: Any) -> Any:
        """Strawberry's parsing, after refusing a JSON body that is not an object (or a batch's
        array) with 400: Strawberry itself fails on one with an internal error."""
        content_type = (request.content_type or "").partition(";")[0].strip().lower()
        if request.method == "POST" and content_type == "application/json":
            body = self.parse_json(await request.get_body())
            if not isinstance(body, dict | list):
                raise HTTPException(400, "the request body must be a JSON object")
        return await super().parse_http_body(request)

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        """The response body; errors raised before any extension ran get their code here."""
        if result.errors:
            result.errors = [
                error if (error.extensions or {}).get("code") else coded(error)
                for error in result.errors
            ]
        return process_result(result)

    async def _http_context(self, request: Request) -> Context:
        authorization = request.headers.get("authorization")
        token = bearer_token(authorization)
        viewer = await self.services.auth.authenticate(token) if token else None
        problem = None
        if authorization and token is None:
            problem = NOT_BEARER
        elif token and viewer is None:
            problem = INVALID_TOKEN
        return Context(
            services=self.services,
            viewer=viewer,
            db=Reader(self.services.engine, shared=self._share_connection),
            request=request,
            auth_problem=problem,
        )

    async def get_context(  # type: ignore[override]
        self, request: Request | WebSocket, response: Any
    ) -> Context:
        """The context of a WebSocket connection (HTTP requests build theirs in ``__call__``).

        Its loaders do not cache: a subscription lives long and must see fresh rows.
        """
        return Context(
            services=self.services,
            viewer=None,
            db=Reader(self.services.engine, shared=False),
            request=request,
            response=response,
            cache=False,
        )

    def ws_token(self, context: Context) -> str | None:
        """A WebSocket's token: its ``connection_init`` payload's, else its upgrade request's
        ``Authorization`` header's."""
        token = token_of(context.connection_params)
        if token is None and context.request is not None:
            token = bearer_token(context.request.headers.get("authorization"))
        return token

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:  # type: ignore[override]
        """Authenticate the token of ``connection_init``; refuse the connection without a valid
        one. A connection whose handler authenticated it already (``ws_handlers``) is kept."""
        if context.viewer is not None:
            return None
        token = self.ws_token(context)
        if token is None:
            raise _rejection(WS_MISSING_TOKEN)
        viewer = await self.services.auth.authenticate(token)
        if viewer is None:
            raise _rejection(INVALID_TOKEN)
        context.viewer = viewer
        return None


def _rejection(message: str) -> ConnectionRejectionError:
    return ConnectionRejectionError({"message": message, "code": str(ErrorCode.UNAUTHENTICATED)})


def bad_request(reason: str, status_code: int = 400) -> JSONResponse:
    """A GraphQL-shaped error response for a request that could not be executed."""
    return JSONResponse(
        {"errors": [{"message": reason, "extensions": {"code": str(ErrorCode.BAD_REQUEST)}}]},
        status_code=status_code,
    )


def create_graphql_app(services: Services) -> GraphQLApp:
    """The /graphql ASGI app for ``services`` (mounted for HTTP and WebSocket)."""
    return GraphQLApp(services)
