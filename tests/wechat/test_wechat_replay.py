"""Plain mode signs only the timestamp and nonce: the same query with another body is refused,
a retry of the same body is answered as the first time; safe mode signs the ciphertext."""

from __future__ import annotations

import time
from typing import Any

import httpx
from helpers.replay import stored_counts
from wechat.wechat_fakes import (
    AES_KEY,
    APP_ID,
    OPENID,
    ORIGINAL_ID,
    TOKEN,
    ReferenceCrypto,
    encrypted_push,
    plain_query,
    xml_message,
)

REF = ReferenceCrypto(TOKEN, AES_KEY, APP_ID)


def text_push(msg_id: str, content: str, sender: str = OPENID) -> bytes:
    return xml_message(
        ToUserName=ORIGINAL_ID,
        FromUserName=sender,
        CreateTime=int(time.time()),
        MsgType="text",
        Content=content,
        MsgId=msg_id,
    )


async def test_a_plain_query_with_another_body_is_refused(
    client: httpx.AsyncClient, connect_official_account: Any, services: Any
) -> None:
    slug = await connect_official_account("plain")
    url = f"/webhooks/wechat/{slug}"
    query = plain_query(TOKEN, str(int(time.time())), nonce="replay1")
    original = text_push("7001", "你好")
    first = await client.post(url, params=query, content=original)
    assert first.status_code == 200, first.text
    after_first = await stored_counts(services)

    forged = text_push("7002", "退款到这个账户", sender="oAttackerOpenId0000000000000")
    refused = await client.post(url, params=query, content=forged)
    assert refused.status_code == 403
    assert refused.text == "this signed request was already used with another body"
    assert await stored_counts(services) == after_first

    retry = await client.post(url, params=query, content=original)
    assert (retry.status_code, retry.content) == (first.status_code, first.content)
    assert await stored_counts(services) == after_first


async def test_safe_mode_keeps_no_replay_keys(
    client: httpx.AsyncClient, connect_official_account: Any, services: Any
) -> None:
    # The msg_signature covers the ciphertext, so the body cannot be swapped.
    slug = await connect_official_account("safe")
    before = await stored_counts(services)
    query, body = encrypted_push(REF, text_push("7003", "加密"), str(int(time.time())))
    response = await client.post(f"/webhooks/wechat/{slug}", params=query, content=body)
    assert response.status_code == 200, response.text
    after = await stored_counts(services)
    assert after["raw_events"] == before["raw_events"] + 1
    assert after["replay_keys"] == before["replay_keys"]
