"""A merged customer's id reads as the survivor's on the embedded SQLite database too."""

from __future__ import annotations

from typing import Any

import httpx
from graphql_seed import Seed, gid
from test_sqlite import sqlite_app

from socialcrm.server.auth import create_token
from socialcrm.server.tables import Workspace

__all__ = ["sqlite_app"]  # the fixture, shared with test_sqlite


async def test_merged_ids_on_sqlite(sqlite_app: tuple[httpx.AsyncClient, Any]) -> None:
    client, services = sqlite_app
    seed = Seed(services.sessions)
    workspace = await seed.add(Workspace(slug="demo", name="Demo"))
    async with services.sessions() as session, session.begin():
        token = await create_token(session, workspace.id, "read")
    li = await seed.customer(workspace, display_name="Li Lei")
    gone = await seed.customer(workspace, display_name="Old Li", merged_into_id=li.id)
    for minute in range(3):
        await seed.interaction(li, minute, content=f"li {minute}")
    response = await client.post(
        "/graphql",
        json={
            "query": """query($id: ID!) {
                node(id: $id) { ... on Customer { id } }
                interactions(filter: {customer: $id}) { totalCount }
            }""",
            "variables": {"id": gid(gone)},
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.json() == {"data": {"node": {"id": gid(li)}, "interactions": {"totalCount": 3}}}
