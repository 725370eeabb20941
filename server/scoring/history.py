"""Score history (one row per customer per day on which scores moved) and stage changes."""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from socialcrm.server.scoring.formulas import SCORE_NAMES
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import ScoreHistory, StageChange

history_table = ScoreHistory.__table__  # type: ignore[attr-defined]


@functools.cache
def history_upsert(dialect: str) -> Any:
    """``INSERT … ON CONFLICT (customer_id, day) DO UPDATE``: a day keeps its last values.

    Built once per dialect: the live path runs it for every interaction."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(history_table)
    return statement.on_conflict_do_update(
        index_elements=["customer_id", "day"],
        set_={
            **{name: statement.excluded[name] for name in SCORE_NAMES},
            "recorded_at": statement.excluded.recorded_at,
        },
    )


def history_row(
    workspace_id: int, customer_id: int, day: date, scores: dict[str, float], at: datetime
) -> dict[str, Any]:
    """The values of one history row."""
    return {
        "workspace_id": workspace_id,
        "customer_id": customer_id,
        "day": day,
        **{name: float(scores[name]) for name in SCORE_NAMES},
        "recorded_at": at,
    }


async def record_history(
    connection: AsyncSession | AsyncConnection, rows: list[dict[str, Any]]
) -> None:
    """Upsert history rows (built by ``history_row``) in the caller's transaction."""
    if not rows:
        return
    dialect = (
        connection.get_bind().dialect.name
        if isinstance(connection, AsyncSession)
        else (connection.dialect.name)
    )
    await connection.execute(history_upsert(dialect), rows)


def stage_change(
    workspace_id: int,
    customer_id: int,
    previous: str | None,
    stage: str,
    source: str,
    at: datetime | None = None,
    set_by: str | None = None,
) -> StageChange:
    """A ``stage_change`` row: ``source`` is rule, manual or cleared."""
    return StageChange(
        workspace_id=workspace_id,
        customer_id=customer_id,
        from_stage=previous,
        to_stage=stage,
        source=source,
        set_by=set_by,
        changed_at=at or utcnow(),
    )
