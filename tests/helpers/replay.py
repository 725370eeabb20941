"""For replay tests: what a webhook stored, counted across the tables a delivery writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from socialcrm.server.tables import Customer, Interaction, RawEvent, WebhookReplayKey


async def stored_counts(services: Any) -> dict[str, int]:
    """Rows of the inbox, interactions, customers and replay keys (every workspace)."""
    counts = {}
    async with services.sessions() as session:
        for name, table in (
            ("raw_events", RawEvent),
            ("interactions", Interaction),
            ("customers", Customer),
            ("replay_keys", WebhookReplayKey),
        ):
            counts[name] = int(await session.scalar(select(func.count()).select_from(table)) or 0)
    return counts
