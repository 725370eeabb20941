"""The Channel interface: what a channel plugin implements, and what the server gives it.

A channel turns one network's webhook requests into ``InboundEvent`` values and sends the
brand's messages back out. The server owns everything around it (storage, identity
resolution, idempotency, publishing); a channel only speaks its platform's protocol.

The request path, for ``POST /webhooks/{channel}/{account}``::

    verify(request) -> VerifiedPayload     # signature, decryption; raise VerificationFailed
    parse(payload)  -> [InboundEvent]      # pure; raise InvalidPayload for bad input
    (the server stores the payload durably, then the events, idempotently)
    respond(payload, replies) -> WebhookResponse

``GET`` requests go to ``handshake`` (a platform checking the URL when it is configured).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol

from socialcrm.plugins.models import IdentityRef, InboundEvent, OutboundMessage, Profile, SendResult


class ChannelError(Exception):
    """Base of the errors a channel raises; ``reason`` is safe to show to the caller."""

    status_code: ClassVar[int] = 400

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code or type(self).__name__


class VerificationFailed(ChannelError):
    """The request is not from the platform (bad signature, wrong app id …): HTTP 403."""

    status_code = 403


class InvalidPayload(ChannelError):
    """The request is authentic or unauthenticated but malformed: HTTP 400."""

    status_code = 400


class PayloadTooLarge(ChannelError):
    """The body exceeds what the channel accepts: HTTP 413."""

    status_code = 413


class ChannelConfigError(ChannelError):
    """An account's settings are incomplete or invalid (reported as a userError).

    ``field`` optionally names the offending setting (``encoding_aes_key``), so the server
    can point the userError at it.
    """

    def __init__(self, reason: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(reason, code=code)
        self.field = field


@dataclass(slots=True, frozen=True)
class WebhookRequest:
    """A webhook request, free of any web framework."""

    method: str
    url: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    """Header names in lower case."""
    body: bytes


@dataclass(slots=True)
class WebhookResponse:
    """What the server answers the platform."""

    body: bytes | str = b""
    status_code: int = 200
    media_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class VerifiedPayload:
    """An authentic request body, decrypted where the platform encrypts.

    The server stores ``body`` and ``meta`` durably before it processes the events, and
    ``parse`` must be able to rebuild the same events from them alone (that is how a
    stored payload is processed again after a crash). ``meta`` is JSON-serializable.

    ``replay_key`` is for platforms whose signature does not cover the body (it signs a
    timestamp and a nonce or token): the channel sets it to what was signed, and the server
    remembers the key with a hash of the body for twice ``replay_window`` (a timestamp may be
    off either way). A second request with the same key and another body is refused with
    403; the same body again (a platform's retry) is answered as the first time.
    """

    body: bytes
    meta: dict[str, Any] = field(default_factory=dict)
    replay_key: str | None = None
    """What the signature covers (timestamp and nonce …), or None when it covers the body."""
    replay_window: timedelta = timedelta(days=1)
    """How far the signed timestamp may be from the clock (the channel's replay window)."""


class ChannelState(Protocol):
    """Small durable key/value state of one account, shared by every worker.

    For tokens and cursors (a WeChat access token, a poll cursor). Backed by the database,
    so every worker and host sees the same values.
    """

    async def get(self, key: str) -> Any | None:
        """The value stored under ``key``, or None when absent or expired."""
        ...

    async def set(self, key: str, value: Any, *, expires_at: datetime | None = None) -> None:
        """Store a JSON-serializable ``value`` under ``key``, optionally until ``expires_at``."""
        ...

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        ...


@dataclass(slots=True)
class AccountContext:
    """The connected account a request or send is for, as a channel sees it."""

    workspace_id: int
    account_id: int
    slug: str
    settings: dict[str, Any]
    """The account's settings, secrets included (never shown by the API)."""
    webhook_url: str
    state: ChannelState


@dataclass(slots=True)
class PollResult:
    """What one poll of a pull-based source found."""

    events: list[InboundEvent]
    cursor: Any = None
    """Stored by the server and passed to the next poll."""


class Channel:
    """Base class of channel plugins; subclass it and return an instance from
    ``scrm_channels``.

    Class attributes describe the channel; override the methods your platform supports.
    Every method gets the ``AccountContext`` of the connected account it works for.
    """

    name: ClassVar[str] = ""
    """Unique short name, used in URLs and on identities: ``wechat``, ``weibo``."""
    title: ClassVar[str] = ""
    """Human-readable name shown to operators."""
    description: ClassVar[str] = ""
    secret_settings: ClassVar[frozenset[str]] = frozenset()
    """Setting names that hold secrets: stored, never returned by the API."""
    reply_deadline: ClassVar[float] = 4.0
    """Seconds the platform waits for the webhook's answer. The server answers before
    then even when processing takes longer (the payload is already stored)."""
    reply_window: ClassVar[timedelta | None] = None
    """How long after the customer's last inbound interaction the brand may send (WeChat,
    Weibo: 48 hours). None: no limit."""
    max_body_bytes: ClassVar[int | None] = None
    """A lower body limit than the server's for this channel's webhooks, if any."""

    def validate_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Check and normalize an account's settings; raise ``ChannelConfigError``."""
        return dict(settings)

    def setup_instructions(self, account: AccountContext) -> str:
        """What the operator must do on the platform's side after connecting the account."""
        return f"Set the platform's callback URL to {account.webhook_url}"

    async def handshake(
        self, request: WebhookRequest, account: AccountContext
    ) -> WebhookResponse | None:
        """Answer a GET the platform sends to check the URL; None means 405."""
        return None

    async def verify(self, request: WebhookRequest, account: AccountContext) -> VerifiedPayload:
        """Authenticate a POST and return its payload; raise ``VerificationFailed``."""
        raise NotImplementedError

    def parse(self, payload: VerifiedPayload, account: AccountContext) -> list[InboundEvent]:
        """Turn a verified payload into normalized events; raise ``InvalidPayload``.

        Must be pure: no I/O, the same events for the same payload.
        """
        raise NotImplementedError

    def respond(
        self,
        payload: VerifiedPayload,
        account: AccountContext,
        replies: list[tuple[InboundEvent, OutboundMessage]],
    ) -> WebhookResponse:
        """The answer to the platform, carrying inline replies where it supports them."""
        return WebhookResponse(b"")

    async def fetch_profile(self, identity: IdentityRef, account: AccountContext) -> Profile | None:
        """Look up a person the server has not seen before (user info APIs)."""
        return None

    async def send(
        self, recipient: IdentityRef, message: OutboundMessage, account: AccountContext
    ) -> SendResult:
        """Send an active message to ``recipient``; report failures in the result."""
        return SendResult(
            ok=False,
            status="failed",
            error_code="UNSUPPORTED",
            error_message=f"{self.name} cannot send messages",
        )

    async def poll(self, account: AccountContext, cursor: Any) -> PollResult | None:
        """Fetch new events from a pull-based source; None when the channel only pushes."""
        return None
