"""Every ``UserErrorCode`` is produced: one mutation per code that answers it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from mutation_helpers import QuillChannel, create
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from test_channel_mutations import CONNECT, SEND, connect_quill
from test_merge_mutation import MERGE

from socialcrm.schema.errors import UserErrorCode
from socialcrm.schema.node import pk_of, to_global_id
from socialcrm.server.tables import Identity, Workspace

CREATE_COMMUNITY = """
mutation Create($input: CreateCommunityInput!) {
  createCommunity(input: $input) { community { id } userErrors { field message code } }
}
"""
CREATE_CUSTOMER = """
mutation Create($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id } userErrors { field message code } }
}
"""
TAG = """
mutation Tag($id: ID!) {
  tagCustomer(customerId: $id, tags: ["VIP"]) { userErrors { field message code } }
}
"""


@dataclass
class Env:
    """What the cases need: a client, tokens, the quill channel and the database."""

    graphql: Any
    admin_token: str
    write_token: str
    quill: QuillChannel
    sessions: async_sessionmaker[AsyncSession]
    workspace: Workspace

    async def codes(self, query: str, variables: dict[str, Any], mutation: str) -> list[str]:
        """The userError codes of one mutation, sent with the admin token."""
        answer = await self.graphql(query, variables, token=self.admin_token)
        assert "errors" not in answer, answer
        return [error["code"] for error in answer["data"][mutation]["userErrors"]]

    async def quill_customer(self, slug: str, external_id: str) -> str:
        """A customer with an identity on a new quill account; its global id."""
        account = await connect_quill(self.graphql, self.admin_token, slug)
        customer = await create(self.graphql, self.write_token, displayName=external_id)
        async with self.sessions() as session, session.begin():
            session.add(
                Identity(
                    workspace_id=self.workspace.id,
                    customer_id=pk_of(customer["id"], "Customer"),
                    channel="quill",
                    external_id=external_id,
                    account_id=pk_of(account["id"], "ChannelAccount"),
                )
            )
        return customer["id"]  # type: ignore[no-any-return]


async def _invalid(env: Env) -> list[str]:
    variables = {"input": {"displayName": "Lin", "email": "not an email"}}
    return await env.codes(CREATE_CUSTOMER, variables, "createCustomer")


async def _required(env: Env) -> list[str]:
    return await env.codes(CREATE_COMMUNITY, {"input": {"name": " "}}, "createCommunity")


async def _not_found(env: Env) -> list[str]:
    return await env.codes(TAG, {"id": to_global_id("Customer", 987654321)}, "tagCustomer")


async def _duplicate(env: Env) -> list[str]:
    variables = {"input": {"name": "车友会", "channel": "wechat", "externalId": "room-1"}}
    assert await env.codes(CREATE_COMMUNITY, variables, "createCommunity") == []
    return await env.codes(CREATE_COMMUNITY, variables, "createCommunity")


async def _conflict(env: Env) -> list[str]:
    customer = await create(env.graphql, env.write_token, displayName="Lin")
    variables = {"survivor": customer["id"], "merged": customer["id"]}
    return await env.codes(MERGE, variables, "mergeCustomers")


async def _unknown_channel(env: Env) -> list[str]:
    variables = {"input": {"channel": "nosuch", "slug": "x", "settings": {}}}
    return await env.codes(CONNECT, variables, "connectChannel")


async def _channel_config(env: Env) -> list[str]:
    variables = {"input": {"channel": "quill", "slug": "q", "settings": {"api_key": "short"}}}
    return await env.codes(CONNECT, variables, "connectChannel")


async def _channel_error(env: Env) -> list[str]:
    customer = await env.quill_customer("codes-quill-refuses", "blocked-1")
    variables = {"input": {"customerId": customer, "text": "您好"}}
    return await env.codes(SEND, variables, "sendMessage")


async def _outside_reply_window(env: Env) -> list[str]:
    env.quill.reply_window = timedelta(hours=48)  # type: ignore[misc]
    customer = await env.quill_customer("codes-quill-window", "q-user-1")
    variables = {"input": {"customerId": customer, "text": "还在吗？"}}
    return await env.codes(SEND, variables, "sendMessage")


CASES: dict[str, Callable[[Env], Awaitable[list[str]]]] = {
    "INVALID": _invalid,
    "REQUIRED": _required,
    "NOT_FOUND": _not_found,
    "DUPLICATE": _duplicate,
    "CONFLICT": _conflict,
    "UNKNOWN_CHANNEL": _unknown_channel,
    "CHANNEL_CONFIG": _channel_config,
    "CHANNEL_ERROR": _channel_error,
    "OUTSIDE_REPLY_WINDOW": _outside_reply_window,
}


@pytest.mark.parametrize("code", [member.name for member in UserErrorCode])
async def test_every_user_error_code_is_produced(
    code: str,
    graphql: Any,
    admin_token: str,
    write_token: str,
    quill: QuillChannel,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
) -> None:
    assert code in CASES, f"no mutation produces {code}: produce it or remove the code"
    env = Env(graphql, admin_token, write_token, quill, sessions, workspace)
    assert await CASES[code](env) == [code]


def test_every_case_names_a_code_of_the_schema() -> None:
    assert set(CASES) == set(UserErrorCode.__members__)
