"""A signed Weibo query used again with another body is refused; a retry of the same body is
answered as the first time."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from helpers.replay import stored_counts
from helpers.webhooks import connect
from weibo_fakes import BRAND_UID

from socialcrm.plugins.weibo.push import push_signature
from socialcrm.server.tables import Workspace

SECRET = "xyz123xyz"


def signed_query(nonce: str = "57155157") -> dict[str, str]:
    timestamp = str(int(time.time() * 1000))
    return {
        "signature": push_signature(SECRET, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
    }


def push(text: str, sender: int) -> bytes:
    return json.dumps(
        {
            "type": "text",
            "receiver_id": int(BRAND_UID),
            "sender_id": sender,
            "created_at": "Mon Jul 16 18:09:20 +0800 2012",
            "text": text,
            "data": {},
        }
    ).encode()


async def test_a_signed_query_with_another_body_is_refused(
    client: httpx.AsyncClient, services: Any, workspace: Workspace
) -> None:
    assert workspace.id is not None
    slug = await connect(services, workspace.id, "weibo", {"app_secret": SECRET, "uid": BRAND_UID})
    query = signed_query()
    url = f"/webhooks/weibo/{slug}"
    headers = {"content-type": "application/json"}
    first = await client.post(url, params=query, content=push("你好", 2489518277), headers=headers)
    assert first.status_code == 200, first.text
    after_first = await stored_counts(services)

    forged = await client.post(url, params=query, content=push("买", 3000000001), headers=headers)
    assert forged.status_code == 403
    assert forged.text == "this signed request was already used with another body"
    assert await stored_counts(services) == after_first

    retry = await client.post(url, params=query, content=push("你好", 2489518277), headers=headers)
    assert (retry.status_code, retry.text) == (first.status_code, first.text)
    assert await stored_counts(services) == after_first


async def test_each_account_remembers_its_own_queries(
    client: httpx.AsyncClient, services: Any, workspace: Workspace
) -> None:
    assert workspace.id is not None
    settings = {"app_secret": SECRET, "uid": BRAND_UID}
    one = await connect(services, workspace.id, "weibo", settings)
    two = await connect(services, workspace.id, "weibo", settings)
    query = signed_query("42")
    headers = {"content-type": "application/json"}
    response = await client.post(
        f"/webhooks/weibo/{one}", params=query, content=push("a", 11), headers=headers
    )
    assert response.status_code == 200, response.text
    response = await client.post(
        f"/webhooks/weibo/{two}", params=query, content=push("b", 12), headers=headers
    )
    assert response.status_code == 200, response.text
