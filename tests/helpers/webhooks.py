"""For webhook tests: connect an account, count the raw-event inbox, check what was logged."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import func, select

from socialcrm.server.accounts import connect_account
from socialcrm.server.tables import RawEvent


async def connect(services: Any, workspace_id: int, channel: str, settings: dict[str, Any]) -> str:
    """Connect an account of ``channel`` with ``settings`` in the workspace; returns its slug."""
    slug = f"{channel}-{uuid.uuid4().hex[:8]}"
    async with services.sessions() as session, session.begin():
        await connect_account(
            session,
            services.sessions,
            services.plugins,
            workspace_id=workspace_id,
            channel=channel,
            slug=slug,
            settings=settings,
            public_url=services.settings.public_url,
        )
    return slug


async def raw_event_count(services: Any) -> int:
    """How many payloads the raw-event inbox holds (every workspace)."""
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(RawEvent)) or 0)


def assert_no_traceback(records: list[logging.LogRecord]) -> None:
    """Every record is one line without a traceback: what a refused request may log."""
    for record in records:
        assert record.exc_info is None and "\n" not in record.getMessage(), record.getMessage()
