"""Over-deep JSON at /webhooks/weibo/{slug}: 400 with one log line, never a 500, nothing stored."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest
from helpers.webhooks import assert_no_traceback, connect, raw_event_count
from weibo_fakes import BRAND_UID, make_account

from socialcrm.plugins import WebhookRequest
from socialcrm.plugins.testing import check_nesting_refusal, nested_json
from socialcrm.plugins.weibo import WeiboChannel
from socialcrm.plugins.weibo.push import push_signature
from socialcrm.server.tables import Workspace

SECRET = "xyz123xyz"
DEEP = nested_json(20_000)


def signed_query() -> dict[str, str]:
    timestamp = str(int(time.time() * 1000))
    return {
        "signature": push_signature(SECRET, timestamp, "57155157"),
        "timestamp": timestamp,
        "nonce": "57155157",
    }


@pytest.mark.parametrize("brand_uid", [None, BRAND_UID], ids=["parse", "verify"])
async def test_a_signed_deep_push_is_400(
    client: httpx.AsyncClient,
    services: Any,
    workspace: Workspace,
    caplog: pytest.LogCaptureFixture,
    brand_uid: str | None,
) -> None:
    # With the brand's uid, verify reads the body (the receiver check); without, parse does.
    assert workspace.id is not None
    settings = {"app_secret": SECRET, **({"uid": brand_uid} if brand_uid else {})}
    slug = await connect(services, workspace.id, "weibo", settings)
    before = await raw_event_count(services)
    with caplog.at_level(logging.INFO):
        response = await client.post(
            f"/webhooks/weibo/{slug}",
            params=signed_query(),
            content=DEEP,
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 400
    assert response.text == "the JSON nests deeper than 64 levels"
    assert_no_traceback(caplog.records)
    assert await raw_event_count(services) == before


async def test_the_conformance_kit_sees_weibo_refuse_deep_json() -> None:
    channel = WeiboChannel()
    request = WebhookRequest(
        method="POST",
        url="https://crm.example.com/webhooks/weibo/brand",
        query=signed_query(),
        headers={"content-type": "application/json"},
        body=DEEP,
    )
    refused = await check_nesting_refusal(channel, make_account(channel), request)
    assert refused.code == "TOO_DEEP"
