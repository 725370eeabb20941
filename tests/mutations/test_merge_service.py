"""Merging two customers in storage: everything moves, once, in one transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialcrm.server.communities import add_member, create_community
from socialcrm.server.customers import create_customer, merge_customers
from socialcrm.server.errors import ChangeRejected
from socialcrm.server.tables import (
    Customer,
    CustomerMerge,
    Identity,
    Interaction,
    Membership,
    ReferralCode,
    Relationship,
    Score,
    Workspace,
)
from socialcrm.server.tags import customer_tags, tag_customer

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def _customer(session: AsyncSession, workspace_id: int, **fields) -> int:
    customer = await create_customer(session, workspace_id, **fields)
    assert customer.id is not None
    return customer.id


def _edge(ws: int, source: int, target: int, kind: str, count: int, day: int) -> Relationship:
    at = T0 + timedelta(days=day)
    return Relationship(
        workspace_id=ws,
        source_id=source,
        target_id=target,
        kind=kind,
        count=count,
        first_at=at,
        last_at=at,
    )


async def test_merge_moves_everything_to_the_survivor(
    sessions: async_sessionmaker[AsyncSession], workspace: Workspace
):
    ws = workspace.id
    assert ws is not None
    async with sessions() as session, session.begin():
        s = await _customer(session, ws, display_name="Lin", attributes={"tier": "gold"})
        m = await _customer(
            session,
            ws,
            display_name="lin_wx",
            email="lin@example.cn",
            phone="13800000000",
            attributes={"tier": "silver", "city": "上海"},
        )
        x = await _customer(session, ws, display_name="Friend")
        y = await _customer(session, ws, display_name="Other friend")
        session.add_all(
            [
                Identity(workspace_id=ws, customer_id=s, channel="weibo", external_id="u1"),
                Identity(workspace_id=ws, customer_id=m, channel="wechat", external_id="o1"),
                Identity(workspace_id=ws, customer_id=m, channel="email", external_id="lin@ex"),
            ]
        )
        for who, n in ((s, 2), (m, 3)):
            for i in range(n):
                session.add(
                    Interaction(
                        workspace_id=ws,
                        customer_id=who,
                        channel="manual",
                        kind="note",
                        direction="inbound",
                        content=f"{who}-{i}",
                        occurred_at=T0 + timedelta(hours=i),
                    )
                )
        both = await create_community(session, ws, name="Both")
        only_m = await create_community(session, ws, name="Only merged")
        assert both.id is not None and only_m.id is not None
        await add_member(session, ws, both.id, s, "member")
        await add_member(session, ws, both.id, m, "admin")
        await add_member(session, ws, only_m.id, m, "opinion_leader")
        session.add_all(
            [
                _edge(ws, s, m, "mention", 4, 1),  # becomes a self-edge: dropped
                _edge(ws, m, s, "reply", 1, 1),  # self-edge too
                _edge(ws, s, x, "mention", 2, 5),
                _edge(ws, m, x, "mention", 3, 2),  # joins s→x: count 5, first day 2
                _edge(ws, m, x, "repost", 1, 3),  # re-pointed to s→x repost
                _edge(ws, x, m, "referral", 1, 4),  # re-pointed to x→s
                _edge(ws, y, m, "follow", 1, 6),
                _edge(ws, y, s, "follow", 2, 7),  # joins: count 3
            ]
        )
        await tag_customer(session, ws, s, ["VIP", "Beijing"])
        await tag_customer(session, ws, m, ["VIP", "WeChat fan"])
        session.add(ReferralCode(workspace_id=ws, code="qr-m", customer_id=m))
        session.add(Score(customer_id=m, workspace_id=ws, engagement=40.0))
        merged_row = await session.get(Customer, m)
        assert merged_row is not None
        merged_row.last_seen_at = T0 + timedelta(days=9)

    async with sessions() as session, session.begin():
        result = await merge_customers(session, ws, s, m)
    assert result.moved["identities"] == 2
    assert result.moved["interactions"] == 3

    async with sessions() as session:
        survivor = await session.get(Customer, s)
        merged = await session.get(Customer, m)
        assert survivor is not None and merged is not None
        assert merged.merged_into_id == s
        assert survivor.display_name == "Lin"  # kept
        assert survivor.email == "lin@example.cn" and survivor.phone == "13800000000"
        assert survivor.attributes == {"tier": "gold", "city": "上海"}
        assert survivor.last_seen_at == T0 + timedelta(days=9)

        identities = (
            await session.execute(select(Identity.customer_id).where(Identity.workspace_id == ws))
        ).scalars()
        assert set(identities) == {s}
        owners = (
            await session.execute(
                select(Interaction.customer_id).where(Interaction.workspace_id == ws)
            )
        ).scalars()
        assert sorted(owners) == [s] * 5

        memberships = {
            (row.community_id, row.customer_id): row.role
            for row in (
                await session.execute(select(Membership).where(Membership.workspace_id == ws))
            ).scalars()
        }
        assert memberships == {(both.id, s): "admin", (only_m.id, s): "opinion_leader"}

        edges = {
            (r.source_id, r.target_id, r.kind): (r.count, r.first_at)
            for r in (
                await session.execute(select(Relationship).where(Relationship.workspace_id == ws))
            ).scalars()
        }
        assert edges == {
            (s, x, "mention"): (5, T0 + timedelta(days=2)),
            (s, x, "repost"): (1, T0 + timedelta(days=3)),
            (x, s, "referral"): (1, T0 + timedelta(days=4)),
            (y, s, "follow"): (3, T0 + timedelta(days=6)),
        }

        assert await customer_tags(session, ws, s) == sorted(["Beijing", "VIP", "WeChat fan"])
        assert await customer_tags(session, ws, m) == []
        code = await session.scalar(
            select(ReferralCode.customer_id).where(ReferralCode.code == "qr-m")
        )
        assert code == s
        score = await session.get(Score, s)
        assert score is not None and score.engagement == 40.0
        assert await session.get(Score, m) is None

        record = (
            await session.execute(select(CustomerMerge).where(CustomerMerge.workspace_id == ws))
        ).scalar_one()
        assert (record.survivor_id, record.merged_id) == (s, m)
        assert record.snapshot["customer"]["display_name"] == "lin_wx"
        assert record.snapshot["moved"]["interactions"] == 3


async def test_merge_keeps_the_survivors_score(
    sessions: async_sessionmaker[AsyncSession], workspace: Workspace
):
    ws = workspace.id
    assert ws is not None
    async with sessions() as session, session.begin():
        s = await _customer(session, ws, display_name="S")
        m = await _customer(session, ws, display_name="M")
        session.add(Score(customer_id=s, workspace_id=ws, influence=10.0))
        session.add(Score(customer_id=m, workspace_id=ws, influence=90.0))
    async with sessions() as session, session.begin():
        await merge_customers(session, ws, s, m)
    async with sessions() as session:
        score = await session.get(Score, s)
        assert score is not None and score.influence == 10.0
        assert await session.get(Score, m) is None


async def test_merge_refusals_change_nothing(
    sessions: async_sessionmaker[AsyncSession], workspace: Workspace, make_workspace
):
    other = await make_workspace()
    ws, ows = workspace.id, other.id
    assert ws is not None and ows is not None
    async with sessions() as session, session.begin():
        a = await _customer(session, ws, display_name="A")
        b = await _customer(session, ws, display_name="B")
        c = await _customer(session, ws, display_name="C")
        foreign = await _customer(session, ows, display_name="Theirs")
    async with sessions() as session, session.begin():
        await merge_customers(session, ws, a, b)

    cases = [
        (a, a, "CONFLICT", "mergedId"),
        (a, foreign, "NOT_FOUND", "mergedId"),
        (foreign, a, "NOT_FOUND", "survivorId"),
        (c, b, "CONFLICT", "mergedId"),
        # b stands for a now: merging a into what b became is merging a into itself.
        (b, a, "CONFLICT", "mergedId"),
        (a, 10**12, "NOT_FOUND", "mergedId"),
    ]
    for survivor, merged, code, field in cases:
        async with sessions() as session:
            with pytest.raises(ChangeRejected) as caught:
                async with session.begin():
                    await merge_customers(session, ws, survivor, merged)
            assert (caught.value.code, caught.value.field) == (code, field)
    async with sessions() as session:
        merges = (
            (await session.execute(select(CustomerMerge).where(CustomerMerge.workspace_id == ws)))
            .scalars()
            .all()
        )
        assert len(merges) == 1
        rows = {
            row.id: row.merged_into_id
            for row in (
                await session.execute(select(Customer).where(Customer.workspace_id == ws))
            ).scalars()
        }
        assert rows == {a: None, b: a, c: None}


async def test_chained_merges_point_at_the_last_survivor(
    sessions: async_sessionmaker[AsyncSession], workspace: Workspace
):
    ws = workspace.id
    assert ws is not None
    async with sessions() as session, session.begin():
        a = await _customer(session, ws, display_name="A")
        b = await _customer(session, ws, display_name="B")
        c = await _customer(session, ws, display_name="C")
    async with sessions() as session, session.begin():
        await merge_customers(session, ws, b, c)
    async with sessions() as session, session.begin():
        await merge_customers(session, ws, a, b)
    async with sessions() as session:
        found = await session.get(Customer, c)
        assert found is not None and found.merged_into_id == a


async def test_opposite_merges_at_once_do_not_deadlock(
    sessions: async_sessionmaker[AsyncSession], workspace: Workspace
):
    ws = workspace.id
    assert ws is not None
    async with sessions() as session, session.begin():
        a = await _customer(session, ws, display_name="A")
        b = await _customer(session, ws, display_name="B")

    async def merge(survivor: int, merged: int) -> str:
        async with sessions() as session:
            try:
                async with session.begin():
                    await merge_customers(session, ws, survivor, merged)
            except ChangeRejected as exc:
                return exc.code
        return "merged"

    outcomes = await asyncio.wait_for(asyncio.gather(merge(a, b), merge(b, a)), 10)
    assert sorted(outcomes) == ["CONFLICT", "merged"]
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Customer.merged_into_id).where(Customer.workspace_id == ws)
            )
        ).scalars()
        assert sorted(row is None for row in rows) == [False, True]
