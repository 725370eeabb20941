"""Connected channel accounts: connecting one, finding one, and what a channel sees of it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from socialcrm.plugins.channel import AccountContext, Channel, ChannelConfigError
from socialcrm.plugins.manager import PluginManager
from socialcrm.server.errors import ChangeRejected
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import ChannelAccount
from socialcrm.server.tables import ChannelState as ChannelStateRow

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class AccountError(ChangeRejected):
    """Connecting an account failed; nothing was stored."""


@dataclass(frozen=True, slots=True)
class ConnectedAccount:
    """A newly connected account and what the operator must do next."""

    account: ChannelAccount
    webhook_url: str
    setup_instructions: str


def webhook_url(public_url: str, channel: str, slug: str) -> str:
    """The URL a platform must call for this account."""
    return f"{public_url.rstrip('/')}/webhooks/{channel}/{slug}"


def public_settings(channel: Channel, settings: dict[str, Any]) -> dict[str, Any]:
    """An account's settings without its secrets (the only form the API returns)."""
    return {k: v for k, v in settings.items() if k not in channel.secret_settings}


def slug_taken(channel: str, slug: str) -> AccountError:
    """The one answer for a slug in use, whichever workspace holds it.

    Slugs name the public webhook URLs, so they are shared by every workspace of the server;
    the answer is the same for the caller's own account and another workspace's, and says
    nothing about the holder.
    """
    return AccountError(
        f"a {channel} webhook URL with slug {slug!r} already exists on this server "
        "(slugs are shared by every workspace); choose another slug",
        code="DUPLICATE",
        field="slug",
    )


async def connect_account(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    plugins: PluginManager,
    *,
    workspace_id: int,
    channel: str,
    slug: str,
    settings: dict[str, Any],
    public_url: str,
    name: str = "",
) -> ConnectedAccount:
    """Validate ``settings`` with the channel and store the account in ``session``.

    Raises ``AccountError`` (code UNKNOWN_CHANNEL, INVALID, CHANNEL_CONFIG or DUPLICATE) and
    changes nothing then.
    """
    plugin = plugins.channel(channel)
    if plugin is None:
        raise AccountError(
            f"no channel named {channel!r}; installed: {', '.join(plugins.channels) or 'none'}",
            code="UNKNOWN_CHANNEL",
            field="channel",
        )
    if not SLUG_PATTERN.match(slug):
        raise AccountError(
            "slug must be 1-63 lower-case letters, digits or dashes, starting with a letter "
            "or digit",
            code="INVALID",
            field="slug",
        )
    try:
        normalized = plugin.validate_settings(dict(settings))
    except ChannelConfigError as exc:
        raise AccountError(
            exc.reason,
            code="CHANNEL_CONFIG",
            field=f"settings.{exc.field}" if exc.field else "settings",
        ) from exc
    existing = await session.scalar(
        select(col(ChannelAccount.id)).where(
            col(ChannelAccount.channel) == channel, col(ChannelAccount.slug) == slug
        )
    )
    if existing is not None:
        raise slug_taken(channel, slug)
    account = ChannelAccount(
        workspace_id=workspace_id, channel=channel, slug=slug, name=name, settings=normalized
    )
    session.add(account)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise slug_taken(channel, slug) from exc
    context = account_context(sessions, account, public_url)
    return ConnectedAccount(
        account=account,
        webhook_url=context.webhook_url,
        setup_instructions=plugin.setup_instructions(context),
    )


async def find_account(session: AsyncSession, channel: str, slug: str) -> ChannelAccount | None:
    """The account at ``/webhooks/{channel}/{slug}``, or None."""
    result = await session.execute(
        select(ChannelAccount).where(
            col(ChannelAccount.channel) == channel, col(ChannelAccount.slug) == slug
        )
    )
    return result.scalar_one_or_none()


def account_context(
    sessions: async_sessionmaker[AsyncSession], account: ChannelAccount, public_url: str
) -> AccountContext:
    """What a channel plugin is given about ``account``."""
    assert account.id is not None
    return AccountContext(
        workspace_id=account.workspace_id,
        account_id=account.id,
        slug=account.slug,
        settings=dict(account.settings),
        webhook_url=webhook_url(public_url, account.channel, account.slug),
        state=DatabaseChannelState(sessions, account.id),
    )


class DatabaseChannelState:
    """``plugins.ChannelState`` backed by the ``channel_state`` table: shared by all workers."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], account_id: int) -> None:
        self._sessions = sessions
        self._account_id = account_id

    async def get(self, key: str) -> Any | None:
        """The value under ``key``, or None when absent or expired."""
        async with self._sessions() as session:
            row = await session.get(ChannelStateRow, (self._account_id, key))
        if row is None or (row.expires_at is not None and row.expires_at <= utcnow()):
            return None
        return row.value

    async def set(self, key: str, value: Any, *, expires_at: datetime | None = None) -> None:
        """Store ``value`` under ``key`` (last writer wins)."""
        for _ in range(3):
            try:
                async with self._sessions() as session, session.begin():
                    row = await session.get(ChannelStateRow, (self._account_id, key))
                    if row is None:
                        session.add(
                            ChannelStateRow(
                                account_id=self._account_id,
                                key=key,
                                value=value,
                                expires_at=expires_at,
                            )
                        )
                    else:
                        row.value = value
                        row.expires_at = expires_at
                        row.updated_at = utcnow()
                return
            except IntegrityError:
                continue  # another worker inserted the key first: update it instead
        raise RuntimeError(f"could not store channel state {key!r}")

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                delete(ChannelStateRow).where(
                    col(ChannelStateRow.account_id) == self._account_id,
                    col(ChannelStateRow.key) == key,
                )
            )
