"""The live path: scores, history and stages follow each stored interaction."""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from helpers.acme import deliver, message
from scoring_helpers import (
    CustomerFactory,
    Recorder,
    customer_of,
    history_of,
    record,
    score_of,
    stage_changes_of,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from socialcrm.plugins.manager import PluginManager
from socialcrm.server.app import create_app
from socialcrm.server.bus import scores_topic
from socialcrm.server.errors import ChangeRejected
from socialcrm.server.scoring.manual import set_manual_stage
from socialcrm.server.scoring.settings import save_settings
from socialcrm.server.settings import Settings
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import ChannelAccount, Customer, Identity, Interaction, Workspace

ONE_MESSAGE = 100 * (1 - math.exp(-3 / 10))
"""Engagement after one inbound message (weight 3, scale 10), at its own time."""


async def test_an_interaction_moves_the_scores_and_is_announced(
    services: Any, make_customer: CustomerFactory, sessions: async_sessionmaker[AsyncSession]
) -> None:
    li = await make_customer()
    at = utcnow() - timedelta(hours=1)
    async with services.bus.subscribe(scores_topic(li.workspace_id)) as events:
        await record(services, li, at, content="你好")
        envelope = await asyncio.wait_for(anext(events), 5)
    score = await score_of(sessions, li.id)
    assert score is not None
    assert score.engagement == pytest.approx(ONE_MESSAGE)
    assert score.inbound_count == 1 and score.activity_recent == pytest.approx(3.0)
    assert score.measured_at == at and score.first_seen_at == at == score.last_inbound_at
    assert envelope["customer_id"] == li.id
    assert envelope["scores"]["engagement"] == pytest.approx(ONE_MESSAGE)
    assert envelope["deltas"]["engagement"] == pytest.approx(ONE_MESSAGE / 100, abs=1e-6)
    assert envelope["stage"] == envelope["previous_stage"] == "exploration"
    assert envelope["at"] == at.isoformat()
    [day] = await history_of(sessions, li.id)
    assert day.day == at.date() and day.engagement == pytest.approx(score.engagement)


async def test_a_webhook_delivery_is_scored_once_even_when_delivered_again(
    services: Any,
    client: httpx.AsyncClient,
    account: ChannelAccount,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = message(**{"from": "u-scored"})
    second = message(**{"from": "u-scored"})
    assert (await deliver(client, account.slug, first)).status_code == 200
    await services.drain()
    assert (await deliver(client, account.slug, first)).status_code == 200  # a retry
    assert (await deliver(client, account.slug, first, second)).status_code == 200
    await services.drain()
    async with sessions() as session:
        customer_id = await session.scalar(
            select(col(Identity.customer_id)).where(
                col(Identity.workspace_id) == account.workspace_id,
                col(Identity.external_id) == "u-scored",
            )
        )
    assert customer_id is not None
    score = await score_of(sessions, customer_id)
    assert score is not None
    assert score.inbound_count == 2
    assert score.activity_recent == pytest.approx(6.0, rel=1e-3)


async def test_purchases_count_money_only_when_it_is_usable(
    services: Any,
    make_customer: CustomerFactory,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    caplog: pytest.LogCaptureFixture,
) -> None:
    han = await make_customer("韩梅梅")
    at = utcnow() - timedelta(days=3)
    with caplog.at_level(logging.WARNING, logger="socialcrm.server.scoring.enrich"):
        for amount in ("abc", -5, 0, None, True):
            data = {"currency": "CNY"} if amount is None else {"amount": amount, "currency": "CNY"}
            row = await record(services, han, at, kind="purchase", data=data)
            assert row.amount is None
    assert caplog.text.count("counted without money") == 5
    score = await score_of(sessions, han.id)
    assert score is not None
    assert score.purchase_count == 5 and score.purchase_total == 0.0
    cny = await record(
        services, han, at, kind="purchase", data={"amount": "120.5", "currency": "cny"}
    )
    assert (cny.amount, cny.currency) == (120.5, "CNY")
    home = await record(services, han, at, kind="purchase", data={"amount": 9.5})
    assert home.currency == "CNY"  # no currency: the workspace's
    usd = await record(services, han, at, kind="purchase", data={"amount": 10, "currency": "USD"})
    assert (usd.amount, usd.currency) == (10.0, "USD")
    score = await score_of(sessions, han.id)
    assert score is not None
    # The dollars have no rate yet: they count as a purchase, not as money.
    assert score.purchase_count == 8 and score.purchase_total == pytest.approx(130.0)
    async with sessions() as session, session.begin():
        await save_settings(session, workspace.id, {"exchange_rates": {"USD": 7.0}})
    await record(services, han, at, kind="purchase", data={"amount": 10, "currency": "USD"})
    score = await score_of(sessions, han.id)
    assert score is not None
    assert score.purchase_count == 9 and score.purchase_total == pytest.approx(200.0)
    assert score.value > 0 and score.first_purchase_at == at == score.last_purchase_at


async def test_stages_move_through_the_whole_lifecycle(
    services: Any,
    make_customer: CustomerFactory,
    sessions: async_sessionmaker[AsyncSession],
    recorder: Recorder,
) -> None:
    t0 = utcnow() - timedelta(days=400)
    wang = await make_customer("王小明", created_at=t0)

    async def stage() -> str:
        return (await customer_of(sessions, wang.id)).lifecycle_stage

    async with services.bus.subscribe(scores_topic(wang.workspace_id)) as events:
        await record(services, wang, t0, content="你们的茶叶怎么样？")
        assert await stage() == "exploration"
        await record(services, wang, t0 + timedelta(hours=2), direction="outbound", content="很好")
        await record(services, wang, t0 + timedelta(days=1), content="那我买一点")
        assert await stage() == "formation"
        for day in range(2, 81, 2):
            await record(services, wang, t0 + timedelta(days=day), kind="comment", content="好")
        assert await stage() == "stability"
        # Seventy silent days later the brand writes: the customer's rate has fallen.
        await record(services, wang, t0 + timedelta(days=150), direction="outbound")
        assert await stage() == "decline"
        await record(services, wang, t0 + timedelta(days=300), direction="outbound")
        assert await stage() == "lost"
        await services.drain()
        moves = []
        while len(moves) < 4:
            envelope = await asyncio.wait_for(anext(events), 5)
            if envelope["stage"] != envelope["previous_stage"]:
                moves.append((envelope["previous_stage"], envelope["stage"]))
    expected = [
        ("exploration", "formation"),
        ("formation", "stability"),
        ("stability", "decline"),
        ("decline", "lost"),
    ]
    assert moves == expected
    changes = await stage_changes_of(sessions, wang.id)
    assert [(c.from_stage, c.to_stage, c.source) for c in changes] == [
        (before, after, "rule") for before, after in expected
    ]
    assert changes[-1].changed_at == t0 + timedelta(days=300)
    assert [(before, after) for _, before, after, _ in recorder.stages()] == expected
    assert (await customer_of(sessions, wang.id)).stage_changed_at == t0 + timedelta(days=300)


async def test_the_text_analysis_feeds_sentiment_complaints_and_the_language(
    services: Any, make_customer: CustomerFactory, sessions: async_sessionmaker[AsyncSession]
) -> None:
    wu = await make_customer("吴")
    at = utcnow() - timedelta(hours=5)
    complaint = await record(services, wu, at, content="我要投诉，产品质量太差了")
    assert (complaint.language, complaint.is_complaint) == ("zh", True)
    assert complaint.sentiment is not None and complaint.sentiment < -0.5
    assert "投诉" in complaint.keywords
    # The brand's answer may read like a complaint; it is never the customer's complaint.
    answer = await record(
        services, wu, at, direction="outbound", content="非常抱歉，已为您记录投诉，客服稍后联系您"
    )
    assert answer.is_complaint is False and answer.language == "zh"
    score = await score_of(sessions, wu.id)
    assert score is not None
    assert score.complaint_count == 1 and score.last_complaint_at == at
    # Only the customer's own words count: (-0.99) / (1 + prior 1).
    assert score.sentiment == pytest.approx(complaint.sentiment / 2)
    assert score.churn_risk > 0.3
    assert (await customer_of(sessions, wu.id)).language == "zh"


async def test_an_unfollow_everywhere_is_lost(
    services: Any, make_customer: CustomerFactory, sessions: async_sessionmaker[AsyncSession]
) -> None:
    zhao = await make_customer("赵")
    at = utcnow() - timedelta(days=2)
    await record(services, zhao, at, kind="follow")
    await record(services, zhao, at + timedelta(hours=1), kind="unfollow")
    score = await score_of(sessions, zhao.id)
    assert score is not None and score.unfollowed
    assert (await customer_of(sessions, zhao.id)).lifecycle_stage == "lost"
    assert score.churn_risk >= 0.9


async def test_history_keeps_one_row_per_day_with_its_last_values(
    services: Any, make_customer: CustomerFactory, sessions: async_sessionmaker[AsyncSession]
) -> None:
    qian = await make_customer("钱")
    day = utcnow().replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=5)
    await record(services, qian, day)
    await record(services, qian, day + timedelta(hours=3))
    await record(services, qian, day + timedelta(days=2))
    rows = await history_of(sessions, qian.id)
    assert [row.day for row in rows] == [day.date(), (day + timedelta(days=2)).date()]
    after_two = 100 * (1 - math.exp(-(3 + 3 * 2 ** (-3 / 24 / 30)) / 10))
    assert rows[0].engagement == pytest.approx(after_two)
    score = await score_of(sessions, qian.id)
    assert score is not None and rows[1].engagement == pytest.approx(score.engagement)


async def test_a_manual_stage_wins_until_it_is_cleared(
    services: Any,
    make_customer: CustomerFactory,
    sessions: async_sessionmaker[AsyncSession],
    recorder: Recorder,
) -> None:
    sun = await make_customer("孙")
    at = utcnow() - timedelta(days=1)
    await record(services, sun, at)
    async with services.bus.subscribe(scores_topic(sun.workspace_id)) as events:
        async with sessions() as session, session.begin():
            customer = await session.get(Customer, sun.id)
            assert customer is not None
            assert await set_manual_stage(session, services, customer, "stability", "ops") == (
                "stability"
            )
        await services.drain()
        envelope = await asyncio.wait_for(anext(events), 5)
    assert (envelope["previous_stage"], envelope["stage"]) == ("exploration", "stability")
    await record(services, sun, at + timedelta(hours=1), direction="outbound")
    await record(services, sun, at + timedelta(hours=2))
    kept = await customer_of(sessions, sun.id)
    assert (kept.lifecycle_stage, kept.stage_set_by) == ("stability", "ops")
    async with sessions() as session, session.begin():
        customer = await session.get(Customer, sun.id)
        assert customer is not None
        assert await set_manual_stage(session, services, customer, None, "ops") == "formation"
    await services.drain()
    cleared = await customer_of(sessions, sun.id)
    assert (cleared.lifecycle_stage, cleared.stage_set_by) == ("formation", None)
    changes = await stage_changes_of(sessions, sun.id)
    assert [(c.from_stage, c.to_stage, c.source, c.set_by) for c in changes] == [
        ("exploration", "stability", "manual", "ops"),
        ("stability", "formation", "cleared", "ops"),
    ]
    assert [(before, after, source) for _, before, after, source in recorder.stages()] == [
        ("exploration", "stability", "manual"),
        ("stability", "formation", "cleared"),
    ]
    async with sessions() as session:
        customer = await session.get(Customer, sun.id)
        assert customer is not None
        with pytest.raises(ChangeRejected) as refused:
            await set_manual_stage(session, services, customer, "loyal", "ops")
    assert refused.value.field == "stage" and refused.value.code == "INVALID"


async def test_a_manual_stage_rolled_back_announces_nothing(
    services: Any,
    make_customer: CustomerFactory,
    sessions: async_sessionmaker[AsyncSession],
    recorder: Recorder,
) -> None:
    zhou = await make_customer("周")
    async with sessions() as session:
        async with session.begin():
            customer = await session.get(Customer, zhou.id)
            assert customer is not None
            await set_manual_stage(session, services, customer, "decline", "ops")
            await session.rollback()
        async with session.begin():
            pass  # a later commit of the same session announces nothing either
    await services.drain()
    assert recorder.stages() == []
    assert (await customer_of(sessions, zhou.id)).lifecycle_stage == "exploration"


async def test_live_scoring_off_still_fills_the_purchase_columns(
    settings: Settings,
    plugin_manager: PluginManager,
    make_customer: CustomerFactory,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    quiet = create_app(settings.model_copy(update={"live_scoring": False}), plugin_manager)
    zheng = await make_customer("郑")
    async with LifespanManager(quiet):
        services = quiet.state.services
        row = await record(
            services, zheng, utcnow(), kind="purchase", data={"amount": 88, "currency": "CNY"}
        )
    assert (row.amount, row.currency) == (88.0, "CNY")
    assert await score_of(sessions, zheng.id) is None
    async with sessions() as session:
        stored = await session.get(Interaction, row.id)
    assert stored is not None and stored.amount == 88.0
