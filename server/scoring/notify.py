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
LISTENING = "scrm.score_announcements.listening"
"""Set in ``session.info`` once the session's commit and rollback listeners are in place."""


def announce_after_commit(
    session: AsyncSession, services: Services, announcement: ScoreAnnouncement
) -> None:
    """Announce ``announcement`` in the background once ``session`` commits (never when it
    rolls back): the bus and the hooks must not tell of a change that did not happen."""
    sync = session.sync_session
    if LISTENING not in sync.info:
        sync.info[LISTENING] = True

        def committed(_session: Any) -> None:
            for item in sync.info.pop(PENDING, []):
                services.spawn(announce_scores(services, item), name="announce-scores")

        def rolled_back(_session: Any) -> None:
            sync.info.pop(PENDING, None)

        # The listeners live as long as the session; they do nothing while nothing waits.
        event.listen(sync, "after_commit", committed)
        event.listen(sync, "after_rollback", rolled_back)
    sync.info.setdefault(PENDING, []).append(announcement)
