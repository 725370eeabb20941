"""mergeCustomers over GraphQL: the survivor gets everything, the merged id answers it."""

from __future__ import annotations

from typing import Any

from mutation_helpers import Observer, create
from sqlalchemy import select

from socialcrm.schema.node import pk_of
from socialcrm.server.tables import CustomerMerge, Identity, Workspace

MERGE = """
mutation Merge($survivor: ID!, $merged: ID!) {
  mergeCustomers(survivorId: $survivor, mergedId: $merged) {
    customer { id displayName email tags identities { channel externalId } }
    mergedCustomerId
    userErrors { field message code }
  }
}
"""


async def test_merge_customers(
    graphql: Any,
    write_token: str,
    workspace: Workspace,
    sessions: Any,
    observer: Observer,
):
    survivor = await create(graphql, write_token, displayName="Lin", tags=["VIP"])
    merged = await create(
        graphql, write_token, displayName="lin_wx", email="lin@example.cn", tags=["WeChat"]
    )
    merged_pk = pk_of(merged["id"], "Customer")
    async with sessions() as session, session.begin():
        session.add(
            Identity(
                workspace_id=workspace.id,
                customer_id=merged_pk,
                channel="wechat",
                external_id="openid-1",
            )
        )
    answer = await graphql(
        MERGE, {"survivor": survivor["id"], "merged": merged["id"]}, token=write_token
    )
    payload = answer["data"]["mergeCustomers"]
    assert payload["userErrors"] == []
    assert payload["mergedCustomerId"] == merged["id"]
    result = payload["customer"]
    assert result["id"] == survivor["id"]
    assert result["displayName"] == "Lin"
    assert result["email"] == "lin@example.cn"
    assert result["tags"] == ["VIP", "WeChat"]
    assert result["identities"] == [{"channel": "wechat", "externalId": "openid-1"}]
    change = observer.changes[-1]
    assert change.change == "merged"
    assert change.fields["merged_id"] == merged_pk

    # The merged customer is hidden from lists, and mutations on its id reach the survivor.
    listed = await graphql("{ customers { edges { node { id } } } }", token=write_token)
    ids = [edge["node"]["id"] for edge in listed["data"]["customers"]["edges"]]
    assert merged["id"] not in ids and survivor["id"] in ids
    answer = await graphql(
        """mutation($id: ID!) { tagCustomer(customerId: $id, tags: ["late"]) {
             customer { id tags } userErrors { code } } }""",
        {"id": merged["id"]},
        token=write_token,
    )
    assert answer["data"]["tagCustomer"]["customer"]["id"] == survivor["id"]

    async with sessions() as session:
        record = (
            await session.execute(
                select(CustomerMerge).where(CustomerMerge.workspace_id == workspace.id)
            )
        ).scalar_one()
    assert record.snapshot["customer"]["display_name"] == "lin_wx"


async def test_merge_refusals_change_nothing(
    graphql: Any,
    write_token: str,
    workspace: Workspace,
    make_workspace: Any,
    make_token: Any,
    snapshot: Any,
):
    a = await create(graphql, write_token, displayName="A")
    b = await create(graphql, write_token, displayName="B")
    c = await create(graphql, write_token, displayName="C")
    other = await make_workspace()
    theirs = await create(graphql, await make_token(other, "write"), displayName="Theirs")
    answer = await graphql(MERGE, {"survivor": a["id"], "merged": b["id"]}, token=write_token)
    assert answer["data"]["mergeCustomers"]["userErrors"] == []
    assert workspace.id is not None
    before = await snapshot(workspace.id)
    cases = [
        (a, a, "mergedId", "CONFLICT"),
        (a, theirs, "mergedId", "NOT_FOUND"),
        (theirs, a, "survivorId", "NOT_FOUND"),
        (c, b, "mergedId", "CONFLICT"),
        # b stands for a now: merging a into what b became is merging a into itself.
        (b, a, "mergedId", "CONFLICT"),
    ]
    for survivor, merged, field, code in cases:
        answer = await graphql(
            MERGE, {"survivor": survivor["id"], "merged": merged["id"]}, token=write_token
        )
        payload = answer["data"]["mergeCustomers"]
        assert payload["customer"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)]
    assert await snapshot(workspace.id) == before
