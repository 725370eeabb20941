"""recordPurchase: a purchase recorded by hand is an interaction like any other; bad amounts
and currencies are refused and store nothing. recordInteraction refuses purchases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from mutation_helpers import Observer, create, first_message

from socialcrm.server.bus import interactions_topic
from socialcrm.server.tables import Workspace

PURCHASE = """
mutation Buy($input: RecordPurchaseInput!) {
  recordPurchase(input: $input) {
    interaction {
      id channel kind direction content occurredAt data amount currency customer { id }
    }
    userErrors { field message code }
  }
}
"""


async def test_record_purchase(
    graphql: Any, write_token: str, workspace: Workspace, services: Any, observer: Observer
) -> None:
    lin = await create(graphql, write_token, displayName="Lin")
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    assert workspace.id is not None
    listener = await first_message(services.bus, interactions_topic(workspace.id))
    answer = await graphql(
        PURCHASE,
        {
            "input": {
                "customerId": lin["id"],
                "amount": 199.5,
                "currency": " cny ",
                "occurredAt": when.isoformat(),
                "note": "两件 T 恤",
                "data": {"order": "SO-1", "amount": 1, "currency": "USD"},
            }
        },
        token=write_token,
    )
    payload = answer["data"]["recordPurchase"]
    assert payload["userErrors"] == []
    interaction = payload["interaction"]
    assert (interaction["channel"], interaction["kind"], interaction["direction"]) == (
        "manual",
        "PURCHASE",
        "INBOUND",
    )
    assert interaction["content"] == "两件 T 恤"
    assert interaction["data"] == {"order": "SO-1", "amount": 199.5, "currency": "CNY"}
    assert (interaction["amount"], interaction["currency"]) == (199.5, "CNY")
    assert datetime.fromisoformat(interaction["occurredAt"]) == when
    assert interaction["customer"] == {"id": lin["id"]}
    assert (await asyncio.wait_for(listener, 5))["kind"] == "purchase"
    assert [(s.kind, s.data["amount"]) for s in observer.interactions] == [("purchase", 199.5)]


async def test_record_purchase_rejections(
    graphql: Any,
    write_token: str,
    read_token: str,
    workspace: Workspace,
    snapshot: Any,
    observer: Observer,
) -> None:
    lin = await create(graphql, write_token, displayName="Lin")
    assert workspace.id is not None
    before = await snapshot(workspace.id)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    cases = [
        ({"amount": 0}, "amount"),
        ({"amount": -12.5}, "amount"),
        ({"amount": 1e13}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "RMB"}, "currency"),
        ({"currency": "US"}, "currency"),
        ({"currency": "人民币"}, "currency"),
        ({"occurredAt": future}, "occurredAt"),
        ({"note": "x" * 20_001}, "note"),
        ({"data": "not an object"}, "data"),
    ]
    for fields, field in cases:
        answer = await graphql(
            PURCHASE,
            {"input": {"customerId": lin["id"], "amount": 10, "currency": "CNY", **fields}},
            token=write_token,
        )
        payload = answer["data"]["recordPurchase"]
        assert payload["interaction"] is None, fields
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, "INVALID")]
    # A number GraphQL cannot carry (JSON has no NaN) is refused before the mutation runs.
    answer = await graphql(
        PURCHASE,
        {"input": {"customerId": lin["id"], "amount": "NaN", "currency": "CNY"}},
        token=write_token,
    )
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    unknown = {"customerId": "Q3VzdG9tZXI6OTk5OTk5", "amount": 1, "currency": "CNY"}
    answer = await graphql(PURCHASE, {"input": unknown}, token=write_token)
    assert answer["data"]["recordPurchase"]["userErrors"][0]["code"] == "NOT_FOUND"
    answer = await graphql(
        PURCHASE,
        {"input": {"customerId": lin["id"], "amount": 1, "currency": "CNY"}},
        token=read_token,
    )
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await snapshot(workspace.id) == before
    assert observer.interactions == []


async def test_record_interaction_sends_purchases_to_record_purchase(
    graphql: Any, write_token: str, workspace: Workspace, snapshot: Any
) -> None:
    lin = await create(graphql, write_token, displayName="Lin")
    assert workspace.id is not None
    before = await snapshot(workspace.id)
    answer = await graphql(
        """mutation($input: RecordInteractionInput!) { recordInteraction(input: $input) {
            interaction { id } userErrors { field message code } } }""",
        {"input": {"customerId": lin["id"], "kind": "PURCHASE", "data": {"amount": 5}}},
        token=write_token,
    )
    payload = answer["data"]["recordInteraction"]
    assert payload["interaction"] is None
    [error] = payload["userErrors"]
    assert (error["field"], error["code"]) == ("kind", "INVALID")
    assert "recordPurchase" in error["message"]
    assert await snapshot(workspace.id) == before
