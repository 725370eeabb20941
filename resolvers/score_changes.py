"""`scoreChanged`: the scoring engine's announcements of a workspace, filtered and loaded.

The engine publishes an envelope on ``scores_topic(workspace)`` whenever a customer's
scores or stage change (``socialcrm.server.bus.base.scores_topic`` fixes its fields). A
subscription listens on its own workspace's topic only, keeps the changes large enough for
it (or that moved the stage), and loads the customer, again restricted to that workspace,
once per process for all the subscribers that want it.
"""

from __future__ import annotations

import logging
import math
import weakref
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from socialcrm.resolvers.shared_loads import SharedLoads
from socialcrm.resolvers.subscriptions import watched_customer
from socialcrm.schema.customer import Customer, Scores
from socialcrm.schema.enums import LifecycleStage, enum_of
from socialcrm.schema.errors import BadUserInput
from socialcrm.schema.score_change import ScoreChange, ScoreDeltas
from socialcrm.server.auth import Viewer
from socialcrm.server.bus import scores_topic
from socialcrm.server.read import SCORE_FIELDS
from socialcrm.server.tables import Customer as CustomerRow

log = logging.getLogger(__name__)

CustomerKey = tuple[int, int, datetime]
"""(workspace id, customer id, the change's time): each change reads the profile afresh."""


@dataclass(frozen=True, slots=True)
class Announcement:
    """A scores envelope, read."""

    customer_id: int
    scores: Scores
    deltas: ScoreDeltas
    stage: LifecycleStage
    previous_stage: LifecycleStage
    at: datetime

    def matters(self, min_delta: float) -> bool:
        """Whether a subscriber asking for moves above ``min_delta`` wants it."""
        return self.stage is not self.previous_stage or self.deltas.largest() > min_delta


def read_envelope(event: dict[str, Any]) -> Announcement | None:
    """The announcement of a scores envelope, or None (logged) when it is malformed."""
    try:
        at = datetime.fromisoformat(event["at"])
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        scores, deltas = event["scores"], event["deltas"]
        values = {name: float(scores[name]) for name in SCORE_FIELDS}
        moves = {name: float(deltas.get(name) or 0.0) for name in SCORE_FIELDS}
        stage = enum_of(LifecycleStage, event["stage"], LifecycleStage.EXPLORATION)
        previous = event.get("previous_stage")
        return Announcement(
            customer_id=int(event["customer_id"]),
            scores=Scores(**values, updated_at=at),
            deltas=ScoreDeltas(**moves),
            stage=stage,
            previous_stage=(
                enum_of(LifecycleStage, previous, LifecycleStage.EXPLORATION)
                if previous is not None
                else stage
            ),
            at=at,
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        log.warning("a malformed scores envelope was skipped: %r", event)
        return None


class AnnouncedCustomers(SharedLoads[CustomerKey, Customer | None]):
    """Loads the customer of each announced change once per process: keyed by workspace,
    customer and time. A customer merged away (or of another workspace) loads as None."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(self._load_customer)
        self._sessions = sessions

    async def _load_customer(self, key: CustomerKey) -> Customer | None:
        workspace_id, customer_id, _ = key
        statement = select(CustomerRow).where(
            col(CustomerRow.workspace_id) == workspace_id,
            col(CustomerRow.id) == customer_id,
            col(CustomerRow.merged_into_id).is_(None),
        )
        async with self._sessions() as session:
            row = (await session.execute(statement)).scalar_one_or_none()
        return Customer.from_row(row) if row is not None else None


# One per process (per bus): the bus is what every subscriber of the process shares.
_announced: weakref.WeakKeyDictionary[Any, AnnouncedCustomers] = weakref.WeakKeyDictionary()


def announced_customers(services: Any) -> AnnouncedCustomers:
    """The shared loader of announced customers of ``services``' process."""
    loader = _announced.get(services.bus)
    if loader is None:
        loader = _announced[services.bus] = AnnouncedCustomers(services.sessions)
    return loader


async def score_changed(
    info: strawberry.Info, customer_id: strawberry.ID | None, min_delta: float
) -> AsyncGenerator[ScoreChange, None]:
    """Yield each score change of the viewer's workspace that matters to this subscriber."""
    viewer: Viewer = info.context.require("read")
    if not math.isfinite(min_delta) or min_delta < 0:
        raise BadUserInput(
            f"minDelta must be a number from 0 (a fraction of a score's range), not {min_delta}",
            field="minDelta",
        )
    customer_pk = await watched_customer(info, customer_id)
    services = info.context.services
    loader = announced_customers(services)
    async with services.bus.subscribe(scores_topic(viewer.workspace_id)) as events:
        async for event in events:
            if customer_pk is not None and event.get("customer_id") != customer_pk:
                continue
            announced = read_envelope(event)
            if announced is None or not announced.matters(min_delta):
                continue
            customer = await loader.get((viewer.workspace_id, announced.customer_id, announced.at))
            if customer is None:
                continue
            # A new event gets fresh loaders (the context lives as long as the WebSocket).
            info.context.reset_loaders()
            if info.context.loaders.cache:
                info.context.loaders.customers.prime(customer.pk, customer)
            yield ScoreChange(
                customer=customer,
                scores=announced.scores,
                deltas=announced.deltas,
                lifecycle_stage=announced.stage,
                previous_lifecycle_stage=announced.previous_stage,
                at=announced.at,
            )
