"""Helpers for the email tests: account contexts, signed webhook requests, a recording SMTP
handler."""

from __future__ import annotations

import time
from typing import Any

from socialcrm.plugins import AccountContext, WebhookRequest
from socialcrm.plugins.email import EmailChannel
from socialcrm.plugins.email.webhook import mailgun_signature
from socialcrm.plugins.testing import MemoryChannelState

SIGNING_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"


def make_account(channel: EmailChannel, **settings: Any) -> AccountContext:
    """An account context with validated settings."""
    return AccountContext(
        workspace_id=1,
        account_id=3,
        slug="support",
        settings=channel.validate_settings(
            {"address": "support@brand.example", "signing_key": SIGNING_KEY, **settings}
        ),
        webhook_url="https://crm.example.com/webhooks/email/support",
        state=MemoryChannelState(),
    )


def signature_fields(
    key: str = SIGNING_KEY, timestamp: int | None = None, token: str = "a" * 50
) -> dict[str, str]:
    """Mailgun's three signature fields for now (or ``timestamp``)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {"timestamp": stamp, "token": token, "signature": mailgun_signature(key, stamp, token)}


def multipart_form(fields: dict[str, str | bytes], boundary: str = "xYzZY") -> tuple[bytes, str]:
    """A multipart/form-data body, as Mailgun posts it."""
    chunks = []
    for name, value in fields.items():
        data = value.encode() if isinstance(value, str) else value
        disposition = f'form-data; name="{name}"'
        if name == "body-mime":
            disposition += '; filename="message.mime"'
        chunks.append(
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
        )
    body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def webhook_request(
    body: bytes,
    content_type: str = "message/rfc822",
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> WebhookRequest:
    return WebhookRequest(
        method="POST",
        url="https://crm.example.com/webhooks/email/support",
        query=query or {},
        headers={"content-type": content_type, **(headers or {})},
        body=body,
    )


class RecordingHandler:
    """An aiosmtpd handler that keeps what it receives and refuses ``*@refused.example``."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.endswith("@refused.example"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"
