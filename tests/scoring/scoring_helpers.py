"""Helpers of the scoring tests: storing interactions by hand and reading scores back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from socialcrm.plugins import hookimpl
from socialcrm.plugins.models import CustomerChange
from socialcrm.server.interactions import record_manual_interaction
from socialcrm.server.scoring.formulas import MOMENTS, SCORE_NAMES, SUMS
from socialcrm.server.tables import Customer, Interaction, Score, ScoreHistory, StageChange

CustomerFactory = Callable[..., Awaitable[Customer]]
"""``make_customer(name, created_at=None, **fields)``: a customer of the test workspace."""

MEASURES = (*SUMS, *(f"{name}_at" for name in MOMENTS), "unfollowed")


class Recorder:
    """Records every ``scrm_customer_changed`` event."""

    def __init__(self) -> None:
        self.changes: list[CustomerChange] = []

    @hookimpl
    def scrm_customer_changed(self, change: CustomerChange) -> None:
        self.changes.append(change)

    def stages(self) -> list[tuple[int, str, str, str]]:
        """(customer, from, to, source) of each stage change seen."""
        return [
            (c.customer_id, c.fields["from"], c.fields["to"], c.fields["source"])
            for c in self.changes
            if c.change == "stage"
        ]


async def record(
    services: Any,
    customer: Customer,
    at: datetime,
    kind: str = "message",
    direction: str = "inbound",
    content: str | None = None,
    data: dict[str, Any] | None = None,
) -> Interaction:
    """Store an interaction through ``record_manual_interaction`` (the live path runs)."""
    assert customer.id is not None
    row = await record_manual_interaction(
        services,
        customer.workspace_id,
        customer.id,
        kind=kind,
        content=content,
        occurred_at=at,
        direction=direction,
        data=data,
    )
    assert row is not None
    return row


async def score_of(sessions: async_sessionmaker[AsyncSession], customer_id: int) -> Score | None:
    """The customer's score row as stored now."""
    async with sessions() as session:
        return await session.get(Score, customer_id)


async def customer_of(sessions: async_sessionmaker[AsyncSession], customer_id: int) -> Customer:
    """The customer row as stored now."""
    async with sessions() as session:
        customer = await session.get(Customer, customer_id)
    assert customer is not None
    return customer


async def history_of(
    sessions: async_sessionmaker[AsyncSession], customer_id: int
) -> list[ScoreHistory]:
    """The customer's history rows, by day."""
    async with sessions() as session:
        rows = await session.execute(
            select(ScoreHistory)
            .where(col(ScoreHistory.customer_id) == customer_id)
            .order_by(col(ScoreHistory.day))
        )
        return list(rows.scalars())


async def stage_changes_of(
    sessions: async_sessionmaker[AsyncSession], customer_id: int
) -> list[StageChange]:
    """The customer's stage changes, oldest first."""
    async with sessions() as session:
        rows = await session.execute(
            select(StageChange)
            .where(col(StageChange.customer_id) == customer_id)
            .order_by(col(StageChange.id))
        )
        return list(rows.scalars())


def snapshot(score: Score | None) -> dict[str, Any]:
    """A score row's scores and measures, comparable with ``assert_close``."""
    assert score is not None
    return {name: getattr(score, name) for name in (*SCORE_NAMES, *MEASURES)}


def assert_close(live: dict[str, Any], batch: dict[str, Any], what: str = "") -> None:
    """Equal within float tolerance (times within a millisecond)."""
    for name, value in live.items():
        other = batch[name]
        if isinstance(value, datetime) or isinstance(other, datetime):
            assert value is not None and other is not None, (what, name, value, other)
            assert abs((value - other).total_seconds()) < 1e-3, (what, name, value, other)
        elif isinstance(value, bool) or value is None:
            assert value == other, (what, name, value, other)
        else:
            assert abs(float(value) - float(other)) <= 1e-6 * max(1.0, abs(float(value))), (
                what,
                name,
                value,
                other,
            )


async def story(
    services: Any, make_customer: Callable[..., Awaitable[Customer]], end: datetime
) -> list[Customer]:
    """Customers with different histories, each ending with a brand message at ``end``."""
    start = end - timedelta(days=200)
    loyal, buyer, gone, quiet = [
        await make_customer(name, created_at=start) for name in ("忠", "买", "走", "静")
    ]
    for day in range(0, 200, 3):
        await record(services, loyal, start + timedelta(days=day), content="今天的茶很香，谢谢！")
    await record(services, loyal, start + timedelta(days=1), direction="outbound", content="欢迎")
    for day, data in (
        (10, {"amount": 299, "currency": "CNY"}),
        (50, {"amount": "oops"}),
        (90, {"amount": 20, "currency": "USD"}),
        (150, {"amount": 59.9}),
    ):
        await record(services, buyer, start + timedelta(days=day), kind="purchase", data=data)
    await record(services, buyer, start + timedelta(days=12), content="快递太慢了，很失望")
    await record(services, gone, start + timedelta(days=5), kind="follow")
    await record(services, gone, start + timedelta(days=6), content="怎么退货？")
    await record(services, gone, start + timedelta(days=40), kind="unfollow")
    await record(services, quiet, end - timedelta(days=20), kind="view")
    for customer in (loyal, buyer, gone, quiet):
        await record(services, customer, end, direction="outbound", content="新品上市")
    return [loyal, buyer, gone, quiet]
