"""`customers` and `customer`: filters, ordering, keyset pagination, merged customers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from graphql_seed import T0, Seed, gid

NAMES = "query($f: CustomerFilter, $o: CustomerOrder, $n: Int, $a: String) { customers(filter: $f, orderBy: $o, first: $n, after: $a) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { displayName } } } }"  # noqa: E501


@pytest.fixture
async def people(workspace: Any, seed: Seed) -> dict[str, Any]:
    """Five customers with identities, tags, scores and activity."""
    li = await seed.customer(
        workspace,
        display_name="Li Lei",
        handle="lilei",
        last_seen_at=T0,
        lifecycle_stage="stability",
    )
    han = await seed.customer(
        workspace,
        display_name="Han Meimei",
        last_seen_at=T0 + timedelta(days=3),
        lifecycle_stage="formation",
    )
    wang = await seed.customer(workspace, display_name="王小明", handle="XiaoMing")
    anna = await seed.customer(workspace, display_name="Anna", email="anna@example.com")
    gone = await seed.customer(workspace, display_name="Merged Away", merged_into_id=li.id)
    await seed.identity(li, "wechat", handle="雷雷")
    await seed.identity(li, "wechat.unionid")
    await seed.identity(han, "weibo", handle="meimei_official")
    await seed.identity(anna, "email", handle="anna@example.com")
    await seed.tag(li, "vip", "beijing")
    vip = await _tag_named(seed, workspace, "vip")
    await seed.tag_existing(han, vip)
    await seed.score(li, influence=80.0, engagement=10.0, social_value=50.0)
    await seed.score(han, influence=20.0, engagement=90.0, social_value=50.0)
    await seed.score(wang, influence=50.0, churn_risk=0.9)
    return {"li": li, "han": han, "wang": wang, "anna": anna, "gone": gone}


async def _tag_named(seed: Seed, workspace: Any, name: str) -> Any:
    from sqlalchemy import select

    from socialcrm.server.tables import Tag

    async with seed.sessions() as session:
        return (
            await session.execute(
                select(Tag).where(Tag.workspace_id == workspace.id, Tag.name == name)
            )
        ).scalar_one()


async def _names(graphql: Any, token: str, **variables: Any) -> list[str]:
    result = await graphql(NAMES, variables, token=token)
    assert "errors" not in result, result
    return [edge["node"]["displayName"] for edge in result["data"]["customers"]["edges"]]


async def test_default_order_hides_merged(graphql: Any, admin_token: str, people: Any) -> None:
    result = await graphql(NAMES, {}, token=admin_token)
    connection = result["data"]["customers"]
    names = [edge["node"]["displayName"] for edge in connection["edges"]]
    assert names == ["Li Lei", "Han Meimei", "王小明", "Anna"]
    assert connection["totalCount"] == 4
    assert connection["pageInfo"]["hasNextPage"] is False


async def test_keyset_pages(graphql: Any, admin_token: str, people: Any) -> None:
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        result = await graphql(NAMES, {"n": 3, "a": after}, token=admin_token)
        connection = result["data"]["customers"]
        seen += [edge["node"]["displayName"] for edge in connection["edges"]]
        assert connection["pageInfo"]["hasPreviousPage"] is (after is not None)
        assert connection["totalCount"] == 4
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
        assert after == connection["edges"][-1]["cursor"]
    assert seen == ["Li Lei", "Han Meimei", "王小明", "Anna"]
    assert pages == 2


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"search": "LEI"}, ["Li Lei"]),
        ({"search": "xiaoming"}, ["王小明"]),
        ({"search": "小明"}, ["王小明"]),
        ({"search": "MEIMEI_OFF"}, ["Han Meimei"]),
        ({"search": "%"}, []),
        ({"channel": "wechat"}, ["Li Lei"]),
        ({"channel": ["weibo", "email"]}, ["Han Meimei", "Anna"]),
        ({"tag": "vip"}, ["Li Lei", "Han Meimei"]),
        ({"tag": ["vip", "beijing"]}, ["Li Lei"]),
        ({"lifecycleStage": "FORMATION"}, ["Han Meimei"]),
        ({"lifecycleStage": ["EXPLORATION"]}, ["王小明", "Anna"]),
        ({"influence": {"min": 50}}, ["Li Lei", "王小明"]),
        ({"influence": {"min": 10, "max": 60}}, ["Han Meimei", "王小明"]),
        ({"engagement": {"max": 0}}, ["王小明", "Anna"]),
        ({"churnRisk": {"min": 0.5}}, ["王小明"]),
        ({"activeSince": (T0 + timedelta(days=1)).isoformat()}, ["Han Meimei"]),
        ({"tag": "vip", "influence": {"min": 50}}, ["Li Lei"]),
    ],
)
async def test_filters(
    graphql: Any, admin_token: str, people: Any, filter: dict[str, Any], expected: list[str]
) -> None:
    assert await _names(graphql, admin_token, f=filter) == expected
    result = await graphql(NAMES, {"f": filter}, token=admin_token)
    assert result["data"]["customers"]["totalCount"] == len(expected)


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ({"field": "ID", "direction": "DESC"}, ["Anna", "王小明", "Han Meimei", "Li Lei"]),
        ({"field": "CREATED_AT"}, ["Li Lei", "Han Meimei", "王小明", "Anna"]),
        ({"field": "INFLUENCE", "direction": "DESC"}, ["Li Lei", "王小明", "Han Meimei", "Anna"]),
        ({"field": "ENGAGEMENT", "direction": "DESC"}, ["Han Meimei", "Li Lei", "Anna", "王小明"]),
        # A tie (50 and 50) is broken by id, in the same direction.
        (
            {"field": "SOCIAL_VALUE", "direction": "DESC"},
            ["Han Meimei", "Li Lei", "Anna", "王小明"],
        ),
        ({"field": "SOCIAL_VALUE", "direction": "ASC"}, ["王小明", "Anna", "Li Lei", "Han Meimei"]),
        (
            {"field": "LAST_SEEN_AT", "direction": "DESC"},
            ["Han Meimei", "Li Lei", "Anna", "王小明"],
        ),
        ({"field": "CHURN_RISK", "direction": "DESC"}, ["王小明", "Anna", "Han Meimei", "Li Lei"]),
    ],
)
async def test_order_and_pages_agree(
    graphql: Any, admin_token: str, people: Any, order: dict[str, Any], expected: list[str]
) -> None:
    assert await _names(graphql, admin_token, o=order) == expected
    # The same order, one customer per page, through the cursors.
    paged: list[str] = []
    after = None
    for _ in range(10):
        result = await graphql(NAMES, {"o": order, "n": 1, "a": after}, token=admin_token)
        connection = result["data"]["customers"]
        paged += [edge["node"]["displayName"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert paged == expected


async def test_cursor_of_another_order_is_refused(
    graphql: Any, admin_token: str, people: Any
) -> None:
    first = await graphql(NAMES, {"n": 1}, token=admin_token)
    cursor = first["data"]["customers"]["pageInfo"]["endCursor"]
    result = await graphql(
        NAMES, {"n": 1, "a": cursor, "o": {"field": "INFLUENCE"}}, token=admin_token
    )
    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_customer_fields(graphql: Any, admin_token: str, people: Any) -> None:
    query = """query($id: ID!) { customer(id: $id) {
        id displayName handle email lifecycleStage createdAt lastSeenAt attributes
        identities { channel externalId handle following }
        tags scores { engagement influence sentiment value socialValue churnRisk updatedAt }
    } }"""
    result = await graphql(query, {"id": gid(people["li"])}, token=admin_token)
    customer = result["data"]["customer"]
    assert customer["id"] == gid(people["li"])
    assert customer["displayName"] == "Li Lei"
    assert customer["lifecycleStage"] == "STABILITY"
    assert customer["lastSeenAt"].startswith("2026-01-01T00:00:00")
    assert [i["channel"] for i in customer["identities"]] == ["wechat", "wechat.unionid"]
    assert customer["tags"] == ["beijing", "vip"]
    assert customer["scores"]["influence"] == 80.0
    no_scores = await graphql(query, {"id": gid(people["anna"])}, token=admin_token)
    assert no_scores["data"]["customer"]["scores"] == {
        "engagement": 0.0,
        "influence": 0.0,
        "sentiment": 0.0,
        "value": 0.0,
        "socialValue": 0.0,
        "churnRisk": 0.0,
        "updatedAt": None,
    }


async def test_merged_customer(graphql: Any, admin_token: str, people: Any) -> None:
    merged = gid(people["gone"])
    by_id = await graphql(
        "query($id: ID!) { customer(id: $id) { displayName } }", {"id": merged}, token=admin_token
    )
    assert by_id["data"]["customer"] == {"displayName": "Li Lei"}
    node = await graphql(
        "query($id: ID!) { node(id: $id) { ... on Customer { id displayName } } }",
        {"id": merged},
        token=admin_token,
    )
    assert node["data"]["node"] == {"id": gid(people["li"]), "displayName": "Li Lei"}


async def test_node_resolves_each_type(
    graphql: Any, admin_token: str, people: Any, seed: Seed, workspace: Any
) -> None:
    community = await seed.community(workspace, name="Fans")
    interaction = await seed.interaction(people["li"], content="你好")
    query = """query($id: ID!) { node(id: $id) { __typename id
        ... on Customer { displayName } ... on Community { name }
        ... on Interaction { content } } }"""
    for row, field, value in (
        (people["li"], "displayName", "Li Lei"),
        (community, "name", "Fans"),
        (interaction, "content", "你好"),
    ):
        result = await graphql(query, {"id": gid(row)}, token=admin_token)
        assert result["data"]["node"][field] == value
        assert result["data"]["node"]["id"] == gid(row)
    garbage = await graphql(query, {"id": "not base64!"}, token=admin_token)
    assert garbage["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
