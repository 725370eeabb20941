"""recordInteraction: a call or visit recorded by hand goes the way of every interaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from mutation_helpers import Observer, create, first_message

from socialcrm.server.bus import interactions_topic
from socialcrm.server.tables import Workspace

RECORD = """
mutation Record($input: RecordInteractionInput!) {
  recordInteraction(input: $input) {
    interaction {
      id channel kind direction content occurredAt data
      customer { id lastSeenAt }
      community { id }
    }
    userErrors { field message code }
  }
}
"""


async def test_record_interaction(
    graphql: Any, write_token: str, workspace: Workspace, services: Any, observer: Observer
):
    lin = await create(graphql, write_token, displayName="Lin")
    community = (
        await graphql(
            'mutation { createCommunity(input: {name: "Store"}) { community { id } } }',
            token=write_token,
        )
    )["data"]["createCommunity"]["community"]
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    assert workspace.id is not None
    listener = await first_message(services.bus, interactions_topic(workspace.id))
    answer = await graphql(
        RECORD,
        {
            "input": {
                "customerId": lin["id"],
                "kind": "VISIT",
                "content": "试驾 Model 3",
                "occurredAt": when.isoformat(),
                "communityId": community["id"],
                "data": {"store": "Sanlitun"},
            }
        },
        token=write_token,
    )
    payload = answer["data"]["recordInteraction"]
    assert payload["userErrors"] == []
    interaction = payload["interaction"]
    assert (interaction["channel"], interaction["kind"], interaction["direction"]) == (
        "manual",
        "VISIT",
        "INBOUND",
    )
    assert interaction["data"] == {"store": "Sanlitun"}
    assert interaction["community"] == {"id": community["id"]}
    assert datetime.fromisoformat(interaction["customer"]["lastSeenAt"]) == when
    assert (await asyncio.wait_for(listener, 5))["kind"] == "visit"
    assert [s.kind for s in observer.interactions] == ["visit"]

    # The brand calling out does not make the customer "seen".
    answer = await graphql(
        RECORD,
        {"input": {"customerId": lin["id"], "kind": "CALL", "direction": "OUTBOUND"}},
        token=write_token,
    )
    interaction = answer["data"]["recordInteraction"]["interaction"]
    assert interaction["direction"] == "OUTBOUND"
    assert datetime.fromisoformat(interaction["customer"]["lastSeenAt"]) == when


async def test_record_interaction_rejections(
    graphql: Any,
    write_token: str,
    workspace: Workspace,
    make_workspace: Any,
    make_token: Any,
    snapshot: Any,
    observer: Observer,
):
    lin = await create(graphql, write_token, displayName="Lin")
    other_token = await make_token(await make_workspace(), "write")
    theirs = (
        await graphql(
            'mutation { createCommunity(input: {name: "Theirs"}) { community { id } } }',
            token=other_token,
        )
    )["data"]["createCommunity"]["community"]
    assert workspace.id is not None
    before = await snapshot(workspace.id)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    cases = [
        ({"communityId": theirs["id"]}, "communityId", "NOT_FOUND"),
        ({"occurredAt": future}, "occurredAt", "INVALID"),
        ({"content": "x" * 20_001}, "content", "INVALID"),
        ({"data": [1]}, "data", "INVALID"),
        ({"customerId": theirs["id"]}, "customerId", "NOT_FOUND"),
    ]
    for fields, field, code in cases:
        answer = await graphql(
            RECORD,
            {"input": {"customerId": lin["id"], "kind": "NOTE", **fields}},
            token=write_token,
        )
        payload = answer["data"]["recordInteraction"]
        assert payload["interaction"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)]
    assert await snapshot(workspace.id) == before
    assert observer.interactions == []
