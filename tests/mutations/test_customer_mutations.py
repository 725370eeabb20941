"""createCustomer, updateCustomer, tagCustomer, untagCustomer over GraphQL."""

from __future__ import annotations

from typing import Any

from mutation_helpers import CREATE, CUSTOMER_FIELDS, Observer, create

from socialcrm.server.tables import Workspace

UPDATE = f"""
mutation Update($id: ID!, $input: UpdateCustomerInput!) {{
  updateCustomer(id: $id, input: $input) {{
    customer {{ {CUSTOMER_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

TAG = """
mutation Tag($id: ID!, $tags: [String!]!) {
  tagCustomer(customerId: $id, tags: $tags) {
    customer { id tags }
    changedTags
    userErrors { field message code }
  }
}
"""

UNTAG = TAG.replace("tagCustomer", "untagCustomer").replace("mutation Tag", "mutation Untag")


async def test_create_customer(graphql: Any, write_token: str, observer: Observer):
    customer = await create(
        graphql,
        write_token,
        displayName=" 王芳 ",
        email="fang@example.cn",
        lifecycleStage="FORMATION",
        tags=["VIP ", "Beijing", "VIP"],
        attributes={"crm_id": "A-1001"},
    )
    assert customer["displayName"] == "王芳"
    assert customer["lifecycleStage"] == "FORMATION"
    assert customer["tags"] == ["Beijing", "VIP"]
    assert customer["attributes"] == {"crm_id": "A-1001"}
    [change] = observer.changes
    assert change.change == "created"
    assert change.fields["tags"] == ["Beijing", "VIP"]
    assert change.fields["display_name"] == "王芳"

    again = await graphql(
        "query($id: ID!) { customer(id: $id) { displayName tags } }",
        {"id": customer["id"]},
        token=write_token,
    )
    assert again["data"]["customer"] == {"displayName": "王芳", "tags": ["Beijing", "VIP"]}


async def test_invalid_create_changes_nothing(
    graphql: Any, write_token: str, workspace: Workspace, snapshot: Any, observer: Observer
):
    assert workspace.id is not None
    before = await snapshot(workspace.id)
    for fields, field in [
        ({}, "displayName"),
        ({"displayName": "Lin", "email": "nope"}, "email"),
        ({"displayName": "Lin", "tags": ["ok", "x" * 101]}, "tags"),
        ({"displayName": "Lin", "tags": ["  "]}, "tags"),
        ({"displayName": "Lin", "attributes": [1, 2]}, "attributes"),
    ]:
        answer = await graphql(CREATE, {"input": fields}, token=write_token)
        payload = answer["data"]["createCustomer"]
        assert payload["customer"] is None
        [error] = payload["userErrors"]
        assert (error["field"], error["code"]) == (field, "INVALID"), error
        assert error["message"]
    assert await snapshot(workspace.id) == before
    assert observer.changes == []


async def test_update_customer_changes_only_given_fields(
    graphql: Any, write_token: str, observer: Observer
):
    customer = await create(
        graphql, write_token, displayName="Lin", email="lin@example.cn", phone="13800000000"
    )
    answer = await graphql(
        UPDATE,
        {
            "id": customer["id"],
            "input": {"email": None, "lifecycleStage": "STABILITY", "attributes": {"city": "上海"}},
        },
        token=write_token,
    )
    payload = answer["data"]["updateCustomer"]
    assert payload["userErrors"] == []
    updated = payload["customer"]
    assert updated["displayName"] == "Lin"
    assert updated["phone"] == "13800000000"
    assert updated["email"] is None
    assert updated["lifecycleStage"] == "STABILITY"
    assert updated["attributes"] == {"city": "上海"}
    assert observer.changes[-1].change == "updated"
    assert set(observer.changes[-1].fields) == {"email", "lifecycle_stage", "attributes"}

    # Tags given on update replace the set.
    await graphql(TAG, {"id": customer["id"], "tags": ["a", "b"]}, token=write_token)
    answer = await graphql(
        UPDATE, {"id": customer["id"], "input": {"tags": ["b", "c"]}}, token=write_token
    )
    assert answer["data"]["updateCustomer"]["customer"]["tags"] == ["b", "c"]

    # Nothing to change: no observer call.
    seen = len(observer.changes)
    answer = await graphql(
        UPDATE, {"id": customer["id"], "input": {"displayName": "Lin"}}, token=write_token
    )
    assert answer["data"]["updateCustomer"]["userErrors"] == []
    assert len(observer.changes) == seen


async def test_update_customer_rejections(graphql: Any, write_token: str):
    customer = await create(graphql, write_token, displayName="Lin")
    cases = [
        ({"displayName": ""}, "displayName", "REQUIRED"),
        ({"displayName": None}, "displayName", "REQUIRED"),
        ({"lifecycleStage": None}, "lifecycleStage", "REQUIRED"),
        ({"phone": "not a phone"}, "phone", "INVALID"),
        ({"tags": ["x" * 101]}, "tags", "INVALID"),
    ]
    for fields, field, code in cases:
        answer = await graphql(UPDATE, {"id": customer["id"], "input": fields}, token=write_token)
        payload = answer["data"]["updateCustomer"]
        assert payload["customer"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)]
    for bad_id, code in [("not-an-id", "INVALID"), ("Q29tbXVuaXR5OjE=", "NOT_FOUND")]:
        answer = await graphql(UPDATE, {"id": bad_id, "input": {"phone": "1"}}, token=write_token)
        [error] = answer["data"]["updateCustomer"]["userErrors"]
        assert (error["field"], error["code"]) == ("id", code)
    answer = await graphql(
        "query($id: ID!) { customer(id: $id) { displayName phone tags } }",
        {"id": customer["id"]},
        token=write_token,
    )
    assert answer["data"]["customer"] == {"displayName": "Lin", "phone": None, "tags": []}


async def test_tag_and_untag(graphql: Any, write_token: str, observer: Observer):
    customer = await create(graphql, write_token, displayName="Lin")
    answer = await graphql(
        TAG, {"id": customer["id"], "tags": [" 高价值 ", "VIP", "vip"]}, token=write_token
    )
    payload = answer["data"]["tagCustomer"]
    assert payload["userErrors"] == []
    assert payload["changedTags"] == ["高价值", "VIP", "vip"]
    assert payload["customer"]["tags"] == sorted(["高价值", "VIP", "vip"])
    assert observer.changes[-1].change == "tagged"
    assert observer.changes[-1].fields["added"] == ["高价值", "VIP", "vip"]

    answer = await graphql(TAG, {"id": customer["id"], "tags": ["VIP"]}, token=write_token)
    assert answer["data"]["tagCustomer"]["changedTags"] == []
    seen = len(observer.changes)

    answer = await graphql(
        UNTAG, {"id": customer["id"], "tags": ["vip", "unknown"]}, token=write_token
    )
    payload = answer["data"]["untagCustomer"]
    assert payload["changedTags"] == ["vip"]
    assert payload["customer"]["tags"] == sorted(["高价值", "VIP"])
    assert observer.changes[seen].change == "untagged"
    assert observer.changes[seen].fields["removed"] == ["vip"]

    answer = await graphql(TAG, {"id": customer["id"], "tags": ["x" * 101]}, token=write_token)
    [error] = answer["data"]["tagCustomer"]["userErrors"]
    assert (error["field"], error["code"]) == ("tags", "INVALID")


async def test_failing_observer_does_not_fail_the_mutation(
    graphql: Any, write_token: str, observer: Observer
):
    observer.fail = True
    customer = await create(graphql, write_token, displayName="Still created")
    assert customer["id"]
    assert observer.changes[-1].change == "created"
