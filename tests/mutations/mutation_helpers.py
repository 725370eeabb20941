"""Helpers of the mutation tests: an observer plugin, the test channel ``quill``, and
creating customers over GraphQL."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar

from socialcrm.plugins import (
    AccountContext,
    Channel,
    ChannelConfigError,
    CustomerChange,
    IdentityRef,
    OutboundMessage,
    SendResult,
    StoredInteraction,
    hookimpl,
)


@dataclass(eq=False)
class Observer:
    """A plugin that records what the observer hooks were told."""

    changes: list[CustomerChange] = field(default_factory=list)
    interactions: list[StoredInteraction] = field(default_factory=list)
    fail: bool = False

    @hookimpl
    async def scrm_customer_changed(self, change: CustomerChange) -> None:
        self.changes.append(change)
        if self.fail:
            raise RuntimeError("observer down")

    @hookimpl
    def scrm_interaction_stored(self, interaction: StoredInteraction) -> None:
        self.interactions.append(interaction)


class QuillChannel(Channel):
    """A channel for tests: an API key secret, sends recorded, some recipients refused."""

    name: ClassVar[str] = "quill"
    title: ClassVar[str] = "Quill"
    description: ClassVar[str] = "A test channel."
    secret_settings: ClassVar[frozenset[str]] = frozenset({"api_key"})
    reply_window: ClassVar[timedelta | None] = None

    def __init__(self) -> None:
        self.sent: list[tuple[str, OutboundMessage]] = []

    def validate_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        key = settings.get("api_key")
        if not isinstance(key, str) or len(key) < 8:
            raise ChannelConfigError("api_key must be at least 8 characters", field="api_key")
        return {"api_key": key, "region": settings.get("region", "cn")}

    def setup_instructions(self, account: AccountContext) -> str:
        return f"Paste {account.webhook_url} into Quill's console."

    async def send(
        self, recipient: IdentityRef, message: OutboundMessage, account: AccountContext
    ) -> SendResult:
        if recipient.external_id.startswith("blocked"):
            return SendResult(
                ok=False, status="failed", error_code="45015", error_message="user blocked us"
            )
        self.sent.append((recipient.external_id, message))
        return SendResult(ok=True, external_id=f"q-{len(self.sent)}")


class QuillPlugin:
    """Provides the ``quill`` channel."""

    def __init__(self) -> None:
        self.channel = QuillChannel()

    @hookimpl
    def scrm_channels(self) -> list[Channel]:
        return [self.channel]


CUSTOMER_FIELDS = "id displayName handle email phone lifecycleStage attributes tags lastSeenAt"

CREATE = f"""
mutation Create($input: CreateCustomerInput!) {{
  createCustomer(input: $input) {{
    customer {{ {CUSTOMER_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""


async def create(graphql: Any, token: str, **fields: Any) -> dict[str, Any]:
    """Create a customer and return it; fails the test on any error."""
    answer = await graphql(CREATE, {"input": fields}, token=token)
    assert "errors" not in answer, answer
    payload = answer["data"]["createCustomer"]
    assert payload["userErrors"] == [], payload
    return payload["customer"]  # type: ignore[no-any-return]


async def first_message(bus: Any, topic: str) -> asyncio.Task[dict[str, Any]]:
    """Subscribe to ``topic`` now; the returned task ends with the first message on it."""
    ready = asyncio.Event()

    async def listen() -> dict[str, Any]:
        async with bus.subscribe(topic) as messages:
            ready.set()
            async for message in messages:
                return dict(message)
        raise AssertionError(f"the subscription to {topic} ended without a message")

    task = asyncio.create_task(listen())
    await ready.wait()
    return task
