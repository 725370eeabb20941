"""The hand-written baseline: a plain Starlette + asyncpg endpoint for the benchmark query.

It answers ``POST /graphql`` with the JSON the GraphQL server gives for::

    query($first: Int!) {
      customers(first: $first) {
        edges { node {
          identities { channel } tags scores { influence }
          interactions(first: 5) { edges { node { content } } }
        } }
      }
    }

whatever query text it is sent (only ``variables.first`` is read), from one SQL statement
that builds the whole document in PostgreSQL (``LEFT JOIN LATERAL`` + ``json_agg``, the way
PostGraphile and Hasura compile a query). It authenticates the bearer token like the server
does (a hash lookup, cached) so both do the same work per request.

Run it with ``uvicorn bench.baseline:create_app --factory`` and ``BENCH_DATABASE_URL`` set
to a ``postgresql://`` (or ``postgresql+asyncpg://``) URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import AsyncIterator

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

INTERACTIONS_PER_CUSTOMER = 5
MAX_PAGE_SIZE = 100

# Customers in id order (the connection's default order), live ones only; identities in id
# order, tag names sorted by code point, zero scores for a customer without a score row, the
# 5 latest interactions (occurred_at, then id, descending).
PAGE_SQL = """
SELECT json_build_object('data', json_build_object('customers', json_build_object(
         'edges', coalesce(json_agg(json_build_object('node', json_build_object(
             'identities', i.identities,
             'tags', t.tags,
             'scores', coalesce(s.scores, json_build_object('influence', 0.0)),
             'interactions', json_build_object('edges', x.edges)
         )) ORDER BY c.id), '[]'::json))))::text
FROM (
    SELECT id FROM customer
    WHERE workspace_id = $1 AND merged_into_id IS NULL
    ORDER BY id LIMIT $2
) AS c
LEFT JOIN LATERAL (
    SELECT coalesce(json_agg(json_build_object('channel', channel) ORDER BY id), '[]'::json)
           AS identities
    FROM identity WHERE customer_id = c.id AND workspace_id = $1
) AS i ON true
LEFT JOIN LATERAL (
    SELECT coalesce(json_agg(tag.name ORDER BY tag.name COLLATE "C"), '[]'::json) AS tags
    FROM customer_tag JOIN tag ON tag.id = customer_tag.tag_id
    WHERE customer_tag.customer_id = c.id AND customer_tag.workspace_id = $1
) AS t ON true
LEFT JOIN LATERAL (
    SELECT json_build_object('influence', influence) AS scores
    FROM score WHERE customer_id = c.id AND workspace_id = $1 LIMIT 1
) AS s ON true
LEFT JOIN LATERAL (
    SELECT coalesce(json_agg(json_build_object('node', json_build_object('content', content))
                             ORDER BY occurred_at DESC, id DESC), '[]'::json) AS edges
    FROM (
        SELECT id, occurred_at, content FROM interaction
        WHERE customer_id = c.id AND workspace_id = $1
        ORDER BY occurred_at DESC, id DESC LIMIT $3
    ) AS latest
) AS x ON true
"""

TOKEN_SQL = "SELECT workspace_id FROM api_token WHERE token_hash = $1 AND revoked_at IS NULL"


def asyncpg_dsn(url: str) -> str:
    """A DSN asyncpg accepts, from a SQLAlchemy-style ``postgresql+asyncpg://`` URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class TokenCache:
    """Bearer token → workspace id, cached for ``ttl`` seconds like the server's."""

    def __init__(self, ttl: float = 10.0) -> None:
        self._ttl = ttl
        self._cache: dict[str, tuple[float, int | None]] = {}

    async def workspace(self, pool: asyncpg.Pool, authorization: str | None) -> int | None:
        """The workspace of the ``Authorization`` header's token, or None."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        digest = hashlib.sha256(token.strip().encode()).hexdigest()
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        workspace_id: int | None = await pool.fetchval(TOKEN_SQL, digest)
        self._cache[digest] = (now + self._ttl, workspace_id)
        return workspace_id


def create_app(database_url: str | None = None, pool_size: int = 10) -> Starlette:
    """The baseline app; ``database_url`` defaults to ``BENCH_DATABASE_URL``."""
    dsn = asyncpg_dsn(database_url or os.environ["BENCH_DATABASE_URL"])
    tokens = TokenCache()
    state: dict[str, asyncpg.Pool] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
        try:
            yield
        finally:
            await state["pool"].close()

    async def graphql(request: Request) -> Response:
        pool = state["pool"]
        workspace_id = await tokens.workspace(pool, request.headers.get("authorization"))
        if workspace_id is None:
            return JSONResponse({"errors": [{"message": "unauthenticated"}]}, status_code=401)
        try:
            body = json.loads(await request.body())
            first = int((body.get("variables") or {}).get("first", 50))
        except (ValueError, TypeError, AttributeError):
            return JSONResponse({"errors": [{"message": "bad request"}]}, status_code=400)
        first = max(0, min(first, MAX_PAGE_SIZE))
        document: str = await pool.fetchval(
            PAGE_SQL, workspace_id, first, INTERACTIONS_PER_CUSTOMER
        )
        return Response(document, media_type="application/json")

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz)],
        lifespan=lifespan,
    )
