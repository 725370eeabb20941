"""Outgoing mail: building a safe message and handing it to the account's SMTP server."""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import aiosmtplib

from socialcrm.plugins import IdentityRef, OutboundMessage, SendResult
from socialcrm.plugins.email.mime import html_to_text, message_ids

_ADDRESS = re.compile(r"^[^@\s<>\"(),;:\\\[\]]+@[^@\s<>\"(),;:\\\[\]]+\.[^@\s<>\"(),;:\\\[\]]+$")


class UnsafeMessage(ValueError):
    """The message cannot be built safely; ``code`` says why (``INVALID_HEADER`` …)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def _header_safe(name: str, value: str | None) -> str | None:
    """``value`` unchanged, or ``UnsafeMessage`` when it would inject headers."""
    if value is not None and ("\r" in value or "\n" in value or "\x00" in value):
        raise UnsafeMessage(f"{name} must not contain line breaks", "INVALID_HEADER")
    return value


def _address(name: str, address: str, display: str | None) -> Address:
    _header_safe(name, address)
    _header_safe(f"{name} name", display)
    if not _ADDRESS.match(address):
        raise UnsafeMessage(f"{name} {address!r} is not an email address", "INVALID_ADDRESS")
    local, _, domain = address.rpartition("@")
    try:
        return Address(display_name=display or "", username=local, domain=domain)
    except Exception as exc:
        raise UnsafeMessage(f"{name} {address!r}: {exc}", "INVALID_ADDRESS") from exc


def build_message(
    *,
    sender: str,
    sender_name: str | None,
    recipient: IdentityRef,
    message: OutboundMessage,
    default_subject: str = "",
) -> EmailMessage:
    """An ``EmailMessage`` for ``message``; raise ``UnsafeMessage`` on anything unsafe.

    ``message.data`` may hold ``subject``, ``thread_subject`` (gives ``Re: <it>`` when no
    subject), ``in_reply_to``, ``references`` (a list or a string of ``<ids>``), ``html``,
    ``cc`` (a list of addresses) and ``reply_to``.
    """
    data: dict[str, Any] = message.data
    if message.content_type not in ("text", "html", "email"):
        raise UnsafeMessage(
            f"email cannot send {message.content_type!r} messages (text, html)",
            "UNSUPPORTED_MESSAGE",
        )
    html = data.get("html") if isinstance(data.get("html"), str) else None
    if message.content_type == "html" and html is None:
        html = message.text
    text = message.text if message.content_type != "html" else None
    if not text and html:
        text = html_to_text(html)
    if not text:
        raise UnsafeMessage("an email needs text", "INVALID_MESSAGE")

    subject = data.get("subject")
    if not subject and data.get("thread_subject"):
        subject = f"Re: {data['thread_subject']}"
    subject = _header_safe("subject", str(subject or default_subject))

    msg = EmailMessage()
    msg["From"] = _address("from", sender, sender_name)
    msg["To"] = _address("recipient", recipient.external_id, recipient.handle)
    cc = data.get("cc") or []
    if cc:
        msg["Cc"] = [_address("cc", str(a), None) for a in cc]
    if data.get("reply_to"):
        msg["Reply-To"] = _address("reply_to", str(data["reply_to"]), None)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])

    in_reply_to = _header_safe("in_reply_to", data.get("in_reply_to"))
    references = data.get("references") or []
    if isinstance(references, str):
        references = [references]
    refs = [r for ref in references for r in message_ids(_header_safe("references", str(ref)))]
    reply_ids = message_ids(in_reply_to)
    if reply_ids:
        msg["In-Reply-To"] = reply_ids[0]
        if reply_ids[0] not in refs:
            refs.append(reply_ids[0])
    if refs:
        msg["References"] = " ".join(refs)

    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


async def deliver(msg: EmailMessage, settings: dict[str, Any]) -> SendResult:
    """Send ``msg`` through the account's SMTP server; failures become results."""
    security = settings.get("smtp_security", "starttls")
    try:
        refused, response = await aiosmtplib.send(
            msg,
            hostname=settings["smtp_host"],
            port=int(settings["smtp_port"]),
            username=settings.get("smtp_username") or None,
            password=settings.get("smtp_password") or None,
            use_tls=security == "tls",
            start_tls={"starttls": True, "none": False}.get(security),
            timeout=float(settings.get("smtp_timeout_seconds", 30)),
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        first = exc.recipients[0] if exc.recipients else None
        code = f"SMTP_{first.code}" if first else "SMTP_REFUSED"
        return _failed(code, f"the server refused the recipient: {first.message if first else ''}")
    except aiosmtplib.SMTPAuthenticationError as exc:
        return _failed("SMTP_AUTH", f"the SMTP server refused the login: {exc.code} {exc.message}")
    except aiosmtplib.SMTPResponseException as exc:
        return _failed(f"SMTP_{exc.code}", exc.message)
    except aiosmtplib.SMTPTimeoutError as exc:
        return _failed("TIMEOUT", f"the SMTP server did not answer in time: {exc}")
    except (aiosmtplib.SMTPException, OSError) as exc:
        return _failed("CONNECTION", f"cannot reach the SMTP server: {exc}")
    return SendResult(
        ok=True,
        external_id=str(msg["Message-ID"]),
        status="sent",
        raw={
            "response": response,
            "refused": {rcpt: [r.code, r.message] for rcpt, r in refused.items()},
        },
    )


def _failed(code: str, message: str) -> SendResult:
    return SendResult(ok=False, status="failed", error_code=code, error_message=message)
