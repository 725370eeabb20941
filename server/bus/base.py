"""The event bus interface: how workers tell each other's subscribers what happened.

Messages are small JSON envelopes (ids and the fields subscribers filter on), never whole
rows: a PostgreSQL NOTIFY payload is capped at 8,000 bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol


class EventBus(Protocol):
    """Publish/subscribe by topic. Implementations: in-memory and PostgreSQL LISTEN/NOTIFY."""

    async def start(self) -> None:
        """Connect (called once at start-up)."""
        ...

    async def stop(self) -> None:
        """Disconnect and end every open subscription."""
        ...

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        """Deliver ``message`` to every current subscriber of ``topic``, in every process."""
        ...

    def subscribe(self, topic: str) -> AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]:
        """A context whose value iterates the messages of ``topic`` published after entry."""
        ...


def interactions_topic(workspace_id: int) -> str:
    """The topic on which a workspace's stored interactions are announced."""
    return f"ws.{workspace_id}.interactions"
