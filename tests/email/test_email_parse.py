"""Parsing raw messages: charsets, encoded headers, bodies, attachments, threads, reports."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from socialcrm.plugins import InteractionKind
from socialcrm.plugins.email.mime import (
    MISSING_SENDER,
    decode_words,
    html_to_text,
    parse_message,
    thread_subject,
)

CORPUS = Path(__file__).parent / "corpus"


def b64(text: str, charset: str) -> str:
    return base64.b64encode(text.encode(charset)).decode()


def test_gb2312_label_decodes_as_gb18030() -> None:
    # 镕 is in GBK but not in GB2312: mail labelled gb2312 carries it all the same.
    body = "朱镕基先生您好，产品很好用。"
    subject = "=?gb2312?B?" + b64("回复: 关于镕的问题", "gbk") + "?="
    raw = (
        f"From: =?GB2312?B?{b64('张三', 'gbk')}?= <Zhang.San@Example.COM>\r\n"
        "To: support@brand.example\r\n"
        f"Subject: {subject}\r\n"
        "Date: Mon, 16 Jul 2012 18:09:20 +0800\r\n"
        "Message-ID: <abc123@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=gb2312\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{b64(body, 'gbk')}\r\n"
    ).encode()
    event = parse_message(raw)
    assert event.content == body
    assert event.sender.channel == "email"
    assert event.sender.external_id == "zhang.san@example.com"
    assert event.sender.handle == "张三"
    assert event.profile is not None
    assert event.profile.display_name == "张三"
    assert event.profile.email == "zhang.san@example.com"
    assert event.data["subject"] == "回复: 关于镕的问题"
    assert event.data["thread_subject"] == "关于镕的问题"
    assert event.external_id == "<abc123@example.com>"
    assert event.occurred_at.isoformat() == "2012-07-16T18:09:20+08:00"
    assert event.kind is InteractionKind.MESSAGE and not event.wants_reply


def test_raw_8bit_gbk_headers() -> None:
    raw = (
        b"From: " + "李四".encode("gbk") + b" <li@example.cn>\r\n"
        b"Subject: " + "投诉：快递太慢".encode("gbk") + b"\r\n"
        b"Content-Type: text/plain; charset=gbk\r\n\r\n" + "太慢了".encode("gbk")
    )
    event = parse_message(raw)
    assert event.sender.handle == "李四"
    assert event.data["subject"] == "投诉：快递太慢"
    assert event.content == "太慢了"


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: Re: 订单", "订单"),
        ("回复：答复: 转发: 订单问题", "订单问题"),
        ("FW: Fwd: RE[2]: hello", "hello"),
        ("Re:", ""),
        ("Regarding the offer", "Regarding the offer"),
        (None, ""),
    ],
)
def test_thread_subject(subject: str | None, expected: str) -> None:
    assert thread_subject(subject) == expected


def test_rfc2047_words() -> None:
    assert decode_words("=?utf-8?q?caf=C3=A9?= au lait") == "café au lait"
    assert decode_words("=?x-unknown?q?abc?=") == "abc"
    assert decode_words("plain\r\n folded") == "plain folded"


def test_html_only_falls_back_to_text() -> None:
    raw = (
        b"From: a@example.com\r\nMessage-ID: <h@x>\r\nContent-Type: text/html; charset=utf-8"
        b"\r\n\r\n<html><head><style>p{}</style></head><body><p>Hello&nbsp;<b>there</b></p>"
        b"<p>second</p><script>x()</script></body></html>"
    )
    event = parse_message(raw)
    assert event.content == "Hello there\n\nsecond"
    assert event.data["body_format"] == "html"
    assert html_to_text("<div>a</div><div>b</div>") == "a\n\nb"


def test_plain_preferred_and_attachments_listed() -> None:
    raw = (CORPUS / "mailgun-pic.eml").read_bytes()
    event = parse_message(raw)
    assert event.data["body_format"] == "plain"
    assert event.content and event.content.startswith("Мейлган!")
    assert len(event.attachments) == 1
    attachment = event.attachments[0]
    assert attachment.kind == "image" and attachment.mime_type.startswith("image/")
    # Attachments are described, never copied into the event.
    assert all(len(str(v)) < 5000 for v in event.data.values())


def test_threading_headers() -> None:
    raw = (
        b"From: Alice <alice@example.com>\r\n"
        b"Subject: Re: order 42\r\n"
        b"Message-ID: <3@example.com>\r\n"
        b"In-Reply-To: <2@brand.example>\r\n"
        b"References: <1@example.com>\r\n <2@brand.example>\r\n\r\nthanks\r\n"
    )
    event = parse_message(raw)
    assert event.in_reply_to == "<2@brand.example>"
    assert event.thread_id == "<1@example.com>"
    assert event.data["references"] == ["<1@example.com>", "<2@brand.example>"]
    first = parse_message(b"From: a@example.com\r\nMessage-ID: <solo@x>\r\n\r\nhi")
    assert first.thread_id == "<solo@x>" and first.in_reply_to is None


def test_missing_message_id_is_stable() -> None:
    raw = b"From: a@example.com\r\nSubject: hi\r\n\r\nbody"
    assert parse_message(raw).external_id == parse_message(raw).external_id
    assert parse_message(raw).external_id != parse_message(raw + b"!").external_id


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("Auto-Submitted: auto-replied", "auto-replied"),
        ("Auto-Submitted: auto-generated; type=x", "auto-generated"),
        ("X-Autoreply: yes", "auto-replied"),
        ("Precedence: bulk", "precedence-bulk"),
        ("Precedence: list", "precedence-list"),
        ("Precedence: junk", "precedence-junk"),
    ],
)
def test_automatic_mail_is_marked(headers: str, reason: str) -> None:
    event = parse_message(f"From: a@example.com\r\n{headers}\r\n\r\nOut of office".encode())
    assert event.data["auto_submitted"] == reason


def test_auto_submitted_no_is_human() -> None:
    event = parse_message(b"From: a@example.com\r\nAuto-Submitted: no\r\n\r\nhi")
    assert "auto_submitted" not in event.data


def test_bounce_becomes_delivery_report() -> None:
    event = parse_message((CORPUS / "bounce" / "mailbox-full.eml").read_bytes())
    assert event.kind is InteractionKind.DELIVERY
    assert event.content_type == "delivery-status"
    report = event.data["delivery"]
    assert report["recipient"] == "user@aol.com"
    assert report["status"] == "failed"
    assert report["status_code"].startswith("5.")
    # The report belongs to the customer whose mailbox failed, not to the mail server.
    assert event.sender.external_id == "user@aol.com"
    assert event.data["reporter"] != "user@aol.com"


def test_bounce_threads_to_the_original_message() -> None:
    original = b"Message-ID: <sent-1@brand.example>\r\nTo: bob@example.net\r\nSubject: hi\r\n"
    raw = (
        b"From: MAILER-DAEMON@mx.example.net\r\n"
        b"To: support@brand.example\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"Message-ID: <bounce-1@mx.example.net>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.net\r\n\r\n"
        b"Final-Recipient: rfc822; Bob@Example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 unknown user\r\n\r\n"
        b"--B\r\nContent-Type: text/rfc822-headers\r\n\r\n" + original + b"\r\n--B--\r\n"
    )
    event = parse_message(raw)
    assert event.kind is InteractionKind.DELIVERY
    assert event.sender.external_id == "bob@example.net"
    assert event.in_reply_to == "<sent-1@brand.example>"
    assert event.data["delivery"]["status_code"] == "5.1.1"
    assert "unknown user" in (event.content or "")
    assert event.attachments == []


def test_complaint_and_read_receipt() -> None:
    complaint = parse_message((CORPUS / "complaints" / "yahoo.eml").read_bytes())
    assert complaint.kind is InteractionKind.DELIVERY
    assert complaint.data["delivery"]["status"] == "complained"
    assert complaint.sender.external_id == "user@yahoo.com"
    receipt = parse_message((CORPUS / "disposition-notification.eml").read_bytes())
    assert receipt.kind is InteractionKind.DELIVERY
    assert receipt.content_type == "disposition-notification"


def test_message_without_sender() -> None:
    event = parse_message((CORPUS / "attached-pdf.eml").read_bytes())
    assert event.sender.external_id == MISSING_SENDER
    assert event.data["sender_missing"] is True
    assert event.profile is None
    with_envelope = parse_message(b"Subject: x\r\n\r\nhi", {"sender": "Env@Example.com"})
    assert with_envelope.sender.external_id == "env@example.com"


def test_garbage_never_raises() -> None:
    for raw in (b"", b"\x00\xff\xfe", b"Content-Type: multipart/mixed\r\n\r\n--", b":::\r\n\r\n"):
        event = parse_message(raw)
        assert event.external_id


def test_report_fields_read_from_text() -> None:
    # A delivery-status the parser left as text (here: base64-encoded) is still read.
    fields = (
        b"Reporting-MTA: dns; mx.example.net\r\n\r\n"
        b"Final-Recipient: rfc822;\r\n carol@example.org\r\nAction: failed\r\nStatus: 5.2.2\r\n"
    )
    raw = (
        b"From: postmaster@example.net\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n"
        b"\r\n" + base64.encodebytes(fields) + b"--B--\r\n"
    )
    event = parse_message(raw)
    assert event.kind is InteractionKind.DELIVERY
    assert event.sender.external_id == "carol@example.org"
    assert event.data["delivery"]["status_code"] == "5.2.2"
