"""The Weibo push: signature, verification, parsing and inline replies."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import unquote

import pytest
from weibo_fakes import BRAND_UID, make_account

from socialcrm.plugins import (
    ChannelConfigError,
    InteractionKind,
    InvalidPayload,
    OutboundMessage,
    RelationKind,
    VerificationFailed,
    VerifiedPayload,
    WebhookRequest,
)
from socialcrm.plugins.manager import PluginManager
from socialcrm.plugins.testing import check_delivery, check_refusal
from socialcrm.plugins.weibo import WeiboChannel
from socialcrm.plugins.weibo.push import push_signature

SECRET = "xyz123xyz"


def signed_query(secret: str = SECRET, **extra: str) -> dict[str, str]:
    timestamp = str(int(time.time() * 1000))
    nonce = "57155157"
    return {
        "signature": push_signature(secret, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        **extra,
    }


def request(body: Any = b"", method: str = "POST", query: dict[str, str] | None = None):
    if not isinstance(body, bytes):
        body = json.dumps(body, ensure_ascii=False).encode()
    return WebhookRequest(
        method=method,
        url="https://crm.example.com/webhooks/weibo/brand",
        query=signed_query() if query is None else query,
        headers={"content-type": "application/json"},
        body=body,
    )


def push(**fields: Any) -> dict[str, Any]:
    return {
        "type": "text",
        "receiver_id": int(BRAND_UID),
        "sender_id": 2489518277,
        "created_at": "Mon Jul 16 18:09:20 +0800 2012",
        "text": "私信或留言内容",
        "data": {},
        **fields,
    }


def parse_one(channel: WeiboChannel, body: Any) -> Any:
    account = make_account(channel, uid=BRAND_UID)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    events = channel.parse(VerifiedPayload(raw), account)
    assert len(events) == 1
    return events[0]


def test_documented_signature_vector() -> None:
    assert (
        push_signature("xyz123xyz", "1397022061823", "57155157")
        == "90e4c22c90a58f26526c2dd5b6c56c8822edeaa1"
    )


def test_plugin_registers_the_channel() -> None:
    manager = PluginManager(load_entrypoints=False, builtins=("socialcrm.plugins.weibo.plugin",))
    assert isinstance(manager.channel("weibo"), WeiboChannel)


def test_settings_are_validated(channel: WeiboChannel) -> None:
    with pytest.raises(ChannelConfigError) as info:
        channel.validate_settings({"uid": "abc", "api_base_url": "ftp://x", "poll_count": 500})
    reason = info.value.reason
    assert info.value.field == "app_secret"
    for word in ("app_secret", "uid", "api_base_url", "poll_count"):
        assert word in reason
    settings = channel.validate_settings({"app_secret": "s", "uid": 1902538057})
    assert settings["uid"] == BRAND_UID
    assert settings["api_base_url"] == "https://api.weibo.com/2/"


async def test_handshake_echoes(channel: WeiboChannel) -> None:
    account = make_account(channel)
    response = await channel.handshake(
        request(method="GET", query=signed_query(echostr="hello")), account
    )
    assert response is not None and response.body == "hello"
    with pytest.raises(VerificationFailed):
        await channel.handshake(
            request(method="GET", query=signed_query("wrong", echostr="x")), account
        )


async def test_verify_checks_signature_timestamp_and_receiver(channel: WeiboChannel) -> None:
    account = make_account(channel, uid=BRAND_UID)
    payload = await channel.verify(request(push()), account)
    assert payload.meta["received_at"]
    with pytest.raises(VerificationFailed):
        await channel.verify(request(push(), query=signed_query("other")), account)
    with pytest.raises(VerificationFailed):
        await channel.verify(request(push(), query={}), account)
    stale = {
        "signature": push_signature(SECRET, "1397022061823", "57155157"),
        "timestamp": "1397022061823",
        "nonce": "57155157",
    }
    with pytest.raises(VerificationFailed) as info:
        await channel.verify(request(push(), query=stale), account)
    assert info.value.code == "STALE_TIMESTAMP"
    with pytest.raises(VerificationFailed):
        await channel.verify(request(push(receiver_id=123)), account)
    # With the window off, the documented vector verifies.
    relaxed = make_account(channel, replay_window_seconds=0)
    assert (await channel.verify(request(push(), query=stale), relaxed)).body


def test_text_message(channel: WeiboChannel) -> None:
    event = parse_one(channel, push())
    assert event.kind is InteractionKind.MESSAGE
    assert event.sender.channel == "weibo" and event.sender.external_id == "2489518277"
    assert event.content == "私信或留言内容"
    assert event.occurred_at.isoformat() == "2012-07-16T18:09:20+08:00"
    assert event.wants_reply
    assert event.external_id.startswith("msg:2489518277:1342433360:text:")


def test_sender_id_never_becomes_a_float(channel: WeiboChannel) -> None:
    big = b'{"type":"text","sender_id":9007199254740993,"receiver_id":1,"created_at":"Mon Jul 16 18:09:20 +0800 2012","text":"x","data":{}}'  # noqa: E501
    assert parse_one(channel, big).sender.external_id == "9007199254740993"
    as_float = big.replace(b"9007199254740993", b"9007199254740993.0")
    assert parse_one(channel, as_float).sender.external_id == "9007199254740993"
    as_string = big.replace(b"9007199254740993", b'"9007199254740993"')
    assert parse_one(channel, as_string).sender.external_id == "9007199254740993"


def test_dedupe_key_is_stable_and_distinguishes_content(channel: WeiboChannel) -> None:
    first = parse_one(channel, push())
    again = parse_one(channel, push())
    other_text = parse_one(channel, push(text="另一条"))
    other_type = parse_one(channel, push(type="image", data={"vfid": 1, "tovfid": 2}))
    assert first.external_id == again.external_id
    assert len({first.external_id, other_text.external_id, other_type.external_id}) == 3


def test_position_voice_image(channel: WeiboChannel) -> None:
    position = parse_one(
        channel, push(type="position", data={"longitude": "116.3", "latitude": "39.9"})
    )
    assert position.kind is InteractionKind.LOCATION
    assert position.data["longitude"] == "116.3" and position.data["latitude"] == "39.9"
    image = parse_one(channel, push(type="image", data={"vfid": 821804459, "tovfid": 821804469}))
    assert image.kind is InteractionKind.MESSAGE and image.content_type == "image"
    assert image.attachments[0].kind == "image"
    assert image.attachments[0].media_id == "821804469"
    assert image.attachments[0].url.endswith("fid=821804469")
    voice = parse_one(channel, push(type="voice", data={"vfid": 1, "tovfid": 2}))
    assert voice.attachments[0].kind == "voice"


@pytest.mark.parametrize(
    ("subtype", "kind", "following", "wants_reply"),
    [
        ("follow", InteractionKind.FOLLOW, True, True),
        ("subscribe", InteractionKind.FOLLOW, True, True),
        ("unfollow", InteractionKind.UNFOLLOW, False, False),
        ("unsubscribe", InteractionKind.UNFOLLOW, False, False),
        ("scan", InteractionKind.SCAN, None, True),
        ("scan_follow", InteractionKind.SCAN, True, True),
        ("click", InteractionKind.CLICK, None, True),
        ("view", InteractionKind.VIEW, None, True),
        ("mystery", InteractionKind.OTHER, None, True),
    ],
)
def test_events(
    channel: WeiboChannel,
    subtype: str,
    kind: InteractionKind,
    following: bool | None,
    wants_reply: bool,
) -> None:
    event = parse_one(
        channel, push(type="event", text=None, data={"subtype": subtype, "key": "ref_42"})
    )
    assert event.kind is kind
    assert event.content_type == f"event:{subtype}"
    assert event.data["key"] == "ref_42"
    assert (event.profile.following if event.profile else None) is following
    assert event.wants_reply is wants_reply
    if kind is InteractionKind.SCAN:
        assert event.relations[0].kind is RelationKind.REFERRAL
        assert event.relations[0].referral_code == "ref_42"
    if kind in (InteractionKind.CLICK, InteractionKind.VIEW):
        assert event.content == "ref_42"


def test_mention_is_parsed_leniently(channel: WeiboChannel) -> None:
    event = parse_one(channel, push(type="mention", data={"mid": "4567890123456789"}))
    assert event.kind is InteractionKind.MENTION
    assert event.external_id == "status:4567890123456789"
    odd = parse_one(channel, push(type="mention", data=["not", "a", "dict"]))
    assert odd.kind is InteractionKind.MENTION


def test_unknown_type_is_other(channel: WeiboChannel) -> None:
    event = parse_one(channel, push(type="sticker", data={"id": 3}))
    assert event.kind is InteractionKind.OTHER
    assert event.content_type == "sticker"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", json.dumps(push(sender_id=None)).encode(), b'{"sender_id": -4}'],
)
def test_invalid_pushes(channel: WeiboChannel, body: bytes) -> None:
    with pytest.raises(InvalidPayload):
        channel.parse(VerifiedPayload(body), make_account(channel))


def test_missing_created_at_uses_receipt_time(channel: WeiboChannel) -> None:
    body = push()
    del body["created_at"]
    payload = VerifiedPayload(
        json.dumps(body).encode(), meta={"received_at": "2024-01-02T03:04:05+00:00"}
    )
    events = channel.parse(payload, make_account(channel))
    assert events[0].occurred_at.isoformat() == "2024-01-02T03:04:05+00:00"
    assert events == channel.parse(payload, make_account(channel))


def test_passive_reply(channel: WeiboChannel) -> None:
    account = make_account(channel, uid=BRAND_UID)
    payload = VerifiedPayload(json.dumps(push()).encode())
    event = channel.parse(payload, account)[0]
    response = channel.respond(payload, account, [(event, OutboundMessage(text="您好！" * 120))])
    body = json.loads(response.body)
    assert body["result"] is True
    assert body["sender_id"] == int(BRAND_UID) and body["receiver_id"] == 2489518277
    assert body["type"] == "text"
    assert json.loads(unquote(body["data"])) == {"text": ("您好！" * 120)[:300]}
    assert response.media_type.startswith("application/json")

    articles = OutboundMessage(
        content_type="articles",
        articles=[{"title": "新品", "description": "看看", "url": "https://e.com", "pic_url": "p"}],
    )
    body = json.loads(channel.respond(payload, account, [(event, articles)]).body)
    assert json.loads(unquote(body["data"]))["articles"][0]["display_name"] == "新品"
    assert channel.respond(payload, account, []).body == b""


@pytest.mark.parametrize(
    "body",
    [
        push(),
        push(type="event", text=None, data={"subtype": "scan_follow", "key": "qr1"}),
        push(type="image", data={"vfid": 1, "tovfid": 2}),
        push(type="mention", data={"idstr": "4567890123456789"}),
        push(type="brand_new_type", data={"x": [1, 2.5]}),
    ],
)
async def test_conformance(channel: WeiboChannel, body: dict[str, Any]) -> None:
    account = make_account(channel, uid=BRAND_UID)
    events = await check_delivery(channel, account, request(body))
    assert len(events) == 1
    await check_refusal(channel, account, request(body, query=signed_query("forged")))
    await check_refusal(channel, account, request(b"{not json"))
