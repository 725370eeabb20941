"""setLifecycleStage and clearLifecycleStage: a person pins a stage (recorded with the token
that did it) and gives it back to the rules."""

from __future__ import annotations

import re
from typing import Any

from mutation_helpers import Observer, create
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialcrm.schema.node import from_global_id, to_global_id
from socialcrm.server.tables import Customer, Workspace

FIELDS = """customer { id lifecycleStage lifecycleStageSetBy
  stageHistory { from to source setBy } }
userErrors { field message code }"""
SET = f"""mutation($input: SetLifecycleStageInput!) {{
  setLifecycleStage(input: $input) {{ {FIELDS} }} }}"""
CLEAR = f"""mutation($input: ClearLifecycleStageInput!) {{
  clearLifecycleStage(input: $input) {{ {FIELDS} }} }}"""
SET_BY = re.compile(r"^test \(token \d+\)$")


async def test_set_then_clear_a_stage(
    graphql: Any, write_token: str, workspace: Workspace, observer: Observer
) -> None:
    lin = await create(graphql, write_token, displayName="Lin")
    answer = await graphql(
        SET, {"input": {"customerId": lin["id"], "stage": "DECLINE"}}, token=write_token
    )
    payload = answer["data"]["setLifecycleStage"]
    assert payload["userErrors"] == []
    customer = payload["customer"]
    assert customer["lifecycleStage"] == "DECLINE"
    assert SET_BY.match(customer["lifecycleStageSetBy"]), customer
    latest = customer["stageHistory"][0]
    assert (latest["from"], latest["to"], latest["source"]) == ("EXPLORATION", "DECLINE", "MANUAL")
    assert latest["setBy"] == customer["lifecycleStageSetBy"]
    assert any(change.change == "stage" for change in observer.changes)

    answer = await graphql(CLEAR, {"input": {"customerId": lin["id"]}}, token=write_token)
    payload = answer["data"]["clearLifecycleStage"]
    assert payload["userErrors"] == []
    customer = payload["customer"]
    assert customer["lifecycleStageSetBy"] is None
    assert customer["stageHistory"][0]["source"] == "CLEARED"
    assert SET_BY.match(customer["stageHistory"][0]["setBy"])
    # The rules decide again: a customer who never interacted is exploring.
    assert customer["lifecycleStage"] == "EXPLORATION"


async def test_a_merged_customers_id_changes_the_survivor(
    graphql: Any,
    write_token: str,
    workspace: Workspace,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    survivor = await create(graphql, write_token, displayName="Survivor")
    parsed = from_global_id(survivor["id"])
    assert parsed is not None
    async with sessions() as session, session.begin():
        merged = Customer(workspace_id=workspace.id, display_name="Old", merged_into_id=parsed[1])
        session.add(merged)
    answer = await graphql(
        SET,
        {"input": {"customerId": to_global_id("Customer", merged.id), "stage": "STABILITY"}},
        token=write_token,
    )
    customer = answer["data"]["setLifecycleStage"]["customer"]
    assert customer["id"] == survivor["id"]
    assert customer["lifecycleStage"] == "STABILITY"


async def test_refusals_change_nothing(
    graphql: Any,
    write_token: str,
    read_token: str,
    make_workspace: Any,
    make_token: Any,
    workspace: Workspace,
    snapshot: Any,
) -> None:
    lin = await create(graphql, write_token, displayName="Lin")
    theirs = await create(
        graphql, await make_token(await make_workspace(), "write"), displayName="Theirs"
    )
    assert workspace.id is not None
    before = await snapshot(workspace.id)
    answer = await graphql(
        SET, {"input": {"customerId": theirs["id"], "stage": "LOST"}}, token=write_token
    )
    [error] = answer["data"]["setLifecycleStage"]["userErrors"]
    assert (error["field"], error["code"]) == ("customerId", "NOT_FOUND")
    answer = await graphql(CLEAR, {"input": {"customerId": "garbage"}}, token=write_token)
    [error] = answer["data"]["clearLifecycleStage"]["userErrors"]
    assert (error["field"], error["code"]) == ("customerId", "INVALID")
    answer = await graphql(
        SET, {"input": {"customerId": lin["id"], "stage": "LOST"}}, token=read_token
    )
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await snapshot(workspace.id) == before


async def test_update_customer_sets_a_new_stage_by_hand(graphql: Any, write_token: str) -> None:
    lin = await create(graphql, write_token, displayName="Lin")
    update = f"""mutation($id: ID!, $input: UpdateCustomerInput!) {{
      updateCustomer(id: $id, input: $input) {{ {FIELDS} }} }}"""
    # The same stage again (a form sending every field) pins nothing.
    same = await graphql(
        update,
        {"id": lin["id"], "input": {"lifecycleStage": "EXPLORATION", "email": "l@example.com"}},
        token=write_token,
    )
    customer = same["data"]["updateCustomer"]["customer"]
    assert (customer["lifecycleStageSetBy"], customer["stageHistory"]) == (None, [])
    answer = await graphql(
        update, {"id": lin["id"], "input": {"lifecycleStage": "FORMATION"}}, token=write_token
    )
    customer = answer["data"]["updateCustomer"]["customer"]
    assert customer["lifecycleStage"] == "FORMATION"
    assert SET_BY.match(customer["lifecycleStageSetBy"])
    assert customer["stageHistory"][0]["source"] == "MANUAL"
