"""Announcing score changes made outside the interaction path, once their transaction commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from socialcrm.server.interactions import announce_scores
from socialcrm.server.scoring.announce import ScoreAnnouncement
from socialcrm.server.services import Services

PENDING = "scrm.score_announcements"
"""The ``session.info`` key of the announcements waiting for the session's commit."""


def announce_after_commit(
    session: AsyncSession, services: Services, announcement: ScoreAnnouncement
) -> None:
    """Announce ``announcement`` in the background once ``session`` commits (never when it
    rolls back): the bus and the hooks must not tell of a change that did not happen."""
    sync = session.sync_session
    pending: list[ScoreAnnouncement] | None = sync.info.get(PENDING)
    if pending is None:
        pending = sync.info[PENDING] = []

        def committed(_session: Any) -> None:
            waiting = list(sync.info.pop(PENDING, []))
            event.remove(sync, "after_commit", committed)
            event.remove(sync, "after_soft_rollback", rolled_back)
            for item in waiting:
                services.spawn(announce_scores(services, item), name="announce-scores")

        def rolled_back(_session: Any, _previous: Any) -> None:
            sync.info.pop(PENDING, None)
            event.remove(sync, "after_commit", committed)
            event.remove(sync, "after_soft_rollback", rolled_back)

        event.listen(sync, "after_commit", committed)
        event.listen(sync, "after_soft_rollback", rolled_back)
    pending.append(announcement)
