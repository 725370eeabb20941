"""The inbound-mail webhook: Mailgun-style signatures and the raw message inside the request."""

from __future__ import annotations

import hashlib
import hmac
from email import policy
from email.parser import BytesParser
from urllib.parse import parse_qsl

from socialcrm.plugins import InvalidPayload, WebhookRequest

MIME_FIELDS = ("body-mime", "email")
"""Form fields that carry the raw message: Mailgun's ``body-mime``, SendGrid's ``email``."""
SIGNATURE_FIELDS = ("timestamp", "token", "signature")


def mailgun_signature(signing_key: str, timestamp: str, token: str) -> str:
    """Hex HMAC-SHA256 of ``timestamp + token`` under the signing key (Mailgun's scheme)."""
    return hmac.new(
        signing_key.encode("utf-8"), (timestamp + token).encode("utf-8"), hashlib.sha256
    ).hexdigest()


def form_fields(request: WebhookRequest) -> dict[str, bytes] | None:
    """The request's form fields as bytes, or None when the body is not a form.

    ``multipart/form-data`` is read with the standard ``email`` parser, which handles MIME
    multiparts of any size; ``application/x-www-form-urlencoded`` with ``urllib``.
    """
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError as exc:
            raise InvalidPayload("the form is not UTF-8") from exc
        return {name: value.encode("utf-8") for name, value in pairs}
    if media_type != "multipart/form-data":
        return None
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    try:
        form = BytesParser(policy=policy.default).parsebytes(head + request.body)
    except RecursionError:
        raise InvalidPayload("the multipart form nests too deeply", code="TOO_DEEP") from None
    except Exception as exc:
        raise InvalidPayload(f"the multipart form cannot be read: {exc}") from exc
    if not form.is_multipart():
        raise InvalidPayload("the multipart form has no parts")
    fields: dict[str, bytes] = {}
    for part in form.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or name in fields:
            continue
        payload = part.get_payload(decode=True)
        fields[name] = payload if isinstance(payload, bytes) else b""
    return fields


def credential(request: WebhookRequest, fields: dict[str, bytes] | None, name: str) -> str:
    """A signature field from the form, the query string, or an ``X-<Name>`` header."""
    if fields is not None and name in fields:
        return fields[name].decode("utf-8", errors="replace").strip()
    for value in (
        request.query.get(name),
        request.headers.get(f"x-{name}"),
        request.headers.get(f"x-mailgun-{name}"),
    ):
        if value:
            return value.strip()
    return ""


def raw_message(request: WebhookRequest, fields: dict[str, bytes] | None) -> bytes:
    """The raw RFC 5322 message the request carries."""
    if fields is None:
        raw = request.body
    else:
        raw = next((fields[f] for f in MIME_FIELDS if f in fields), b"")
        if not raw:
            raise InvalidPayload(
                "the form carries no raw message: post it whole as 'body-mime' "
                "(Mailgun: forward to a URL ending in 'mime'), or as the request body",
                code="NO_RAW_MESSAGE",
            )
    if not raw.strip():
        raise InvalidPayload("the message is empty", code="EMPTY_MESSAGE")
    return raw
