"""The Weibo fans-service push: signatures, push bodies and passive replies.

Pure functions only; the channel adds the I/O around them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from socialcrm.plugins import (
    Attachment,
    IdentityRef,
    InboundEvent,
    InteractionKind,
    InvalidPayload,
    OutboundMessage,
    Profile,
    Relation,
    RelationKind,
    read_json,
)

CHANNEL = "weibo"
WEIBO_TIME_FORMAT = "%a %b %d %H:%M:%S %z %Y"
MEDIA_URL = "https://upload.api.weibo.com/2/mss/msget?fid={fid}"
MAX_TEXT_CHARS = 300
"""Weibo refuses private-message text longer than this."""

_EVENT_KINDS: dict[str, InteractionKind] = {
    "follow": InteractionKind.FOLLOW,
    "subscribe": InteractionKind.FOLLOW,
    "unfollow": InteractionKind.UNFOLLOW,
    "unsubscribe": InteractionKind.UNFOLLOW,
    "scan": InteractionKind.SCAN,
    "scan_follow": InteractionKind.SCAN,
    "click": InteractionKind.CLICK,
    "view": InteractionKind.VIEW,
}
_FOLLOWING_AFTER: dict[str, bool] = {
    "follow": True,
    "subscribe": True,
    "scan_follow": True,
    "unfollow": False,
    "unsubscribe": False,
}
# Weibo allows no message at all after an unfollow, so there is nothing to answer inline.
_NO_REPLY_SUBTYPES = frozenset({"unfollow", "unsubscribe"})
_DIGITS = re.compile(r"^\d{1,20}$")


def push_signature(app_secret: str, timestamp: str, nonce: str) -> str:
    """The ``signature`` Weibo sends: sha1 of the sorted, concatenated three values."""
    joined = "".join(sorted([app_secret, timestamp, nonce]))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def check_signature(app_secret: str, query: Mapping[str, str]) -> bool:
    """Whether the request's ``signature``/``timestamp``/``nonce`` query parameters match."""
    signature = query.get("signature") or ""
    timestamp = query.get("timestamp") or ""
    nonce = query.get("nonce") or ""
    if not (signature and timestamp and nonce):
        return False
    expected = push_signature(app_secret, timestamp, nonce)
    return hmac.compare_digest(expected, signature.lower())


def timestamp_seconds(timestamp: str) -> float | None:
    """A push timestamp in seconds; Weibo sends milliseconds, older docs show seconds."""
    try:
        value = float(timestamp)
    except ValueError:
        return None
    # 1e11 seconds is the year 5138: anything above is milliseconds.
    return value / 1000 if value > 1e11 else value


def load_json(body: bytes | str) -> Any:
    """Decode Weibo JSON without ever turning a number into a lossy float.

    Integers stay Python ints (exact at any size); fractions become ``Decimal`` so that an id
    sent as ``2489518277.0`` or ``2.489518277e9`` is still recovered exactly by ``uid``.
    Unreadable JSON, or JSON nested past the contract's ``MAX_NESTING``, is ``InvalidPayload``.
    """
    return read_json(body, parse_float=Decimal)


def jsonable(value: Any) -> Any:
    """``value`` with every ``Decimal`` turned into a float, for storing as raw JSON."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def uid(value: Any) -> str | None:
    """A Weibo uid or object id as a decimal string, or None when absent or not an id."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value) if value >= 0 else None
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value() and value >= 0:
            return str(int(value))
        return None
    if isinstance(value, str):
        text = value.strip()
        return text if _DIGITS.match(text) else None
    return None


def parse_time(value: Any) -> datetime | None:
    """A Weibo ``created_at`` (``Mon Jul 16 18:09:20 +0800 2012``), or None."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip(), WEIBO_TIME_FORMAT)
    except ValueError:
        return None


def _received_at(meta: dict[str, Any]) -> datetime:
    received = meta.get("received_at")
    if isinstance(received, str):
        try:
            return datetime.fromisoformat(received)
        except ValueError:
            pass
    return datetime.fromtimestamp(0, UTC)


def _digest(text: Any, data: Any) -> str:
    """A short hash of a push's content, so two pushes in the same second stay apart."""
    canonical = json.dumps(
        [text, jsonable(data)], ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def parse_push(body: bytes, meta: dict[str, Any]) -> InboundEvent:
    """Turn one push body into an event; raise ``InvalidPayload`` when it is not one."""
    doc = load_json(body)
    if not isinstance(doc, dict):
        raise InvalidPayload("the push body is not a JSON object")
    sender = uid(doc.get("sender_id"))
    if sender is None:
        raise InvalidPayload("the push has no numeric sender_id")
    push_type = doc.get("type")
    push_type = push_type if isinstance(push_type, str) and push_type else "unknown"
    data = doc.get("data")
    data = data if isinstance(data, dict) else {}
    text = _text(doc.get("text"))

    created_raw = doc.get("created_at")
    created = parse_time(created_raw)
    # Weibo has no message id: the documented dedupe key is sender + time (+ type, content).
    # A retry repeats the body, not the arrival time, so only the body goes into the key.
    if created is not None:
        occurred_at = created
        time_key = str(int(created.timestamp()))
    else:
        # Weibo always sends created_at; without it the arrival time that verify() recorded
        # is the best we have (and keeps parsing repeatable).
        occurred_at = _received_at(meta)
        time_key = "t" + _digest(created_raw, None)[:8]
    subtype = _text(data.get("subtype")) if push_type == "event" else None
    type_key = (f"event.{subtype}" if subtype else push_type)[:40]
    external_id = f"msg:{sender}:{time_key}:{type_key}:{_digest(text, data)}"

    receiver = uid(doc.get("receiver_id"))
    event = InboundEvent(
        external_id=external_id,
        sender=IdentityRef(CHANNEL, sender),
        occurred_at=occurred_at,
        content_type=push_type,
        content=text,
        data={"receiver_id": receiver} if receiver else {},
        raw=jsonable(doc),
        wants_reply=True,
        thread_id=f"dm:{sender}",
    )

    if push_type == "text":
        pass
    elif push_type == "position":
        event.kind = InteractionKind.LOCATION
        for key in ("longitude", "latitude"):
            if key in data:
                event.data[key] = jsonable(data[key])
    elif push_type in ("voice", "image"):
        fid = uid(data.get("tovfid")) or _text(data.get("tovfid"))
        event.attachments.append(
            Attachment(
                kind=push_type,
                media_id=fid,
                url=MEDIA_URL.format(fid=quote(fid, safe="")) if fid else None,
            )
        )
        for key in ("vfid", "tovfid"):
            if key in data:
                event.data[key] = str(jsonable(data[key]))
    elif push_type == "event":
        _apply_event(event, subtype, data)
    elif push_type == "mention":
        _apply_mention(event, data)
    else:
        # The docs say to ignore unknown types; we keep them so nothing is lost.
        event.kind = InteractionKind.OTHER
        event.data.update(jsonable(data))
    return event


def _apply_event(event: InboundEvent, subtype: str | None, data: dict[str, Any]) -> None:
    event.content_type = f"event:{subtype}" if subtype else "event"
    event.kind = _EVENT_KINDS.get(subtype or "", InteractionKind.OTHER)
    key = _text(data.get("key"))
    ticket = _text(data.get("ticket"))
    if subtype:
        event.data["subtype"] = subtype
    if key is not None:
        event.data["key"] = key
    if ticket is not None:
        event.data["ticket"] = ticket
    if event.kind in (InteractionKind.CLICK, InteractionKind.VIEW) and event.content is None:
        event.content = key
    if subtype in _FOLLOWING_AFTER:
        event.profile = Profile(following=_FOLLOWING_AFTER[subtype])
    if event.kind is InteractionKind.SCAN and key:
        # A parametric QR code's key names who or what brought the fan: "old brings new".
        event.relations.append(Relation(RelationKind.REFERRAL, referral_code=key))
    if subtype in _NO_REPLY_SUBTYPES:
        event.wants_reply = False


def _apply_mention(event: InboundEvent, data: dict[str, Any]) -> None:
    # The mention layout is undocumented: take what looks like a post id and text, keep the rest.
    event.kind = InteractionKind.MENTION
    event.data.update(jsonable(data))
    if event.content is None:
        event.content = _text(data.get("text")) or _text(data.get("content"))
    for key in ("status_id", "mid", "id", "idstr"):
        status_id = uid(data.get(key))
        if status_id:
            # The same id the poller uses for statuses/mentions.json, so both paths dedupe.
            event.external_id = f"status:{status_id}"
            event.thread_id = f"status:{status_id}"
            break


def passive_reply_body(
    brand_uid: str, fan_uid: str, message: OutboundMessage
) -> dict[str, Any] | None:
    """The JSON object answering a push inline, or None when the message type has no form.

    Text longer than Weibo's limit is cut at the limit: the reply cannot report an error.
    """
    message_type, payload = reply_data(message, truncate=True)
    if message_type is None:
        return None
    return {
        "result": True,
        "sender_id": int(brand_uid),
        "receiver_id": int(fan_uid),
        "type": message_type,
        "data": encode_data(payload),
    }


def encode_data(payload: dict[str, Any]) -> str:
    """The ``data`` field of a reply: URL-encoded JSON, as the platform expects."""
    return quote(json.dumps(payload, ensure_ascii=False, separators=(",", ":")), safe="")


def reply_data(
    message: OutboundMessage, *, truncate: bool = False
) -> tuple[str | None, dict[str, Any]]:
    """The Weibo reply ``type`` and ``data`` object for ``message``.

    Returns ``(None, {"error": reason})`` when Weibo has no such message type or the message
    is invalid (text too long unless ``truncate``).
    """
    kind = message.content_type
    if kind == "text":
        text = message.text or ""
        if not text.strip():
            return None, {"error": "a text message needs text"}
        if len(text) > MAX_TEXT_CHARS:
            if not truncate:
                return None, {
                    "error": f"Weibo text messages are limited to {MAX_TEXT_CHARS} "
                    f"characters; this one has {len(text)}",
                    "code": "TEXT_TOO_LONG",
                }
            text = text[:MAX_TEXT_CHARS]
        return "text", {"text": text}
    if kind in ("articles", "news"):
        articles = [
            {
                "display_name": a.get("display_name") or a.get("title") or "",
                "summary": a.get("summary") or a.get("description") or "",
                "image": a.get("image") or a.get("pic_url") or "",
                "url": a.get("url") or "",
            }
            for a in message.articles
        ]
        if not articles:
            return None, {"error": "an articles message needs at least one article"}
        return "articles", {"articles": articles}
    if kind == "position":
        lon, lat = message.data.get("longitude"), message.data.get("latitude")
        if lon is None or lat is None:
            return None, {"error": "a position message needs data.longitude and data.latitude"}
        return "position", {"longitude": str(lon), "latitude": str(lat)}
    return None, {"error": f"Weibo cannot send {kind!r} messages (text, articles, position)"}
