"""`sendMessage` through a channel that cannot send is refused before anything is stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from mutation_helpers import QuillChannel, create
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from test_channel_mutations import CONNECT, SEND, connect_quill

from socialcrm.plugins import hookimpl
from socialcrm.plugins.channel import Channel
from socialcrm.plugins.manager import PluginManager
from socialcrm.schema.node import pk_of
from socialcrm.server.tables import Identity, Workspace


class MuteChannel(Channel):
    """A channel that only receives: it does not override ``send``."""

    name: ClassVar[str] = "mute"
    title: ClassVar[str] = "Mute"


class MutePlugin:
    """Provides the ``mute`` channel."""

    @hookimpl
    def scrm_channels(self) -> list[Channel]:
        return [MuteChannel()]


@pytest.fixture
def mute(plugin_manager: PluginManager) -> Iterator[None]:
    """The ``mute`` channel, installed on the app's plugin manager for this test."""
    plugin = MutePlugin()
    plugin_manager.register(plugin, name="test-mute")
    yield
    plugin_manager.unregister(plugin)


async def _identity(
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    customer: dict[str, Any],
    account: dict[str, Any],
    channel: str,
) -> None:
    async with sessions() as session, session.begin():
        session.add(
            Identity(
                workspace_id=workspace.id,
                customer_id=pk_of(customer["id"], "Customer"),
                channel=channel,
                external_id=f"{channel}-user",
                account_id=pk_of(account["id"], "ChannelAccount"),
            )
        )


async def _connect_mute(graphql: Any, admin_token: str, slug: str) -> dict[str, Any]:
    variables = {"input": {"channel": "mute", "slug": slug, "settings": {}}}
    answer = await graphql(CONNECT, variables, token=admin_token)
    payload = answer["data"]["connectChannel"]
    assert payload["userErrors"] == [], payload
    return payload["account"]  # type: ignore[no-any-return]


async def test_a_channel_that_cannot_send_is_refused_and_nothing_is_stored(
    graphql: Any,
    admin_token: str,
    write_token: str,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    snapshot: Any,
    mute: None,
) -> None:
    account = await _connect_mute(graphql, admin_token, "mute-refused")
    lin = await create(graphql, write_token, displayName="Lin")
    await _identity(sessions, workspace, lin, account, "mute")
    channels = await graphql("{ channels { name supportsSend } }", token=admin_token)
    assert {"name": "mute", "supportsSend": False} in channels["data"]["channels"]
    assert workspace.id is not None
    before = await snapshot(workspace.id)
    cases = [
        ({"customerId": lin["id"], "text": "您好"}, "channel"),
        ({"customerId": lin["id"], "text": "您好", "channel": "mute"}, "channel"),
        ({"customerId": lin["id"], "text": "您好", "accountId": account["id"]}, "accountId"),
    ]
    for fields, field in cases:
        answer = await graphql(SEND, {"input": fields}, token=write_token)
        payload = answer["data"]["sendMessage"]
        assert payload["interaction"] is None
        [error] = payload["userErrors"]
        assert (error["field"], error["code"]) == (field, "INVALID")
        assert "mute channel cannot send" in error["message"]
    assert await snapshot(workspace.id) == before


async def test_without_a_channel_the_message_goes_through_one_that_can_send(
    graphql: Any,
    admin_token: str,
    write_token: str,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    quill: QuillChannel,
    mute: None,
) -> None:
    lin = await create(graphql, write_token, displayName="Lin")
    await _identity(
        sessions, workspace, lin, await _connect_mute(graphql, admin_token, "mute-route"), "mute"
    )
    quill_account = await connect_quill(graphql, admin_token, "quill-route")
    await _identity(sessions, workspace, lin, quill_account, "quill")
    answer = await graphql(
        SEND, {"input": {"customerId": lin["id"], "text": "hi"}}, token=write_token
    )
    payload = answer["data"]["sendMessage"]
    assert payload["userErrors"] == []
    assert payload["interaction"]["channel"] == "quill"
    assert quill.sent[-1][0] == "quill-user"
