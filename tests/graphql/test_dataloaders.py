"""The number of SQL statements of a page does not grow with the page size.

Run both ways: compiled into one statement (``socialcrm.resolvers.compiled``), and by the resolvers
with their DataLoaders (``SCRM_COMPILED_READS=false``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from graphql_seed import T0
from sqlalchemy import event, insert

from socialcrm.server import tables
from socialcrm.server.settings import Settings

QUERY = """query($n: Int) { customers(first: $n) { edges { node { identities { channel } tags
  scores { influence } interactions(first: 5) { edges { node { content } } } } } } }"""


@pytest.fixture(params=[True, False], ids=["compiled", "resolvers"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The test settings, with compiled reads on and off."""
    return settings.model_copy(update={"compiled_reads": request.param})


@contextmanager
def counting(engine: Any) -> Iterator[list[str]]:
    """Collects the SQL statements ``engine`` sends while the block runs."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def _populate(sessions: Any, workspace_id: int, customers: int) -> None:
    async with sessions() as session, session.begin():
        ids = []
        for i in range(customers):
            row = tables.Customer(workspace_id=workspace_id, display_name=f"c{i}")
            session.add(row)
            ids.append(row)
        await session.flush()
        tag_rows = [tables.Tag(workspace_id=workspace_id, name=f"t{i}") for i in range(3)]
        session.add_all(tag_rows)
        await session.flush()
        await session.execute(
            insert(tables.Identity),
            [
                {
                    "workspace_id": workspace_id,
                    "customer_id": c.id,
                    "channel": channel,
                    "external_id": f"{channel}-{c.id}",
                }
                for c in ids
                for channel in ("wechat", "weibo")
            ],
        )
        await session.execute(
            insert(tables.CustomerTag),
            [
                {"workspace_id": workspace_id, "customer_id": c.id, "tag_id": t.id}
                for c in ids
                for t in tag_rows[:2]
            ],
        )
        await session.execute(
            insert(tables.Score),
            [{"workspace_id": workspace_id, "customer_id": c.id, "influence": 1.0} for c in ids],
        )
        await session.execute(
            insert(tables.Interaction),
            [
                {
                    "workspace_id": workspace_id,
                    "customer_id": c.id,
                    "channel": "wechat",
                    "kind": "message",
                    "direction": "inbound",
                    "content": f"m{n}",
                    "occurred_at": T0 + timedelta(minutes=n),
                    "data": {},
                    "raw": {},
                }
                for c in ids
                for n in range(7)
            ],
        )


async def test_statement_count_does_not_grow_with_page_size(
    graphql: Any, admin_token: str, workspace: Any, sessions: Any, services: Any
) -> None:
    await _populate(sessions, workspace.id, 50)
    await graphql(QUERY, {"n": 1}, token=admin_token)  # warm up the pool and token cache
    counts = {}
    for size in (5, 50):
        with counting(services.engine) as statements:
            result = await graphql(QUERY, {"n": size}, token=admin_token)
        assert "errors" not in result, result
        edges = result["data"]["customers"]["edges"]
        assert len(edges) == size
        node = edges[-1]["node"]
        assert len(node["identities"]) == 2 and len(node["tags"]) == 2
        assert [e["node"]["content"] for e in node["interactions"]["edges"]] == [
            "m6",
            "m5",
            "m4",
            "m3",
            "m2",
        ]
        counts[size] = len(statements)
    if services.settings.compiled_reads:
        assert counts[5] == counts[50] == 1, counts
        assert services.graphql_operations["compiled"] == 3
    else:
        # customers page + identities + tags + scores + interactions
        assert counts[5] == counts[50] == 5, counts
        assert services.graphql_operations["compiled"] == 0


DETAILS = """...Details
    latest: interactions(first: 1) { edges { node { content } } }
    filtered: interactions(first: 2, filter: $f) { totalCount edges { node { content } } }
    ... on Customer { wide: interactions(first: 3) { totalCount edges { node { content } } } }"""
FRAGMENT = "fragment Details on Customer { id identities { channel } tags scores { influence } }"


async def test_prefetched_and_ordinary_paths_agree(
    graphql: Any, admin_token: str, workspace: Any, sessions: Any
) -> None:
    await _populate(sessions, workspace.id, 3)
    listed = await graphql(
        "query($f: InteractionFilter) { customers(first: 3) { edges { node { "
        f"{DETAILS} }} }} }} }} {FRAGMENT}",
        {"f": {"channel": "wechat"}},
        token=admin_token,
    )
    assert "errors" not in listed, listed
    for edge in listed["data"]["customers"]["edges"]:
        node = edge["node"]
        assert [e["node"]["content"] for e in node["latest"]["edges"]] == ["m6"]
        assert [e["node"]["content"] for e in node["filtered"]["edges"]] == ["m6", "m5"]
        assert node["filtered"]["totalCount"] == node["wide"]["totalCount"] == 7
        assert [e["node"]["content"] for e in node["wide"]["edges"]] == ["m6", "m5", "m4"]
        # The same customer through `node(id)`, which does not prefetch, answers the same.
        single = await graphql(
            "query($id: ID!, $f: InteractionFilter) { node(id: $id) { ... on Customer { "
            f"{DETAILS} }} }} }} {FRAGMENT}",
            {"id": node["id"], "f": {"channel": "wechat"}},
            token=admin_token,
        )
        assert single["data"]["node"] == node, single
