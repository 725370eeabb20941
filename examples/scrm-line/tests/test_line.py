"""The LINE channel keeps the plugin contract and its messages reach a real server."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from scrm_line import LineChannel

from socialcrm.plugins import IdentityRef, InteractionKind, OutboundMessage
from socialcrm.plugins.testing import (
    PluginServer,
    check_delivery,
    check_refusal,
    hmac_signature,
    make_account,
    webhook_request,
)

SETTINGS = {"channel_secret": "line-secret", "access_token": "line-token"}
QUERY = """
{ interactions(first: 10) {
    totalCount edges { node { kind content customer { displayName } community { name } } } } }
"""


def line_event(kind: str, event_id: str, **fields: Any) -> dict[str, Any]:
    """One webhook event as LINE sends it (from a user unless ``source`` is given)."""
    return {
        "type": kind,
        "webhookEventId": event_id,
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": "U1"},
        "mode": "active",
        "deliveryContext": {"isRedelivery": False},
        **fields,
    }


def signed(events: list[dict[str, Any]]) -> tuple[bytes, dict[str, str]]:
    """A webhook body and its signature header, signed independently of the plugin."""
    body = json.dumps({"destination": "Ubot", "events": events}).encode()
    return body, {"X-Line-Signature": hmac_signature("line-secret", body, encoding="base64")}


async def test_line_deliveries_conform() -> None:
    channel = LineChannel()
    account = make_account(channel.validate_settings(SETTINGS), channel="line")
    group = {"type": "group", "groupId": "G1", "userId": "U2"}
    body, headers = signed(
        [
            line_event("message", "e1", message={"type": "text", "id": "m1", "text": "hello"}),
            line_event("follow", "e2"),
            line_event("message", "e3", source=group, message={"type": "sticker", "id": "m3"}),
            line_event("memberJoined", "e4", source=group, joined={"members": [{"userId": "U3"}]}),
            line_event("postback", "e5", postback={"data": "action=buy"}),
            line_event("beacon", "e6"),
        ]
    )
    events = await check_delivery(channel, account, webhook_request(body, headers=headers))
    assert [e.external_id for e in events] == ["e1", "e2", "e3", "e4", "e5"]
    message, follow, sticker, joined, postback = events
    assert (message.kind, message.content) == (InteractionKind.MESSAGE, "hello")
    assert follow.kind == InteractionKind.FOLLOW and follow.profile is not None
    assert follow.profile.following is True
    assert sticker.community is not None and sticker.community.external_id == "G1"
    assert joined.sender is None and joined.member_changes[0].identity.external_id == "U3"
    assert (postback.kind, postback.content) == (InteractionKind.CLICK, "action=buy")

    forged = webhook_request(body, headers={"X-Line-Signature": "AAAA"})
    assert (await check_refusal(channel, account, forged)).status_code == 403
    garbage = b"[1, 2]"
    garbage_headers = {
        "X-Line-Signature": hmac_signature("line-secret", garbage, encoding="base64")
    }
    refused = await check_refusal(
        channel, account, webhook_request(garbage, headers=garbage_headers)
    )
    assert refused.status_code == 400


async def test_messages_reach_the_server_once(scrm_server: PluginServer) -> None:
    slug = await scrm_server.connect("line", SETTINGS)
    body, headers = signed(
        [line_event("message", "e1", message={"type": "text", "id": "m1", "text": "hello"})]
    )
    assert (await scrm_server.deliver("line", slug, body, headers=headers)).status_code == 200
    # LINE redelivers with the same webhookEventId: stored once.
    assert (await scrm_server.deliver("line", slug, body, headers=headers)).status_code == 200
    data = await scrm_server.graphql(QUERY)
    assert data["interactions"]["totalCount"] == 1
    assert data["interactions"]["edges"][0]["node"]["content"] == "hello"

    forged = await scrm_server.deliver("line", slug, body, headers={"X-Line-Signature": "AAAA"})
    assert forged.status_code == 403


async def test_send_pushes_text_through_the_messaging_api() -> None:
    seen: list[httpx.Request] = []

    def messaging_api(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if json.loads(request.content)["to"] == "Ublocked":
            return httpx.Response(400, json={"message": "The user hasn't added the account"})
        return httpx.Response(200, json={"sentMessages": [{"id": "461230966842064897"}]})

    channel = LineChannel(transport=httpx.MockTransport(messaging_api))
    account = make_account(channel.validate_settings(SETTINGS), channel="line")
    sent = await channel.send(IdentityRef("line", "U1"), OutboundMessage(text="hi"), account)
    assert (sent.ok, sent.external_id) == (True, "461230966842064897")
    assert seen[0].headers["authorization"] == "Bearer line-token"
    assert json.loads(seen[0].content)["messages"] == [{"type": "text", "text": "hi"}]

    refused = await channel.send(
        IdentityRef("line", "Ublocked"), OutboundMessage(text="hi"), account
    )
    assert (refused.ok, refused.error_code) == (False, "400")
    image = OutboundMessage(content_type="image", media_id="x")
    assert not (await channel.send(IdentityRef("line", "U1"), image, account)).ok
