"""``interactionReceived`` over real WebSockets, in both protocols, one workspace at a time."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from websockets.exceptions import ConnectionClosed
from ws_clients import LEGACY_WS, TRANSPORT_WS, LiveServer, ProtocolError, Subscriber

from socialcrm.schema.node import to_global_id
from socialcrm.server.bus import interactions_topic
from socialcrm.server.tables import Community, Customer, Workspace

RECORD = """
mutation Record($input: RecordInteractionInput!) {
  recordInteraction(input: $input) { interaction { id } userErrors { code message } }
}
"""


async def add_customer(
    sessions: async_sessionmaker[AsyncSession], workspace: Workspace, name: str
) -> Customer:
    """A customer of ``workspace``."""
    async with sessions() as session, session.begin():
        customer = Customer(workspace_id=workspace.id, display_name=name)
        session.add(customer)
    return customer


async def add_community(
    sessions: async_sessionmaker[AsyncSession], workspace: Workspace, name: str
) -> Community:
    """A community of ``workspace``."""
    async with sessions() as session, session.begin():
        community = Community(workspace_id=workspace.id, name=name, channel="wechat")
        session.add(community)
    return community


async def record(
    server: LiveServer,
    token: str,
    customer: Customer,
    content: str,
    community: Community | None = None,
) -> str:
    """Record an interaction by hand through the API; returns its global id."""
    variables: dict[str, Any] = {
        "input": {
            "customerId": to_global_id("Customer", customer.id),  # type: ignore[arg-type]
            "kind": "CALL",
            "content": content,
            "communityId": to_global_id("Community", community.id) if community else None,  # type: ignore[arg-type]
        }
    }
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        response = await client.post(
            "/graphql",
            json={"query": RECORD, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    payload = body["data"]["recordInteraction"]
    assert not payload["userErrors"], payload
    return payload["interaction"]["id"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_both_protocols_deliver_each_stored_interaction(
    live_server: LiveServer,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    admin_token: str,
    protocol: str,
) -> None:
    customer = await add_customer(sessions, workspace, "王芳")
    community = await add_community(sessions, workspace, "会员群")
    async with Subscriber(live_server.ws_url, token=admin_token, protocol=protocol) as sub:
        await live_server.wait_subscribers(interactions_topic(workspace.id), 1)  # type: ignore[arg-type]
        first = await record(live_server, admin_token, customer, "来电咨询积分", community)
        second = await record(live_server, admin_token, customer, "called back")
        got = await sub.next_interaction()
        assert got == {
            "id": first,
            "channel": "manual",
            "kind": "CALL",
            "direction": "INBOUND",
            "content": "来电咨询积分",
            "customer": {"id": to_global_id("Customer", customer.id), "displayName": "王芳"},  # type: ignore[arg-type]
            "community": {"id": to_global_id("Community", community.id), "name": "会员群"},  # type: ignore[arg-type]
        }
        got = await sub.next_interaction()
        assert got["id"] == second and got["community"] is None
        await sub.expect_nothing(0.3)


async def test_filters_select_by_channel_customer_and_community(
    live_server: LiveServer,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    admin_token: str,
) -> None:
    alice = await add_customer(sessions, workspace, "Alice")
    bob = await add_customer(sessions, workspace, "Bob")
    group = await add_community(sessions, workspace, "VIP")
    subscribers = {
        "all": {},
        "manual": {"channel": "manual"},
        "wechat": {"channel": "wechat"},
        "alice": {"customerId": to_global_id("Customer", alice.id)},  # type: ignore[arg-type]
        "group": {"communityId": to_global_id("Community", group.id)},  # type: ignore[arg-type]
    }
    subs = {
        name: Subscriber(live_server.ws_url, token=admin_token, variables=variables)
        for name, variables in subscribers.items()
    }
    try:
        for sub in subs.values():
            await sub.__aenter__()
        await live_server.wait_subscribers(interactions_topic(workspace.id), len(subs))  # type: ignore[arg-type]
        in_group = await record(live_server, admin_token, alice, "in the group", group)
        by_bob = await record(live_server, admin_token, bob, "bob alone")
        by_alice = await record(live_server, admin_token, alice, "alice alone")

        async def ids(name: str, count: int) -> list[str]:
            return [(await subs[name].next_interaction())["id"] for _ in range(count)]

        assert await ids("all", 3) == [in_group, by_bob, by_alice]
        assert await ids("manual", 3) == [in_group, by_bob, by_alice]
        assert await ids("alice", 2) == [in_group, by_alice]
        assert await ids("group", 1) == [in_group]
        # Everything above has been delivered by now, so silence here means filtered out.
        for name in ("wechat", "alice", "group"):
            await subs[name].expect_nothing(0.2)
    finally:
        for sub in subs.values():
            await sub.close()


async def test_a_workspace_never_receives_another_workspaces_events(
    live_server: LiveServer,
    sessions: async_sessionmaker[AsyncSession],
    make_workspace: Any,
    make_token: Any,
) -> None:
    brand_a, brand_b = await make_workspace("A"), await make_workspace("B")
    token_a, token_b = await make_token(brand_a, "read"), await make_token(brand_b, "admin")
    writer_a = await make_token(brand_a, "write")
    customer_a = await add_customer(sessions, brand_a, "A's customer")
    customer_b = await add_customer(sessions, brand_b, "B's customer")
    async with (
        Subscriber(live_server.ws_url, token=token_a) as sub_a,
        Subscriber(live_server.ws_url, token=token_b, protocol=LEGACY_WS) as sub_b,
    ):
        await live_server.wait_subscribers(interactions_topic(brand_a.id), 1)
        await live_server.wait_subscribers(interactions_topic(brand_b.id), 1)
        of_b = await record(live_server, token_b, customer_b, "B's secret")
        # Even an envelope naming B's interaction on A's topic yields nothing: the load is
        # scoped to the subscriber's workspace.
        b_pk = int(base64.b64decode(of_b).decode().split(":")[1])
        await live_server.services.bus.publish(
            interactions_topic(brand_a.id),
            {"id": b_pk, "channel": "manual", "customer_id": customer_b.id, "kind": "call"},
        )
        of_a = await record(live_server, writer_a, customer_a, "A's news")
        assert (await sub_a.next_interaction())["id"] == of_a
        assert (await sub_b.next_interaction())["id"] == of_b
        await sub_a.expect_nothing(0.2)
        await sub_b.expect_nothing(0.2)


async def test_a_malformed_filter_id_is_a_clear_error(
    live_server: LiveServer, admin_token: str
) -> None:
    variables = {"customerId": to_global_id("Community", 1)}
    async with Subscriber(live_server.ws_url, token=admin_token, variables=variables) as sub:
        result = await sub.next_result()
    assert result["data"] is None
    [error] = result["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "customerId must be the global id of a Customer" in error["message"]


async def test_leaving_ends_the_subscription_on_the_server(
    live_server: LiveServer, workspace: Workspace, admin_token: str
) -> None:
    topic = interactions_topic(workspace.id)  # type: ignore[arg-type]
    subs = [Subscriber(live_server.ws_url, token=admin_token) for _ in range(5)]
    for sub in subs:
        await sub.__aenter__()
    await live_server.wait_subscribers(topic, 5)
    for sub in subs:
        await sub.close()
    for _ in range(500):
        if live_server.services.bus.subscriber_count(topic) == 0:
            break
        await asyncio.sleep(0.01)
    assert live_server.services.bus.subscriber_count(topic) == 0


@pytest.mark.parametrize("token", [None, "scrm_not-a-token"])
async def test_graphql_transport_ws_refuses_a_connection_without_a_valid_token(
    live_server: LiveServer, token: str | None
) -> None:
    sub = Subscriber(live_server.ws_url, token=token, protocol=TRANSPORT_WS)
    with pytest.raises(ConnectionClosed) as closed:
        await sub.connect()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    assert live_server.services.bus.subscriber_count() == 0


@pytest.mark.parametrize("token", [None, "scrm_not-a-token"])
async def test_legacy_graphql_ws_refuses_a_connection_without_a_valid_token(
    live_server: LiveServer, token: str | None
) -> None:
    sub = Subscriber(live_server.ws_url, token=token, protocol=LEGACY_WS)
    try:
        with pytest.raises(ProtocolError, match=r"connection_error.*UNAUTHENTICATED"):
            await sub.connect()
    finally:
        await sub.close()
    assert live_server.services.bus.subscriber_count() == 0


async def test_the_token_may_come_as_an_authorization_value(
    live_server: LiveServer,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    admin_token: str,
) -> None:
    customer = await add_customer(sessions, workspace, "Carol")
    payload = {"Authorization": f"Bearer {admin_token}"}
    async with Subscriber(live_server.ws_url, token=None, init_payload=payload) as sub:
        await live_server.wait_subscribers(interactions_topic(workspace.id), 1)  # type: ignore[arg-type]
        recorded = await record(live_server, admin_token, customer, "hello")
        assert (await sub.next_interaction())["id"] == recorded
