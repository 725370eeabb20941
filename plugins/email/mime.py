"""Raw RFC 5322 messages as events: pure, standard-library parsing that never gives up.

Real mail is often broken (bad boundaries, mislabelled charsets, malformed headers), so every
step here degrades to "less information" rather than an exception. The one refusal is a
message whose parts nest past the contract's ``MAX_NESTING``: a hostile body, not broken mail.
"""

from __future__ import annotations

import base64
import codecs
import email
import hashlib
import quopri
import re
from datetime import UTC, datetime
from email import policy
from email.header import decode_header
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

from socialcrm.plugins import (
    MAX_NESTING,
    Attachment,
    IdentityRef,
    InboundEvent,
    InteractionKind,
    InvalidPayload,
    Profile,
)

CHANNEL = "email"
MISSING_SENDER = "unknown@sender.invalid"
"""The identity of a message that names no sender at all (RFC 2606 reserves ``.invalid``)."""
MAX_PARTS = 500
"""Walk no further into a message with more MIME parts than this (a mail bomb, a loop)."""
MAX_RAW_HEADERS = 100
MAX_MESSAGE_ID = 255
"""The longest id kept as is; the server's external ids hold 255 characters."""

# Labels that understate what senders really use: GB2312 mail carries GBK and GB18030
# characters, Big5 mail carries HKSCS, "latin-1" mail carries Windows-1252 punctuation.
_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "euc-cn": "gb18030",
    "x-euc-cn": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "windows-936": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "ks_c_5601-1987": "cp949",
    "utf8": "utf-8",
}
_UNLABELLED = frozenset({"", "us-ascii", "ascii", "unknown-8bit", "x-unknown", "unknown", "8bit"})
_REPORT_PARTS = frozenset(
    {
        "message/delivery-status",
        "message/global-delivery-status",
        "message/disposition-notification",
        "message/feedback-report",
        "text/rfc822-headers",
        "text/rfc822-header",
    }
)
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:re|fw|fwd|aw|wg|sv|vs|antw|回复|答复|回覆|转发|轉寄|转寄)\s*"
    r"(?:\[\d+\]|\(\d+\))?\s*[:：]\s*",
    re.IGNORECASE,
)
_MSGID = re.compile(r"<[^<>\s]+>")
_ADDRESS = re.compile(r"^[^@\s<>\"(),;:\\\[\]]+@[^@\s<>\"(),;:\\\[\]]+$")


def decode_bytes(data: bytes, charset: str | None) -> str:
    """``data`` as text, trusting ``charset`` as far as it deserves; never raises."""
    name = (charset or "").strip().strip("\"'").lower().split("*", 1)[0]
    name = _CHARSET_ALIASES.get(name, name)
    if name in _UNLABELLED:
        return guess_decode(data)
    try:
        codecs.lookup(name)
    except LookupError:
        name = "utf-8"
    try:
        return data.decode(name, errors="replace")
    except Exception:
        return data.decode("utf-8", errors="replace")


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value).replace("\r", "").replace("\n", "")


def _undo_8bit(value: str) -> str:
    """Raw 8-bit header bytes reach us surrogate-escaped: decode them for real."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    return guess_decode(value.encode("ascii", "surrogateescape"))


def guess_decode(data: bytes) -> str:
    """Unlabelled 8-bit text: UTF-8 (even slightly damaged), else GB, else Windows-1252."""
    text = data.decode("utf-8", errors="replace")
    non_ascii = sum(1 for b in data if b > 0x7F)
    if text.count("\ufffd") * 10 <= non_ascii:
        return text
    try:
        gb = data.decode("gb18030")
    except UnicodeDecodeError:
        gb = None
    if gb is not None:
        # Latin-1 bytes also form valid GB18030 pairs, but rarely common Chinese characters:
        # accept GB when nearly every character is in the GB2312 (common) set.
        wide = [ch for ch in gb if ord(ch) > 0x7F]
        common = sum(1 for ch in wide if _in_gb2312(ch))
        if wide and common * 10 >= len(wide) * 8:
            return gb
    return data.decode("cp1252", errors="replace")


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def decode_words(value: str) -> str:
    """An unfolded header value with its RFC 2047 encoded words decoded."""
    value = _undo_8bit(_unfold(value))
    if "=?" not in value:
        return value.strip()
    try:
        chunks = decode_header(value)
    except Exception:
        return value.strip()
    out = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
        elif charset is None:
            out.append(chunk.decode("raw-unicode-escape", errors="replace"))
        else:
            out.append(decode_bytes(chunk, charset))
    return "".join(out).strip()


def raw_headers(msg: Message, name: str) -> list[str]:
    """Every raw value of header ``name``, unparsed (parsing may fail on broken input)."""
    wanted = name.lower()
    values = []
    try:
        for key, value in msg.raw_items():
            if key.lower() == wanted:
                values.append(value if isinstance(value, str) else str(value))
    except Exception:
        return []
    return values


def header(msg: Message, name: str) -> str | None:
    """The first ``name`` header, decoded, or None."""
    values = raw_headers(msg, name)
    return decode_words(values[0]) if values else None


def addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """``(display name, lower-cased address)`` pairs of an address header."""
    values = [_undo_8bit(_unfold(v)) for v in raw_headers(msg, name)]
    if not values:
        return []
    try:
        pairs = getaddresses(values)
    except Exception:
        return []
    result = []
    for display, address in pairs:
        address = address.strip().strip("<>").lower()
        if _ADDRESS.match(address):
            result.append((decode_words(display) if display else "", address))
    return result


def message_ids(value: str | None) -> list[str]:
    """The ``<id>`` tokens of a Message-ID, In-Reply-To or References value.

    An id longer than ``MAX_MESSAGE_ID`` is replaced by a short one derived from it, the same
    wherever it appears, so threads still join and every id fits an external id.
    """
    if not value:
        return []
    found = _MSGID.findall(value)
    if not found:
        # Some clients drop the angle brackets.
        found = [f"<{token}>" for token in re.split(r"[\s,]+", value.strip()) if "@" in token]
    return [_bounded_id(i) for i in found]


def _bounded_id(message_id: str) -> str:
    if len(message_id) <= MAX_MESSAGE_ID:
        return message_id
    digest = hashlib.sha256(message_id.encode("utf-8", "surrogateescape")).hexdigest()[:40]
    return f"<{digest}@long-message-id.invalid>"


def thread_subject(subject: str | None) -> str:
    """``subject`` without its reply and forward prefixes (``Re:``, ``回复:``, ``Fwd:``…)."""
    text = (subject or "").strip()
    while True:
        stripped = _SUBJECT_PREFIX.sub("", text, count=1)
        if stripped == text:
            return text
        text = stripped.strip()


class _TextExtractor(HTMLParser):
    """Collects an HTML document's visible text, one line per block element."""

    _BLOCKS = frozenset(
        {
            "p",
            "div",
            "br",
            "li",
            "tr",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "table",
            "ul",
            "ol",
            "blockquote",
            "pre",
            "hr",
            "section",
            "article",
            "header",
            "footer",
            "dt",
            "dd",
        }
    )
    _HIDDEN = frozenset({"script", "style", "head", "title", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self.hidden += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML body (for mail that has no text/plain part)."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:
        return re.sub(r"<[^>]*>", " ", html).strip()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def part_text(part: Message) -> str:
    """A leaf part's content as text, decoded with its (corrected) charset."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return decode_bytes(payload, charset)


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _children(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def walk(msg: Message) -> list[Message]:
    """Every part, depth first, without recursion and without entering attached messages."""
    parts: list[Message] = []
    stack = [msg]
    while stack and len(parts) < MAX_PARTS:
        part = stack.pop()
        parts.append(part)
        if part.is_multipart() and _content_type(part).startswith("multipart/"):
            stack.extend(reversed(_children(part)))
    return parts


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    return decode_words(name) if isinstance(name, str) and name else None


def find_body(msg: Message) -> tuple[Message | None, str | None]:
    """The part to read as the message's text, and its format (``plain`` or ``html``)."""
    body: Message | None = None
    if isinstance(msg, EmailMessage):
        try:
            body = msg.get_body(preferencelist=("plain", "html"))
        except Exception:
            body = None
    if body is None:
        leaves = [p for p in walk(msg) if not p.is_multipart()]
        for wanted in ("text/plain", "text/html"):
            body = next(
                (
                    p
                    for p in leaves
                    if _content_type(p) == wanted and _disposition(p) != "attachment"
                ),
                None,
            )
            if body is not None:
                break
    if body is None:
        return None, None
    return body, ("html" if _content_type(body) == "text/html" else "plain")


def _attachment_kind(content_type: str) -> str:
    maintype = content_type.split("/", 1)[0]
    return {"image": "image", "audio": "voice", "video": "video", "message": "message"}.get(
        maintype, "file"
    )


def attachments(msg: Message, body: Message | None) -> list[Attachment]:
    """The message's attachments and inline media, described but never copied."""
    found: list[Attachment] = []
    for part in walk(msg):
        content_type = _content_type(part)
        if part is body or content_type.startswith("multipart/") or content_type in _REPORT_PARTS:
            continue
        disposition = _disposition(part)
        filename = _filename(part)
        if (
            content_type in ("text/plain", "text/html")
            and disposition != "attachment"
            and not filename
        ):
            continue  # An alternative rendering of the body, not an attachment.
        title = filename
        if content_type == "message/rfc822" and title is None:
            inner = _children(part)
            title = header(inner[0], "Subject") if inner else None
        content_id = header(part, "Content-ID")
        found.append(
            Attachment(
                kind=_attachment_kind(content_type),
                media_id=content_id.strip("<> ") if content_id else None,
                title=title,
                description=header(part, "Content-Description"),
                mime_type=content_type,
            )
        )
    return found


def _field_blocks(part: Message) -> list[dict[str, str]]:
    """The field blocks of a message/delivery-status (or similar) part, names lower-cased."""
    blocks: list[dict[str, str]] = []
    children = _children(part)
    for child in children:
        fields = {k.lower(): decode_words(v) for k, v in child.raw_items()}
        if fields:
            blocks.append(fields)
    if blocks:
        return blocks
    # Not parsed into blocks (an encoded report, or one that is not message/*): read the
    # fields from the text.
    text = _report_text(part, children)
    for chunk in re.split(r"\r?\n[ \t]*\r?\n", text):
        block: dict[str, str] = {}
        for line in re.sub(r"\r?\n[ \t]+", " ", chunk).splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip():
                block[name.strip().lower()] = value.strip()
        if block:
            blocks.append(block)
    return blocks


def _report_text(part: Message, children: list[Message]) -> str:
    """The text of a report part, decoding a transfer encoding the parser left in place."""
    if not children:
        return part_text(part)
    payloads = [c.get_payload() for c in children]
    body = "".join(p for p in payloads if isinstance(p, str))
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    try:
        if encoding == "base64":
            return guess_decode(base64.b64decode(body, validate=False))
        if encoding == "quoted-printable":
            return guess_decode(quopri.decodestring(body.encode("ascii", "replace")))
    except Exception:
        return body
    return body


def _typed_address(value: str | None) -> str | None:
    """``rfc822; <user@example.com>`` → ``user@example.com``."""
    if not value:
        return None
    address = value.split(";", 1)[-1].strip().strip("<>").lower()
    return address if _ADDRESS.match(address) else None


def _enclosed_headers(msg: Message) -> Message | None:
    """The original message (or its headers) enclosed in a report."""
    for part in walk(msg):
        content_type = _content_type(part)
        if content_type in ("message/rfc822", "message/global"):
            inner = _children(part)
            if inner:
                return inner[0]
        if content_type in ("text/rfc822-headers", "text/rfc822-header"):
            try:
                return email.message_from_string(part_text(part), policy=policy.default)
            except Exception:
                return None
    return None


def delivery_report(msg: Message) -> dict[str, Any] | None:
    """What a bounce, read receipt or spam complaint reports, or None for ordinary mail.

    Reads RFC 3464 delivery status notifications, RFC 8098 disposition notifications and
    RFC 5965 feedback reports; an Exim/Gmail ``X-Failed-Recipients`` header also counts.
    """
    parts = walk(msg)
    by_type: dict[str, Message] = {}
    for part in parts:
        by_type.setdefault(_content_type(part), part)
    status_part = by_type.get("message/delivery-status") or by_type.get(
        "message/global-delivery-status"
    )
    report: dict[str, Any] | None = None
    if status_part is not None:
        blocks = _field_blocks(status_part)
        recipients = []
        for block in blocks:
            recipient = _typed_address(block.get("final-recipient")) or _typed_address(
                block.get("original-recipient")
            )
            if recipient is None:
                continue
            recipients.append(
                {
                    "recipient": recipient,
                    "action": (block.get("action") or "").lower() or None,
                    "status": block.get("status"),
                    "diagnostic": block.get("diagnostic-code"),
                }
            )
        failed = next((r for r in recipients if r["action"] == "failed"), None)
        first = failed or (recipients[0] if recipients else None)
        report = {
            "report_type": "delivery-status",
            "recipients": recipients,
            "recipient": first["recipient"] if first else None,
            "status": (first["action"] if first and first["action"] else "failed"),
            "status_code": first["status"] if first else None,
            "diagnostic": first["diagnostic"] if first else None,
        }
    elif "message/disposition-notification" in by_type:
        block = next(iter(_field_blocks(by_type["message/disposition-notification"])), {})
        disposition = block.get("disposition", "")
        report = {
            "report_type": "disposition-notification",
            "recipient": _typed_address(block.get("final-recipient")),
            "status": disposition.rsplit(";", 1)[-1].strip().lower() or "displayed",
            "original_message_id": next(iter(message_ids(block.get("original-message-id"))), None),
        }
    elif "message/feedback-report" in by_type:
        block = next(iter(_field_blocks(by_type["message/feedback-report"])), {})
        report = {
            "report_type": "feedback-report",
            "recipient": _typed_address(block.get("original-rcpt-to")),
            "status": "complained",
            "feedback_type": block.get("feedback-type"),
        }
    else:
        failed_to = addresses(msg, "X-Failed-Recipients")
        if not failed_to:
            return None
        report = {
            "report_type": "x-failed-recipients",
            "recipients": [{"recipient": a, "action": "failed"} for _, a in failed_to],
            "recipient": failed_to[0][1],
            "status": "failed",
        }
    original = _enclosed_headers(msg)
    if original is not None:
        original_id = next(iter(message_ids(header(original, "Message-ID"))), None)
        if original_id and not report.get("original_message_id"):
            report["original_message_id"] = original_id
        report["original_references"] = message_ids(header(original, "References"))
        if report.get("recipient") is None:
            to = addresses(original, "To")
            report["recipient"] = to[0][1] if to else None
        report["original_subject"] = header(original, "Subject")
    return report


def automatic(msg: Message) -> str | None:
    """Why the message looks machine-sent (RFC 3834 and de-facto headers), or None."""
    submitted = header(msg, "Auto-Submitted")
    if submitted and submitted.split(";", 1)[0].strip().lower() != "no":
        return submitted.split(";", 1)[0].strip().lower()
    for name in ("X-Autoreply", "X-Autorespond", "X-Autogenerated"):
        value = header(msg, name)
        if value is not None and value.strip().lower() not in ("no", "false", "0"):
            return "auto-replied"
    precedence = (header(msg, "Precedence") or "").strip().lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        return f"precedence-{precedence}"
    return None


def occurred_at(msg: Message, meta: dict[str, Any]) -> datetime:
    """When the message was written (Date), else received; always timezone-aware."""
    candidates = [header(msg, "Date")]
    received = raw_headers(msg, "Received")
    if received:
        candidates.append(_unfold(received[0]).rsplit(";", 1)[-1])
    for value in candidates:
        if not value:
            continue
        try:
            moment = parsedate_to_datetime(value.strip())
        except Exception:
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    received_at = meta.get("received_at")
    if isinstance(received_at, str):
        try:
            return datetime.fromisoformat(received_at)
        except ValueError:
            pass
    return datetime.fromtimestamp(0, UTC)


def read_message(raw: bytes) -> Message:
    """``raw`` parsed; ``InvalidPayload`` (code ``TOO_DEEP``) when its MIME parts nest past
    the contract's ``MAX_NESTING``, which no mail program writes and which would otherwise
    exhaust the recursion of the standard library's parser and of ``get_body``."""
    try:
        msg = email.message_from_bytes(raw, policy=policy.default)
    except RecursionError:
        msg = None
    if msg is None or _nests_deeper(msg, MAX_NESTING):
        raise InvalidPayload(
            f"the message's MIME parts nest deeper than {MAX_NESTING} levels", code="TOO_DEEP"
        )
    return msg


def _nests_deeper(msg: Message, limit: int) -> bool:
    """Whether parts (attached messages included) nest more than ``limit`` levels."""
    stack = [(msg, 1)]
    while stack:
        part, level = stack.pop()
        if level > limit:
            return True
        stack.extend((child, level + 1) for child in _children(part))
    return False


def parse_message(raw: bytes, meta: dict[str, Any] | None = None) -> InboundEvent:
    """One raw RFC 5322 message as an event. Raises only ``InvalidPayload`` for MIME parts
    nested past ``MAX_NESTING``; any other bytes give an event."""
    meta = meta or {}
    msg = read_message(raw)

    subject = header(msg, "Subject")
    own_ids = message_ids(header(msg, "Message-ID"))
    # A message without a Message-ID is still delivered again byte for byte on a retry.
    external_id = (
        own_ids[0] if own_ids else (f"<{hashlib.sha256(raw).hexdigest()[:32]}@message-id.invalid>")
    )
    references = message_ids(header(msg, "References"))
    in_reply_to = next(iter(message_ids(header(msg, "In-Reply-To"))), None) or (
        references[-1] if references else None
    )
    thread_id = references[0] if references else (in_reply_to or external_id)

    from_ = addresses(msg, "From")
    fallback = (
        addresses(msg, "Sender")
        or addresses(msg, "Reply-To")
        or [("", a) for a in [_typed_address(meta.get("sender"))] if a]
        or addresses(msg, "Return-Path")
    )
    display, address = (from_ or fallback or [("", MISSING_SENDER)])[0]

    body, body_format = find_body(msg)
    text = part_text(body) if body is not None else ""
    if body_format == "html":
        text = html_to_text(text)
    text = text.strip()

    data: dict[str, Any] = {
        "subject": subject,
        "thread_subject": thread_subject(subject),
        "from": address,
        "to": [a for _, a in addresses(msg, "To")],
        "cc": [a for _, a in addresses(msg, "Cc")],
        "message_id": external_id,
        "references": references,
    }
    if body_format:
        data["body_format"] = body_format
    reply_to = addresses(msg, "Reply-To")
    if reply_to:
        data["reply_to"] = reply_to[0][1]
    if meta.get("recipient"):
        data["recipient"] = meta["recipient"]
    auto = automatic(msg)
    if auto:
        data["auto_submitted"] = auto
    list_id = header(msg, "List-Id")
    if list_id:
        data["list_id"] = list_id
    if raw_headers(msg, "List-Unsubscribe"):
        data["list_unsubscribe"] = True
    if not from_:
        data["sender_missing"] = True

    event = InboundEvent(
        external_id=external_id,
        sender=IdentityRef(CHANNEL, address, display or None),
        occurred_at=occurred_at(msg, meta),
        content_type="email",
        content=text or subject,
        attachments=attachments(msg, body),
        data=data,
        profile=Profile(display_name=display or None, email=address)
        if address != MISSING_SENDER
        else None,
        thread_id=thread_id,
        in_reply_to=in_reply_to,
        raw={"headers": _header_list(msg)},
    )

    report = delivery_report(msg)
    if report is not None:
        _apply_report(event, report, address)
    return event


def _apply_report(event: InboundEvent, report: dict[str, Any], reporter: str) -> None:
    """Turn the event into the delivery report of the brand's earlier message."""
    event.kind = InteractionKind.DELIVERY
    event.content_type = report["report_type"]
    event.data["delivery"] = report
    event.data["reporter"] = reporter
    recipient = report.get("recipient")
    if recipient:
        # The report is about the customer the brand wrote to, not the mail server reporting.
        event.sender = IdentityRef(CHANNEL, recipient)
        event.profile = Profile(email=recipient)
    original = report.get("original_message_id")
    if original:
        event.in_reply_to = original
        event.thread_id = next(iter(report.get("original_references") or []), original)
    parts = [f"{report['status']}"]
    if recipient:
        parts.append(f"for {recipient}")
    if report.get("status_code"):
        parts.append(f"({report['status_code']})")
    if report.get("diagnostic"):
        parts.append(f": {report['diagnostic']}")
    event.content = "Delivery report: " + " ".join(parts)


def _header_list(msg: Message) -> list[list[str]]:
    """The message's headers, decoded and bounded, for the event's ``raw``."""
    try:
        items = list(msg.raw_items())[:MAX_RAW_HEADERS]
    except Exception:
        return []
    return [[str(name), decode_words(str(value))[:2000]] for name, value in items]
