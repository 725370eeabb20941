"""A conformance kit for channel plugins: checks a partner runs in their own tests.

The server relies on a few promises that the type hints cannot express: ``parse`` is pure
and gives the same events for a payload stored and read back, external ids are stable and
unique, times carry a zone, everything kept is JSON. These helpers check them and raise
``ConformanceError`` saying which promise broke::

    from socialcrm.plugins.testing import check_delivery, check_refusal, make_account

    async def test_my_channel_conforms():
        account = make_account({"secret": "s"})
        events = await check_delivery(MyChannel(), account, signed_request(...))
        await check_refusal(MyChannel(), account, tampered_request(...))
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from socialcrm.plugins.channel import (
    AccountContext,
    Channel,
    ChannelError,
    VerifiedPayload,
    WebhookRequest,
    WebhookResponse,
)
from socialcrm.plugins.models import Direction, InboundEvent, InteractionKind

MAX_EXTERNAL_ID = 255


class ConformanceError(AssertionError):
    """A channel broke a promise of the plugin contract."""


class MemoryChannelState:
    """A ``ChannelState`` in a dict, for testing a plugin without a server.

    The server's own state lives in the database and is shared by every worker.
    """

    def __init__(self) -> None:
        self.values: dict[str, tuple[Any, datetime | None]] = {}

    async def get(self, key: str) -> Any | None:
        """The value under ``key``, or None when absent or expired."""
        entry = self.values.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if expires_at is not None and expires_at <= datetime.now(expires_at.tzinfo):
            return None
        return value

    async def set(self, key: str, value: Any, *, expires_at: datetime | None = None) -> None:
        """Store ``value`` under ``key``."""
        self.values[key] = (json.loads(json.dumps(value)), expires_at)

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        self.values.pop(key, None)


def make_account(
    settings: dict[str, Any],
    *,
    slug: str = "test",
    workspace_id: int = 1,
    account_id: int = 1,
    public_url: str = "https://crm.example.com",
    channel: str = "test",
) -> AccountContext:
    """An ``AccountContext`` like the server's, with in-memory state."""
    return AccountContext(
        workspace_id=workspace_id,
        account_id=account_id,
        slug=slug,
        settings=dict(settings),
        webhook_url=f"{public_url}/webhooks/{channel}/{slug}",
        state=MemoryChannelState(),
    )


def webhook_request(
    body: bytes | str = b"",
    *,
    method: str = "POST",
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    url: str = "https://crm.example.com/webhooks/test/test",
) -> WebhookRequest:
    """A ``WebhookRequest`` as the server builds it (header names lower-cased)."""
    return WebhookRequest(
        method=method,
        url=url,
        query=dict(query or {}),
        headers={k.lower(): v for k, v in (headers or {}).items()},
        body=body.encode() if isinstance(body, str) else body,
    )


async def check_delivery(
    channel: Channel, account: AccountContext, request: WebhookRequest
) -> list[InboundEvent]:
    """Verify and parse a genuine delivery and check every contract promise on the way.

    Returns the events so the caller can assert on their content.
    """
    check_channel_class(channel)
    payload = await channel.verify(request, account)
    if not isinstance(payload, VerifiedPayload) or not isinstance(payload.body, bytes):
        raise ConformanceError("verify() must return a VerifiedPayload with a bytes body")
    _check_json("VerifiedPayload.meta", payload.meta)
    events = channel.parse(payload, account)
    if not isinstance(events, list):
        raise ConformanceError("parse() must return a list of InboundEvent")
    stored = VerifiedPayload(payload.body, json.loads(json.dumps(payload.meta)))
    again = channel.parse(stored, account)
    if [asdict(e) for e in again] != [asdict(e) for e in events]:
        raise ConformanceError(
            "parse() gave other events for the same payload read back from storage: it must "
            "be pure and depend only on the body and meta"
        )
    seen: set[str] = set()
    for event in events:
        check_event(event)
        if event.external_id in seen:
            raise ConformanceError(f"two events of one delivery share id {event.external_id!r}")
        seen.add(event.external_id)
    response = channel.respond(payload, account, [])
    if not isinstance(response, WebhookResponse):
        raise ConformanceError("respond() must return a WebhookResponse")
    return events


async def check_refusal(
    channel: Channel, account: AccountContext, request: WebhookRequest
) -> ChannelError:
    """Check that a forged or malformed delivery is refused with a ``ChannelError``.

    Any other exception would surface as a 500 and make the platform retry forever.
    """
    try:
        payload = await channel.verify(request, account)
        channel.parse(payload, account)
    except ChannelError as exc:
        if exc.status_code not in (400, 403, 413):
            raise ConformanceError(f"unexpected status {exc.status_code} for a refusal") from exc
        if not exc.reason:
            raise ConformanceError("a refusal must say why (ChannelError.reason)") from exc
        return exc
    except Exception as exc:
        raise ConformanceError(
            f"bad input raised {type(exc).__name__} instead of VerificationFailed or InvalidPayload"
        ) from exc
    raise ConformanceError("the delivery was accepted; it should have been refused")


def check_channel_class(channel: Channel) -> None:
    """Check the channel's descriptive attributes."""
    if not channel.name or not channel.name.replace("-", "").replace("_", "").isalnum():
        raise ConformanceError(f"channel name {channel.name!r} must be a short identifier")
    if channel.name != channel.name.lower():
        raise ConformanceError("channel names are lower case")
    if not channel.title:
        raise ConformanceError(f"channel {channel.name!r} has no title")
    if not isinstance(channel.secret_settings, frozenset):
        raise ConformanceError("secret_settings must be a frozenset of setting names")
    if channel.reply_deadline <= 0:
        raise ConformanceError("reply_deadline must be positive")


def check_event(event: InboundEvent) -> None:
    """Check one normalized event."""
    if not isinstance(event.external_id, str) or not event.external_id:
        raise ConformanceError("every event needs a non-empty string external_id")
    if len(event.external_id) > MAX_EXTERNAL_ID:
        raise ConformanceError(f"external_id longer than {MAX_EXTERNAL_ID} characters")
    sender = event.sender
    if sender is not None and (not sender.channel or not sender.external_id):
        raise ConformanceError(f"event {event.external_id}: sender needs channel and external_id")
    if not isinstance(event.occurred_at, datetime) or event.occurred_at.tzinfo is None:
        raise ConformanceError(f"event {event.external_id}: occurred_at must be timezone-aware")
    if not isinstance(event.kind, InteractionKind):
        raise ConformanceError(f"event {event.external_id}: kind must be an InteractionKind")
    if not isinstance(event.direction, Direction):
        raise ConformanceError(f"event {event.external_id}: direction must be a Direction")
    if not event.content_type:
        raise ConformanceError(f"event {event.external_id}: content_type is empty")
    _check_json(f"event {event.external_id}: data", event.data)
    _check_json(f"event {event.external_id}: raw", event.raw)
    if event.profile is not None:
        _check_json(f"event {event.external_id}: profile.extra", event.profile.extra)


def _check_json(what: str, value: Any) -> None:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ConformanceError(f"{what} must be JSON-serializable: {exc}") from exc
