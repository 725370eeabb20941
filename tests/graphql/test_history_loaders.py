"""A page of customers with their score history, stage history and referrals costs one
statement per field (resolvers) or one in all (compiled), whatever the page size."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from graphql_seed import T0
from sqlalchemy import insert
from test_dataloaders import counting

from socialcrm.server import tables
from socialcrm.server.settings import Settings

QUERY = """query($n: Int) { customers(first: $n) { edges { node { displayName
  lifecycleStageSetBy
  recent: scoreHistory(since: "2026-01-03T00:00:00Z") { day socialValue }
  early: scoreHistory(until: "2026-01-02T00:00:00Z") { day }
  stageHistory { from to source setBy }
  referrals { brought purchased }
} } } }"""


@pytest.fixture(params=[True, False], ids=["compiled", "resolvers"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The test settings, with compiled reads on and off."""
    return settings.model_copy(update={"compiled_reads": request.param})


async def _populate(sessions: Any, workspace_id: int, customers: int) -> None:
    async with sessions() as session, session.begin():
        rows = [
            tables.Customer(
                workspace_id=workspace_id, display_name=f"c{i}", stage_set_by=f"desk {i}"
            )
            for i in range(customers)
        ]
        session.add_all(rows)
        await session.flush()
        ids = [row.id for row in rows]
        await session.execute(
            insert(tables.ScoreHistory),
            [
                {
                    "workspace_id": workspace_id,
                    "customer_id": pk,
                    "day": (T0 + timedelta(days=day)).date(),
                    "engagement": 1.0,
                    "influence": 1.0,
                    "sentiment": 0.0,
                    "value": 1.0,
                    "social_value": float(day),
                    "churn_risk": 0.5,
                }
                for pk in ids
                for day in range(4)
            ],
        )
        await session.execute(
            insert(tables.StageChange),
            [
                {
                    "workspace_id": workspace_id,
                    "customer_id": pk,
                    "from_stage": before,
                    "to_stage": after,
                    "source": "rule",
                    "changed_at": T0 + timedelta(hours=hour),
                }
                for pk in ids
                for hour, (before, after) in enumerate(
                    ((None, "exploration"), ("exploration", "formation"))
                )
            ],
        )
        # Each customer was brought by the one stored before it; every other one purchased.
        await session.execute(
            insert(tables.Interaction),
            [
                {
                    "workspace_id": workspace_id,
                    "customer_id": pk,
                    "channel": "manual",
                    "kind": "purchase",
                    "direction": "inbound",
                    "occurred_at": T0,
                    "data": {},
                    "raw": {},
                    "keywords": [],
                }
                for pk in ids[1::2]
            ],
        )
        await session.execute(
            insert(tables.Relationship),
            [
                {
                    "workspace_id": workspace_id,
                    "source_id": newcomer,
                    "target_id": referrer,
                    "kind": "referral",
                }
                for referrer, newcomer in itertools.pairwise(ids)
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
        first = edges[0]["node"]
        assert first["lifecycleStageSetBy"] == "desk 0"
        assert first["recent"] == [
            {"day": "2026-01-03", "socialValue": 2.0},
            {"day": "2026-01-04", "socialValue": 3.0},
        ]
        assert [point["day"] for point in first["early"]] == ["2026-01-01", "2026-01-02"]
        assert [change["to"] for change in first["stageHistory"]] == ["FORMATION", "EXPLORATION"]
        assert first["referrals"] == {"brought": 1, "purchased": 1}
        assert edges[1]["node"]["referrals"] == {"brought": 1, "purchased": 0}
        counts[size] = len(statements)
    if services.settings.compiled_reads:
        assert counts[5] == counts[50] == 1, counts
    else:
        # customers page + two score history windows + stage history + referrals
        assert counts[5] == counts[50] == 5, counts
