"""`interactions`, `communities`, `community.members` and the customer's nested lists."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from graphql_seed import T0, Seed, gid

INTERACTIONS = """query($f: InteractionFilter, $n: Int, $a: String) {
  interactions(filter: $f, first: $n, after: $a) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { content channel kind direction } } } }"""


@pytest.fixture
async def world(workspace: Any, seed: Seed) -> dict[str, Any]:
    """Two customers, a community, and interactions on several channels."""
    li = await seed.customer(workspace, display_name="Li")
    han = await seed.customer(workspace, display_name="Han")
    fans = await seed.community(workspace, name="Fans of tea", channel="wechat")
    old = await seed.community(
        workspace, name="Old group", channel="weibo", dismissed_at=T0 + timedelta(days=1)
    )
    await seed.member(fans, li, "admin")
    await seed.member(fans, han)
    await seed.member(old, li, "opinion_leader")
    first = await seed.interaction(li, 1, content="one", external_id="m1")
    await seed.interaction(li, 2, content="two", channel="weibo", kind="comment")
    await seed.interaction(
        li, 3, content="three", direction="outbound", in_reply_to_id=first.id, sentiment=0.5
    )
    await seed.interaction(han, 4, content="four", community_id=fans.id, data={"k": [1, 2]})
    await seed.interaction(han, 5, content="five", channel="manual", kind="call")
    return {"li": li, "han": han, "fans": fans, "old": old, "first": first}


async def _contents(graphql: Any, token: str, **variables: Any) -> list[str]:
    result = await graphql(INTERACTIONS, variables, token=token)
    assert "errors" not in result, result
    return [edge["node"]["content"] for edge in result["data"]["interactions"]["edges"]]


async def test_newest_first_and_pages(graphql: Any, admin_token: str, world: Any) -> None:
    assert await _contents(graphql, admin_token) == ["five", "four", "three", "two", "one"]
    page = await graphql(INTERACTIONS, {"n": 2}, token=admin_token)
    connection = page["data"]["interactions"]
    assert connection["totalCount"] == 5 and connection["pageInfo"]["hasNextPage"]
    rest = await _contents(graphql, admin_token, n=10, a=connection["pageInfo"]["endCursor"])
    assert rest == ["three", "two", "one"]


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"channel": "weibo"}, ["two"]),
        ({"channel": ["manual", "weibo"]}, ["five", "two"]),
        ({"kind": "CALL"}, ["five"]),
        ({"kind": ["COMMENT", "CALL"]}, ["five", "two"]),
        ({"direction": "OUTBOUND"}, ["three"]),
        (
            {"occurredAfter": (T0 + timedelta(minutes=2)).isoformat()},
            ["five", "four", "three", "two"],
        ),
        ({"occurredBefore": (T0 + timedelta(minutes=2)).isoformat()}, ["one"]),
    ],
)
async def test_filters(
    graphql: Any, admin_token: str, world: Any, filter: dict[str, Any], expected: list[str]
) -> None:
    assert await _contents(graphql, admin_token, f=filter) == expected


async def test_filter_by_customer_and_community(graphql: Any, admin_token: str, world: Any) -> None:
    by_customer = await _contents(graphql, admin_token, f={"customer": gid(world["li"])})
    assert by_customer == ["three", "two", "one"]
    by_community = await _contents(graphql, admin_token, f={"community": gid(world["fans"])})
    assert by_community == ["four"]
    wrong_type = await graphql(
        INTERACTIONS, {"f": {"customer": gid(world["fans"])}}, token=admin_token
    )
    assert wrong_type["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_interaction_fields(graphql: Any, admin_token: str, world: Any) -> None:
    query = """{ interactions { edges { node { id content direction sentiment externalId data
        contentType occurredAt deliveryStatus customer { displayName } community { name }
        inReplyTo { content externalId } } } } }"""
    result = await graphql(query, token=admin_token)
    nodes = {
        edge["node"]["content"]: edge["node"] for edge in result["data"]["interactions"]["edges"]
    }
    assert nodes["three"]["inReplyTo"] == {"content": "one", "externalId": "m1"}
    assert nodes["three"]["sentiment"] == 0.5
    assert nodes["three"]["direction"] == "OUTBOUND"
    assert nodes["four"]["community"] == {"name": "Fans of tea"}
    assert nodes["four"]["data"] == {"k": [1, 2]}
    assert nodes["four"]["customer"] == {"displayName": "Han"}
    assert nodes["one"]["community"] is None and nodes["one"]["inReplyTo"] is None


async def test_customer_interactions_nested(graphql: Any, admin_token: str, world: Any) -> None:
    query = """query($a: String, $f: InteractionFilter) { customers { edges { node { displayName
        interactions(first: 2, after: $a, filter: $f) { totalCount
        pageInfo { hasNextPage endCursor } edges { node { content } } } } } } }"""
    result = await graphql(query, token=admin_token)
    by_name = {
        edge["node"]["displayName"]: edge["node"]["interactions"]
        for edge in result["data"]["customers"]["edges"]
    }
    assert [e["node"]["content"] for e in by_name["Li"]["edges"]] == ["three", "two"]
    assert by_name["Li"]["totalCount"] == 3 and by_name["Li"]["pageInfo"]["hasNextPage"]
    assert [e["node"]["content"] for e in by_name["Han"]["edges"]] == ["five", "four"]
    assert not by_name["Han"]["pageInfo"]["hasNextPage"]
    filtered = await graphql(query, {"f": {"channel": "weibo"}}, token=admin_token)
    li = filtered["data"]["customers"]["edges"][0]["node"]["interactions"]
    assert li["totalCount"] == 1 and [e["node"]["content"] for e in li["edges"]] == ["two"]
    # The next page of Li's interactions, through the nested cursor.
    cursor = by_name["Li"]["pageInfo"]["endCursor"]
    after = await graphql(query, {"a": cursor}, token=admin_token)
    li_next = after["data"]["customers"]["edges"][0]["node"]["interactions"]
    assert [e["node"]["content"] for e in li_next["edges"]] == ["one"]


async def test_communities(graphql: Any, admin_token: str, world: Any) -> None:
    query = """query($f: CommunityFilter, $n: Int, $a: String) {
        communities(filter: $f, first: $n, after: $a) { totalCount
        pageInfo { hasNextPage endCursor } edges { node { name channel dismissedAt } } } }"""
    live = await graphql(query, token=admin_token)
    assert [e["node"]["name"] for e in live["data"]["communities"]["edges"]] == ["Fans of tea"]
    every = await graphql(query, {"f": {"includeDismissed": True}, "n": 1}, token=admin_token)
    connection = every["data"]["communities"]
    assert connection["totalCount"] == 2 and connection["pageInfo"]["hasNextPage"]
    rest = await graphql(
        query,
        {"f": {"includeDismissed": True}, "a": connection["pageInfo"]["endCursor"]},
        token=admin_token,
    )
    assert [e["node"]["name"] for e in rest["data"]["communities"]["edges"]] == ["Old group"]
    search = await graphql(query, {"f": {"search": "TEA"}}, token=admin_token)
    assert search["data"]["communities"]["totalCount"] == 1
    by_channel = await graphql(
        query, {"f": {"channel": "weibo", "includeDismissed": True}}, token=admin_token
    )
    assert [e["node"]["name"] for e in by_channel["data"]["communities"]["edges"]] == ["Old group"]


async def test_community_members(graphql: Any, admin_token: str, world: Any) -> None:
    query = """query($id: ID!, $role: [MemberRole!], $a: String) { community(id: $id) { name
        members(first: 1, role: $role, after: $a) { totalCount pageInfo { hasNextPage endCursor }
        edges { role joinedAt node { displayName } } } } }"""
    result = await graphql(query, {"id": gid(world["fans"])}, token=admin_token)
    members = result["data"]["community"]["members"]
    assert members["totalCount"] == 2 and members["pageInfo"]["hasNextPage"]
    assert members["edges"][0]["role"] == "ADMIN"
    assert members["edges"][0]["node"] == {"displayName": "Li"}
    rest = await graphql(
        query, {"id": gid(world["fans"]), "a": members["pageInfo"]["endCursor"]}, token=admin_token
    )
    assert rest["data"]["community"]["members"]["edges"][0]["node"] == {"displayName": "Han"}
    admins = await graphql(query, {"id": gid(world["fans"]), "role": ["ADMIN"]}, token=admin_token)
    assert admins["data"]["community"]["members"]["totalCount"] == 1


async def test_customer_communities(graphql: Any, admin_token: str, world: Any) -> None:
    query = """query($id: ID!) { customer(id: $id) { communities { totalCount
        edges { role node { name } } } } }"""
    result = await graphql(query, {"id": gid(world["li"])}, token=admin_token)
    communities = result["data"]["customer"]["communities"]
    assert communities["totalCount"] == 2
    assert [(e["node"]["name"], e["role"]) for e in communities["edges"]] == [
        ("Fans of tea", "ADMIN"),
        ("Old group", "OPINION_LEADER"),
    ]


async def test_channels_hide_secrets(
    graphql: Any, admin_token: str, workspace: Any, seed: Seed
) -> None:
    from socialcrm.server.tables import ChannelAccount

    await seed.add(
        ChannelAccount(
            workspace_id=workspace.id,
            channel="wechat",
            slug=f"acct-{workspace.id}",
            name="Brand OA",
            settings={"app_id": "wx123", "app_secret": "s3cr3t", "token": "t0k", "aes_key": "k"},
        )
    )
    result = await graphql(
        "{ channels { name title description supportsSend supportsPoll "
        "accounts { id slug name webhookUrl publicSettings } } }",
        token=admin_token,
    )
    channels = {c["name"]: c for c in result["data"]["channels"]}
    assert {"wechat", "weibo", "email"} <= set(channels)
    account = channels["wechat"]["accounts"][0]
    assert account["publicSettings"] == {"app_id": "wx123"}
    assert account["webhookUrl"] == f"http://testserver/webhooks/wechat/acct-{workspace.id}"
    assert "s3cr3t" not in str(result) and "t0k" not in str(result)
    assert channels["weibo"]["accounts"] == []
    node = await graphql(
        "query($id: ID!) { node(id: $id) { ... on ChannelAccount { slug } } }",
        {"id": account["id"]},
        token=admin_token,
    )
    assert node["data"]["node"] == {"slug": f"acct-{workspace.id}"}
