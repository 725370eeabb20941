"""Scopes and workspaces: read tokens change nothing; B's ids are not found from A."""

from __future__ import annotations

from typing import Any

import pytest
from mutation_helpers import create

from socialcrm.server.tables import Workspace

ERRORS = "userErrors { field code }"


def operations(ids: dict[str, str]) -> dict[str, str]:
    """One operation per mutation, aimed at the objects in ``ids``."""
    customer, other, community = ids["customer"], ids["other"], ids["community"]
    return {
        "createCustomer": f'createCustomer(input: {{displayName: "X"}}) {{ {ERRORS} }}',
        "updateCustomer": (
            f'updateCustomer(id: "{customer}", input: {{displayName: "X"}}) {{ {ERRORS} }}'
        ),
        "tagCustomer": f'tagCustomer(customerId: "{customer}", tags: ["x"]) {{ {ERRORS} }}',
        "untagCustomer": f'untagCustomer(customerId: "{customer}", tags: ["t"]) {{ {ERRORS} }}',
        "mergeCustomers": (
            f'mergeCustomers(survivorId: "{customer}", mergedId: "{other}") {{ {ERRORS} }}'
        ),
        "createCommunity": f'createCommunity(input: {{name: "X"}}) {{ {ERRORS} }}',
        "addCommunityMember": (
            f'addCommunityMember(communityId: "{community}", customerId: "{customer}") '
            f"{{ {ERRORS} }}"
        ),
        "removeCommunityMember": (
            f'removeCommunityMember(communityId: "{community}", customerId: "{customer}") '
            f"{{ {ERRORS} }}"
        ),
        "recordInteraction": (
            f'recordInteraction(input: {{customerId: "{customer}", kind: NOTE}}) {{ {ERRORS} }}'
        ),
        "connectChannel": (
            'connectChannel(input: {channel: "quill", slug: "q-auth", '
            f'settings: {{api_key: "key-123456"}}}}) {{ {ERRORS} }}'
        ),
        "sendMessage": (
            f'sendMessage(input: {{customerId: "{customer}", text: "hi"}}) {{ {ERRORS} }}'
        ),
    }


@pytest.fixture
async def objects(graphql: Any, write_token: str) -> dict[str, str]:
    """Two customers (one tagged, one a member) and a community of ``workspace``."""
    customer = await create(graphql, write_token, displayName="A1", tags=["t"])
    other = await create(graphql, write_token, displayName="A2")
    answer = await graphql(
        'mutation { createCommunity(input: {name: "C"}) { community { id } } }', token=write_token
    )
    community = answer["data"]["createCommunity"]["community"]["id"]
    answer = await graphql(
        f'mutation {{ addCommunityMember(communityId: "{community}", '
        f'customerId: "{customer["id"]}") {{ userErrors {{ code }} }} }}',
        token=write_token,
    )
    assert answer["data"]["addCommunityMember"]["userErrors"] == []
    return {"customer": customer["id"], "other": other["id"], "community": community}


async def test_read_tokens_cannot_mutate(
    graphql: Any,
    read_token: str,
    write_token: str,
    workspace: Workspace,
    objects: dict[str, str],
    snapshot: Any,
    quill: Any,
):
    assert workspace.id is not None
    before = await snapshot(workspace.id)
    for name, field in operations(objects).items():
        answer = await graphql(f"mutation {{ {field} }}", token=read_token)
        assert answer.get("data") is None, (name, answer)
        codes = {error["extensions"]["code"] for error in answer["errors"]}
        assert codes == {"FORBIDDEN"}, (name, answer)
    answer = await graphql(
        f"mutation {{ {operations(objects)['connectChannel']} }}", token=write_token
    )
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await snapshot(workspace.id) == before


async def test_no_token_cannot_mutate(graphql: Any, objects: dict[str, str]):
    answer = await graphql(f"mutation {{ {operations(objects)['createCustomer']} }}")
    assert answer.get("data") is None
    assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_other_workspaces_ids_are_not_found(
    graphql: Any,
    workspace: Workspace,
    objects: dict[str, str],
    make_workspace: Any,
    make_token: Any,
    snapshot: Any,
    quill: Any,
):
    intruder = await make_workspace("Intruder")
    token = await make_token(intruder, "admin")
    # The intruder's own customer, so that merge has one valid id and one foreign id.
    own = await create(graphql, token, displayName="B1")
    assert workspace.id is not None
    before = await snapshot(workspace.id)
    expected_field = {"updateCustomer": "id", "mergeCustomers": "survivorId"}
    skip = {"createCustomer", "createCommunity", "connectChannel"}
    for name, field in operations(objects).items():
        if name in skip:
            continue
        answer = await graphql(f"mutation {{ {field} }}", token=token)
        assert "errors" not in answer, (name, answer)
        errors = answer["data"][name]["userErrors"]
        assert [e["code"] for e in errors] == ["NOT_FOUND"], (name, errors)
        assert errors[0]["field"] == expected_field.get(name, "customerId"), (name, errors)
    # Merging a foreign customer into one's own is refused the same way.
    answer = await graphql(
        f'mutation {{ mergeCustomers(survivorId: "{own["id"]}", '
        f'mergedId: "{objects["customer"]}") {{ {ERRORS} }} }}',
        token=token,
    )
    assert answer["data"]["mergeCustomers"]["userErrors"] == [
        {"field": "mergedId", "code": "NOT_FOUND"}
    ]
    assert await snapshot(workspace.id) == before
