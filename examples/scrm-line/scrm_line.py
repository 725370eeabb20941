"""LINE for socialcrm: signed JSON webhooks in (messages, follows, postbacks, group members),
text pushes out through the Messaging API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import httpx

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
    Profile,
    Relation,
    RelationKind,
    SendResult,
    VerificationFailed,
    VerifiedPayload,
    WebhookRequest,
    hookimpl,
)

PUSH_URL = "https://api.line.me/v2/bot/message/push"
KINDS = {
    "message": InteractionKind.MESSAGE,
    "follow": InteractionKind.FOLLOW,
    "unfollow": InteractionKind.UNFOLLOW,
    "postback": InteractionKind.CLICK,
    "memberJoined": InteractionKind.JOIN,
    "memberLeft": InteractionKind.LEAVE,
}


def signature(channel_secret: str, body: bytes) -> str:
    """The ``X-Line-Signature`` of ``body``: base64 of its HMAC-SHA256 under the secret."""
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class LineChannel(Channel):
    """A LINE official account (Messaging API channel)."""

    name = "line"
    title = "LINE"
    description = "Messages, follows and postbacks of a LINE official account."
    secret_settings = frozenset({"channel_secret", "access_token"})
    reply_deadline = 1.0  # LINE expects the webhook's 200 at once; pushes need no window

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.transport = transport  # tests answer for the Messaging API

    def validate_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        for key in ("channel_secret", "access_token"):
            if not isinstance(settings.get(key), str) or not settings[key]:
                raise ChannelConfigError(f"{key} is required (LINE Developers console)", field=key)
        return {key: settings[key] for key in ("channel_secret", "access_token")}

    async def verify(self, request: WebhookRequest, account: AccountContext) -> VerifiedPayload:
        expected = signature(account.settings["channel_secret"], request.body)
        if not hmac.compare_digest(request.headers.get("x-line-signature", ""), expected):
            raise VerificationFailed("X-Line-Signature does not match the body")
        return VerifiedPayload(request.body)

    def parse(self, payload: VerifiedPayload, account: AccountContext) -> list[InboundEvent]:
        try:
            events = json.loads(payload.body)["events"]
            return [self._event(item) for item in events if item["type"] in KINDS]
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidPayload(f"malformed LINE webhook: {exc!r}") from exc

    def _event(self, item: dict[str, Any]) -> InboundEvent:
        source, message = item["source"], item.get("message", {})
        user = source.get("userId")
        group = source.get("groupId") or source.get("roomId")
        members = (item.get("joined") or item.get("left") or {}).get("members", [])
        mentions = message.get("mention", {}).get("mentionees", [])
        following = {"follow": True, "unfollow": False}.get(item["type"])
        return InboundEvent(
            external_id=item["webhookEventId"],
            sender=IdentityRef("line", user) if user and not members else None,
            occurred_at=datetime.fromtimestamp(item["timestamp"] / 1000, UTC),
            kind=KINDS[item["type"]],
            content_type=message.get("type", f"event:{item['type']}"),
            content=message.get("text") or item.get("postback", {}).get("data"),
            profile=Profile(following=following) if following is not None else None,
            relations=[
                Relation(RelationKind.MENTION, target=IdentityRef("line", m["userId"]))
                for m in mentions
                if m.get("userId")
            ],
            community=CommunityRef(group) if group else None,
            member_changes=[
                MemberChange(IdentityRef("line", m["userId"]), joined="joined" in item)
                for m in members
            ],
            raw=item,
        )

    async def send(
        self, recipient: IdentityRef, message: OutboundMessage, account: AccountContext
    ) -> SendResult:
        if message.content_type != "text" or not message.text:
            return SendResult(ok=False, status="failed", error_message="only text is supported")
        body = {"to": recipient.external_id, "messages": [{"type": "text", "text": message.text}]}
        headers = {"Authorization": f"Bearer {account.settings['access_token']}"}
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=10) as client:
                response = await client.post(PUSH_URL, json=body, headers=headers)
        except httpx.HTTPError as exc:
            return SendResult(ok=False, status="failed", error_message=str(exc))
        answer = response.json() if response.content else {}
        if response.status_code != 200:
            error = str(answer.get("message", response.reason_phrase))
            code = str(response.status_code)
            return SendResult(ok=False, status="failed", error_code=code, error_message=error)
        sent = answer.get("sentMessages") or [{}]
        return SendResult(ok=True, external_id=sent[0].get("id"), raw=answer)


@hookimpl
def scrm_channels() -> list[Channel]:
    """The LINE channel."""
    return [LineChannel()]
