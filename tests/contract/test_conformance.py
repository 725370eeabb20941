"""Every channel, built in or a partner's, keeps the promises of the plugin contract."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import pytest

from socialcrm.plugins import Channel, InboundEvent, InteractionKind
from socialcrm.plugins.manager import PluginManager
from socialcrm.plugins.testing import (
    ConformanceError,
    check_delivery,
    check_event,
    check_refusal,
    make_account,
    webhook_request,
)


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


@pytest.fixture
def channels(partner_site: Any) -> dict[str, Channel]:
    return PluginManager().channels


def test_builtins_and_partner_are_installed(channels: dict[str, Channel]) -> None:
    assert {"acme", "email", "wechat", "wecom", "weibo"} <= set(channels)


async def test_partner_channel_conforms(channels: dict[str, Channel]) -> None:
    import scrm_acme

    acme = channels["acme"]
    account = make_account(acme.validate_settings({"secret": "s"}), channel="acme")
    body = json.dumps(
        {"messages": [{"id": "m1", "from": "u1", "text": "hi", "ts": int(time.time())}]}
    ).encode()
    headers = {"X-Acme-Signature": scrm_acme.sign("s", body)}
    [event] = await check_delivery(acme, account, webhook_request(body, headers=headers))
    assert (event.external_id, event.content) == ("m1", "hi")
    forged = webhook_request(body, headers={"X-Acme-Signature": "sha256=0"})
    assert (await check_refusal(acme, account, forged)).status_code == 403


async def test_wechat_plain_mode_conforms(channels: dict[str, Channel]) -> None:
    wechat = channels["wechat"]
    settings = wechat.validate_settings(
        {"app_id": "wx0123456789abcdef", "app_secret": "secret", "token": "pamtest"}
    )
    account = make_account(settings, channel="wechat")
    timestamp, nonce = str(int(time.time())), "n0nce"
    query = {
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": "o-user",
        "signature": sha1_signature("pamtest", timestamp, nonce),
    }
    body = (
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o-user]]>"
        f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]>"
        "</MsgType><Content><![CDATA[你好]]></Content><MsgId>1234567890123456</MsgId></xml>"
    )
    [event] = await check_delivery(wechat, account, webhook_request(body, query=query))
    assert (event.external_id, event.content, event.kind) == (
        "1234567890123456",
        "你好",
        InteractionKind.MESSAGE,
    )
    bad = {**query, "signature": "0" * 40}
    assert (
        await check_refusal(wechat, account, webhook_request(body, query=bad))
    ).status_code == 403
    doctype = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><xml>&a;</xml>'
    refused = await check_refusal(wechat, account, webhook_request(doctype, query=query))
    assert refused.status_code == 400


async def test_weibo_push_conforms(channels: dict[str, Channel]) -> None:
    weibo = channels["weibo"]
    account = make_account(weibo.validate_settings({"app_secret": "xyz123xyz"}), channel="weibo")
    timestamp, nonce = str(int(time.time() * 1000)), "57155157"
    query = {
        "timestamp": timestamp,
        "nonce": nonce,
        "signature": sha1_signature("xyz123xyz", timestamp, nonce),
    }
    body = (
        '{"type": "text", "receiver_id": 1902538057, "sender_id": 2489518277123456789, '
        '"created_at": "Mon Jul 16 18:09:20 +0800 2012", "text": "私信内容", "data": {}}'
    )
    [event] = await check_delivery(weibo, account, webhook_request(body, query=query))
    assert event.sender.external_id == "2489518277123456789"
    assert event.content == "私信内容"
    bad = {**query, "signature": "0" * 40}
    assert (
        await check_refusal(weibo, account, webhook_request(body, query=bad))
    ).status_code == 403


def test_kit_catches_broken_events() -> None:
    from datetime import datetime

    from socialcrm.plugins import IdentityRef

    naive = InboundEvent("x", IdentityRef("c", "u"), datetime(2026, 1, 1))
    with pytest.raises(ConformanceError, match="timezone-aware"):
        check_event(naive)


async def test_kit_catches_an_impure_parser() -> None:
    from datetime import UTC, datetime
    from itertools import count

    from socialcrm.plugins import IdentityRef, VerifiedPayload

    counter = count()

    class Impure(Channel):
        name = "impure"
        title = "Impure"

        async def verify(self, request: Any, account: Any) -> VerifiedPayload:
            return VerifiedPayload(request.body)

        def parse(self, payload: Any, account: Any) -> list[InboundEvent]:
            # A fresh id on every call: a retry would be stored twice.
            return [InboundEvent(f"e{next(counter)}", IdentityRef("c", "u"), datetime.now(UTC))]

    with pytest.raises(ConformanceError, match="pure"):
        await check_delivery(Impure(), make_account({}), webhook_request(b"{}"))
