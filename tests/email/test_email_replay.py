"""Mailgun signs only a timestamp and token: the same signature with another message is
refused, a retry of the same message is answered as the first time."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from email_fakes import (
    SIGNING_KEY,
    make_account,
    multipart_form,
    signature_fields,
    webhook_request,
)
from helpers.replay import stored_counts
from helpers.webhooks import connect

from socialcrm.plugins import VerificationFailed
from socialcrm.plugins.email import EmailChannel
from socialcrm.plugins.email.channel import DEFAULTS
from socialcrm.server.tables import Workspace


def message(message_id: str, sender: str, text: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: support@brand.example\r\nSubject: order\r\n"
        f"Message-ID: <{message_id}>\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n"
    ).encode()


@pytest.fixture
async def slug(services: Any, workspace: Workspace) -> str:
    assert workspace.id is not None
    settings = {"address": "support@brand.example", "signing_key": SIGNING_KEY}
    return await connect(services, workspace.id, "email", settings)


async def test_a_signature_with_another_message_is_refused(
    client: httpx.AsyncClient, services: Any, slug: str
) -> None:
    url = f"/webhooks/email/{slug}"
    headers = {f"X-{k.title()}": v for k, v in signature_fields(token="t" * 50).items()}
    headers["content-type"] = "message/rfc822"
    original = message("r1@example.cn", "王五 <wangwu@example.cn>", "我要退货。")
    first = await client.post(url, content=original, headers=headers)
    assert first.status_code == 200, first.text
    after_first = await stored_counts(services)

    forged = message("r2@example.cn", "Mallory <mallory@example.net>", "pay me")
    refused = await client.post(url, content=forged, headers=headers)
    assert refused.status_code == 403
    assert refused.text == "this signed request was already used with another body"
    assert await stored_counts(services) == after_first

    retry = await client.post(url, content=original, headers=headers)
    assert (retry.status_code, retry.content) == (first.status_code, first.content)
    assert await stored_counts(services) == after_first


async def test_the_same_signature_in_another_form_is_refused(
    client: httpx.AsyncClient, services: Any, slug: str
) -> None:
    url = f"/webhooks/email/{slug}"
    fields = signature_fields(token="f" * 50)
    original = message("r3@example.cn", "李雷 <lilei@example.com>", "hello")
    body, content_type = multipart_form({**fields, "body-mime": original})
    first = await client.post(url, content=body, headers={"content-type": content_type})
    assert first.status_code == 200, first.text
    after_first = await stored_counts(services)
    forged = message("r4@example.cn", "李雷 <lilei@example.com>", "changed")
    body, content_type = multipart_form({**fields, "body-mime": forged})
    refused = await client.post(url, content=body, headers={"content-type": content_type})
    assert refused.status_code == 403
    assert await stored_counts(services) == after_first


async def test_the_default_window_is_mailguns_retry_period() -> None:
    # Mailgun retries a failed delivery for about 8 hours.
    assert DEFAULTS["replay_window_seconds"] == 8 * 3600
    channel = EmailChannel()
    account = make_account(channel)
    stale = signature_fields(timestamp=int(time.time()) - 8 * 3600 - 60)
    headers = {f"x-{k}": v for k, v in stale.items()}
    with pytest.raises(VerificationFailed) as refused:
        await channel.verify(webhook_request(b"x", headers=headers), account)
    assert refused.value.code == "STALE_TIMESTAMP"
