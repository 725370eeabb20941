"""``scoreChanged`` over real WebSockets: the scoring engine's envelopes, filtered per
subscriber and scoped to the token's workspace.

The envelopes are published on the app's bus directly (the bus is infrastructure here; what
is tested is what the subscription makes of them).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from ws_clients import LEGACY_WS, TRANSPORT_WS, LiveServer, Subscriber

from socialcrm.schema.node import to_global_id
from socialcrm.server.bus import scores_topic
from socialcrm.server.tables import Customer, Workspace

SCORE_CHANGED = """
subscription Changed($customerId: ID, $minDelta: Float) {
  scoreChanged(customerId: $customerId, minDelta: $minDelta) {
    customer { id displayName }
    scores { engagement influence sentiment value socialValue churnRisk updatedAt }
    deltas { engagement influence sentiment value socialValue churnRisk }
    lifecycleStage previousLifecycleStage at
  }
}
"""
DEFAULT_DELTA = """
subscription { scoreChanged { customer { displayName } deltas { socialValue } } }
"""
SCORES = {
    "engagement": 40.0,
    "influence": 12.5,
    "sentiment": -0.25,
    "value": 0.0,
    "social_value": 30.0,
    "churn_risk": 0.5,
}


def envelope(
    customer: Customer,
    *,
    move: float = 0.0,
    stage: str = "formation",
    previous: str = "formation",
    at: str = "2026-03-01T08:00:00+00:00",
) -> dict[str, Any]:
    """A scores envelope as ``scores_topic`` describes it; ``move`` is engagement's delta."""
    deltas = dict.fromkeys(SCORES, 0.0)
    deltas["engagement"] = move
    deltas["churn_risk"] = -move / 2
    return {
        "customer_id": customer.id,
        "scores": SCORES,
        "deltas": deltas,
        "stage": stage,
        "previous_stage": previous,
        "at": at,
    }


async def add_customer(
    sessions: async_sessionmaker[AsyncSession], workspace: Workspace, name: str, **fields: Any
) -> Customer:
    """A customer of ``workspace``."""
    async with sessions() as session, session.begin():
        customer = Customer(workspace_id=workspace.id, display_name=name, **fields)
        session.add(customer)
    return customer


def gid(customer: Customer) -> str:
    """The customer's global id."""
    assert customer.id is not None
    return to_global_id("Customer", customer.id)


async def changes(sub: Subscriber, count: int) -> list[dict[str, Any]]:
    """The next ``count`` scoreChanged payloads; fails on errors."""
    found = []
    for _ in range(count):
        result = await sub.next_result()
        assert not result.get("errors"), result
        found.append(result["data"]["scoreChanged"])
    return found


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_both_protocols_deliver_large_moves_and_stage_changes(
    live_server: LiveServer,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    admin_token: str,
    protocol: str,
) -> None:
    lin = await add_customer(sessions, workspace, "林")
    topic = scores_topic(workspace.id)  # type: ignore[arg-type]
    bus = live_server.services.bus
    async with Subscriber(
        live_server.ws_url, token=admin_token, protocol=protocol, query=SCORE_CHANGED
    ) as sub:
        await live_server.wait_subscribers(topic, 1)
        await bus.publish(topic, envelope(lin, move=0.05))  # not above the default 0.05
        await bus.publish(topic, envelope(lin, move=-0.2))
        await bus.publish(topic, envelope(lin, stage="decline", previous="stability"))
        big, stage = await changes(sub, 2)
        assert big == {
            "customer": {"id": gid(lin), "displayName": "林"},
            "scores": {
                "engagement": 40.0,
                "influence": 12.5,
                "sentiment": -0.25,
                "value": 0.0,
                "socialValue": 30.0,
                "churnRisk": 0.5,
                "updatedAt": "2026-03-01T08:00:00+00:00",
            },
            "deltas": {
                "engagement": -0.2,
                "influence": 0.0,
                "sentiment": 0.0,
                "value": 0.0,
                "socialValue": 0.0,
                "churnRisk": 0.1,
            },
            "lifecycleStage": "FORMATION",
            "previousLifecycleStage": "FORMATION",
            "at": "2026-03-01T08:00:00+00:00",
        }
        assert stage["deltas"]["engagement"] == 0.0
        assert (stage["lifecycleStage"], stage["previousLifecycleStage"]) == (
            "DECLINE",
            "STABILITY",
        )
        await sub.expect_nothing(0.3)


async def test_min_delta_is_per_subscriber(
    live_server: LiveServer,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    admin_token: str,
) -> None:
    mei = await add_customer(sessions, workspace, "Mei")
    topic = scores_topic(workspace.id)  # type: ignore[arg-type]
    thresholds = {"every": 0.0, "default": None, "large": 0.3}
    subs = {
        name: Subscriber(
            live_server.ws_url,
            token=admin_token,
            query=SCORE_CHANGED if threshold is not None else DEFAULT_DELTA,
            variables={"minDelta": threshold} if threshold is not None else {},
        )
        for name, threshold in thresholds.items()
    }
    try:
        for sub in subs.values():
            await sub.__aenter__()
        await live_server.wait_subscribers(topic, len(subs))
        for move in (0.0, 0.01, 0.1, 0.5):
            await live_server.services.bus.publish(topic, envelope(mei, move=move))
        every = await changes(subs["every"], 3)
        assert [change["deltas"]["engagement"] for change in every] == [0.01, 0.1, 0.5]
        default = await changes(subs["default"], 2)
        assert [change["customer"]["displayName"] for change in default] == ["Mei", "Mei"]
        [large] = await changes(subs["large"], 1)
        assert large["deltas"]["engagement"] == 0.5
        for sub in subs.values():
            await sub.expect_nothing(0.2)
    finally:
        for sub in subs.values():
            await sub.close()


async def test_customer_filter_follows_merges(
    live_server: LiveServer,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    admin_token: str,
) -> None:
    survivor = await add_customer(sessions, workspace, "Survivor")
    merged = await add_customer(sessions, workspace, "Merged", merged_into_id=survivor.id)
    other = await add_customer(sessions, workspace, "Other")
    topic = scores_topic(workspace.id)  # type: ignore[arg-type]
    bus = live_server.services.bus
    variables = {"customerId": gid(merged), "minDelta": 0.0}
    async with Subscriber(
        live_server.ws_url, token=admin_token, query=SCORE_CHANGED, variables=variables
    ) as sub:
        await live_server.wait_subscribers(topic, 1)
        await bus.publish(topic, envelope(other, move=0.5))
        await bus.publish(topic, envelope(merged, move=0.5))
        await bus.publish(topic, envelope(survivor, move=0.4))
        [change] = await changes(sub, 1)
        assert change["customer"] == {"id": gid(survivor), "displayName": "Survivor"}
        assert change["deltas"]["engagement"] == 0.4
        await sub.expect_nothing(0.3)


async def test_a_workspace_never_receives_another_workspaces_changes(
    live_server: LiveServer,
    sessions: async_sessionmaker[AsyncSession],
    make_workspace: Any,
    make_token: Any,
) -> None:
    brand_a, brand_b = await make_workspace("A"), await make_workspace("B")
    token_a, token_b = await make_token(brand_a, "read"), await make_token(brand_b, "read")
    customer_a = await add_customer(sessions, brand_a, "A's customer")
    customer_b = await add_customer(sessions, brand_b, "B's secret customer")
    bus = live_server.services.bus
    async with (
        Subscriber(live_server.ws_url, token=token_a, query=SCORE_CHANGED) as sub_a,
        Subscriber(
            live_server.ws_url, token=token_b, protocol=LEGACY_WS, query=SCORE_CHANGED
        ) as sub_b,
    ):
        await live_server.wait_subscribers(scores_topic(brand_a.id), 1)
        await live_server.wait_subscribers(scores_topic(brand_b.id), 1)
        await bus.publish(scores_topic(brand_b.id), envelope(customer_b, move=0.5))
        # Even an envelope naming B's customer on A's topic yields nothing: the customer is
        # loaded from the subscriber's workspace only.
        await bus.publish(scores_topic(brand_a.id), envelope(customer_b, move=0.5))
        await bus.publish(scores_topic(brand_a.id), envelope(customer_a, move=0.5))
        [of_a] = await changes(sub_a, 1)
        [of_b] = await changes(sub_b, 1)
        assert of_a["customer"]["displayName"] == "A's customer"
        assert of_b["customer"]["displayName"] == "B's secret customer"
        await sub_a.expect_nothing(0.2)
        await sub_b.expect_nothing(0.2)


async def test_a_malformed_envelope_is_skipped(
    live_server: LiveServer,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    admin_token: str,
) -> None:
    zoe = await add_customer(sessions, workspace, "Zoe")
    topic = scores_topic(workspace.id)  # type: ignore[arg-type]
    bus = live_server.services.bus
    async with Subscriber(live_server.ws_url, token=admin_token, query=SCORE_CHANGED) as sub:
        await live_server.wait_subscribers(topic, 1)
        await bus.publish(topic, {"customer_id": zoe.id, "scores": "high"})
        await bus.publish(topic, {**envelope(zoe, move=0.5), "at": "yesterday"})
        await bus.publish(topic, envelope(zoe, move=0.5, at="2026-03-02T00:00:00Z"))
        [change] = await changes(sub, 1)
        assert change["at"] == "2026-03-02T00:00:00+00:00"


@pytest.mark.parametrize(
    ("variables", "code", "message"),
    [
        ({"customerId": to_global_id("Community", 1)}, "BAD_USER_INPUT", "global id of a Customer"),
        ({"customerId": to_global_id("Customer", 987654321)}, "NOT_FOUND", "no customer"),
        ({"minDelta": -0.1}, "BAD_USER_INPUT", "minDelta"),
    ],
    ids=["not-a-customer-id", "unknown-customer", "negative-min-delta"],
)
async def test_bad_arguments_are_clear_errors(
    live_server: LiveServer, admin_token: str, variables: dict[str, Any], code: str, message: str
) -> None:
    async with Subscriber(
        live_server.ws_url, token=admin_token, query=SCORE_CHANGED, variables=variables
    ) as sub:
        result = await sub.next_result()
    assert result["data"] is None
    [error] = result["errors"]
    assert error["extensions"]["code"] == code
    assert message in error["message"]
    assert live_server.services.bus.subscriber_count() == 0
