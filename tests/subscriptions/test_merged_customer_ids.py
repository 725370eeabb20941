"""``interactionReceived(customerId:)`` takes a merged customer's id as `customer(id:)` does."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from test_interaction_received import add_customer, record
from ws_clients import LiveServer, Subscriber

from socialcrm.schema.node import to_global_id
from socialcrm.server.bus import interactions_topic
from socialcrm.server.customers import merge_customers
from socialcrm.server.tables import Workspace


async def test_a_merged_customers_id_delivers_the_survivors_interactions(
    live_server: LiveServer,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    admin_token: str,
) -> None:
    survivor = await add_customer(sessions, workspace, "Li Lei")
    merged = await add_customer(sessions, workspace, "李雷 (old profile)")
    other = await add_customer(sessions, workspace, "Han Meimei")
    assert workspace.id is not None and survivor.id is not None and merged.id is not None
    async with sessions() as session, session.begin():
        await merge_customers(session, workspace.id, survivor.id, merged.id)
    variables = {"customerId": to_global_id("Customer", merged.id)}
    async with Subscriber(live_server.ws_url, token=admin_token, variables=variables) as sub:
        await live_server.wait_subscribers(interactions_topic(workspace.id), 1)
        await record(live_server, admin_token, other, "not this one")
        recorded = await record(live_server, admin_token, survivor, "called about points")
        got = await sub.next_interaction()
        assert got["id"] == recorded
        assert got["customer"]["id"] == to_global_id("Customer", survivor.id)
        await sub.expect_nothing(0.2)


async def test_an_unknown_customer_id_is_not_found_and_quoted(
    live_server: LiveServer, admin_token: str
) -> None:
    unknown = to_global_id("Customer", 987654321)
    async with Subscriber(
        live_server.ws_url, token=admin_token, variables={"customerId": unknown}
    ) as sub:
        result = await sub.next_result()
    assert result["data"] is None
    [error] = result["errors"]
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert repr(unknown) in error["message"] and "987654321" not in error["message"]
