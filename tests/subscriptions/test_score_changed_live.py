"""``scoreChanged`` end to end: an interaction or a purchase recorded through the API is
scored live, and the change reaches the subscriber of its workspace."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from test_score_changed import SCORE_CHANGED, add_customer, changes, gid
from ws_clients import LEGACY_WS, LiveServer, Subscriber

from socialcrm.server.bus import scores_topic
from socialcrm.server.tables import Workspace

RECORD = """mutation($input: RecordInteractionInput!) {
  recordInteraction(input: $input) { userErrors { code message } } }"""
PURCHASE = """mutation($input: RecordPurchaseInput!) {
  recordPurchase(input: $input) { interaction { amount currency } userErrors { code message } }
}"""


async def mutate(server: LiveServer, token: str, query: str, variables: dict[str, Any]) -> Any:
    """Run a mutation over HTTP; fails the test on any error."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    (payload,) = body["data"].values()
    assert payload["userErrors"] == [], payload
    return payload


async def test_recorded_interactions_and_purchases_move_scores_live(
    live_server: LiveServer,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    admin_token: str,
) -> None:
    ann = await add_customer(sessions, workspace, "Ann")
    other = await add_customer(sessions, workspace, "Other")
    variables = {"customerId": gid(ann), "minDelta": 0.0}
    async with Subscriber(
        live_server.ws_url,
        token=admin_token,
        protocol=LEGACY_WS,
        query=SCORE_CHANGED,
        variables=variables,
    ) as sub:
        await live_server.wait_subscribers(scores_topic(workspace.id), 1)  # type: ignore[arg-type]
        await mutate(
            live_server,
            admin_token,
            RECORD,
            {"input": {"customerId": gid(other), "kind": "CALL", "content": "not Ann"}},
        )
        await mutate(
            live_server,
            admin_token,
            RECORD,
            {"input": {"customerId": gid(ann), "kind": "VISIT", "content": "came by the store"}},
        )
        [visit] = await changes(sub, 1)
        assert visit["customer"] == {"id": gid(ann), "displayName": "Ann"}
        assert visit["deltas"]["engagement"] > 0
        assert visit["scores"]["engagement"] > 0
        bought = await mutate(
            live_server,
            admin_token,
            PURCHASE,
            {"input": {"customerId": gid(ann), "amount": 880, "currency": "CNY"}},
        )
        assert bought["interaction"] == {"amount": 880.0, "currency": "CNY"}
        [purchase] = await changes(sub, 1)
        assert purchase["deltas"]["value"] > 0
        assert purchase["scores"]["value"] > visit["scores"]["value"]


async def test_a_stage_set_by_hand_reaches_subscribers(
    live_server: LiveServer,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    admin_token: str,
) -> None:
    bo = await add_customer(sessions, workspace, "Bo")
    async with Subscriber(live_server.ws_url, token=admin_token, query=SCORE_CHANGED) as sub:
        await live_server.wait_subscribers(scores_topic(workspace.id), 1)  # type: ignore[arg-type]
        await mutate(
            live_server,
            admin_token,
            """mutation($input: SetLifecycleStageInput!) { setLifecycleStage(input: $input) {
                customer { lifecycleStage } userErrors { code message } } }""",
            {"input": {"customerId": gid(bo), "stage": "STABILITY"}},
        )
        [change] = await changes(sub, 1)
        assert change["customer"]["displayName"] == "Bo"
        assert (change["previousLifecycleStage"], change["lifecycleStage"]) == (
            "EXPLORATION",
            "STABILITY",
        )
