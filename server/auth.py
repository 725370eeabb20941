"""API tokens: bearer tokens of one workspace with a scope (read < write < admin)."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from socialcrm.server.tables import ApiToken

SCOPES: tuple[str, ...] = ("read", "write", "admin")
TOKEN_PREFIX = "scrm_"


class InvalidScope(ValueError):
    """A scope that is not read, write or admin."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is calling: the token's workspace and scope."""

    workspace_id: int
    scope: str
    token_id: int

    def allows(self, needed: str) -> bool:
        """True when this viewer's scope includes ``needed``."""
        return SCOPES.index(self.scope) >= SCOPES.index(needed)

    @property
    def scopes(self) -> list[str]:
        """Every scope this viewer holds (admin holds all three)."""
        return list(SCOPES[: SCOPES.index(self.scope) + 1])


def hash_token(token: str) -> str:
    """The stored form of a token: its SHA-256, hex (tokens are random, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def create_token(session: AsyncSession, workspace_id: int, scope: str, name: str = "") -> str:
    """Create a token and return it in plain text: the only time it is ever seen."""
    if scope not in SCOPES:
        raise InvalidScope(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(workspace_id=workspace_id, scope=scope, name=name, token_hash=hash_token(token))
    )
    await session.flush()
    return token


class Authenticator:
    """Resolves bearer tokens to viewers, caching answers briefly.

    The cache saves a query per request; its TTL bounds how long a revoked token still works.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl: float = 10.0) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Viewer | None]] = {}

    async def authenticate(self, token: str | None) -> Viewer | None:
        """The viewer of ``token``, or None when it is missing, unknown or revoked."""
        if not token:
            return None
        digest = hash_token(token)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(col(ApiToken.id), col(ApiToken.workspace_id), col(ApiToken.scope)).where(
                        col(ApiToken.token_hash) == digest,
                        col(ApiToken.revoked_at).is_(None),
                    )
                )
            ).first()
        viewer = None
        if row:
            token_id, workspace_id, scope = row
            assert token_id is not None  # a stored row's primary key
            viewer = Viewer(workspace_id=workspace_id, scope=scope, token_id=token_id)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + self._ttl, viewer)
        return viewer

    def forget(self) -> None:
        """Drop every cached answer (after revoking tokens in this process)."""
        self._cache.clear()
