"""The event bus: in-memory by default, PostgreSQL LISTEN/NOTIFY when ``SCRM_BROKER_URL`` says."""

from __future__ import annotations

from socialcrm.server.bus.base import (
    MAX_PAYLOAD_BYTES,
    BusError,
    EventBus,
    PayloadTooLarge,
    interactions_topic,
    scores_topic,
)
from socialcrm.server.bus.memory import MemoryBus
from socialcrm.server.settings import Settings

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "BusError",
    "EventBus",
    "MemoryBus",
    "PayloadTooLarge",
    "create_bus",
    "interactions_topic",
    "scores_topic",
]

_POSTGRES_SCHEMES = ("postgresql", "postgresql+asyncpg", "postgres")


def create_bus(settings: Settings) -> EventBus:
    """The bus ``settings.broker_url`` names: unset → in-memory; ``postgresql://`` → NOTIFY."""
    url = settings.broker_url
    if not url or url == "memory://":
        return MemoryBus(settings.subscriber_queue_size)
    scheme = url.partition("://")[0].lower()
    if scheme in _POSTGRES_SCHEMES:
        # Imported here so the in-memory default does not load the PostgreSQL driver.
        from socialcrm.server.bus.postgres import PostgresBus

        return PostgresBus(url, queue_size=settings.subscriber_queue_size)
    raise ValueError(
        f"unsupported SCRM_BROKER_URL scheme {scheme!r}: use memory:// or postgresql://…"
    )
