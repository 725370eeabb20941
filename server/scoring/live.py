"""The live path: a customer's scores follow each of their interactions as it is stored.

``on_interaction_stored`` runs in the transaction that stored the interaction, right after
its row was flushed (a retried duplicate fails the unique constraint first, so nothing is
counted twice). It locks the customer row, then the score row (the batch rescore takes its
locks in the same order), decays the running sums to the reference time, adds the
interaction, recomputes the cheap scores with the formulas the batch uses, and records
history and stage changes. Influence stays as the last batch left it.

The reference time of a live update is the latest time the customer's sums have seen:
``max(measured_at, occurred_at)`` (an interaction dated in the future counts as of now). A
rescore at that same time gives the same numbers; the periodic rescore brings customers who
did nothing since to the present.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from socialcrm.plugins.models import InteractionKind
from socialcrm.server.scoring.announce import ScoreAnnouncement, score_envelope, stage_change_event
from socialcrm.server.scoring.enrich import enrich
from socialcrm.server.scoring.formulas import (
    MOMENTS,
    SCORE_NAMES,
    SUMS,
    Measures,
    Scores,
    compute,
    decay,
    deltas,
    moved,
)
from socialcrm.server.scoring.history import history_row, record_history, stage_change
from socialcrm.server.scoring.settings import ScoringParameters, load_settings
from socialcrm.server.scoring.stages import STAGES
from socialcrm.server.services import Services
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import Customer, Identity, Interaction, Score

LOCK = {"key_share": True}
"""``FOR NO KEY UPDATE`` on PostgreSQL: excludes other writers of the row (the batch, another
live update) but not the foreign-key checks of rows inserted for the customer."""


async def on_interaction_stored(
    session: AsyncSession, services: Services, row: Interaction
) -> ScoreAnnouncement:
    """Enrich a just-flushed interaction and update its customer's scores and stage.

    Call it in the storing transaction; pass the result to ``announce`` after the commit.
    With ``settings.live_scoring`` off only the enrichment runs (analysis, purchase money).
    """
    customer = await session.get(Customer, row.customer_id, with_for_update=LOCK)
    assert customer is not None and customer.id is not None
    p = await load_settings(session, customer.workspace_id)
    announcement = ScoreAnnouncement(customer.workspace_id)
    await enrich(services, row, customer, p)
    if not services.settings.live_scoring:
        return announcement
    score = await locked_score(session, customer)
    unfollowed = score.unfollowed or row.kind == str(InteractionKind.UNFOLLOW)
    if unfollowed:
        unfollowed = not await follows_somewhere(session, customer.id)
    ref = _reference(score.measured_at, row.occurred_at)
    _decay_to(score, ref, p)
    _add(score, row, ref, p)
    score.unfollowed = unfollowed
    await refresh(session, customer, score, ref, p, announcement)
    return announcement


async def refresh_now(
    session: AsyncSession,
    customer: Customer,
    p: ScoringParameters,
    announcement: ScoreAnnouncement,
    *,
    cleared_by: str | None = None,
) -> None:
    """Bring a locked customer's scores and stage to the present without an interaction."""
    score = await locked_score(session, customer)
    ref = _reference(score.measured_at, utcnow())
    _decay_to(score, ref, p)
    await refresh(session, customer, score, ref, p, announcement, cleared_by=cleared_by)


async def locked_score(session: AsyncSession, customer: Customer) -> Score:
    """The customer's score row, locked (created when missing). Lock the customer first:
    while it is locked no other live update or batch write can create or change the row."""
    assert customer.id is not None
    score = await session.get(Score, customer.id, with_for_update=LOCK, populate_existing=True)
    if score is None:
        score = Score(customer_id=customer.id, workspace_id=customer.workspace_id)
        session.add(score)
    return score


async def follows_somewhere(session: AsyncSession, customer_id: int) -> bool:
    """Whether any identity of the customer follows the brand now."""
    found = await session.scalar(
        select(func.count())
        .select_from(Identity)
        .where(col(Identity.customer_id) == customer_id, col(Identity.following).is_(True))
    )
    return bool(found)


async def refresh(
    session: AsyncSession,
    customer: Customer,
    score: Score,
    ref: datetime,
    p: ScoringParameters,
    announcement: ScoreAnnouncement,
    *,
    cleared_by: str | None = None,
) -> None:
    """Recompute a customer's scores and stage from their measures (already at ``ref``),
    record history and a stage change, and fill ``announcement``.

    ``cleared_by`` says a person just gave the stage back to the rules: the change is
    recorded (source ``cleared``) even when the rules give the stage it had.
    """
    assert customer.id is not None
    old = {name: float(getattr(score, name)) for name in SCORE_NAMES}
    new = scores_of(score, customer, ref, p)
    values = {name: float(getattr(new, name)[0]) for name in SCORE_NAMES}
    for name, number in values.items():
        setattr(score, name, number)
    score.measured_at = ref
    score.updated_at = utcnow()
    previous = customer.lifecycle_stage
    stage = previous if customer.stage_set_by is not None else STAGES[int(new.stage[0])]
    if stage != previous or cleared_by is not None:
        source = "rule" if cleared_by is None else "cleared"
        customer.lifecycle_stage = stage
        customer.stage_changed_at = ref
        session.add(
            stage_change(
                customer.workspace_id, customer.id, previous, stage, source, ref, cleared_by
            )
        )
        announcement.customer_changes.append(
            stage_change_event(
                customer.workspace_id, customer.id, previous, stage, source, cleared_by
            )
        )
    move = deltas(
        {k: np.array([v]) for k, v in old.items()}, {k: np.array([v]) for k, v in values.items()}
    )
    if bool(moved(move, p.min_delta)[0]):
        await session.flush()
        await record_history(
            session,
            [history_row(customer.workspace_id, customer.id, ref.date(), values, score.updated_at)],
        )
    elif stage == previous and cleared_by is None:
        return
    announcement.envelope = score_envelope(customer.id, old, values, stage, previous, ref)


def scores_of(score: Score, customer: Customer, ref: datetime, p: ScoringParameters) -> Scores:
    """The formulas applied to one customer's measures."""
    return compute(measures_of(score, customer), ref.timestamp(), p)


def measures_of(score: Score, customer: Customer) -> Measures:
    """One customer's measures as arrays of length 1."""
    m = Measures.empty(1)
    for name in (*SUMS, "influence"):
        getattr(m, name)[0] = float(getattr(score, name) or 0.0)
    moments = [(name, getattr(score, f"{name}_at")) for name in MOMENTS]
    for name, at in [*moments, ("created", customer.created_at)]:
        getattr(m, name)[0] = at.timestamp() if at is not None else np.nan
    m.unfollowed[0] = bool(score.unfollowed)
    return m


def _reference(measured_at: datetime | None, occurred_at: datetime) -> datetime:
    at = min(occurred_at.astimezone(UTC), utcnow())
    return at if measured_at is None else max(measured_at, at)


def _decay_to(score: Score, ref: datetime, p: ScoringParameters) -> None:
    """Bring the decayed sums from ``measured_at`` to ``ref``."""
    if score.measured_at is None or score.measured_at >= ref:
        return
    age = (ref - score.measured_at).total_seconds()
    recent = float(decay(age, p.engagement_half_life_days))
    baseline = float(decay(age, p.baseline_half_life_days))
    mood = float(decay(age, p.sentiment_half_life_days))
    score.activity_recent = (score.activity_recent or 0.0) * recent
    score.activity_baseline = (score.activity_baseline or 0.0) * baseline
    score.sentiment_sum = (score.sentiment_sum or 0.0) * mood
    score.sentiment_weight = (score.sentiment_weight or 0.0) * mood


def _add(score: Score, row: Interaction, ref: datetime, p: ScoringParameters) -> None:
    """Count one interaction into measures that are valid at ``ref``."""
    at = row.occurred_at
    age = (ref - at).total_seconds()
    weight = p.interaction_weight(row.kind, row.direction)
    inbound = row.direction == "inbound"
    score.activity_recent = (score.activity_recent or 0.0) + weight * float(
        decay(age, p.engagement_half_life_days)
    )
    score.activity_baseline = (score.activity_baseline or 0.0) + weight * float(
        decay(age, p.baseline_half_life_days)
    )
    if inbound and row.sentiment is not None:
        mood = float(decay(age, p.sentiment_half_life_days))
        score.sentiment_sum = (score.sentiment_sum or 0.0) + row.sentiment * mood
        score.sentiment_weight = (score.sentiment_weight or 0.0) + mood
    if weight > 0 and inbound:
        score.inbound_count = (score.inbound_count or 0) + 1
        score.last_inbound_at = _latest(score.last_inbound_at, at)
    elif weight > 0 and row.direction == "outbound":
        score.outbound_count = (score.outbound_count or 0) + 1
    if inbound and row.is_complaint:
        score.complaint_count = (score.complaint_count or 0) + 1
        score.last_complaint_at = _latest(score.last_complaint_at, at)
    if row.kind == str(InteractionKind.PURCHASE):
        score.purchase_count = (score.purchase_count or 0) + 1
        score.first_purchase_at = _earliest(score.first_purchase_at, at)
        score.last_purchase_at = _latest(score.last_purchase_at, at)
        rate = p.rate(row.currency) if row.currency is not None else None
        if row.amount is not None and row.amount > 0 and rate is not None:
            score.purchase_total = (score.purchase_total or 0.0) + row.amount * rate
    score.first_seen_at = _earliest(score.first_seen_at, at)


def _latest(current: datetime | None, at: datetime) -> datetime:
    return at if current is None or at > current else current


def _earliest(current: datetime | None, at: datetime) -> datetime:
    return at if current is None or at < current else current
