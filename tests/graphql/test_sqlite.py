"""The read queries work on the embedded SQLite database too (text search, keyset, ranks)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from graphql_seed import T0, Seed, gid

from socialcrm.server import tables
from socialcrm.server.app import create_app
from socialcrm.server.auth import create_token
from socialcrm.server.migrations import upgrade_database
from socialcrm.server.settings import Settings
from socialcrm.server.tables import Workspace


@pytest.fixture
async def sqlite_app(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'scrm.db'}"
    await upgrade_database(url)
    app = create_app(Settings(database_url=url, public_url="http://testserver", _env_file=None))  # type: ignore[call-arg]
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, app.state.services


async def test_customers_on_sqlite(sqlite_app: tuple[httpx.AsyncClient, Any]) -> None:
    client, services = sqlite_app
    seed = Seed(services.sessions)
    workspace = await seed.add(Workspace(slug="demo", name="Demo"))
    async with services.sessions() as session, session.begin():
        token = await create_token(session, workspace.id, "read")
    li = await seed.customer(workspace, display_name="Li Lei", last_seen_at=T0)
    han = await seed.customer(workspace, display_name="Han", last_seen_at=T0 + timedelta(days=1))
    await seed.customer(workspace, display_name="王小明")
    await seed.identity(li, "wechat.unionid", handle="LEILEI")
    await seed.score(han, influence=5.0)
    for minute in range(4):
        await seed.interaction(li, minute, content=f"li {minute}")
    group = await seed.community(workspace, name="Tea")
    await seed.member(group, han, "admin")

    async def run(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
        )
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        return body["data"]

    search = await run(
        '{ customers(filter: {search: "leilei", channel: "wechat"}) { totalCount } }'
    )
    assert search["customers"]["totalCount"] == 1
    ordered: list[str] = []
    after = None
    for _ in range(5):
        data = await run(
            """query($a: String) { customers(first: 1, after: $a,
                 orderBy: {field: LAST_SEEN_AT, direction: DESC}) {
                 pageInfo { hasNextPage endCursor } edges { node { displayName } } } }""",
            {"a": after},
        )
        ordered += [e["node"]["displayName"] for e in data["customers"]["edges"]]
        if not data["customers"]["pageInfo"]["hasNextPage"]:
            break
        after = data["customers"]["pageInfo"]["endCursor"]
    assert ordered == ["Han", "Li Lei", "王小明"]
    by_score = await run(
        "{ customers(first: 1, orderBy: {field: INFLUENCE, direction: DESC}) "
        "{ edges { node { displayName scores { influence } } } } }"
    )
    assert by_score["customers"]["edges"][0]["node"]["scores"]["influence"] == 5.0
    nested = await run(
        "{ customers { edges { node { displayName interactions(first: 2) { totalCount "
        "edges { node { content } } } } } } }"
    )
    li_node = nested["customers"]["edges"][0]["node"]
    assert [e["node"]["content"] for e in li_node["interactions"]["edges"]] == ["li 3", "li 2"]
    members = await run(
        "query($id: ID!) { community(id: $id) { members "
        "{ edges { role node { displayName } } } } }",
        {"id": gid(group)},
    )
    assert members["community"]["members"]["edges"] == [
        {"role": "ADMIN", "node": {"displayName": "Han"}}
    ]
    # The compiled reads are PostgreSQL's: on SQLite every request ran the resolvers.
    assert services.graphql_operations["compiled"] == 0
    assert services.graphql_operations["resolvers"] >= 5


async def test_understanding_reads_on_sqlite(sqlite_app: tuple[httpx.AsyncClient, Any]) -> None:
    client, services = sqlite_app
    seed = Seed(services.sessions)
    workspace = await seed.add(Workspace(slug="insight", name="Insight"))
    async with services.sessions() as session, session.begin():
        token = await create_token(session, workspace.id, "read")
    mei = await seed.customer(
        workspace, display_name="Mei", language="zh-CN", stage_set_by="desk (token 1)"
    )
    tom = await seed.customer(workspace, display_name="Tom", language="en")
    newcomer = await seed.customer(workspace, display_name="Newcomer")
    await seed.score(mei, complaint_count=2, last_complaint_at=T0 + timedelta(days=3))
    await seed.interaction(
        mei,
        1,
        content="快递太慢了",
        sentiment=-0.8,
        language="zh",
        is_complaint=True,
        keywords=["快递", "慢"],
    )
    await seed.interaction(
        tom, 2, content="Great!", sentiment=0.9, language="en", is_complaint=False
    )
    await seed.interaction(
        tom, 3, channel="manual", kind="purchase", amount=99.5, currency="USD", content=None
    )
    for day, social_value in ((0, 10.0), (1, 12.5), (5, 20.0)):
        await seed.add(
            tables.ScoreHistory(
                workspace_id=workspace.id,
                customer_id=mei.id,
                day=(T0 + timedelta(days=day)).date(),
                engagement=1.0,
                influence=2.0,
                sentiment=-0.5,
                value=0.0,
                social_value=social_value,
                churn_risk=0.25,
            )
        )
    for minutes, (before, after, source) in enumerate(
        ((None, "exploration", "rule"), ("exploration", "decline", "manual"))
    ):
        await seed.add(
            tables.StageChange(
                workspace_id=workspace.id,
                customer_id=mei.id,
                from_stage=before,
                to_stage=after,
                source=source,
                set_by="desk (token 1)" if source == "manual" else None,
                changed_at=T0 + timedelta(minutes=minutes),
            )
        )
    await seed.add(
        tables.Relationship(
            workspace_id=workspace.id, source_id=newcomer.id, target_id=mei.id, kind="referral"
        ),
        tables.Relationship(
            workspace_id=workspace.id, source_id=tom.id, target_id=mei.id, kind="referral"
        ),
    )

    async def run(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
        )
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        return body["data"]

    filtered = await run(
        """{ zh: customers(filter: {language: ["ZH"], complained: true}) { totalCount }
             calm: customers(filter: {complained: false}) { edges { node { displayName } } }
             recent: customers(filter: {complainedSince: "2026-01-04T00:00:00Z"}) {
               edges { node { displayName } } } }"""
    )
    assert filtered["zh"]["totalCount"] == 1
    assert [e["node"]["displayName"] for e in filtered["calm"]["edges"]] == ["Tom", "Newcomer"]
    assert [e["node"]["displayName"] for e in filtered["recent"]["edges"]] == ["Mei"]
    interactions = await run(
        """{ complaints: interactions(filter: {isComplaint: true, language: ["zh"],
               sentiment: {max: 0}}) { edges { node { content keywords isComplaint } } }
             purchases: interactions(filter: {kind: [PURCHASE]}) {
               edges { node { amount currency keywords language } } } }"""
    )
    assert interactions["complaints"]["edges"] == [
        {"node": {"content": "快递太慢了", "keywords": ["快递", "慢"], "isComplaint": True}}
    ]
    assert interactions["purchases"]["edges"] == [
        {"node": {"amount": 99.5, "currency": "USD", "keywords": [], "language": None}}
    ]
    portrait = await run(
        """query($id: ID!) { customer(id: $id) { lifecycleStageSetBy
             scoreHistory(since: "2026-01-02T00:00:00Z") { day socialValue }
             stageHistory { from to source setBy }
             referrals { brought purchased } } }""",
        {"id": gid(mei)},
    )
    assert portrait["customer"] == {
        "lifecycleStageSetBy": "desk (token 1)",
        "scoreHistory": [
            {"day": "2026-01-02", "socialValue": 12.5},
            {"day": "2026-01-06", "socialValue": 20.0},
        ],
        "stageHistory": [
            {"from": "EXPLORATION", "to": "DECLINE", "source": "MANUAL", "setBy": "desk (token 1)"},
            {"from": None, "to": "EXPLORATION", "source": "RULE", "setBy": None},
        ],
        "referrals": {"brought": 2, "purchased": 1},
    }
    assert services.graphql_operations["compiled"] == 0
