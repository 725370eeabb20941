"""Passive replies: the XML an official account answers a message with, in the webhook response.

Built from an ``OutboundMessage``; encrypted into the ``Encrypt/MsgSignature/TimeStamp/Nonce``
envelope when the message came encrypted (safe and compatible mode).
"""

from __future__ import annotations

from typing import Any

from socialcrm.plugins import OutboundMessage
from socialcrm.plugins.wechat.crypto import MessageCrypto
from socialcrm.plugins.wechat.xml import build_xml

MAX_ARTICLES = 8
"""WeChat shows at most 8 articles in a news reply."""


class UnsupportedReply(ValueError):
    """The message cannot be a passive reply (unknown type, missing text or media id)."""


def reply_fields(
    message: OutboundMessage, *, to_user: str, from_user: str, create_time: int
) -> dict[str, Any]:
    """The fields of a passive reply to ``to_user`` (an openid) from the account ``from_user``.

    Supports text, image, voice, video, music and news (at most ``MAX_ARTICLES`` articles;
    more are dropped rather than failing while WeChat waits).
    """
    fields: dict[str, Any] = {
        "ToUserName": to_user,
        "FromUserName": from_user,
        "CreateTime": create_time,
        "MsgType": message.content_type,
    }
    kind = message.content_type
    data = message.data
    if kind == "text":
        if not message.text:
            raise UnsupportedReply("a text reply needs text")
        fields["Content"] = message.text
    elif kind in ("image", "voice"):
        fields[kind.capitalize()] = {"MediaId": _media_id(message)}
    elif kind == "video":
        fields["Video"] = {
            "MediaId": _media_id(message),
            "Title": data.get("title"),
            "Description": data.get("description"),
        }
    elif kind == "music":
        fields["Music"] = {
            "Title": data.get("title"),
            "Description": data.get("description"),
            "MusicUrl": data.get("music_url"),
            "HQMusicUrl": data.get("hq_music_url"),
            "ThumbMediaId": message.media_id or data.get("thumb_media_id"),
        }
    elif kind == "news":
        articles = message.articles[:MAX_ARTICLES]
        if not articles:
            raise UnsupportedReply("a news reply needs at least one article")
        fields["ArticleCount"] = len(articles)
        fields["Articles"] = [
            {
                "Title": article.get("title", ""),
                "Description": article.get("description", ""),
                "PicUrl": article.get("pic_url") or article.get("picurl", ""),
                "Url": article.get("url", ""),
            }
            for article in articles
        ]
    else:
        raise UnsupportedReply(f"WeChat cannot reply inline with {kind!r}")
    return fields


def _media_id(message: OutboundMessage) -> str:
    if not message.media_id:
        raise UnsupportedReply(f"a {message.content_type} reply needs a media id")
    return message.media_id


def build_reply(
    message: OutboundMessage, *, to_user: str, from_user: str, create_time: int
) -> bytes:
    """The plaintext reply XML."""
    fields = reply_fields(message, to_user=to_user, from_user=from_user, create_time=create_time)
    return build_xml(fields)


def encrypt_reply(crypto: MessageCrypto, reply: bytes, *, timestamp: str, nonce: str) -> bytes:
    """Wrap a plaintext reply in the encrypted envelope WeChat expects in safe mode."""
    encrypt = crypto.encrypt(reply)
    return build_xml(
        {
            "Encrypt": encrypt,
            "MsgSignature": crypto.sign(timestamp, nonce, encrypt),
            "TimeStamp": int(timestamp),
            "Nonce": nonce,
        }
    )
