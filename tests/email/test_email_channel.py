"""The email channel: settings, the signed webhook, and sending through a local SMTP server."""

from __future__ import annotations

import email
from email import policy
from typing import Any
from urllib.parse import urlencode

import pytest
from aiosmtpd.controller import Controller
from email_fakes import (
    RecordingHandler,
    make_account,
    multipart_form,
    signature_fields,
    webhook_request,
)

from socialcrm.plugins import (
    ChannelConfigError,
    IdentityRef,
    InvalidPayload,
    OutboundMessage,
    VerificationFailed,
)
from socialcrm.plugins.email import EmailChannel
from socialcrm.plugins.email.mime import parse_message
from socialcrm.plugins.manager import PluginManager
from socialcrm.plugins.testing import check_delivery, check_refusal

MESSAGE = (
    "From: 王五 <wangwu@example.cn>\r\n"
    "To: support@brand.example\r\n"
    "Subject: 回复: 退货\r\n"
    "Message-ID: <m1@example.cn>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n\r\n"
    "我要退货。\r\n"
).encode()
CUSTOMER = IdentityRef("email", "wangwu@example.cn", "王五")


def test_plugin_registers_the_channel() -> None:
    manager = PluginManager(load_entrypoints=False, builtins=("socialcrm.plugins.email.plugin",))
    assert isinstance(manager.channel("email"), EmailChannel)


def test_settings(channel: EmailChannel) -> None:
    with pytest.raises(ChannelConfigError) as info:
        channel.validate_settings({"address": "not an address"})
    assert info.value.field == "address"
    assert "signing_key" in info.value.reason
    with pytest.raises(ChannelConfigError) as info:
        channel.validate_settings(
            {"address": "a@b.example", "smtp_host": "mx", "smtp_security": "ssl"}
        )
    assert info.value.field == "smtp_security"
    with pytest.raises(ChannelConfigError):
        channel.validate_settings({"address": "a@b.example", "from_name": "x\r\nBcc: evil"})
    settings = channel.validate_settings(
        {"address": "a@b.example", "smtp_host": "mx", "smtp_security": "tls"}
    )
    assert settings["smtp_port"] == 465
    assert "signing_key" not in settings


async def test_raw_body_with_signature_headers(channel: EmailChannel) -> None:
    account = make_account(channel)
    fields = signature_fields()
    headers = {f"x-{name}": value for name, value in fields.items()}
    payload = await channel.verify(webhook_request(MESSAGE, headers=headers), account)
    assert payload.body == MESSAGE
    event = channel.parse(payload, account)[0]
    assert event.content == "我要退货。"
    assert event.sender == CUSTOMER


async def test_mailgun_multipart_form(channel: EmailChannel) -> None:
    account = make_account(channel)
    body, content_type = multipart_form(
        {
            **signature_fields(),
            "recipient": "support@brand.example",
            "sender": "wangwu@example.cn",
            "body-mime": MESSAGE,
        }
    )
    payload = await channel.verify(webhook_request(body, content_type), account)
    # The stored payload is the message itself, byte for byte.
    assert payload.body == MESSAGE
    assert payload.meta["recipient"] == "support@brand.example"
    event = channel.parse(payload, account)[0]
    assert event.external_id == "<m1@example.cn>"
    assert event.data["recipient"] == "support@brand.example"


async def test_urlencoded_form(channel: EmailChannel) -> None:
    body = urlencode({**signature_fields(), "body-mime": MESSAGE.decode()}).encode()
    payload = await channel.verify(
        webhook_request(body, "application/x-www-form-urlencoded"), make_account(channel)
    )
    assert payload.body == MESSAGE


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        (signature_fields(key="other-key"), "BAD_SIGNATURE"),
        ({"timestamp": "1", "token": "t"}, "BAD_SIGNATURE"),
        (signature_fields(timestamp=1_000_000_000), "STALE_TIMESTAMP"),
    ],
)
async def test_bad_signatures(channel: EmailChannel, fields: dict[str, str], code: str) -> None:
    body, content_type = multipart_form({**fields, "body-mime": MESSAGE})
    with pytest.raises(VerificationFailed) as info:
        await channel.verify(webhook_request(body, content_type), make_account(channel))
    assert info.value.code == code
    assert info.value.status_code == 403


async def test_tampered_token(channel: EmailChannel) -> None:
    fields = signature_fields()
    fields["token"] = "b" * 50
    with pytest.raises(VerificationFailed):
        await channel.verify(webhook_request(MESSAGE, query=fields), make_account(channel))


async def test_form_without_raw_message(channel: EmailChannel) -> None:
    body, content_type = multipart_form({**signature_fields(), "body-plain": "hi"})
    with pytest.raises(InvalidPayload) as info:
        await channel.verify(webhook_request(body, content_type), make_account(channel))
    assert "body-mime" in info.value.reason


async def test_account_without_signing_key_refuses(channel: EmailChannel) -> None:
    account = make_account(channel, signing_key=None, smtp_host="127.0.0.1")
    with pytest.raises(VerificationFailed):
        await channel.verify(webhook_request(MESSAGE, query=signature_fields()), account)


def smtp_account(channel: EmailChannel, controller: Controller, **extra: Any) -> Any:
    return make_account(
        channel,
        from_name="品牌客服",
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        smtp_security="none",
        smtp_timeout_seconds=5,
        **extra,
    )


async def test_send_reply(
    channel: EmailChannel, smtp_server: tuple[Controller, RecordingHandler]
) -> None:
    controller, handler = smtp_server
    account = smtp_account(channel, controller)
    message = OutboundMessage(
        text="您好，已为您办理退货。",
        data={
            "thread_subject": "退货",
            "in_reply_to": "<m1@example.cn>",
            "references": ["<m0@example.cn>"],
            "html": "<p>您好，已为您办理退货。</p>",
        },
    )
    result = await channel.send(CUSTOMER, message, account)
    assert result.ok, result
    assert result.external_id and result.external_id.endswith("@brand.example>")
    mail_from, rcpts, content = handler.messages[0]
    assert mail_from == "support@brand.example"
    assert rcpts == ["wangwu@example.cn"]
    sent = email.message_from_bytes(content, policy=policy.default)
    assert sent["Message-ID"] == result.external_id
    assert sent["Subject"] == "Re: 退货"
    assert sent["In-Reply-To"] == "<m1@example.cn>"
    assert sent["References"] == "<m0@example.cn> <m1@example.cn>"
    assert sent["From"].addresses[0].display_name == "品牌客服"
    assert sent["To"].addresses[0].display_name == "王五"
    assert sent.get_body(("plain",)).get_content().strip() == "您好，已为您办理退货。"
    assert "办理" in sent.get_body(("html",)).get_content()
    # Our own reply parses back into the same thread.
    echoed = parse_message(content)
    assert echoed.external_id == result.external_id
    assert echoed.thread_id == "<m0@example.cn>"


@pytest.mark.parametrize(
    ("recipient", "data", "code"),
    [
        (IdentityRef("email", "a@b.example", "Eve\r\nBcc: x@y.example"), {}, "INVALID_HEADER"),
        (CUSTOMER, {"subject": "hi\nBcc: x@y.example"}, "INVALID_HEADER"),
        (CUSTOMER, {"in_reply_to": "<a@b>\r\nX-Evil: 1"}, "INVALID_HEADER"),
        (IdentityRef("email", "not-an-address"), {}, "INVALID_ADDRESS"),
        (IdentityRef("weibo", "12345"), {}, "INVALID_RECIPIENT"),
    ],
)
async def test_send_refuses_unsafe_headers(
    channel: EmailChannel,
    smtp_server: tuple[Controller, RecordingHandler],
    recipient: IdentityRef,
    data: dict[str, Any],
    code: str,
) -> None:
    controller, handler = smtp_server
    result = await channel.send(
        recipient, OutboundMessage(text="hi", data=data), smtp_account(channel, controller)
    )
    assert not result.ok and result.error_code == code
    assert handler.messages == []


async def test_send_refused_recipient(
    channel: EmailChannel, smtp_server: tuple[Controller, RecordingHandler]
) -> None:
    controller, _ = smtp_server
    result = await channel.send(
        IdentityRef("email", "ghost@refused.example"),
        OutboundMessage(text="hi"),
        smtp_account(channel, controller),
    )
    assert not result.ok
    assert result.error_code == "SMTP_550"
    assert "No such user" in (result.error_message or "")


async def test_send_failures_are_results(channel: EmailChannel) -> None:
    no_smtp = await channel.send(CUSTOMER, OutboundMessage(text="hi"), make_account(channel))
    assert no_smtp.error_code == "NOT_CONFIGURED"
    closed = make_account(
        channel, smtp_host="127.0.0.1", smtp_port=9, smtp_security="none", smtp_timeout_seconds=2
    )
    result = await channel.send(CUSTOMER, OutboundMessage(text="hi"), closed)
    assert not result.ok and result.error_code in ("CONNECTION", "TIMEOUT")
    image = await channel.send(
        CUSTOMER, OutboundMessage(content_type="image", media_id="m"), closed
    )
    assert image.error_code == "UNSUPPORTED_MESSAGE"


async def test_conformance(channel: EmailChannel) -> None:
    account = make_account(channel)
    body, content_type = multipart_form({**signature_fields(), "body-mime": MESSAGE})
    events = await check_delivery(channel, account, webhook_request(body, content_type))
    assert [e.external_id for e in events] == ["<m1@example.cn>"]
    forged, content_type = multipart_form({**signature_fields(key="x"), "body-mime": MESSAGE})
    await check_refusal(channel, account, webhook_request(forged, content_type))
    empty, content_type = multipart_form({**signature_fields(), "body-mime": b""})
    await check_refusal(channel, account, webhook_request(empty, content_type))
    await check_refusal(
        channel, account, webhook_request(b"--x\r\n", "multipart/form-data; boundary=x")
    )


def test_long_message_ids_are_bounded() -> None:
    long_id = "<" + "x" * 300 + "@example.com>"
    raw = f"From: a@example.com\r\nMessage-ID: {long_id}\r\n\r\nhi".encode()
    reply = f"From: b@example.com\r\nIn-Reply-To: {long_id}\r\n\r\nre".encode()
    first, second = parse_message(raw), parse_message(reply)
    assert len(first.external_id) <= 255
    assert second.in_reply_to == first.external_id
