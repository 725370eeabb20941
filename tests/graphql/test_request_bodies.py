"""Bodies that are JSON but not a GraphQL request get 400 with a reason, never a crash,
whether the compiled reads or the resolvers would have answered (token or none)."""

from __future__ import annotations

import httpx
import pytest

from socialcrm.server.json_body import MAX_JSON_DEPTH

NOT_OBJECTS = ['"x"', "123", "null", "true"]


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize("authenticated", [False, True])
@pytest.mark.parametrize("body", NOT_OBJECTS)
async def test_a_body_that_is_not_an_object_is_refused(
    client: httpx.AsyncClient, admin_token: str, body: str, authenticated: bool
) -> None:
    headers = {"content-type": "application/json"}
    if authenticated:
        headers["authorization"] = f"Bearer {admin_token}"
    response = await client.post("/graphql", content=body, headers=headers)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["message"] == "the request body must be a JSON object"
    assert error["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("authenticated", [False, True])
@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 100_000])
async def test_deeply_nested_variables_are_refused(
    client: httpx.AsyncClient, admin_token: str, levels: int, authenticated: bool
) -> None:
    headers = {"content-type": "application/json"}
    if authenticated:
        headers["authorization"] = f"Bearer {admin_token}"
    body = '{"query": "{ __typename }", "variables": {"a": ' + _deep(levels) + "}}"
    response = await client.post("/graphql", content=body, headers=headers)
    assert response.status_code == 400
    assert "nests deeper than" in response.json()["errors"][0]["message"]
    deep_get = await client.get(
        "/graphql",
        params={"query": "{ __typename }", "variables": _deep(5_000)},
        headers={"authorization": headers.get("authorization", "")},
    )
    assert deep_get.status_code == 400
    assert "nests deeper than" in deep_get.json()["errors"][0]["message"]


async def test_nesting_within_the_limit_still_answers(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    # The body is level 1 and its variables level 2: the arrays take the rest.
    variables = '{"a": ' + _deep(MAX_JSON_DEPTH - 2) + "}"
    response = await client.post(
        "/graphql",
        content='{"query": "{ __typename }", "variables": ' + variables + "}",
        headers={"content-type": "application/json", "authorization": f"Bearer {admin_token}"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"__typename": "Query"}}
