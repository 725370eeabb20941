"""The email channel: raw messages in through a signed webhook, replies out over SMTP."""

from __future__ import annotations

import hmac
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from socialcrm.plugins import (
    AccountContext,
    Channel,
    ChannelConfigError,
    IdentityRef,
    InboundEvent,
    OutboundMessage,
    SendResult,
    VerificationFailed,
    VerifiedPayload,
    WebhookRequest,
)
from socialcrm.plugins.email.mime import CHANNEL, parse_message
from socialcrm.plugins.email.outbound import UnsafeMessage, build_message, deliver
from socialcrm.plugins.email.webhook import (
    credential,
    form_fields,
    mailgun_signature,
    raw_message,
)

SMTP_SECURITY = ("starttls", "tls", "none", "auto")
"""STARTTLS required; TLS from the first byte; plain; STARTTLS when the server offers it."""
_DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25, "auto": 587}
_ADDRESS = re.compile(r"^[^@\s<>\"(),;:\\\[\]]+@[^@\s<>\"(),;:\\\[\]]+\.[^@\s<>\"(),;:\\\[\]]+$")

DEFAULTS: dict[str, Any] = {
    "smtp_security": "starttls",
    "smtp_timeout_seconds": 30,
    # A provider retrying a failed delivery may resend the original signature for as long as
    # it documents retrying (Mailgun: about 8 hours), so the window is that long; within it a
    # signed request reused with another message is refused by its replay key.
    "replay_window_seconds": 8 * 3600,
    "default_subject": "",
}


class EmailChannel(Channel):
    """Email for one brand mailbox.

    Inbound: the raw RFC 5322 message posted to the webhook, as the request body or as the
    ``body-mime`` form field (Mailgun's "store and forward to a URL ending in mime"), signed
    with HMAC-SHA256 over ``timestamp + token`` under ``signing_key`` (form fields, query
    parameters or ``X-Timestamp``/``X-Token``/``X-Signature`` headers).

    Settings: ``address`` (required: the mailbox, the From of replies), ``from_name``,
    ``signing_key`` (inbound), ``smtp_host``, ``smtp_port``, ``smtp_security``
    (starttls, tls, none, auto), ``smtp_username``, ``smtp_password``,
    ``smtp_timeout_seconds`` (outbound), ``replay_window_seconds``, ``default_subject``.
    """

    name: ClassVar[str] = CHANNEL
    title: ClassVar[str] = "Email"
    description: ClassVar[str] = (
        "A brand mailbox: inbound mail through a signed raw-MIME webhook (Mailgun, SendGrid "
        "raw, or your MTA), threading, bounces and auto-replies recognized; replies over SMTP."
    )
    secret_settings: ClassVar[frozenset[str]] = frozenset({"signing_key", "smtp_password"})
    reply_deadline: ClassVar[float] = 10.0

    def validate_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Check an account's settings and fill in defaults; raise ``ChannelConfigError``."""
        result = {**DEFAULTS, **{k: v for k, v in settings.items() if v is not None}}
        problems: list[tuple[str, str]] = []
        address = result.get("address")
        if not isinstance(address, str) or not _ADDRESS.match(address.strip()):
            problems.append(("address", "address must be the mailbox's email address"))
        else:
            result["address"] = address.strip()
        for key in ("from_name", "default_subject"):
            value = result.get(key)
            if value is not None and (not isinstance(value, str) or "\r" in value or "\n" in value):
                problems.append((key, f"{key} must be a single line of text"))
        if not result.get("signing_key") and not result.get("smtp_host"):
            problems.append(
                (
                    "signing_key",
                    "set signing_key (to receive mail), smtp_host (to send), or both",
                )
            )
        if "signing_key" in result and not isinstance(result["signing_key"], str):
            problems.append(("signing_key", "signing_key must be a string"))
        security = result["smtp_security"]
        if security not in SMTP_SECURITY:
            problems.append(("smtp_security", f"smtp_security must be one of {SMTP_SECURITY}"))
        elif result.get("smtp_host"):
            result.setdefault("smtp_port", _DEFAULT_PORTS[security])
            port = result["smtp_port"]
            if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
                problems.append(("smtp_port", "smtp_port must be a TCP port number"))
            if bool(result.get("smtp_username")) != bool(result.get("smtp_password")):
                problems.append(("smtp_username", "smtp_username and smtp_password go together"))
        for key, low, high in (
            ("replay_window_seconds", 0, 7 * 86400),
            ("smtp_timeout_seconds", 1, 600),
        ):
            value = result[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (low <= value <= high)
            ):
                problems.append((key, f"{key} must be a number from {low} to {high}"))
        if problems:
            raise ChannelConfigError(
                "; ".join(p for _, p in problems), code="INVALID_SETTINGS", field=problems[0][0]
            )
        return result

    def setup_instructions(self, account: AccountContext) -> str:
        """How to route the mailbox's mail to the webhook."""
        return (
            f"Route mail for {account.settings.get('address', 'the mailbox')} to "
            f"{account.webhook_url}?format=mime as the raw MIME message. Mailgun: create a "
            "route with forward() to that URL (a URL ending in 'mime' makes Mailgun post the "
            "raw message as body-mime) and enter the account's HTTP webhook signing key as "
            "signing_key. Other senders: POST the raw message as the body, with X-Timestamp, "
            "X-Token and X-Signature = hex HMAC-SHA256(signing_key, timestamp + token)."
        )

    def _settings(self, account: AccountContext) -> dict[str, Any]:
        return {**DEFAULTS, **account.settings}

    async def verify(self, request: WebhookRequest, account: AccountContext) -> VerifiedPayload:
        """Check the HMAC and timestamp, then take the raw message out of the request."""
        settings = self._settings(account)
        key = settings.get("signing_key")
        if not key:
            raise VerificationFailed(
                "this account does not receive mail (no signing_key)", code="NOT_CONFIGURED"
            )
        fields = form_fields(request)
        timestamp, token, signature = (
            credential(request, fields, name) for name in ("timestamp", "token", "signature")
        )
        if not (timestamp and token and signature):
            raise VerificationFailed(
                "timestamp, token and signature are required", code="BAD_SIGNATURE"
            )
        expected = mailgun_signature(key, timestamp, token)
        if not hmac.compare_digest(expected, signature.lower()):
            raise VerificationFailed("bad signature", code="BAD_SIGNATURE")
        window = settings["replay_window_seconds"]
        try:
            sent = float(timestamp)
        except ValueError:
            raise VerificationFailed("timestamp is not a number", code="BAD_SIGNATURE") from None
        if window and abs(time.time() - sent) > window:
            raise VerificationFailed("timestamp outside the replay window", code="STALE_TIMESTAMP")
        raw = raw_message(request, fields)
        meta: dict[str, Any] = {
            "received_at": datetime.now(UTC).isoformat(),
            "timestamp": timestamp,
        }
        for name in ("recipient", "sender"):
            if fields is not None and name in fields:
                meta[name] = fields[name].decode("utf-8", errors="replace")
        payload = VerifiedPayload(
            body=raw,
            meta=meta,
            # The HMAC covers the timestamp and token only, not the message.
            replay_key=f"{timestamp}:{token}",
        )
        if window:
            payload.replay_window = timedelta(seconds=window)
        return payload

    def parse(self, payload: VerifiedPayload, account: AccountContext) -> list[InboundEvent]:
        """The message as one event (a DELIVERY event for bounces and receipts)."""
        return [parse_message(payload.body, payload.meta)]

    async def send(
        self, recipient: IdentityRef, message: OutboundMessage, account: AccountContext
    ) -> SendResult:
        """Send a text (or html) email over the account's SMTP server.

        The result's ``external_id`` is the Message-ID, so replies and bounces thread to it.
        """
        settings = self._settings(account)
        if not settings.get("smtp_host"):
            return _failed("NOT_CONFIGURED", "the account has no smtp_host to send with")
        if recipient.channel != CHANNEL:
            return _failed(
                "INVALID_RECIPIENT", f"{recipient.channel}/{recipient.external_id} is not email"
            )
        try:
            msg = build_message(
                sender=settings["address"],
                sender_name=settings.get("from_name"),
                recipient=recipient,
                message=message,
                default_subject=settings.get("default_subject") or "",
            )
        except UnsafeMessage as exc:
            return _failed(exc.code, str(exc))
        return await deliver(msg, settings)


def _failed(code: str, message: str) -> SendResult:
    return SendResult(ok=False, status="failed", error_code=code, error_message=message)
