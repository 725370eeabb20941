"""A partner's channel plugin, written only against the public contract.

The tests install it as a distribution with an ``scrm`` entry point, the way ``pip install``
would, to drive the generic ingest path. "Acme Chat" posts JSON batches signed with
HMAC-SHA256 over the body in ``X-Acme-Signature``, and lets the server answer inline.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from socialcrm.plugins import (
    AccountContext,
    Channel,
    ChannelConfigError,
    CommunityRef,
    IdentityRef,
    InboundEvent,
    InteractionKind,
    InvalidPayload,
    MemberChange,
    OutboundMessage,
    PollResult,
    Profile,
    Relation,
    RelationKind,
    SendResult,
    VerificationFailed,
    VerifiedPayload,
    WebhookRequest,
    WebhookResponse,
    hookimpl,
)

SENT: list[tuple[str, str | None]] = []
"""Messages the channel 'sent': (recipient id, text)."""

FEED: list[dict[str, Any]] = []
"""Public posts the poller finds, oldest first; the cursor is an index into it."""


def sign(secret: str, body: bytes) -> str:
    """The signature header value Acme computes for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class AcmeChannel(Channel):
    """Acme Chat: signed JSON webhooks, inline replies, a 48-hour send window."""

    name = "acme"
    title = "Acme Chat"
    description = "A test partner channel."
    secret_settings = frozenset({"secret"})
    reply_deadline = 2.0
    reply_window = timedelta(hours=48)

    def validate_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        if not settings.get("secret"):
            raise ChannelConfigError("secret is required")
        return settings

    async def handshake(
        self, request: WebhookRequest, account: AccountContext
    ) -> WebhookResponse | None:
        if request.query.get("token") != account.settings["secret"]:
            raise VerificationFailed("bad token")
        return WebhookResponse(request.query.get("challenge", ""))

    async def verify(self, request: WebhookRequest, account: AccountContext) -> VerifiedPayload:
        expected = sign(account.settings["secret"], request.body)
        if not hmac.compare_digest(request.headers.get("x-acme-signature", ""), expected):
            raise VerificationFailed("signature mismatch")
        return VerifiedPayload(request.body)

    def parse(self, payload: VerifiedPayload, account: AccountContext) -> list[InboundEvent]:
        try:
            batch = json.loads(payload.body)
            return [self._event(item) for item in batch["messages"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidPayload(f"malformed Acme batch: {exc}") from exc

    def _event(self, item: dict[str, Any]) -> InboundEvent:
        sender = IdentityRef("acme", str(item["from"]), item.get("handle"))
        relations = [
            Relation(RelationKind.MENTION, target=IdentityRef("acme", str(uid)))
            for uid in item.get("mentions", [])
        ]
        if item.get("referral"):
            relations.append(Relation(RelationKind.REFERRAL, referral_code=item["referral"]))
        community = None
        if item.get("group"):
            community = CommunityRef(item["group"], name=item.get("group_name"))
        return InboundEvent(
            external_id=str(item["id"]),
            sender=sender,
            occurred_at=datetime.fromtimestamp(item["ts"], UTC),
            kind=InteractionKind(item.get("kind", "message")),
            content=item.get("text"),
            profile=Profile(
                display_name=item.get("name"),
                aliases=[IdentityRef("acme.global", item["global_id"])]
                if item.get("global_id")
                else [],
                followers_count=item.get("followers"),
            ),
            relations=relations,
            community=community,
            member_changes=[MemberChange(sender, joined=True)] if item.get("joined") else [],
            in_reply_to=item.get("reply_to"),
            raw=item,
            wants_reply=True,
        )

    def respond(
        self,
        payload: VerifiedPayload,
        account: AccountContext,
        replies: list[tuple[InboundEvent, OutboundMessage]],
    ) -> WebhookResponse:
        body = {"ok": True, "replies": {e.external_id: m.text for e, m in replies}}
        return WebhookResponse(json.dumps(body, sort_keys=True), media_type="application/json")

    async def poll(self, account: AccountContext, cursor: Any) -> PollResult | None:
        start = int(cursor or 0)
        return PollResult([self._event(item) for item in FEED[start:]], cursor=len(FEED))

    async def send(
        self, recipient: IdentityRef, message: OutboundMessage, account: AccountContext
    ) -> SendResult:
        if message.text and "fail" in message.text:
            return SendResult(ok=False, status="failed", error_code="4001", error_message="refused")
        SENT.append((recipient.external_id, message.text))
        return SendResult(ok=True, external_id=f"out-{len(SENT)}", status="sent")


@hookimpl
def scrm_channels() -> list[Channel]:
    return [AcmeChannel()]
