"""Errors and limits: every error is a GraphQL error with a code and no stack trace."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from socialcrm.server.settings import Settings


def _codes(result: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in result["errors"]]


def _assert_no_trace(body: str) -> None:
    for marker in ("Traceback", 'File "', "stacktrace", "exception"):
        assert marker not in body


async def test_invalid_json_is_400_with_a_graphql_error(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert _codes(response.json()) == ["BAD_REQUEST"]


async def test_missing_query_is_400(client: httpx.AsyncClient, admin_token: str) -> None:
    response = await client.post(
        "/graphql", json={"variables": {}}, headers={"Authorization": f"Bearer {admin_token}"}
    )
    assert response.status_code == 400
    assert _codes(response.json()) == ["BAD_REQUEST"]


async def test_unsupported_content_type_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content=b"{ viewer { scopes } }", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 400
    assert _codes(response.json()) == ["BAD_REQUEST"]


async def test_syntax_error(graphql: Any, admin_token: str) -> None:
    result = await graphql("{ customers { ", token=admin_token)
    assert _codes(result) == ["GRAPHQL_PARSE_FAILED"]
    assert result.get("data") is None


async def test_unknown_field_is_a_validation_error(graphql: Any, admin_token: str) -> None:
    result = await graphql("{ customers { edges { node { password } } } }", token=admin_token)
    assert _codes(result) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "password" in result["errors"][0]["message"]
    # Cached validation answers the same the second time.
    again = await graphql("{ customers { edges { node { password } } } }", token=admin_token)
    assert again == result


async def test_bad_variable_is_bad_user_input(graphql: Any, admin_token: str) -> None:
    result = await graphql(
        "query($n: Int) { customers(first: $n) { totalCount } }", {"n": "many"}, token=admin_token
    )
    assert _codes(result) == ["BAD_USER_INPUT"]


async def test_page_size_over_the_cap(graphql: Any, admin_token: str, settings: Settings) -> None:
    cap = settings.max_page_size
    result = await graphql(
        "query($n: Int) { customers(first: $n) { totalCount } }", {"n": cap + 1}, token=admin_token
    )
    assert _codes(result) == ["PAGE_SIZE_EXCEEDED"]
    assert result["errors"][0]["extensions"]["maxPageSize"] == cap
    nested = await graphql(
        "query($n: Int) { customers(first: 1) { edges { node { interactions(first: $n) "
        "{ totalCount } } } } }",
        {"n": cap + 1},
        token=admin_token,
    )
    assert nested.get("errors") is None or _codes(nested) == ["PAGE_SIZE_EXCEEDED"]
    ok = await graphql(
        "query($n: Int) { customers(first: $n) { totalCount } }", {"n": cap}, token=admin_token
    )
    assert "errors" not in ok


async def test_negative_first_and_bad_cursor(graphql: Any, admin_token: str) -> None:
    negative = await graphql("{ customers(first: -1) { totalCount } }", token=admin_token)
    assert _codes(negative) == ["BAD_USER_INPUT"]
    cursor = await graphql('{ customers(after: "nonsense") { totalCount } }', token=admin_token)
    assert _codes(cursor) == ["BAD_USER_INPUT"]
    bad_id = await graphql('{ customer(id: "Q29tbXVuaXR5OjE=") { id } }', token=admin_token)
    assert _codes(bad_id) == ["BAD_USER_INPUT"]


def _nested(depth: int) -> str:
    # customer -> interactions -> edges -> node -> customer -> ... grows 4 levels a round.
    inner = "id"
    for _ in range(depth):
        inner = f"interactions {{ edges {{ node {{ customer {{ {inner} }} }} }} }}"
    return f"{{ customers {{ edges {{ node {{ {inner} }} }} }} }}"


async def test_query_too_deep(graphql: Any, admin_token: str, settings: Settings) -> None:
    result = await graphql(_nested(3), token=admin_token)
    assert _codes(result) == ["QUERY_TOO_DEEP"]
    assert f"limit is {settings.max_query_depth}" in result["errors"][0]["message"]
    assert "errors" not in await graphql(_nested(1), token=admin_token)


async def test_too_deep_through_fragments(graphql: Any, admin_token: str) -> None:
    query = """
    query { customers { ...C } }
    fragment C on CustomerConnection { edges { node { interactions { ...I } } } }
    fragment I on InteractionConnection { edges { node { customer { interactions { ...J } } } } }
    fragment J on InteractionConnection { edges { node { customer { interactions { ...K } } } } }
    fragment K on InteractionConnection { edges { node { customer { id } } } }
    """
    result = await graphql(query, token=admin_token)
    assert _codes(result) == ["QUERY_TOO_DEEP"]


async def test_too_many_aliases(graphql: Any, admin_token: str, settings: Settings) -> None:
    fields = " ".join(f"a{i}: viewer {{ scopes }}" for i in range(settings.max_aliases + 1))
    result = await graphql(f"{{ {fields} }}", token=admin_token)
    assert _codes(result) == ["TOO_MANY_ALIASES"]
    fields = " ".join(f"a{i}: viewer {{ scopes }}" for i in range(settings.max_aliases))
    assert "errors" not in await graphql(f"{{ {fields} }}", token=admin_token)


async def test_graphiql_introspection_passes_the_depth_limit(
    graphql: Any, admin_token: str
) -> None:
    from graphql import get_introspection_query

    result = await graphql(get_introspection_query(), token=admin_token)
    assert "errors" not in result
    assert result["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_body_over_the_limit_is_413(
    client: httpx.AsyncClient, admin_token: str, settings: Settings
) -> None:
    padding = "#" * (settings.max_body_bytes + 1)
    response = await client.post(
        "/graphql",
        json={"query": f"{{ viewer {{ scopes }} }} {padding}"},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert response.status_code == 413


async def test_unexpected_errors_are_masked_and_logged(
    graphql: Any,
    admin_token: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from socialcrm.resolvers import queries

    async def broken(info: Any) -> Any:
        raise RuntimeError("connection string postgres://secret@db leaked")

    monkeypatch.setattr(queries, "viewer", broken)
    with caplog.at_level(logging.ERROR, logger="socialcrm.server.graphql"):
        result = await graphql("{ viewer { scopes } }", token=admin_token)
    assert _codes(result) == ["INTERNAL_SERVER_ERROR"]
    body = json.dumps(result)
    assert "secret" not in body
    _assert_no_trace(body)
    assert any("leaked" in str(record.exc_info) for record in caplog.records)


async def test_every_error_has_a_code(graphql: Any, admin_token: str) -> None:
    for query in ("{", "{ nope }", "{ customers(first: 100000) { totalCount } }", "query A { a }"):
        result = await graphql(query, token=admin_token)
        assert all(error["extensions"]["code"] for error in result["errors"]), result


async def test_get_serves_graphiql(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_get_runs_queries(client: httpx.AsyncClient, admin_token: str) -> None:
    response = await client.get(
        "/graphql",
        params={"query": "{ viewer { scopes } }"},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert response.json() == {"data": {"viewer": {"scopes": ["READ", "WRITE", "ADMIN"]}}}
