"""Customer ids in mutations: a merged customer's id means the survivor, and messages quote
the ids the client sent, never the server's internal numbers."""

from __future__ import annotations

from typing import Any

import pytest
from mutation_helpers import create
from test_merge_mutation import MERGE

from socialcrm.schema.node import to_global_id

TAG = """
mutation Tag($id: ID!) {
  tagCustomer(customerId: $id, tags: ["VIP"]) {
    customer { id tags }
    userErrors { field message code }
  }
}
"""
RECORD = """
mutation Record($input: RecordInteractionInput!) {
  recordInteraction(input: $input) { interaction { id } userErrors { field message code } }
}
"""
COMMUNITY = """
mutation { createCommunity(input: {name: "会员群"}) { community { id } userErrors { code } } }
"""
REMOVE = """
mutation Remove($community: ID!, $customer: ID!) {
  removeCommunityMember(communityId: $community, customerId: $customer) {
    userErrors { field message code }
  }
}
"""
UNKNOWN_PK = 987654321


async def test_a_merged_customers_id_as_survivor_merges_into_the_survivor(
    graphql: Any, write_token: str
) -> None:
    a = await create(graphql, write_token, displayName="A")
    b = await create(graphql, write_token, displayName="B")
    c = await create(graphql, write_token, displayName="C")
    first = await graphql(MERGE, {"survivor": a["id"], "merged": b["id"]}, token=write_token)
    assert first["data"]["mergeCustomers"]["userErrors"] == []
    # b's id stands for a now, as customer(id:) answers it.
    answer = await graphql(MERGE, {"survivor": b["id"], "merged": c["id"]}, token=write_token)
    payload = answer["data"]["mergeCustomers"]
    assert payload["userErrors"] == []
    assert payload["customer"]["id"] == a["id"]
    assert payload["mergedCustomerId"] == c["id"]


async def test_a_customer_merged_into_itself_is_a_conflict(graphql: Any, write_token: str) -> None:
    a = await create(graphql, write_token, displayName="A")
    answer = await graphql(MERGE, {"survivor": a["id"], "merged": a["id"]}, token=write_token)
    [error] = answer["data"]["mergeCustomers"]["userErrors"]
    assert (error["field"], error["code"]) == ("mergedId", "CONFLICT")


async def test_a_merged_customers_id_tags_the_survivor(graphql: Any, write_token: str) -> None:
    a = await create(graphql, write_token, displayName="A")
    b = await create(graphql, write_token, displayName="B")
    await graphql(MERGE, {"survivor": a["id"], "merged": b["id"]}, token=write_token)
    answer = await graphql(TAG, {"id": b["id"]}, token=write_token)
    payload = answer["data"]["tagCustomer"]
    assert payload == {"customer": {"id": a["id"], "tags": ["VIP"]}, "userErrors": []}


def _error(answer: dict[str, Any], mutation: str) -> dict[str, Any]:
    assert "errors" not in answer, answer
    [error] = answer["data"][mutation]["userErrors"]
    return error  # type: ignore[no-any-return]


@pytest.mark.parametrize("field", ["survivorId", "mergedId"])
async def test_merge_messages_quote_the_id_sent(graphql: Any, write_token: str, field: str) -> None:
    a = await create(graphql, write_token, displayName="A")
    unknown = to_global_id("Customer", UNKNOWN_PK)
    ids = {"survivor": a["id"], "merged": a["id"]}
    ids["survivor" if field == "survivorId" else "merged"] = unknown
    error = _error(await graphql(MERGE, ids, token=write_token), "mergeCustomers")
    assert (error["field"], error["code"]) == (field, "NOT_FOUND")
    assert repr(unknown) in error["message"] and str(UNKNOWN_PK) not in error["message"]


async def test_messages_quote_the_ids_sent_never_internal_numbers(
    graphql: Any, write_token: str
) -> None:
    unknown = to_global_id("Customer", UNKNOWN_PK)
    error = _error(await graphql(TAG, {"id": unknown}, token=write_token), "tagCustomer")
    assert error["code"] == "NOT_FOUND"
    assert repr(unknown) in error["message"] and str(UNKNOWN_PK) not in error["message"]

    customer = await create(graphql, write_token, displayName="A")
    no_community = to_global_id("Community", UNKNOWN_PK)
    answer = await graphql(
        RECORD,
        {"input": {"customerId": customer["id"], "kind": "CALL", "communityId": no_community}},
        token=write_token,
    )
    error = _error(answer, "recordInteraction")
    assert (error["field"], error["code"]) == ("communityId", "NOT_FOUND")
    assert repr(no_community) in error["message"] and str(UNKNOWN_PK) not in error["message"]

    community = (await graphql(COMMUNITY, token=write_token))["data"]["createCommunity"]
    community_id = community["community"]["id"]
    answer = await graphql(
        REMOVE, {"community": community_id, "customer": customer["id"]}, token=write_token
    )
    error = _error(answer, "removeCommunityMember")
    assert (error["field"], error["code"]) == ("customerId", "NOT_FOUND")
    assert repr(customer["id"]) in error["message"]
