"""An open subscription ends once its token is no longer accepted: revoked with
``scrm tokens revoke``, expired, or its workspace gone. Both protocols close with 4403; a connection
with a valid token stays open and keeps delivering."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from test_interaction_received import add_customer, record
from typer.testing import CliRunner
from websockets.exceptions import ConnectionClosed
from ws_clients import LEGACY_WS, TRANSPORT_WS, LiveServer, Subscriber

from socialcrm.server import cli
from socialcrm.server.auth import INVALID_TOKEN, hash_token
from socialcrm.server.bus import interactions_topic
from socialcrm.server.settings import Settings
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import ApiToken, Workspace

PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The test settings, with tokens of open connections re-checked five times a second."""
    return Settings(  # type: ignore[call-arg]
        database_url=database_url,
        public_url="http://testserver",
        token_recheck_seconds=0.2,
        _env_file=None,
    )


async def closed_with(subscriber: Subscriber, within: float = 30.0) -> tuple[int, str]:
    """Read until the server closes the connection; its close code and reason."""
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(within):
            while True:
                await subscriber.receive()
    assert closed.value.rcvd is not None, "the server did not close the connection"
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def scrm(database_url: str, *args: str) -> None:
    """Run an ``scrm`` command on the test database (in a thread: it runs its own loop)."""
    result = await asyncio.to_thread(
        CliRunner().invoke, cli.app, list(args), env={"SCRM_DATABASE_URL": database_url}
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_scrm_tokens_revoke_closes_the_tokens_subscriptions_with_4403(
    live_server: LiveServer,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    make_token: Any,
    database_url: str,
    protocol: str,
) -> None:
    revoked, kept = await make_token(workspace), await make_token(workspace)
    customer = await add_customer(sessions, workspace, "李雷")
    url = live_server.ws_url
    async with (
        Subscriber(url, token=revoked, protocol=protocol) as doomed,
        Subscriber(url, token=kept, protocol=protocol) as alive,
    ):
        await live_server.wait_subscribers(interactions_topic(workspace.id), 2)  # type: ignore[arg-type]
        # Another process revokes it while this server still holds it in its token cache
        # (ten seconds): the close can only come from a check that read the database.
        await scrm(database_url, "tokens", "revoke", revoked)

        assert await closed_with(doomed) == (4403, INVALID_TOKEN)
        await live_server.wait_subscribers(interactions_topic(workspace.id), 1)  # type: ignore[arg-type]
        # Let the valid token be re-checked several times (five intervals): its subscription
        # is still open and delivering.
        await asyncio.sleep(5 * live_server.services.settings.token_recheck_seconds)
        await record(live_server, kept, customer, "still listening")
        assert (await alive.next_interaction())["content"] == "still listening"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_gone_workspace_closes_its_subscriptions_with_4403(
    live_server: LiveServer,
    sessions: async_sessionmaker[AsyncSession],
    make_workspace: Any,
    make_token: Any,
    protocol: str,
) -> None:
    workspace = await make_workspace()
    token = await make_token(workspace)
    async with Subscriber(live_server.ws_url, token=token, protocol=protocol) as subscriber:
        await live_server.wait_subscribers(interactions_topic(workspace.id), 1)  # type: ignore[arg-type]
        async with sessions() as session, session.begin():
            await session.execute(
                delete(ApiToken).where(col(ApiToken.workspace_id) == workspace.id)
            )
            await session.execute(delete(Workspace).where(col(Workspace.id) == workspace.id))

        assert await closed_with(subscriber) == (4403, INVALID_TOKEN)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_token_expiring_closes_its_subscriptions_with_4403(
    live_server: LiveServer,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    admin_token: str,
    protocol: str,
) -> None:
    async with Subscriber(live_server.ws_url, token=admin_token, protocol=protocol) as subscriber:
        await live_server.wait_subscribers(interactions_topic(workspace.id), 1)  # type: ignore[arg-type]
        async with sessions() as session, session.begin():
            await session.execute(
                update(ApiToken)
                .where(col(ApiToken.token_hash) == hash_token(admin_token))
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )

        assert await closed_with(subscriber) == (4403, INVALID_TOKEN)
