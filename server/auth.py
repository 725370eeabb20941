"""API tokens: bearer tokens of one workspace with a scope (read < write < admin)."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import ApiToken

SCOPES: tuple[str, ...] = ("read", "write", "admin")
TOKEN_PREFIX = "scrm_"
MISSING_TOKEN = "Authentication required: send `Authorization: Bearer <token>`."
NOT_BEARER = "The Authorization header must read `Bearer <token>`."
INVALID_TOKEN = "Invalid token: it is unknown, revoked or expired."
"""The same answer for every token that is not accepted, so it never tells a token that
never existed from a revoked or an expired one."""
LAST_USED_PRECISION = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token (and process)."""
MAX_LIFETIME = timedelta(days=3650)
"""The longest lifetime a token can be given; without one it never expires."""
_LIFETIME = re.compile(r"([0-9]+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class InvalidScope(ValueError):
    """A scope that is not read, write or admin."""


class InvalidLifetime(ValueError):
    """A token lifetime that is not a positive whole number of s, m, h or d within the maximum."""


def parse_lifetime(text: str) -> timedelta:
    """A token lifetime such as ``90s``, ``15m``, ``12h`` or ``30d`` (m is minutes)."""
    match = _LIFETIME.fullmatch(text.strip())
    if match is None:
        raise InvalidLifetime(
            f"{text!r} is not a lifetime: give a whole number and s, m, h or d, such as 30d"
        )
    # Whole seconds in Python's unbounded ints first, so a huge number cannot overflow timedelta.
    seconds = int(match[1]) * _UNIT_SECONDS[match[2]]
    if seconds <= 0:
        raise InvalidLifetime(f"{text!r} is not a lifetime: it must be longer than zero")
    if seconds > MAX_LIFETIME.total_seconds():
        raise InvalidLifetime(f"{text!r} is too long: at most {MAX_LIFETIME.days}d")
    return timedelta(seconds=seconds)


def token_is_live(now: datetime) -> ColumnElement[bool]:
    """The SQL condition of a token that is accepted at ``now``: not revoked, not expired."""
    return and_(
        col(ApiToken.revoked_at).is_(None),
        or_(col(ApiToken.expires_at).is_(None), col(ApiToken.expires_at) > now),
    )


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


async def create_token(
    session: AsyncSession,
    workspace_id: int,
    scope: str,
    name: str = "",
    expires_at: datetime | None = None,
) -> str:
    """Create a token and return it in plain text: the only time it is ever seen.

    From ``expires_at`` on it is refused like a revoked token; None: it never expires.
    """
    if scope not in SCOPES:
        raise InvalidScope(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            workspace_id=workspace_id,
            scope=scope,
            name=name,
            token_hash=hash_token(token),
            expires_at=expires_at,
        )
    )
    await session.flush()
    return token


async def replace_token(session: AsyncSession, workspace_id: int, scope: str, name: str) -> str:
    """Revoke the workspace's live tokens called ``name`` and create a new one of that name.

    For tokens a program makes each time it starts (``scrm serve --admin-token-for``), so
    they do not pile up: only the latest one stays valid.
    """
    await session.execute(
        update(ApiToken)
        .where(
            col(ApiToken.workspace_id) == workspace_id,
            col(ApiToken.name) == name,
            col(ApiToken.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
    )
    return await create_token(session, workspace_id, scope, name=name)


class Authenticator:
    """Resolves bearer tokens to viewers, caching answers briefly, and records their use.

    The cache saves a query per request; its TTL bounds how long a revoked token still works.
    An expiring token is cached no longer than until its expiry, so it stops working on time.
    A token's ``last_used_at`` is written only when the time this process knows for it is a
    minute old, so a busy token costs one UPDATE a minute, not one per request.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl: float = 10.0) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Viewer | None]] = {}
        self._last_used: dict[int, datetime] = {}

    async def authenticate(self, token: str | None) -> Viewer | None:
        """The viewer of ``token``, or None when it is missing, unknown, revoked or expired."""
        if not token:
            return None
        digest = hash_token(token)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            viewer = cached[1]
        else:
            viewer, expires_at = await self._load(digest)
            ttl = self._ttl
            if expires_at is not None:
                ttl = min(ttl, (expires_at - utcnow()).total_seconds())
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now + ttl, viewer)
        if viewer is not None:
            await self._record_use(viewer.token_id)
        return viewer

    async def _load(self, digest: str) -> tuple[Viewer | None, datetime | None]:
        """The token's viewer (None when it is not accepted) and its expiry."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(
                        col(ApiToken.id),
                        col(ApiToken.workspace_id),
                        col(ApiToken.scope),
                        col(ApiToken.last_used_at),
                        col(ApiToken.expires_at),
                    ).where(col(ApiToken.token_hash) == digest, token_is_live(utcnow()))
                )
            ).first()
        if not row:
            return None, None
        token_id, workspace_id, scope, last_used_at, expires_at = row
        assert token_id is not None  # a stored row's primary key
        if last_used_at is not None:
            # Another process may have written it lately: no need to write it again.
            known = self._last_used.get(token_id)
            self._last_used[token_id] = max(last_used_at, known) if known else last_used_at
        return Viewer(workspace_id=workspace_id, scope=scope, token_id=token_id), expires_at

    async def _record_use(self, token_id: int) -> None:
        now = utcnow()
        known = self._last_used.get(token_id)
        if known is not None and now - known < LAST_USED_PRECISION:
            return
        if len(self._last_used) > 10_000:
            self._last_used.clear()
        self._last_used[token_id] = now
        async with self._sessions() as session, session.begin():
            # The condition keeps several workers from each writing within the same minute.
            await session.execute(
                update(ApiToken)
                .where(
                    col(ApiToken.id) == token_id,
                    or_(
                        col(ApiToken.last_used_at).is_(None),
                        col(ApiToken.last_used_at) < now - LAST_USED_PRECISION,
                    ),
                )
                .values(last_used_at=now)
            )

    async def recheck(self, token: str) -> Viewer | None:
        """``authenticate``, read from the database past this process's cache: for connections
        that outlive the cache (WebSockets), so a revocation made on any host is seen."""
        self._cache.pop(hash_token(token), None)
        return await self.authenticate(token)

    def forget(self) -> None:
        """Drop every cached answer (after revoking tokens in this process)."""
        self._cache.clear()
