"""The event bus interface: how workers tell each other's subscribers what happened.

Messages are small JSON envelopes (ids and the fields subscribers filter on), never whole
rows: a PostgreSQL NOTIFY payload is capped at 8,000 bytes, and every backend enforces the
same cap so that code which works on the in-memory bus also works across processes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

MAX_PAYLOAD_BYTES = 7999
"""The largest encoded envelope a bus carries (PostgreSQL: payloads shorter than 8000 bytes)."""


class BusError(Exception):
    """The bus cannot carry a message."""


class PayloadTooLarge(BusError, ValueError):
    """An envelope that does not fit in a notification: publish ids, not rows."""


class EventBus(Protocol):
    """Publish/subscribe by topic. Implementations: in-memory and PostgreSQL LISTEN/NOTIFY.

    Each message reaches every subscriber that was registered when it was published, in
    every process, once. Subscribers get the same dict: treat it as read-only.
    """

    async def start(self) -> None:
        """Connect (called once at start-up)."""
        ...

    async def stop(self) -> None:
        """Disconnect and end every open subscription."""
        ...

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        """Deliver ``message`` to every current subscriber of ``topic``, in every process.

        Raises ``PayloadTooLarge`` when the encoded envelope exceeds ``MAX_PAYLOAD_BYTES``
        (nobody receives it then). A broker failure is logged, not raised: local
        subscribers have the message already and retrying would deliver it twice.
        """
        ...

    def stats(self) -> dict[str, int | bool]:
        """``listening`` (events from other processes arrive), ``subscriptions`` open here,
        and the counters ``dropped``, ``reconnects``, ``publish_failures`` since start."""
        ...

    def subscribe(self, topic: str) -> AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]:
        """A context whose value iterates the messages of ``topic`` published after entry."""
        ...


def interactions_topic(workspace_id: int) -> str:
    """The topic on which a workspace's stored interactions are announced."""
    return f"ws.{workspace_id}.interactions"


def scores_topic(workspace_id: int) -> str:
    """The topic on which a workspace's score and lifecycle stage changes are announced.

    Envelope: ``customer_id``, ``scores`` (the six current values by snake_case name),
    ``deltas`` (each score's move as a fraction of its range: engagement, influence, value
    and social value span 0-100, sentiment -1..1, churn risk 0..1), ``stage`` and
    ``previous_stage`` (equal when the stage did not move), and ``at`` (ISO 8601).
    """
    return f"ws.{workspace_id}.scores"


def encode_envelope(envelope: dict[str, Any], *, what: str = "message") -> str:
    """``envelope`` as compact JSON, or ``PayloadTooLarge`` when it exceeds the cap.

    Only plain JSON values pass (no ``default=str``): a subscriber in another process gets
    the decoded JSON, and one in this process must not get something different.
    """
    try:
        text = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"bus {what} must hold plain JSON values: {exc}") from exc
    size = len(text.encode())
    if size > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(
            f"bus {what} is {size} bytes encoded; the limit is {MAX_PAYLOAD_BYTES}: "
            "publish ids and filter fields, and let subscribers load the rest"
        )
    return text
