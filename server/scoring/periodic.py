"""The periodic rescore: every workspace, every ``settings.rescore_interval_seconds``.

Every worker of a deployment runs this loop; a workspace is due when its last rescore
(``scoring_settings.rescored_at``) is older than the interval, and the rescore's advisory
lock (``batch.LOCK_CLASS``) makes sure one worker does it while the others skip it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import or_, select
from sqlmodel import col

from socialcrm.server.scoring.batch import rescore_workspace
from socialcrm.server.services import Services
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import ScoringSettings, Workspace

log = logging.getLogger(__name__)

STARTUP_SECONDS = 600.0
"""How long after start a worker first looks for due workspaces (at most the interval)."""
CHECK_SECONDS = 60.0
"""How often a worker looks for due workspaces (at most the interval)."""


async def due_workspaces(services: Services, workspace_id: int | None = None) -> list[int]:
    """The workspaces (or just ``workspace_id``) whose last rescore is older than the
    interval, or that were never rescored."""
    cutoff = utcnow() - timedelta(seconds=services.settings.rescore_interval_seconds)
    query = (
        select(col(Workspace.id))
        .outerjoin(ScoringSettings, col(ScoringSettings.workspace_id) == col(Workspace.id))
        .where(
            or_(
                col(ScoringSettings.rescored_at).is_(None),
                col(ScoringSettings.rescored_at) < cutoff,
            )
        )
        .order_by(col(Workspace.id))
    )
    if workspace_id is not None:
        query = query.where(col(Workspace.id) == workspace_id)
    async with services.sessions() as session:
        return [int(found or 0) for found in (await session.execute(query)).scalars()]


async def rescore_due(services: Services) -> int:
    """Rescore every due workspace no other worker is rescoring; returns how many."""
    done = 0
    for workspace_id in await due_workspaces(services):
        if not await due_workspaces(services, workspace_id):
            continue  # another worker rescored it while this one was busy with another
        try:
            result = await rescore_workspace(services, workspace_id, wait=False)
        except Exception:
            log.exception("the periodic rescore of workspace %s failed", workspace_id)
            continue
        done += result is not None
    return done


async def run_rescorer(services: Services) -> None:
    """Rescore due workspaces forever (the app's lifespan runs this when the interval > 0).

    The first round comes ``STARTUP_SECONDS`` (at most the interval) after start, so a
    starting server answers first and a short-lived one never rescores; then a worker looks
    for due workspaces every ``CHECK_SECONDS``.
    """
    interval = services.settings.rescore_interval_seconds
    await asyncio.sleep(min(interval, STARTUP_SECONDS))
    while True:
        try:
            await rescore_due(services)
        except Exception:
            log.exception("a periodic rescore round failed")
        await asyncio.sleep(min(interval, CHECK_SECONDS))
