"""Over-deep MIME at /webhooks/email/{slug}: 400 with one log line, never a 500, nothing stored."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from email_fakes import SIGNING_KEY, make_account, multipart_form, signature_fields, webhook_request
from helpers.webhooks import assert_no_traceback, connect, raw_event_count

from socialcrm.plugins.email import EmailChannel
from socialcrm.plugins.testing import check_nesting_refusal
from socialcrm.server.tables import Workspace


def nested_message(depth: int) -> bytes:
    """A message whose multipart/mixed parts nest ``depth`` levels deep."""
    head = b"From: Li Lei <lilei@example.com>\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(depth)
    )
    closing = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    return head + opening + b"Content-Type: text/plain\r\n\r\nhello" + closing


@pytest.fixture
async def slug(services: Any, workspace: Workspace) -> str:
    assert workspace.id is not None
    settings = {"address": "support@brand.example", "signing_key": SIGNING_KEY}
    return await connect(services, workspace.id, "email", settings)


# 100 levels parse but pass the limit; 3,000 exhaust the standard library parser's recursion.
@pytest.mark.parametrize("depth", [100, 3_000])
async def test_a_signed_deep_message_is_400(
    client: httpx.AsyncClient,
    services: Any,
    slug: str,
    caplog: pytest.LogCaptureFixture,
    depth: int,
) -> None:
    before = await raw_event_count(services)
    headers = {f"X-{k.title()}": v for k, v in signature_fields().items()}
    with caplog.at_level(logging.INFO):
        response = await client.post(
            f"/webhooks/email/{slug}",
            content=nested_message(depth),
            headers={"content-type": "message/rfc822", **headers},
        )
    assert response.status_code == 400
    assert response.text == "the message's MIME parts nest deeper than 64 levels"
    assert_no_traceback(caplog.records)
    assert await raw_event_count(services) == before


async def test_a_deep_message_in_a_mailgun_form_is_400(
    client: httpx.AsyncClient, services: Any, slug: str
) -> None:
    before = await raw_event_count(services)
    body, content_type = multipart_form({**signature_fields(), "body-mime": nested_message(3_000)})
    response = await client.post(
        f"/webhooks/email/{slug}", content=body, headers={"content-type": content_type}
    )
    assert response.status_code == 400
    assert "nest deeper than 64 levels" in response.text
    assert await raw_event_count(services) == before


async def test_a_deeply_nested_form_is_400_before_its_signature_is_read(
    client: httpx.AsyncClient, slug: str
) -> None:
    # The form's one part is itself the nested multipart (after the message's three headers).
    part = nested_message(3_000).split(b"\r\n", 3)[3]
    body = b"--f\r\n" + part + b"\r\n--f--\r\n"
    response = await client.post(
        f"/webhooks/email/{slug}",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=f"},
    )
    assert response.status_code == 400
    assert response.text == "the multipart form nests too deeply"


async def test_the_conformance_kit_sees_email_refuse_deep_mime(channel: EmailChannel) -> None:
    headers = {f"x-{name}": value for name, value in signature_fields().items()}
    request = webhook_request(nested_message(3_000), headers=headers)
    refused = await check_nesting_refusal(channel, make_account(channel), request)
    assert refused.code == "TOO_DEEP"
