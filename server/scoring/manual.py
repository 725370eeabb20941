"""Setting a customer's lifecycle stage by hand, and giving it back to the rules."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from socialcrm.server.errors import ChangeRejected
from socialcrm.server.scoring.announce import ScoreAnnouncement, score_envelope, stage_change_event
from socialcrm.server.scoring.formulas import SCORE_NAMES
from socialcrm.server.scoring.history import stage_change
from socialcrm.server.scoring.live import LOCK, refresh_now
from socialcrm.server.scoring.notify import announce_after_commit
from socialcrm.server.scoring.settings import load_settings
from socialcrm.server.scoring.stages import STAGES
from socialcrm.server.services import Services
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import Customer, Score


async def set_manual_stage(
    session: AsyncSession,
    services: Services,
    customer: Customer,
    stage: str | None,
    set_by: str,
) -> str:
    """Set ``customer``'s stage by hand (it wins over the rules until cleared), or with
    ``stage=None`` give it back to the rules, which recompute it at once.

    Runs in the caller's transaction: writes a ``stage_change`` row (source ``manual`` or
    ``cleared``, with ``set_by``), and after the commit runs ``scrm_customer_changed``
    (change ``stage``) and publishes on the scores topic. Returns the stage the customer
    has now. Raises ``ChangeRejected`` (INVALID, field ``stage``) for an unknown stage.
    """
    if stage is not None and stage not in STAGES:
        raise ChangeRejected(
            f"unknown lifecycle stage {stage!r}: use one of {', '.join(STAGES)}",
            code="INVALID",
            field="stage",
        )
    assert customer.id is not None
    locked = await session.get(Customer, customer.id, with_for_update=LOCK, populate_existing=True)
    assert locked is not None
    announcement = ScoreAnnouncement(locked.workspace_id)
    if stage is None:
        if locked.stage_set_by is None:
            return locked.lifecycle_stage
        locked.stage_set_by = None
        p = await load_settings(session, locked.workspace_id)
        await refresh_now(session, locked, p, announcement, cleared_by=set_by)
    else:
        previous = locked.lifecycle_stage
        now = utcnow()
        locked.lifecycle_stage = stage
        locked.stage_set_by = set_by
        locked.stage_changed_at = now
        session.add(
            stage_change(locked.workspace_id, customer.id, previous, stage, "manual", now, set_by)
        )
        announcement.customer_changes.append(
            stage_change_event(locked.workspace_id, customer.id, previous, stage, "manual", set_by)
        )
        score = await session.get(Score, customer.id)
        current = {
            name: float(getattr(score, name) or 0.0) if score is not None else 0.0
            for name in SCORE_NAMES
        }
        announcement.envelope = score_envelope(customer.id, current, current, stage, previous, now)
    await session.flush()
    announce_after_commit(session, services, announcement)
    return locked.lifecycle_stage
