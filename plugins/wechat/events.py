"""Official-account messages and events (parsed XML dicts) → normalized ``InboundEvent``.

Pure functions: no I/O, the same events for the same dict. Every kind WeChat documents is
mapped; a ``MsgType`` or ``Event`` this module does not know becomes kind ``other`` and is
kept whole in ``raw`` (a newer WeChat may send kinds we have not seen).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from socialcrm.plugins import (
    Attachment,
    IdentityRef,
    InboundEvent,
    InteractionKind,
    InvalidPayload,
    Profile,
    Relation,
    RelationKind,
)

QR_SCENE_PREFIX = "qrscene_"
"""The prefix of ``EventKey`` on a subscribe that came from a parametric QR code."""

_VOICE_MIME = {"amr": "audio/amr", "speex": "audio/speex", "mp3": "audio/mpeg"}


def text(msg: dict[str, Any], name: str) -> str | None:
    """A leaf field as a string, or None when absent or empty."""
    value = msg.get(name)
    if isinstance(value, str) and value != "":
        return value
    return None


def required(msg: dict[str, Any], name: str) -> str:
    """A field that must be present; raise ``InvalidPayload`` otherwise."""
    value = text(msg, name)
    if value is None:
        raise InvalidPayload(f"the message has no {name}", code="MISSING_FIELD")
    return value.strip()


def create_time(msg: dict[str, Any]) -> tuple[str, datetime]:
    """``CreateTime`` as its raw string (for keys) and a timezone-aware datetime."""
    raw = required(msg, "CreateTime")
    try:
        return raw, datetime.fromtimestamp(int(raw), tz=UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise InvalidPayload(f"CreateTime is not a unix time: {raw!r}", code="BAD_FIELD") from exc


def number(msg: dict[str, Any], name: str) -> float | None:
    """A numeric field as a float, or None when absent or not a number."""
    value = text(msg, name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def event_key(sender: str, created: str, event: str, msg: dict[str, Any]) -> str:
    """The dedupe key of an event (events have no MsgId): sender, time and event.

    Retries repeat all three, so a retried event is stored once. Events that do carry a
    message id (template and mass-send reports) append it, so two reports for one user in
    the same second stay apart.
    """
    key = f"{sender}:{created}:{event}"
    msg_id = text(msg, "MsgID") or text(msg, "MsgId")
    return f"{key}:{msg_id.strip()}" if msg_id else key


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def message_events(msg: dict[str, Any], namespace: str) -> list[InboundEvent]:
    """Normalize one parsed official-account push (message or event).

    ``namespace`` is the identity namespace of ``FromUserName`` (``wechat`` for openids).
    """
    sender_id = required(msg, "FromUserName")
    created, occurred_at = create_time(msg)
    msg_type = required(msg, "MsgType")
    sender = IdentityRef(channel=namespace, external_id=sender_id)
    if msg_type == "event":
        event_name = required(msg, "Event")
        event = InboundEvent(
            external_id=event_key(sender_id, created, event_name, msg),
            sender=sender,
            occurred_at=occurred_at,
            kind=InteractionKind.OTHER,
            content_type=f"event:{event_name}",
            raw=msg,
        )
        _EVENTS.get(event_name, _other_event)(event, msg)
        return [event]
    msg_id = text(msg, "MsgId")
    event = InboundEvent(
        # A future message type might come without MsgId: fall back to an event-style key.
        external_id=msg_id.strip() if msg_id else f"{sender_id}:{created}:{msg_type}",
        sender=sender,
        occurred_at=occurred_at,
        kind=InteractionKind.MESSAGE,
        content_type=msg_type,
        raw=msg,
        # WeChat lets the account answer any user message in the webhook's response.
        wants_reply=True,
    )
    _MESSAGES.get(msg_type, _other_message)(event, msg)
    return [event]


# Messages -------------------------------------------------------------------------------


def _text(event: InboundEvent, msg: dict[str, Any]) -> None:
    event.content = msg.get("Content") if isinstance(msg.get("Content"), str) else None
    event.data = _compact({"bizmsgmenuid": text(msg, "bizmsgmenuid")})


def _image(event: InboundEvent, msg: dict[str, Any]) -> None:
    event.attachments = [
        Attachment(kind="image", url=text(msg, "PicUrl"), media_id=text(msg, "MediaId"))
    ]


def _voice(event: InboundEvent, msg: dict[str, Any]) -> None:
    fmt = text(msg, "Format")
    recognition = text(msg, "Recognition")
    event.content = recognition
    event.attachments = [
        Attachment(
            kind="voice",
            media_id=text(msg, "MediaId"),
            mime_type=_VOICE_MIME.get((fmt or "").lower()),
        )
    ]
    event.data = _compact({"format": fmt, "recognition": recognition})


def _video(event: InboundEvent, msg: dict[str, Any]) -> None:
    event.attachments = [Attachment(kind="video", media_id=text(msg, "MediaId"))]
    event.data = _compact({"thumb_media_id": text(msg, "ThumbMediaId")})


def _location(event: InboundEvent, msg: dict[str, Any]) -> None:
    label = text(msg, "Label")
    event.content = label
    event.data = _compact(
        {
            "latitude": number(msg, "Location_X"),
            "longitude": number(msg, "Location_Y"),
            "scale": number(msg, "Scale"),
            "label": label,
        }
    )


def _link(event: InboundEvent, msg: dict[str, Any]) -> None:
    title = text(msg, "Title")
    event.content = title
    event.attachments = [
        Attachment(
            kind="link",
            url=text(msg, "Url"),
            title=title,
            description=text(msg, "Description"),
        )
    ]


def _other_message(event: InboundEvent, msg: dict[str, Any]) -> None:
    event.kind = InteractionKind.OTHER
    event.content = text(msg, "Content") or text(msg, "Title")


_MESSAGES: dict[str, Callable[[InboundEvent, dict[str, Any]], None]] = {
    "text": _text,
    "image": _image,
    "voice": _voice,
    "video": _video,
    "shortvideo": _video,
    "location": _location,
    "link": _link,
}


# Events ---------------------------------------------------------------------------------


def _subscribe(event: InboundEvent, msg: dict[str, Any]) -> None:
    key = text(msg, "EventKey")
    event.kind = InteractionKind.FOLLOW
    event.profile = Profile(following=True)
    event.wants_reply = True  # the welcome message
    scene = None
    if key and key.startswith(QR_SCENE_PREFIX):
        scene = key[len(QR_SCENE_PREFIX) :]
        if scene:
            # A follow through someone's parametric QR code: "old brings new".
            event.relations = [Relation(kind=RelationKind.REFERRAL, referral_code=scene)]
    event.data = _compact({"event_key": key, "scene": scene or None, "ticket": text(msg, "Ticket")})


def _unsubscribe(event: InboundEvent, msg: dict[str, Any]) -> None:
    event.kind = InteractionKind.UNFOLLOW
    event.profile = Profile(following=False)


def _scan(event: InboundEvent, msg: dict[str, Any]) -> None:
    # An existing follower scanning a code is no referral: they already follow.
    key = text(msg, "EventKey")
    event.kind = InteractionKind.SCAN
    event.content = key
    event.wants_reply = True
    event.data = _compact({"event_key": key, "scene": key, "ticket": text(msg, "Ticket")})


def _click(event: InboundEvent, msg: dict[str, Any]) -> None:
    key = text(msg, "EventKey")
    event.kind = InteractionKind.CLICK
    event.content = key
    event.wants_reply = True
    event.data = _compact({"event_key": key})


def _view(event: InboundEvent, msg: dict[str, Any]) -> None:
    # The user has left for a web page: a passive reply would not be seen.
    url = text(msg, "EventKey")
    event.kind = InteractionKind.VIEW
    event.content = url
    event.data = _compact({"url": url, "menu_id": text(msg, "MenuId")})


def _location_event(event: InboundEvent, msg: dict[str, Any]) -> None:
    event.kind = InteractionKind.LOCATION
    event.data = _compact(
        {
            "latitude": number(msg, "Latitude"),
            "longitude": number(msg, "Longitude"),
            "precision": number(msg, "Precision"),
        }
    )


def _template_finished(event: InboundEvent, msg: dict[str, Any]) -> None:
    status = text(msg, "Status")
    msg_id = text(msg, "MsgID") or text(msg, "MsgId")
    event.kind = InteractionKind.DELIVERY
    event.content = status
    event.data = _compact(
        {
            "msg_id": msg_id,
            "status": status,
            "delivered": status == "success" if status is not None else None,
        }
    )


def _other_event(event: InboundEvent, msg: dict[str, Any]) -> None:
    key = text(msg, "EventKey")
    event.kind = InteractionKind.OTHER
    event.content = key
    event.data = _compact({"event_key": key})


_EVENTS: dict[str, Callable[[InboundEvent, dict[str, Any]], None]] = {
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "SCAN": _scan,
    "CLICK": _click,
    "VIEW": _view,
    "LOCATION": _location_event,
    "TEMPLATESENDJOBFINISH": _template_finished,
}
