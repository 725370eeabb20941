"""Over-deep XML at /webhooks/wechat/{slug}: 400 with one log line, never a 500, nothing stored."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest
from helpers.webhooks import assert_no_traceback, raw_event_count
from wechat.wechat_fakes import (
    AES_KEY,
    APP_ID,
    CORP_ID,
    TOKEN,
    WECOM_AES_KEY,
    WECOM_TOKEN,
    ReferenceCrypto,
    encrypted_push,
    plain_query,
    request,
)

from socialcrm.plugins import AccountContext
from socialcrm.plugins.testing import check_nesting_refusal, nested_xml
from socialcrm.plugins.wechat.channel import WeChatChannel
from socialcrm.plugins.wechat.wecom import WeComChannel

REF = ReferenceCrypto(TOKEN, AES_KEY, APP_ID)
DEEP = nested_xml(5_000)


def now() -> str:
    return str(int(time.time()))


async def test_an_unsigned_deep_envelope_to_a_safe_account_is_400(
    client: httpx.AsyncClient,
    connect_official_account: Any,
    services: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    slug = await connect_official_account("safe")
    before = await raw_event_count(services)
    query = {"timestamp": now(), "nonce": "n1", "encrypt_type": "aes", "msg_signature": "0" * 40}
    with caplog.at_level(logging.INFO):
        response = await client.post(f"/webhooks/wechat/{slug}", params=query, content=DEEP)
    assert response.status_code == 400
    assert "nests deeper than 64 levels" in response.text
    assert_no_traceback(caplog.records)
    assert await raw_event_count(services) == before


async def test_a_safe_account_checks_the_query_before_reading_the_envelope(
    client: httpx.AsyncClient, connect_official_account: Any
) -> None:
    slug = await connect_official_account("safe")
    query = {"timestamp": now(), "nonce": "n1", "encrypt_type": "aes"}
    response = await client.post(f"/webhooks/wechat/{slug}", params=query, content=DEEP)
    assert response.status_code == 403
    assert "msg_signature" in response.text
    stale = {**query, "timestamp": str(int(time.time()) - 3600), "msg_signature": "0" * 40}
    response = await client.post(f"/webhooks/wechat/{slug}", params=stale, content=DEEP)
    assert response.status_code == 403


async def test_a_signed_deep_push_is_400_in_every_mode(
    client: httpx.AsyncClient, connect_official_account: Any, services: Any
) -> None:
    before = await raw_event_count(services)
    plain = await connect_official_account("plain")
    response = await client.post(
        f"/webhooks/wechat/{plain}", params=plain_query(TOKEN, now()), content=DEEP
    )
    assert response.status_code == 400, response.text
    safe = await connect_official_account("safe")
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
