"""The demo workspace: what it holds, that it loads once, the same way every time, on both
databases, and that its channel accounts answer their webhooks."""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from socialcrm.server.auth import create_token
from socialcrm.server.demo import DEMO_SLUG, DemoResult, load_demo
from socialcrm.server.migrations import upgrade_database
from socialcrm.server.services import Services
from socialcrm.server.settings import Settings
from socialcrm.server.standalone import standalone_services
from socialcrm.server.tables import (
    ChannelAccount,
    Community,
    Customer,
    CustomerTag,
    Identity,
    Interaction,
    Membership,
    Relationship,
    Score,
    ScoreHistory,
    StageChange,
    Tag,
    Workspace,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def demo(services: Services) -> DemoResult:
    """The demo workspace in the test run's PostgreSQL database (loaded once per run)."""
    return await load_demo(services, public_url="http://testserver")


async def _rows(session: AsyncSession, query: Any) -> list[Any]:
    return list((await session.execute(query)).all())


async def test_the_demo_holds_a_small_social_crm(
    demo: DemoResult, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ws = demo.workspace_id
    async with sessions() as session:
        customers = list(
            (
                await session.execute(select(Customer).where(col(Customer.workspace_id) == ws))
            ).scalars()
        )
        assert 30 <= len(customers) <= 60
        names = [c.display_name for c in customers]
        assert any(_has_cjk(n) for n in names) and any(n.isascii() for n in names)
        # The stages are inferred from the generated behaviour, not typed in.
        assert {"formation", "stability", "decline", "lost"} <= {
            c.lifecycle_stage for c in customers
        }

        namespaces = dict(
            await _rows(
                session,
                select(Identity.channel, func.count())
                .where(col(Identity.workspace_id) == ws)
                .group_by(col(Identity.channel)),
            )
        )
        assert {"wechat", "wechat.unionid", "weibo", "email"} <= set(namespaces)

        tags = {
            name
            for (name,) in await _rows(
                session,
                select(Tag.name)
                .join(CustomerTag, col(CustomerTag.tag_id) == col(Tag.id))
                .where(col(Tag.workspace_id) == ws),
            )
        }
        assert {"高消费", "coffee-lover", "VIP"} <= tags

        roles = {
            role
            for (role,) in await _rows(
                session, select(Membership.role).where(col(Membership.workspace_id) == ws)
            )
        }
        assert roles == {"member", "admin", "opinion_leader"}
        communities = await _rows(
            session, select(Community.channel).where(col(Community.workspace_id) == ws)
        )
        assert 3 <= len(communities) <= 4
        assert {"wechat", "weibo", "email"} <= {c for (c,) in communities}

        interactions = list(
            (
                await session.execute(
                    select(Interaction).where(col(Interaction.workspace_id) == ws)
                )
            ).scalars()
        )
        assert 200 <= len(interactions) <= 1000
        kinds = {i.kind for i in interactions}
        assert {"message", "comment", "mention", "repost", "follow"} <= kinds
        assert {"inbound", "outbound"} == {i.direction for i in interactions}
        contents = [i.content or "" for i in interactions]
        assert any(_has_cjk(c) for c in contents) and any(c.isascii() and c for c in contents)
        # The text analysis read every text: languages, sentiment and complaints.
        texts = [i for i in interactions if (i.content or "").strip()]
        assert all(i.language for i in texts)
        assert {"zh", "en"} <= {i.language for i in texts}
        complaints = [i for i in interactions if i.is_complaint]
        assert complaints and all((i.sentiment or 0) < 0 for i in complaints)
        assert any((i.sentiment or 0) > 0.3 for i in texts)
        purchases = [i for i in interactions if i.kind == "purchase"]
        assert purchases and all((i.amount or 0) > 0 and i.currency for i in purchases)
        assert {"CNY", "USD"} <= {i.currency for i in purchases}
        newest = max(i.occurred_at for i in interactions)
        oldest = min(i.occurred_at for i in interactions)
        assert newest <= datetime.now(UTC)
        assert oldest >= datetime.now(UTC) - timedelta(days=401)
        assert any(i.in_reply_to_id for i in interactions)

        edge_kinds = {
            kind
            for (kind,) in await _rows(
                session, select(Relationship.kind).where(col(Relationship.workspace_id) == ws)
            )
        }
        assert {"mention", "repost", "referral"} <= edge_kinds

        scores = list(
            (await session.execute(select(Score).where(col(Score.workspace_id) == ws))).scalars()
        )
        assert len(scores) == len(customers)
        # Computed by the scoring engine: spread out, in range, influence from the graph.
        assert max(s.social_value for s in scores) > 50 > min(s.social_value for s in scores)
        assert sum(1 for s in scores if s.influence > 0) >= 5
        assert any(s.sentiment < 0 for s in scores) and any(s.sentiment > 0 for s in scores)
        assert all(0 <= s.churn_risk <= 1 and -1 <= s.sentiment <= 1 for s in scores)
        assert max(s.churn_risk for s in scores) > 0.5

        days = await _rows(
            session,
            select(ScoreHistory.customer_id, func.count())
            .where(col(ScoreHistory.workspace_id) == ws)
            .group_by(col(ScoreHistory.customer_id)),
        )
        assert len(days) == len(customers) and max(n for _, n in days) >= 10
        moves = await session.scalar(
            select(func.count()).select_from(StageChange).where(col(StageChange.workspace_id) == ws)
        )
        assert (moves or 0) >= len(customers)

        accounts = {
            a.channel: a
            for a in (
                await session.execute(
                    select(ChannelAccount).where(col(ChannelAccount.workspace_id) == ws)
                )
            ).scalars()
        }
    assert accounts["wechat"].slug == "demo-wechat"
    assert accounts["wechat"].settings["mode"] == "plain"
    assert {"wechat", "weibo", "email"} <= set(accounts)
    assert ("wechat", "demo-wechat", "http://testserver/webhooks/wechat/demo-wechat") in (
        demo.accounts
    )


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


async def test_loading_twice_changes_nothing(
    demo: DemoResult, services: Services, sessions: async_sessionmaker[AsyncSession]
) -> None:
    again = await load_demo(services, public_url="http://testserver")
    assert not again.created
    assert again.workspace_id == demo.workspace_id
    assert (again.customers, again.interactions) == (
        await _count(sessions, Customer, demo.workspace_id),
        await _count(sessions, Interaction, demo.workspace_id),
    )
    async with sessions() as session:
        demos = await session.scalar(
            select(func.count()).select_from(Workspace).where(col(Workspace.slug) == DEMO_SLUG)
        )
    assert demos == 1


async def _count(sessions: async_sessionmaker[AsyncSession], table: Any, ws: int) -> int:
    async with sessions() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(table).where(table.workspace_id == ws)
            )
            or 0
        )


async def _snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the demo wrote, in a form that does not depend on row ids."""
    await upgrade_database(url)
    async with standalone_services(Settings(database_url=url)) as services:
        sessions = services.sessions
        result = await load_demo(services, public_url="http://x", now=NOW)
        assert result.created
        async with sessions() as session:
            names = dict(await _rows(session, select(Customer.id, Customer.display_name)))
            return {
                "customers": sorted(
                    await _rows(
                        session,
                        select(
                            Customer.display_name,
                            Customer.lifecycle_stage,
                            Customer.created_at,
                            Customer.last_seen_at,
                        ),
                    )
                ),
                "identities": sorted(
                    (names[c], ch, e)
                    for c, ch, e in await _rows(
                        session,
                        select(Identity.customer_id, Identity.channel, Identity.external_id),
                    )
                ),
                "interactions": sorted(
                    (names[c], k, d, content or "", at, x or "")
                    for c, k, d, content, at, x in await _rows(
                        session,
                        select(
                            Interaction.customer_id,
                            Interaction.kind,
                            Interaction.direction,
                            Interaction.content,
                            Interaction.occurred_at,
                            Interaction.external_id,
                        ),
                    )
                ),
                "relationships": sorted(
                    (names[s], names[t], k, n)
                    for s, t, k, n in await _rows(
                        session,
                        select(
                            Relationship.source_id,
                            Relationship.target_id,
                            Relationship.kind,
                            Relationship.count,
                        ),
                    )
                ),
                "scores": sorted(
                    (names[c], e, i, v, s)
                    for c, e, i, v, s in await _rows(
                        session,
                        select(
                            Score.customer_id,
                            Score.engagement,
                            Score.influence,
                            Score.value,
                            Score.sentiment,
                        ),
                    )
                ),
                "history": sorted(
                    (names[c], d, sv)
                    for c, d, sv in await _rows(
                        session,
                        select(
                            ScoreHistory.customer_id, ScoreHistory.day, ScoreHistory.social_value
                        ),
                    )
                ),
            }


async def test_the_same_seed_gives_the_same_demo_on_sqlite(tmp_path: Path) -> None:
    first = await _snapshot(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    second = await _snapshot(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    assert first == second
    assert len(first["customers"]) >= 30 and len(first["interactions"]) >= 200


async def test_concurrent_loads_make_one_demo(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'race.db'}"
    await upgrade_database(url)
    async with standalone_services(Settings(database_url=url)) as services:
        results = await asyncio.gather(
            load_demo(services, public_url="http://x", now=NOW),
            load_demo(services, public_url="http://x", now=NOW),
        )
        assert sorted(r.created for r in results) == [False, True]
        assert results[0].workspace_id == results[1].workspace_id


def _wechat_signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


async def test_the_demo_wechat_account_answers_its_webhook(
    demo: DemoResult,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    token = "scrmdemo"
    timestamp, nonce = str(int(time.time())), "demo-nonce"
    signature = _wechat_signature(token, timestamp, nonce)
    check = await client.get(
        "/webhooks/wechat/demo-wechat",
        params={"signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": "hi"},
    )
    assert check.status_code == 200, check.text
    assert check.text == "hi"

    async with sessions() as session:
        customer_id, openid = (
            await session.execute(
                select(Identity.customer_id, Identity.external_id)
                .where(
                    col(Identity.workspace_id) == demo.workspace_id,
                    col(Identity.channel) == "wechat",
                )
                .order_by(col(Identity.id))
                .limit(1)
            )
        ).one()
    before = await _count_for(sessions, customer_id)
    body = (
        "<xml><ToUserName><![CDATA[gh_demo]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[你好，请问今天营业吗？]]></Content>"
        "<MsgId>7300000000000000001</MsgId></xml>"
    )
    push = await client.post(
        "/webhooks/wechat/demo-wechat",
        params={"signature": signature, "timestamp": timestamp, "nonce": nonce, "openid": openid},
        content=body.encode(),
        headers={"Content-Type": "text/xml"},
    )
    assert push.status_code == 200, push.text
    for _ in range(200):  # storing may finish after the answer: wait up to 10 s
        if await _count_for(sessions, customer_id) != before:
            break
        await asyncio.sleep(0.05)
    assert await _count_for(sessions, customer_id) == before + 1


async def _count_for(sessions: async_sessionmaker[AsyncSession], customer_id: int) -> int:
    async with sessions() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(Interaction)
                .where(col(Interaction.customer_id) == customer_id)
            )
            or 0
        )


async def test_the_demo_answers_graphql(
    demo: DemoResult, sessions: async_sessionmaker[AsyncSession], graphql: Any
) -> None:
    async with sessions() as session, session.begin():
        token = await create_token(session, demo.workspace_id, "read", name="demo test")
    answer = await graphql(
        "{ viewer { workspace { slug } } customers(first: 5, orderBy: {field: SOCIAL_VALUE,"
        " direction: DESC}) { totalCount edges { node { displayName identities { channel"
        " externalId } tags lifecycleStage scores { socialValue } scoreHistory { day } } } } }",
        token=token,
    )
    assert "errors" not in answer, answer
    assert answer["data"]["viewer"]["workspace"]["slug"] == "demo"
    customers = answer["data"]["customers"]
    assert customers["totalCount"] == demo.customers
    assert len(customers["edges"]) == 5
    nodes = [edge["node"] for edge in customers["edges"]]
    assert all(node["identities"] for node in nodes)
    values = [node["scores"]["socialValue"] for node in nodes]
    assert values == sorted(values, reverse=True) and values[0] > 50
    assert all(len(node["scoreHistory"]) >= 2 for node in nodes)
