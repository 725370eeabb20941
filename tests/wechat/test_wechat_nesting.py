"""Over-deep XML at /webhooks/wechat/{slug}: 400 with one log line, never a 500, nothing stored."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest
from helpers.webhooks import assert_no_traceback, raw_event_count
from helpers.webhooks import connect as connect_account
from wechat.wechat_fakes import (
    AES_KEY,
    APP_ID,
    APP_SECRET,
    CORP_ID,
    ORIGINAL_ID,
    TOKEN,
    WECOM_AES_KEY,
    WECOM_TOKEN,
    FakeWeChat,
    ReferenceCrypto,
    encrypted_push,
    plain_query,
    request,
)

from socialcrm.plugins import AccountContext
from socialcrm.plugins.testing import check_nesting_refusal, nested_xml
from socialcrm.plugins.wechat.channel import WeChatChannel
from socialcrm.plugins.wechat.wecom import WeComChannel
from socialcrm.server.tables import Workspace

REF = ReferenceCrypto(TOKEN, AES_KEY, APP_ID)
DEEP = nested_xml(5_000)


def now() -> str:
    return str(int(time.time()))


@pytest.fixture
def connect(services: Any, workspace: Workspace, fake_api: FakeWeChat) -> Any:
    """Connect an official account in ``mode``; returns its slug."""

    async def make(mode: str) -> str:
        settings = {
            "app_id": APP_ID,
            "app_secret": APP_SECRET,
            "token": TOKEN,
            "mode": mode,
            "original_id": ORIGINAL_ID,
            "api_base_url": fake_api.base_url,
        }
        if mode != "plain":
            settings["encoding_aes_key"] = AES_KEY
        assert workspace.id is not None
        return await connect_account(services, workspace.id, "wechat", settings)

    return make


async def test_an_unsigned_deep_envelope_to_a_safe_account_is_400(
    client: httpx.AsyncClient, connect: Any, services: Any, caplog: pytest.LogCaptureFixture
) -> None:
    slug = await connect("safe")
    before = await raw_event_count(services)
    query = {"timestamp": now(), "nonce": "n1", "encrypt_type": "aes", "msg_signature": "0" * 40}
    with caplog.at_level(logging.INFO):
        response = await client.post(f"/webhooks/wechat/{slug}", params=query, content=DEEP)
    assert response.status_code == 400
    assert "nests deeper than 64 levels" in response.text
    assert_no_traceback(caplog.records)
    assert await raw_event_count(services) == before


async def test_a_safe_account_checks_the_query_before_reading_the_envelope(
    client: httpx.AsyncClient, connect: Any
) -> None:
    slug = await connect("safe")
    query = {"timestamp": now(), "nonce": "n1", "encrypt_type": "aes"}
    response = await client.post(f"/webhooks/wechat/{slug}", params=query, content=DEEP)
    assert response.status_code == 403
    assert "msg_signature" in response.text
    stale = {**query, "timestamp": str(int(time.time()) - 3600), "msg_signature": "0" * 40}
    response = await client.post(f"/webhooks/wechat/{slug}", params=stale, content=DEEP)
    assert response.status_code == 403


async def test_a_signed_deep_push_is_400_in_every_mode(
    client: httpx.AsyncClient, connect: Any, services: Any
) -> None:
    before = await raw_event_count(services)
    plain = await connect("plain")
    response = await client.post(
        f"/webhooks/wechat/{plain}", params=plain_query(TOKEN, now()), content=DEEP
    )
    assert response.status_code == 400, response.text
    safe = await connect("safe")
    query, body = encrypted_push(REF, DEEP, now())
    response = await client.post(f"/webhooks/wechat/{safe}", params=query, content=body)
    assert response.status_code == 400, response.text
    assert "nests deeper" in response.text
    assert await raw_event_count(services) == before


async def test_the_conformance_kit_sees_both_channels_refuse_deep_xml(
    safe_account: AccountContext, wecom_account: AccountContext
) -> None:
    query, body = encrypted_push(REF, DEEP, now())
    refused = await check_nesting_refusal(
        WeChatChannel(), safe_account, request("POST", query, body)
    )
    assert refused.code == "TOO_DEEP"
    wecom_ref = ReferenceCrypto(WECOM_TOKEN, WECOM_AES_KEY, CORP_ID)
    query, body = encrypted_push(wecom_ref, DEEP, now())
    query.pop("signature")
    refused = await check_nesting_refusal(
        WeComChannel(), wecom_account, request("POST", query, body)
    )
    assert refused.code == "TOO_DEEP"
