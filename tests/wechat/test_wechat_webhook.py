"""The official-account webhook: settings, URL check, verify in three modes, passive replies."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from wechat.wechat_fakes import (
    AES_KEY,
    APP_ID,
    APP_SECRET,
    OPENID,
    ORIGINAL_ID,
    TOKEN,
    VECTORS,
    ReferenceCrypto,
    encrypted_envelope,
    encrypted_push,
    make_account,
    plain_query,
    request,
    xml_message,
)

from socialcrm.plugins import (
    AccountContext,
    ChannelConfigError,
    InteractionKind,
    InvalidPayload,
    OutboundMessage,
    PayloadTooLarge,
    RelationKind,
    VerificationFailed,
    VerifiedPayload,
)
from socialcrm.plugins.wechat.channel import WeChatChannel
from socialcrm.plugins.wechat.xml import parse_xml

SAFE = VECTORS["safe_mode"]
FROZEN = 1409304348.0  # the vectors' timestamp


def now() -> str:
    return str(int(time.time()))


def account(channel: WeChatChannel, mode: str, **extra: Any) -> AccountContext:
    settings: dict[str, Any] = {
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "token": TOKEN,
        "mode": mode,
        **extra,
    }
    if mode != "plain":
        settings.setdefault("encoding_aes_key", AES_KEY)
    return make_account(channel, **settings)


def text_push(msg_id: str = "6054768590064713728", content: str = "你好") -> bytes:
    return xml_message(
        ToUserName=ORIGINAL_ID,
        FromUserName=OPENID,
        CreateTime=int(time.time()),
        MsgType="text",
        Content=content,
        MsgId=msg_id,
    )


# Settings ----------------------------------------------------------------------------------


def test_validate_settings_normalizes() -> None:
    channel = WeChatChannel()
    settings = channel.validate_settings(
        {
            "app_id": " wx1 ",
            "app_secret": "s",
            "token": "tok123",
            "encoding_aes_key": AES_KEY,
            "api_base_url": "http://127.0.0.1:9/",
        }
    )
    assert settings == {
        "app_id": "wx1",
        "app_secret": "s",
        "token": "tok123",
        "encoding_aes_key": AES_KEY,
        "mode": "safe",  # the default when a key is given
        "api_base_url": "http://127.0.0.1:9",
        "replay_window_seconds": 600,
    }
    plain = channel.validate_settings({"app_id": "wx1", "app_secret": "s", "token": "tok123"})
    assert plain["mode"] == "plain" and "encoding_aes_key" not in plain
    assert plain["api_base_url"] == "https://api.weixin.qq.com"
    assert channel.secret_settings == {"app_secret", "token", "encoding_aes_key"}


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"app_id": ""}, "app_id", "App ID"),
        ({"app_secret": None}, "app_secret", "secret"),
        ({"token": "a b"}, "token", "3 to 32"),
        ({"token": "x" * 33}, "token", "3 to 32"),
        ({"encoding_aes_key": "short"}, "encoding_aes_key", "43"),
        ({"encoding_aes_key": None, "mode": "safe"}, "encoding_aes_key", "EncodingAESKey"),
        ({"mode": "secure"}, "mode", "plain, compatible, safe"),
        ({"api_base_url": "ftp://x"}, "api_base_url", "http"),
        ({"replay_window_seconds": -1}, "replay_window_seconds", "0 or more"),
        ({"encodingaeskey": "x"}, "encodingaeskey", "unknown"),
    ],
)
def test_validate_settings_refuses(change: dict[str, Any], field: str, words: str) -> None:
    settings = {"app_id": "wx1", "app_secret": "s", "token": "tok123", "encoding_aes_key": AES_KEY}
    settings.update(change)
    settings = {k: v for k, v in settings.items() if v is not None}
    with pytest.raises(ChannelConfigError) as info:
        WeChatChannel().validate_settings(settings)
    assert info.value.field == field
    assert words in info.value.reason


def test_setup_instructions() -> None:
    channel = WeChatChannel()
    text = channel.setup_instructions(account(channel, "compatible"))
    assert "https://crm.example.com/webhooks/wechat/main" in text
    assert TOKEN in text
    assert "compatible" in text and "兼容模式" in text
    assert AES_KEY not in text  # the operator already has it; no need to echo a secret


# URL check ---------------------------------------------------------------------------------


async def test_handshake_vector() -> None:
    v = VECTORS["url_verification"]
    channel = WeChatChannel()
    query = {k: v[k] for k in ("signature", "timestamp", "nonce", "echostr")}
    response = await channel.handshake(request("GET", query), account(channel, "plain"))
    assert response.body == v["echostr"].encode()
    assert response.status_code == 200


@pytest.mark.parametrize("broken", ["signature", "nonce", "missing"])
async def test_handshake_refuses(broken: str) -> None:
    v = VECTORS["url_verification"]
    channel = WeChatChannel()
    query = {k: v[k] for k in ("signature", "timestamp", "nonce", "echostr")}
    if broken == "missing":
        del query["signature"]
    else:
        query[broken] = "0" * 40
    with pytest.raises(VerificationFailed) as info:
        await channel.handshake(request("GET", query), account(channel, "plain"))
    assert info.value.status_code == 403


# Inbound, three modes ----------------------------------------------------------------------


async def test_plain_mode() -> None:
    channel = WeChatChannel()
    acct = account(channel, "plain")
    ts = now()
    payload = await channel.verify(request("POST", plain_query(TOKEN, ts), text_push()), acct)
    assert payload.meta == {"encrypted": False, "timestamp": ts, "nonce": "nonce1"}
    (event,) = channel.parse(payload, acct)
    assert event.content == "你好"
    assert channel.respond(payload, acct, []).body == b"success"


@pytest.mark.parametrize("vector", SAFE, ids=[v["name"] for v in SAFE])
async def test_safe_mode_vectors(vector: dict[str, str]) -> None:
    channel = WeChatChannel(clock=lambda: FROZEN)
    acct = account(channel, "safe")
    query = {
        "signature": ReferenceCrypto(TOKEN, AES_KEY, APP_ID).sign(
            vector["timestamp"], vector["nonce"]
        ),
        "timestamp": vector["timestamp"],
        "nonce": vector["nonce"],
        "openid": OPENID,
        "encrypt_type": "aes",
        "msg_signature": vector["msg_signature"],
    }
    payload = await channel.verify(request("POST", query, vector["post_body"].encode()), acct)
    assert payload.body == vector["plaintext"].encode()
    assert payload.meta["encrypted"] is True
    (event,) = channel.parse(payload, acct)
    if vector["name"] == "text":
        assert event.content == "我的订单三天了还没发货，要投诉"
        assert event.external_id == "6054768590064713728"
    else:
        assert event.kind is InteractionKind.FOLLOW
        assert event.relations[0].kind is RelationKind.REFERRAL
        assert event.relations[0].referral_code == "ref42"


async def test_safe_mode_with_reference_encryptor() -> None:
    channel = WeChatChannel()
    acct = account(channel, "safe")
    ref = ReferenceCrypto(TOKEN, AES_KEY, APP_ID)
    query, body = encrypted_push(ref, text_push(content="加密的消息"), now())
    payload = await channel.verify(request("POST", query, body), acct)
    assert channel.parse(payload, acct)[0].content == "加密的消息"


async def test_safe_mode_without_plain_signature() -> None:
    """msg_signature alone authenticates an encrypted push."""
    channel = WeChatChannel()
    acct = account(channel, "safe")
    query, body = encrypted_push(ReferenceCrypto(TOKEN, AES_KEY, APP_ID), text_push(), now())
    del query["signature"]
    payload = await channel.verify(request("POST", query, body), acct)
    assert channel.parse(payload, acct)[0].content == "你好"


async def test_compatible_mode_uses_the_encrypted_copy() -> None:
    channel = WeChatChannel()
    acct = account(channel, "compatible")
    ref = ReferenceCrypto(TOKEN, AES_KEY, APP_ID)
    # The plain copy beside Encrypt is not authenticated by msg_signature: it is ignored.
    query, body = encrypted_push(
        ref,
        text_push(content="真的"),
        now(),
        outer={"FromUserName": OPENID, "MsgType": "text", "Content": "假的"},
    )
    payload = await channel.verify(request("POST", query, body), acct)
    assert channel.parse(payload, acct)[0].content == "真的"


async def test_compatible_mode_accepts_plain_push() -> None:
    channel = WeChatChannel()
    acct = account(channel, "compatible")
    payload = await channel.verify(request("POST", plain_query(TOKEN, now()), text_push()), acct)
    assert payload.meta["encrypted"] is False


async def test_safe_mode_refuses_plaintext() -> None:
    channel = WeChatChannel()
    acct = account(channel, "safe")
    with pytest.raises(VerificationFailed):
        await channel.verify(request("POST", plain_query(TOKEN, now()), text_push()), acct)


async def test_plain_account_with_key_follows_an_encrypted_push() -> None:
    """The console's mode can change before the account's settings do."""
    channel = WeChatChannel()
    acct = account(channel, "plain", encoding_aes_key=AES_KEY)
    query, body = encrypted_push(ReferenceCrypto(TOKEN, AES_KEY, APP_ID), text_push(), now())
    payload = await channel.verify(request("POST", query, body), acct)
    assert payload.meta["encrypted"] is True


async def test_plain_account_without_key_refuses_encrypted_push() -> None:
    channel = WeChatChannel()
    acct = account(channel, "plain")
    query, body = encrypted_push(ReferenceCrypto(TOKEN, AES_KEY, APP_ID), text_push(), now())
    with pytest.raises(InvalidPayload):
        await channel.verify(request("POST", query, body), acct)


# Bad input ---------------------------------------------------------------------------------


async def test_wrong_signature_plain() -> None:
    channel = WeChatChannel()
    query = plain_query("othertoken", now())
    with pytest.raises(VerificationFailed):
        await channel.verify(request("POST", query, text_push()), account(channel, "plain"))


async def test_missing_signature_plain() -> None:
    channel = WeChatChannel()
    query = plain_query(TOKEN, now())
    del query["signature"]
    with pytest.raises(VerificationFailed):
        await channel.verify(request("POST", query, text_push()), account(channel, "plain"))


async def test_wrong_msg_signature() -> None:
    channel = WeChatChannel()
    query, body = encrypted_push(ReferenceCrypto(TOKEN, AES_KEY, APP_ID), text_push(), now())
    query["msg_signature"] = "0" * 40
    with pytest.raises(VerificationFailed):
        await channel.verify(request("POST", query, body), account(channel, "safe"))


async def test_tampered_ciphertext_fails_signature() -> None:
    channel = WeChatChannel()
    ref = ReferenceCrypto(TOKEN, AES_KEY, APP_ID)
    query, body = encrypted_push(ref, text_push(), now())
    body = body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[AAAA")
    with pytest.raises(VerificationFailed):
        await channel.verify(request("POST", query, body), account(channel, "safe"))


async def test_wrong_app_id() -> None:
    channel = WeChatChannel()
    other = ReferenceCrypto(TOKEN, AES_KEY, "wx0000000000000000")
    query, body = encrypted_push(other, text_push(), now())
    with pytest.raises(VerificationFailed) as info:
        await channel.verify(request("POST", query, body), account(channel, "safe"))
    assert "app id" in info.value.reason


@pytest.mark.parametrize(
    "encrypt",
    [
        "%%%not-base64%%%",
        base64.b64encode(b"x" * 37).decode(),  # truncated: not whole blocks
        base64.b64encode(b"x" * 15).decode(),
    ],
    ids=["non-base64", "truncated", "short"],
)
async def test_malformed_ciphertext(encrypt: str) -> None:
    channel = WeChatChannel()
    ref = ReferenceCrypto(TOKEN, AES_KEY, APP_ID)
    query, body = encrypted_envelope(ref, encrypt, now())
    with pytest.raises(InvalidPayload) as info:
        await channel.verify(request("POST", query, body), account(channel, "safe"))
    assert info.value.status_code == 400


async def test_bad_padding_in_envelope() -> None:
    channel = WeChatChannel()
    ref = ReferenceCrypto(TOKEN, AES_KEY, APP_ID)
    query, body = encrypted_envelope(ref, ref.encrypt_raw(b"q" * 63 + b"\x00"), now())
    with pytest.raises(InvalidPayload) as info:
        await channel.verify(request("POST", query, body), account(channel, "safe"))
    assert "padding" in info.value.reason


async def test_missing_encrypt_element() -> None:
    channel = WeChatChannel()
    query = plain_query(TOKEN, now(), encrypt_type="aes", msg_signature="x")
    with pytest.raises(InvalidPayload):
        await channel.verify(request("POST", query, text_push()), account(channel, "safe"))


ENTITY_XML = (
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e "x">]>'
    b"<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
    b"<MsgType>text</MsgType><Content>&e;</Content><MsgId>1</MsgId></xml>"
)
DOCTYPE_XML = b"<!DOCTYPE xml><xml><MsgType>text</MsgType></xml>"


@pytest.mark.parametrize("body", [ENTITY_XML, DOCTYPE_XML], ids=["entity", "doctype"])
async def test_plain_xml_with_dtd_refused(body: bytes) -> None:
    channel = WeChatChannel()
    with pytest.raises(InvalidPayload) as info:
        await channel.verify(
            request("POST", plain_query(TOKEN, now()), body), account(channel, "plain")
        )
    assert info.value.status_code == 400


@pytest.mark.parametrize("body", [ENTITY_XML, DOCTYPE_XML], ids=["entity", "doctype"])
async def test_encrypted_xml_with_dtd_refused(body: bytes) -> None:
    channel = WeChatChannel()
    query, envelope = encrypted_push(ReferenceCrypto(TOKEN, AES_KEY, APP_ID), body, now())
    with pytest.raises(InvalidPayload):
        await channel.verify(request("POST", query, envelope), account(channel, "safe"))


async def test_envelope_with_dtd_refused() -> None:
    channel = WeChatChannel()
    query = plain_query(TOKEN, now(), encrypt_type="aes", msg_signature="x")
    with pytest.raises(InvalidPayload):
        await channel.verify(request("POST", query, DOCTYPE_XML), account(channel, "safe"))


async def test_huge_body() -> None:
    channel = WeChatChannel()
    body = text_push(content="长" * 100_000)
    with pytest.raises(PayloadTooLarge) as info:
        await channel.verify(
            request("POST", plain_query(TOKEN, now()), body), account(channel, "plain")
        )
    assert info.value.status_code == 413


async def test_missing_fields_refused_before_storage() -> None:
    channel = WeChatChannel()
    body = xml_message(ToUserName=ORIGINAL_ID, MsgType="text", Content="x")
    with pytest.raises(InvalidPayload):
        await channel.verify(
            request("POST", plain_query(TOKEN, now()), body), account(channel, "plain")
        )


async def test_unknown_msg_type_is_accepted() -> None:
    channel = WeChatChannel()
    acct = account(channel, "plain")
    body = xml_message(FromUserName=OPENID, CreateTime=int(time.time()), MsgType="hologram")
    payload = await channel.verify(request("POST", plain_query(TOKEN, now()), body), acct)
    assert channel.parse(payload, acct)[0].kind is InteractionKind.OTHER


@pytest.mark.parametrize("offset", [-601, 601])
async def test_stale_timestamp_refused(offset: int) -> None:
    channel = WeChatChannel()
    ts = str(int(time.time()) + offset)
    with pytest.raises(VerificationFailed) as info:
        await channel.verify(
            request("POST", plain_query(TOKEN, ts), text_push()), account(channel, "plain")
        )
    assert info.value.code == "STALE_TIMESTAMP"


async def test_replay_window_can_be_turned_off() -> None:
    channel = WeChatChannel()
    acct = account(channel, "plain", replay_window_seconds=0)
    query = plain_query(TOKEN, "1409304348")
    assert (await channel.verify(request("POST", query, text_push()), acct)).body


def test_parse_is_pure_and_repeatable() -> None:
    channel = WeChatChannel()
    acct = account(channel, "plain")
    payload = VerifiedPayload(body=text_push(), meta={"encrypted": False})
    assert channel.parse(payload, acct) == channel.parse(payload, acct)


# Passive replies ---------------------------------------------------------------------------


def reply_to(
    channel: WeChatChannel, acct: AccountContext, payload: VerifiedPayload, message: OutboundMessage
) -> bytes:
    (event,) = channel.parse(payload, acct)
    response = channel.respond(payload, acct, [(event, message)])
    assert response.status_code == 200
    body = response.body
    return body if isinstance(body, bytes) else body.encode()


def test_plain_text_reply() -> None:
    channel = WeChatChannel(clock=lambda: 1700000000.0)
    acct = account(channel, "plain")
    payload = VerifiedPayload(body=text_push(), meta={"encrypted": False})
    reply = parse_xml(reply_to(channel, acct, payload, OutboundMessage(text="您好 <&>")))
    assert reply == {
        "ToUserName": OPENID,
        "FromUserName": ORIGINAL_ID,
        "CreateTime": "1700000000",
        "MsgType": "text",
        "Content": "您好 <&>",
    }


def test_image_reply() -> None:
    channel = WeChatChannel()
    acct = account(channel, "plain")
    payload = VerifiedPayload(body=text_push(), meta={"encrypted": False})
    message = OutboundMessage(content_type="image", media_id="MEDIA")
    reply = parse_xml(reply_to(channel, acct, payload, message))
    assert reply["MsgType"] == "image" and reply["Image"] == {"MediaId": "MEDIA"}


def test_news_reply_at_most_eight_articles() -> None:
    channel = WeChatChannel()
    acct = account(channel, "plain")
    payload = VerifiedPayload(body=text_push(), meta={"encrypted": False})
    articles = [
        {"title": f"t{i}", "description": "d", "url": "https://e.com", "pic_url": "https://p"}
        for i in range(10)
    ]
    message = OutboundMessage(content_type="news", articles=articles)
    reply = parse_xml(reply_to(channel, acct, payload, message))
    assert reply["ArticleCount"] == "8"
    items = reply["Articles"]["item"]
    assert len(items) == 8
    assert items[0] == {
        "Title": "t0",
        "Description": "d",
        "PicUrl": "https://p",
        "Url": "https://e.com",
    }


def test_unsupported_reply_falls_back_to_success() -> None:
    channel = WeChatChannel()
    acct = account(channel, "plain")
    payload = VerifiedPayload(body=text_push(), meta={"encrypted": False})
    message = OutboundMessage(content_type="image")  # no media id
    assert reply_to(channel, acct, payload, message) == b"success"


async def test_encrypted_reply_decrypts_with_reference() -> None:
    channel = WeChatChannel()
    acct = account(channel, "safe")
    ref = ReferenceCrypto(TOKEN, AES_KEY, APP_ID)
    query, body = encrypted_push(ref, text_push(), now(), nonce="n0nce")
    payload = await channel.verify(request("POST", query, body), acct)
    envelope = parse_xml(reply_to(channel, acct, payload, OutboundMessage(text="已收到")))
    assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert envelope["Nonce"] == "n0nce"
    assert envelope["MsgSignature"] == ref.sign(
        envelope["TimeStamp"], envelope["Nonce"], envelope["Encrypt"]
    )
    plaintext, app_id = ref.decrypt(envelope["Encrypt"])
    assert app_id == APP_ID.encode()
    reply = parse_xml(plaintext)
    assert reply["Content"] == "已收到" and reply["ToUserName"] == OPENID


def test_validate_settings_is_idempotent() -> None:
    channel = WeChatChannel()
    for mode in ("plain", "compatible", "safe"):
        once = account(channel, mode).settings
        assert channel.validate_settings(dict(once)) == once
