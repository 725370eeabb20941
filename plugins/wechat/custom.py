"""Customer-service (客服) message bodies for ``POST /cgi-bin/message/custom/send``."""

from __future__ import annotations

from typing import Any

from socialcrm.plugins import OutboundMessage

MAX_NEWS_ARTICLES = 8


class UnsupportedMessage(ValueError):
    """The message cannot be sent as a customer-service message (type or fields)."""


def custom_message(openid: str, message: OutboundMessage) -> dict[str, Any]:
    """The JSON body sending ``message`` to ``openid``.

    Supports text, image, voice, video, mpnews, news and miniprogrampage (WeChat's own name;
    ``miniprogram`` is accepted too). ``message.data["kf_account"]`` sends as a given
    customer-service agent.
    """
    kind = message.content_type
    data = message.data
    body: dict[str, Any] = {"touser": openid}
    if kind == "text":
        if not message.text:
            raise UnsupportedMessage("a text message needs text")
        body.update(msgtype="text", text={"content": message.text})
    elif kind in ("image", "voice", "mpnews"):
        body.update(msgtype=kind, **{kind: {"media_id": _media_id(message)}})
    elif kind == "video":
        body.update(
            msgtype="video",
            video=_without_none(
                {
                    "media_id": _media_id(message),
                    "thumb_media_id": data.get("thumb_media_id"),
                    "title": data.get("title"),
                    "description": data.get("description"),
                }
            ),
        )
    elif kind == "news":
        if not message.articles:
            raise UnsupportedMessage("a news message needs at least one article")
        body.update(
            msgtype="news",
            news={
                "articles": [
                    _without_none(
                        {
                            "title": article.get("title"),
                            "description": article.get("description"),
                            "url": article.get("url"),
                            "picurl": article.get("pic_url") or article.get("picurl"),
                        }
                    )
                    for article in message.articles[:MAX_NEWS_ARTICLES]
                ]
            },
        )
    elif kind in ("miniprogrampage", "miniprogram"):
        page = {
            "title": data.get("title") or message.text,
            "appid": data.get("appid") or data.get("app_id"),
            "pagepath": data.get("pagepath") or data.get("page_path"),
            "thumb_media_id": message.media_id or data.get("thumb_media_id"),
        }
        missing = [name for name in ("appid", "pagepath", "thumb_media_id") if not page[name]]
        if missing:
            raise UnsupportedMessage(f"a mini program page needs {', '.join(missing)}")
        body.update(msgtype="miniprogrampage", miniprogrampage=_without_none(page))
    else:
        raise UnsupportedMessage(f"WeChat cannot send {kind!r} as a customer-service message")
    kf_account = data.get("kf_account")
    if kf_account:
        body["customservice"] = {"kf_account": kf_account}
    return body


def _media_id(message: OutboundMessage) -> str:
    media_id = message.media_id or message.data.get("media_id")
    if not media_id:
        raise UnsupportedMessage(f"a {message.content_type} message needs a media id")
    return str(media_id)


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
