"""Authentication, scopes and workspace isolation of every read entry point."""

from __future__ import annotations

from typing import Any

import pytest
from graphql_seed import Seed, gid
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from socialcrm.server.app import create_app
from socialcrm.server.settings import Settings

CUSTOMERS = "{ customers { totalCount edges { node { id displayName } } } }"


async def test_no_token_is_unauthenticated(graphql: Any) -> None:
    result = await graphql(CUSTOMERS)
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_unknown_token_is_unauthenticated(graphql: Any) -> None:
    result = await graphql(CUSTOMERS, token="scrm_not-a-real-token")
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_introspection_needs_no_token(graphql: Any) -> None:
    result = await graphql("{ __schema { queryType { name } } }")
    assert result == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_read_token_may_query(graphql: Any, workspace: Any, make_token: Any) -> None:
    token = await make_token(workspace, "read")
    result = await graphql("{ viewer { scopes workspace { slug } } }", token=token)
    assert result["data"]["viewer"] == {"scopes": ["READ"], "workspace": {"slug": workspace.slug}}


async def test_read_token_may_not_mutate(graphql: Any, workspace: Any, make_token: Any) -> None:
    token = await make_token(workspace, "read")
    # Any mutation will do: the scope is checked before its fields are resolved.
    result = await graphql("mutation { __typename }", token=token)
    codes = {error["extensions"]["code"] for error in result.get("errors", [])}
    assert codes & {"FORBIDDEN", "GRAPHQL_VALIDATION_FAILED"}, result


@pytest.fixture
async def two_workspaces(make_workspace: Any, make_token: Any, seed: Seed) -> dict[str, Any]:
    """Workspace A with a token, and workspace B with a customer, community and interaction."""
    a = await make_workspace("A")
    b = await make_workspace("B")
    own = await seed.customer(a, display_name="Mine")
    other = await seed.customer(b, display_name="Theirs")
    community = await seed.community(b, name="Their group")
    await seed.member(community, other)
    interaction = await seed.interaction(other, content="secret", community_id=community.id)
    await seed.identity(other, "weibo", handle="theirs")
    return {
        "token": await make_token(a, "admin"),
        "own": own,
        "other": other,
        "community": community,
        "interaction": interaction,
    }


async def test_customers_of_another_workspace_are_invisible(
    graphql: Any, two_workspaces: dict[str, Any]
) -> None:
    token = two_workspaces["token"]
    result = await graphql(CUSTOMERS, token=token)
    names = [edge["node"]["displayName"] for edge in result["data"]["customers"]["edges"]]
    assert names == ["Mine"]
    assert result["data"]["customers"]["totalCount"] == 1
    search = await graphql('{ customers(filter: {search: "theirs"}) { totalCount } }', token=token)
    assert search["data"]["customers"]["totalCount"] == 0


async def test_customer_of_another_workspace_is_null(
    graphql: Any, two_workspaces: dict[str, Any]
) -> None:
    other = gid(two_workspaces["other"])
    result = await graphql(
        "query($id: ID!) { customer(id: $id) { id } }", {"id": other}, token=two_workspaces["token"]
    )
    assert result == {"data": {"customer": None}}


async def test_node_of_another_workspace_is_null(
    graphql: Any, two_workspaces: dict[str, Any]
) -> None:
    for key in ("other", "community", "interaction"):
        result = await graphql(
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": gid(two_workspaces[key])},
            token=two_workspaces["token"],
        )
        assert result == {"data": {"node": None}}, key
    own = await graphql(
        "query($id: ID!) { node(id: $id) { id ... on Customer { displayName } } }",
        {"id": gid(two_workspaces["own"])},
        token=two_workspaces["token"],
    )
    assert own["data"]["node"]["displayName"] == "Mine"


async def test_communities_of_another_workspace_are_invisible(
    graphql: Any, two_workspaces: dict[str, Any]
) -> None:
    token = two_workspaces["token"]
    result = await graphql("{ communities { totalCount edges { node { name } } } }", token=token)
    assert result["data"]["communities"] == {"totalCount": 0, "edges": []}
    one = await graphql(
        "query($id: ID!) { community(id: $id) { name members { totalCount } } }",
        {"id": gid(two_workspaces["community"])},
        token=token,
    )
    assert one == {"data": {"community": None}}


async def test_interactions_of_another_workspace_are_invisible(
    graphql: Any, two_workspaces: dict[str, Any]
) -> None:
    token = two_workspaces["token"]
    result = await graphql(
        "{ interactions { totalCount edges { node { content } } } }", token=token
    )
    assert result["data"]["interactions"] == {"totalCount": 0, "edges": []}
    by_customer = await graphql(
        "query($id: ID!) { interactions(filter: {customer: $id}) { totalCount } }",
        {"id": gid(two_workspaces["other"])},
        token=token,
    )
    assert by_customer["data"]["interactions"]["totalCount"] == 0


def _ws_init(settings: Settings, protocol: str, payload: dict[str, Any]) -> dict[str, Any]:
    # A separate app in TestClient's own event loop: WebSockets need a synchronous client.
    with (
        TestClient(create_app(settings)) as client,
        client.websocket_connect("/graphql", subprotocols=[protocol]) as ws,
    ):
        ws.send_json({"type": "connection_init", "payload": payload})
        return ws.receive_json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "payload_of",
    [
        lambda token: {"Authorization": f"Bearer {token}"},
        lambda token: {"authorization": token},
        lambda token: {"token": token},
        lambda token: {"token": f"Bearer {token}"},
    ],
)
async def test_websocket_accepts_token_in_connection_init(
    settings: Settings, admin_token: str, payload_of: Any
) -> None:
    message = _ws_init(settings, "graphql-transport-ws", payload_of(admin_token))
    assert message["type"] == "connection_ack"


async def test_websocket_without_token_is_refused(settings: Settings) -> None:
    with pytest.raises(WebSocketDisconnect) as refused:
        _ws_init(settings, "graphql-transport-ws", {"token": "scrm_wrong"})
    assert refused.value.code == 4403


async def test_legacy_websocket_without_token_is_refused(settings: Settings) -> None:
    message = _ws_init(settings, "graphql-ws", {})
    assert message["type"] == "connection_error"
