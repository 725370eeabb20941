"""The batch rescore: the same numbers as the live path, all or nothing, and no live update
lost while it runs."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from helpers.acme import deliver, message
from scoring_helpers import (
    CustomerFactory,
    Recorder,
    assert_close,
    customer_of,
    history_of,
    record,
    score_of,
    snapshot,
    stage_changes_of,
    story,
)
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from socialcrm.server.bus import scores_topic
from socialcrm.server.interactions import NewInteraction, add_interaction
from socialcrm.server.scoring.batch import LOCK_CLASS, rescore_workspace
from socialcrm.server.scoring.live import on_interaction_stored
from socialcrm.server.scoring.referrals import referral_counts
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import (
    ChannelAccount,
    Identity,
    ReferralCode,
    Score,
    ScoreHistory,
    ScoringSettings,
    StageChange,
    Workspace,
)


async def test_the_batch_gives_the_live_numbers_at_the_same_reference_time(
    services: Any,
    make_customer: CustomerFactory,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
) -> None:
    end = utcnow() - timedelta(days=1)
    customers = await story(services, make_customer, end)
    live = {c.id: snapshot(await score_of(sessions, c.id)) for c in customers}
    stages = {c.id: (await customer_of(sessions, c.id)).lifecycle_stage for c in customers}
    assert len(set(stages.values())) >= 3
    result = await rescore_workspace(services, workspace.id, now=end)
    assert result is not None
    assert (result.customers, result.written, result.stage_changes) == (4, 4, 0)
    for customer in customers:
        batch = snapshot(await score_of(sessions, customer.id))
        assert_close(live[customer.id], batch, customer.display_name)
        assert (await customer_of(sessions, customer.id)).lifecycle_stage == stages[customer.id]
    loyal, buyer = [await score_of(sessions, c.id) for c in customers[:2]]
    assert buyer is not None and buyer.purchase_count == 4
    assert buyer.purchase_total == pytest.approx(299 + 59.9)
    # The text analysis took part: a happy regular, a buyer who complained.
    assert loyal is not None and loyal.sentiment > 0.5
    assert buyer.complaint_count == 1 and buyer.sentiment < 0


async def test_a_rescore_that_fails_midway_changes_nothing(
    services: Any,
    make_customer: CustomerFactory,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
) -> None:
    customers = await story(services, make_customer, utcnow() - timedelta(days=100))

    async def state() -> tuple[Any, ...]:
        async with sessions() as session:
            scores = (
                await session.execute(
                    select(Score)
                    .where(col(Score.workspace_id) == workspace.id)
                    .order_by(col(Score.customer_id))
                )
            ).scalars()
            return (
                [snapshot(score) | {"updated_at": score.updated_at} for score in scores],
                [(await customer_of(sessions, c.id)).lifecycle_stage for c in customers],
                await session.scalar(
                    select(func.count())
                    .select_from(ScoreHistory)
                    .where(col(ScoreHistory.workspace_id) == workspace.id)
                ),
                await session.scalar(
                    select(func.count())
                    .select_from(StageChange)
                    .where(col(StageChange.workspace_id) == workspace.id)
                ),
                await session.scalar(
                    select(col(ScoringSettings.rescored_at)).where(
                        col(ScoringSettings.workspace_id) == workspace.id
                    )
                ),
            )

    before = await state()

    def fail(phase: str, done: int, total: int) -> None:
        if (phase, done) == ("write", 4):
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        await rescore_workspace(services, workspace.id, progress=fail)
    assert await state() == before
    # The same rescore, not interrupted, does change them (a hundred days went by).
    assert await rescore_workspace(services, workspace.id) is not None
    assert await state() != before


async def test_a_rescore_records_history_stage_changes_and_announces_them(
    services: Any,
    make_customer: CustomerFactory,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    recorder: Recorder,
) -> None:
    long_ago = utcnow() - timedelta(days=200)
    old = await make_customer("旧", created_at=long_ago)
    await record(services, old, long_ago)
    assert (await customer_of(sessions, old.id)).lifecycle_stage == "exploration"
    phases: list[str] = []
    async with services.bus.subscribe(scores_topic(workspace.id)) as events:
        now = utcnow()
        result = await rescore_workspace(
            services, workspace.id, now=now, progress=lambda phase, *_: phases.append(phase)
        )
        envelope = await asyncio.wait_for(anext(events), 5)
    assert result is not None and result.stage_changes == 1
    assert {"read", "compute", "write", "announce"} <= set(phases)
    assert (envelope["previous_stage"], envelope["stage"]) == ("exploration", "lost")
    assert envelope["deltas"]["churn_risk"] > 0.5
    assert (await customer_of(sessions, old.id)).lifecycle_stage == "lost"
    [change] = await stage_changes_of(sessions, old.id)
    assert (change.from_stage, change.to_stage, change.source) == ("exploration", "lost", "rule")
    assert recorder.stages() == [(old.id, "exploration", "lost", "rule")]
    days = [row.day for row in await history_of(sessions, old.id)]
    assert days == [long_ago.date(), now.date()]
    async with sessions() as session:
        settings = await session.get(ScoringSettings, workspace.id)
    assert settings is not None and settings.rescored_at is not None


async def test_a_live_update_committed_during_the_rescore_is_kept(
    services: Any,
    make_customer: CustomerFactory,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
) -> None:
    at = utcnow() - timedelta(days=3)
    busy, idle = await make_customer("忙"), await make_customer("闲")
    await record(services, busy, at)
    await record(services, idle, at)

    async def meanwhile(phase: str, done: int, total: int) -> None:
        if (phase, done) == ("compute", 0):  # the reads are done, nothing is written yet
            await record(services, busy, at + timedelta(hours=1))

    result = await rescore_workspace(services, workspace.id, progress=meanwhile)
    assert result is not None and (result.customers, result.written) == (2, 1)
    kept = await score_of(sessions, busy.id)
    assert kept is not None and kept.inbound_count == 2
    assert kept.measured_at == at + timedelta(hours=1)  # the live update's, not the batch's
    rescored = await score_of(sessions, idle.id)
    assert rescored is not None and rescored.measured_at is not None
    assert rescored.measured_at > at + timedelta(days=2)
    # The next rescore counts both interactions of the busy customer.
    assert await rescore_workspace(services, workspace.id) is not None
    again = await score_of(sessions, busy.id)
    assert again is not None and again.inbound_count == 2


async def test_a_live_update_in_flight_is_skipped_without_waiting(
    services: Any,
    make_customer: CustomerFactory,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
) -> None:
    at = utcnow() - timedelta(days=3)
    busy, idle = await make_customer("忙"), await make_customer("闲")
    await record(services, busy, at)
    await record(services, idle, at)
    async with sessions() as session, session.begin():
        row = await add_interaction(
            session,
            NewInteraction(
                workspace_id=workspace.id,
                customer_id=busy.id,
                channel="manual",
                kind="message",
                direction="inbound",
                occurred_at=at + timedelta(hours=1),
            ),
        )
        await on_interaction_stored(session, services, row)  # holds the customer's lock
        result = await asyncio.wait_for(rescore_workspace(services, workspace.id), 30)
    assert result is not None and (result.customers, result.written) == (2, 1)
    kept = await score_of(sessions, busy.id)
    assert kept is not None and kept.inbound_count == 2


async def test_one_rescore_of_a_workspace_at_a_time(
    services: Any, make_customer: CustomerFactory, workspace: Workspace
) -> None:
    await record(services, await make_customer(), utcnow())
    async with services.engine.connect() as holder:
        await holder.execute(
            text("SELECT pg_advisory_lock(:kind, :workspace)"),
            {"kind": LOCK_CLASS, "workspace": workspace.id},
        )
        assert await rescore_workspace(services, workspace.id, wait=False) is None
        await holder.execute(
            text("SELECT pg_advisory_unlock(:kind, :workspace)"),
            {"kind": LOCK_CLASS, "workspace": workspace.id},
        )
    assert await rescore_workspace(services, workspace.id, wait=False) is not None


async def test_influence_comes_from_the_network_and_the_audience(
    services: Any,
    client: httpx.AsyncClient,
    account: ChannelAccount,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
) -> None:
    fans = [message(**{"from": f"fan-{n}", "mentions": ["hub"]}) for n in range(4)]
    star = message(**{"from": "star", "followers": 50_000})
    assert (await deliver(client, account.slug, *fans, star)).status_code == 200
    await services.drain()
    async with sessions() as session:
        hub_id = await _customer(sessions, "hub")
        session.add(ReferralCode(workspace_id=workspace.id, code="qr-hub", customer_id=hub_id))
        await session.commit()
    newcomer = message(**{"from": "newcomer", "referral": "qr-hub"})
    await deliver(client, account.slug, newcomer)
    await services.drain()
    result = await rescore_workspace(services, workspace.id)
    assert result is not None
    ids = {name: await _customer(sessions, name) for name in ("hub", "fan-0", "star", "newcomer")}
    scores = {}
    for name, customer_id in ids.items():
        score = await score_of(sessions, customer_id)
        assert score is not None
        scores[name] = score
    assert scores["hub"].influence > scores["fan-0"].influence
    assert scores["hub"].centrality > scores["fan-0"].centrality
    assert scores["star"].audience == 50_000 and scores["star"].influence > 0
    assert scores["fan-0"].influence == 0.0  # no audience, nobody points at a fan
    async with sessions() as session:
        assert await referral_counts(session, [hub_id, ids["star"]]) == {
            hub_id: (1, 0),
            ids["star"]: (0, 0),
        }


async def _customer(sessions: async_sessionmaker[AsyncSession], external_id: str) -> int:
    async with sessions() as session:
        found = await session.scalar(
            select(col(Identity.customer_id)).where(col(Identity.external_id) == external_id)
        )
    assert found is not None
    return int(found)


async def test_referral_counts_count_buyers(
    services: Any,
    make_customer: CustomerFactory,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
) -> None:
    from socialcrm.server.relations import count_edge

    referrer, buyer, browser = [await make_customer(name) for name in ("荐", "买", "看")]
    await record(services, buyer, utcnow(), kind="purchase", data={"amount": 10})
    async with sessions() as session, session.begin():
        for newcomer in (buyer, browser):
            await count_edge(session, workspace.id, newcomer.id, referrer.id, "referral", utcnow())
        await count_edge(session, workspace.id, buyer.id, referrer.id, "mention", utcnow())
    async with sessions() as session:
        assert await referral_counts(session, [referrer.id, buyer.id]) == {
            referrer.id: (2, 1),
            buyer.id: (0, 0),
        }
        assert await referral_counts(session, []) == {}


async def test_an_empty_workspace_rescores(services: Any, workspace: Workspace) -> None:
    result = await rescore_workspace(services, workspace.id)
    assert result is not None and (result.customers, result.written) == (0, 0)
