"""The contract's conformance kit over every WeChat and WeCom kind, and refusals of garbage."""

from __future__ import annotations

import base64
import random
import time

import pytest
from wechat.wechat_fakes import (
    AES_KEY,
    APP_ID,
    APP_SECRET,
    CORP_ID,
    OPENID,
    TOKEN,
    WECOM_AES_KEY,
    WECOM_TOKEN,
    ReferenceCrypto,
    encrypted_envelope,
    encrypted_push,
    xml_message,
)

from socialcrm.plugins import AccountContext
from socialcrm.plugins.testing import check_delivery, check_refusal, make_account, webhook_request
from socialcrm.plugins.wechat.channel import WeChatChannel
from socialcrm.plugins.wechat.wecom import WeComChannel

REF = ReferenceCrypto(TOKEN, AES_KEY, APP_ID)
WECOM_REF = ReferenceCrypto(WECOM_TOKEN, WECOM_AES_KEY, CORP_ID)

WECHAT_KINDS: dict[str, dict[str, str]] = {
    "text": {"MsgType": "text", "Content": "你好", "MsgId": "1"},
    "image": {"MsgType": "image", "PicUrl": "http://p", "MediaId": "m", "MsgId": "2"},
    "voice": {
        "MsgType": "voice",
        "MediaId": "m",
        "Format": "amr",
        "Recognition": "嗯",
        "MsgId": "3",
    },
    "video": {"MsgType": "video", "MediaId": "m", "ThumbMediaId": "t", "MsgId": "4"},
    "shortvideo": {"MsgType": "shortvideo", "MediaId": "m", "ThumbMediaId": "t", "MsgId": "5"},
    "location": {"MsgType": "location", "Location_X": "23.1", "Location_Y": "113.3", "MsgId": "6"},
    "link": {"MsgType": "link", "Title": "t", "Url": "https://e", "MsgId": "7"},
    "subscribe": {"MsgType": "event", "Event": "subscribe", "EventKey": "qrscene_r1"},
    "unsubscribe": {"MsgType": "event", "Event": "unsubscribe"},
    "scan": {"MsgType": "event", "Event": "SCAN", "EventKey": "r1", "Ticket": "t"},
    "click": {"MsgType": "event", "Event": "CLICK", "EventKey": "k"},
    "view": {"MsgType": "event", "Event": "VIEW", "EventKey": "https://e"},
    "location-event": {"MsgType": "event", "Event": "LOCATION", "Latitude": "1", "Longitude": "2"},
    "template": {"MsgType": "event", "Event": "TEMPLATESENDJOBFINISH", "Status": "success"},
    "unknown-event": {"MsgType": "event", "Event": "scancode_push", "EventKey": "k"},
    "unknown-type": {"MsgType": "hologram"},
}


def safe_account(channel: WeChatChannel) -> AccountContext:
    settings = channel.validate_settings(
        {"app_id": APP_ID, "app_secret": APP_SECRET, "token": TOKEN, "encoding_aes_key": AES_KEY}
    )
    return make_account(settings, channel="wechat")


def wecom_account(channel: WeComChannel) -> AccountContext:
    settings = channel.validate_settings(
        {"corp_id": CORP_ID, "token": WECOM_TOKEN, "encoding_aes_key": WECOM_AES_KEY}
    )
    return make_account(settings, channel="wecom")


@pytest.mark.parametrize("kind", list(WECHAT_KINDS))
async def test_every_wechat_kind_conforms(kind: str) -> None:
    channel = WeChatChannel()
    plaintext = xml_message(
        ToUserName="gh_1", FromUserName=OPENID, CreateTime=int(time.time()), **WECHAT_KINDS[kind]
    )
    query, body = encrypted_push(REF, plaintext, str(int(time.time())))
    [event] = await check_delivery(
        channel, safe_account(channel), webhook_request(body, query=query)
    )
    assert event.sender.external_id == OPENID


WECOM_KINDS: dict[str, str] = {
    "add": "<Event>change_external_contact</Event><ChangeType>add_external_contact</ChangeType>"
    "<UserID>u</UserID><ExternalUserID>wm1</ExternalUserID><State>s</State>",
    "del": "<Event>change_external_contact</Event><ChangeType>del_follow_user</ChangeType>"
    "<UserID>u</UserID><ExternalUserID>wm1</ExternalUserID>",
    "chat-members": "<Event>change_external_chat</Event><ChatId>c</ChatId>"
    "<ChangeType>update</ChangeType><UpdateDetail>add_member</UpdateDetail>"
    "<MemChangeList><Item>wm1</Item><Item>wm2</Item><Item>emp</Item></MemChangeList>",
    "chat-dismiss": "<Event>change_external_chat</Event><ChatId>c</ChatId>"
    "<ChangeType>dismiss</ChangeType>",
    "tag": "<Event>change_external_tag</Event><Id>t</Id><ChangeType>create</ChangeType>",
}


@pytest.mark.parametrize("kind", list(WECOM_KINDS))
async def test_every_wecom_kind_conforms(kind: str) -> None:
    channel = WeComChannel()
    plaintext = (
        f"<xml><ToUserName>{CORP_ID}</ToUserName><FromUserName>sys</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType>event</MsgType>"
        f"{WECOM_KINDS[kind]}</xml>"
    ).encode()
    encrypt = WECOM_REF.encrypt(plaintext)
    timestamp, nonce = str(int(time.time())), "n"
    query = {
        "msg_signature": WECOM_REF.sign(timestamp, nonce, encrypt),
        "timestamp": timestamp,
        "nonce": nonce,
    }
    body = f"<xml><ToUserName>{CORP_ID}</ToUserName><Encrypt>{encrypt}</Encrypt></xml>"
    events = await check_delivery(
        channel, wecom_account(channel), webhook_request(body, query=query)
    )
    assert events


async def test_garbage_ciphertexts_are_clean_refusals() -> None:
    """Random ciphertexts with valid signatures: always a 400/403, never a crash."""
    channel = WeChatChannel()
    account = safe_account(channel)
    rng = random.Random(20240601)
    statuses = set()
    for _ in range(300):
        size = rng.choice([0, 1, 15, 16, 31, 32, 48, 64, 96, 128])
        blob = rng.randbytes(size)
        encrypt = base64.b64encode(blob).decode() if rng.random() < 0.9 else blob.hex() + "!"
        query, body = encrypted_envelope(REF, encrypt or "A", str(int(time.time())))
        refusal = await check_refusal(channel, account, webhook_request(body, query=query))
        statuses.add(refusal.status_code)
    assert statuses <= {400, 403}


async def test_garbage_plaintexts_are_clean_refusals() -> None:
    """Authentic envelopes around junk: malformed XML, binary, missing fields."""
    channel = WeChatChannel()
    account = safe_account(channel)
    rng = random.Random(7)
    junk = [b"", b"\xff\xfe\x00", b"<xml>", b"<xml><MsgType>text</MsgType></xml>"]
    junk += [rng.randbytes(rng.randint(1, 200)) for _ in range(50)]
    for plaintext in junk:
        query, body = encrypted_push(REF, plaintext, str(int(time.time())))
        refusal = await check_refusal(channel, account, webhook_request(body, query=query))
        assert refusal.status_code == 400
