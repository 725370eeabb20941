"""createCommunity, addCommunityMember and removeCommunityMember over GraphQL."""

from __future__ import annotations

from typing import Any

from mutation_helpers import create

from socialcrm.server.tables import Workspace

CREATE_COMMUNITY = """
mutation Create($input: CreateCommunityInput!) {
  createCommunity(input: $input) {
    community { id name description channel externalId }
    userErrors { field message code }
  }
}
"""

ADD = """
mutation Add($community: ID!, $customer: ID!, $role: MemberRole! = MEMBER) {
  addCommunityMember(communityId: $community, customerId: $customer, role: $role) {
    community { id members { totalCount edges { role node { id } } } }
    customer { id }
    role
    userErrors { field message code }
  }
}
"""

REMOVE = """
mutation Remove($community: ID!, $customer: ID!) {
  removeCommunityMember(communityId: $community, customerId: $customer) {
    community { id members { totalCount } }
    customer { id }
    role
    userErrors { field message code }
  }
}
"""


async def create_community(graphql: Any, token: str, **fields: Any) -> dict[str, Any]:
    answer = await graphql(CREATE_COMMUNITY, {"input": fields}, token=token)
    payload = answer["data"]["createCommunity"]
    assert payload["userErrors"] == [], payload
    return payload["community"]  # type: ignore[no-any-return]


async def test_create_community(
    graphql: Any, write_token: str, workspace: Workspace, snapshot: Any
):
    community = await create_community(
        graphql,
        write_token,
        name=" 北京车友会 ",
        description="周末自驾",
        channel="wechat",
        externalId="room-1",
    )
    assert community["name"] == "北京车友会"
    assert (community["channel"], community["externalId"]) == ("wechat", "room-1")
    hand_kept = await create_community(graphql, write_token, name="VIP salon")
    assert hand_kept["channel"] is None

    assert workspace.id is not None
    before = await snapshot(workspace.id)
    cases = [
        ({"name": "again", "channel": "wechat", "externalId": "room-1"}, "externalId", "DUPLICATE"),
        ({"name": "  "}, "name", "REQUIRED"),
        ({"name": "x", "channel": "no-such-channel"}, "channel", "UNKNOWN_CHANNEL"),
        ({"name": "x", "externalId": "room-2"}, "channel", "REQUIRED"),
    ]
    for fields, field, code in cases:
        answer = await graphql(CREATE_COMMUNITY, {"input": fields}, token=write_token)
        payload = answer["data"]["createCommunity"]
        assert payload["community"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)]
    assert await snapshot(workspace.id) == before


async def test_members(graphql: Any, write_token: str):
    community = await create_community(graphql, write_token, name="Salon")
    lin = await create(graphql, write_token, displayName="Lin")
    ids = {"community": community["id"], "customer": lin["id"]}

    answer = await graphql(ADD, ids, token=write_token)
    payload = answer["data"]["addCommunityMember"]
    assert payload["userErrors"] == []
    assert payload["role"] == "MEMBER"
    assert payload["community"]["members"]["edges"] == [
        {"role": "MEMBER", "node": {"id": lin["id"]}}
    ]

    answer = await graphql(ADD, {**ids, "role": "OPINION_LEADER"}, token=write_token)
    payload = answer["data"]["addCommunityMember"]
    assert payload["community"]["members"]["totalCount"] == 1
    assert payload["community"]["members"]["edges"][0]["role"] == "OPINION_LEADER"

    answer = await graphql(REMOVE, ids, token=write_token)
    payload = answer["data"]["removeCommunityMember"]
    assert payload["userErrors"] == []
    assert payload["role"] is None
    assert payload["community"]["members"]["totalCount"] == 0

    answer = await graphql(REMOVE, ids, token=write_token)
    [error] = answer["data"]["removeCommunityMember"]["userErrors"]
    assert (error["field"], error["code"]) == ("customerId", "NOT_FOUND")

    answer = await graphql(ADD, {**ids, "community": lin["id"]}, token=write_token)
    [error] = answer["data"]["addCommunityMember"]["userErrors"]
    assert (error["field"], error["code"]) == ("communityId", "NOT_FOUND")
