"""Public Weibo interactions (posts that mention the brand, comments) as events.

Pure functions over the JSON of ``statuses/mentions.json`` and ``comments/to_me.json``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from socialcrm.plugins import (
    IdentityRef,
    InboundEvent,
    InteractionKind,
    Profile,
    Relation,
    RelationKind,
)
from socialcrm.plugins.weibo.push import CHANNEL, jsonable, parse_time, uid

SCREEN_NAME_NAMESPACE = "weibo.screen_name"
"""Identity namespace of Weibo screen names.

Posts name the people they mention by screen name only (the API gives no uid for them), so a
mention edge targets ``weibo.screen_name/<name>``; every author's profile lists that alias, and
identity resolution joins the two once the mentioned person shows up with their uid.
"""

# Weibo screen names: 2-30 letters, digits, CJK, "-" and "_".
_MENTION = re.compile(r"@([\w\-\u4e00-\u9fff]{1,30})")
_TOPIC = re.compile(r"#([^#\s][^#]{0,60})#")


def identity_of(user: Any) -> IdentityRef | None:
    """The identity of a Weibo ``user`` object, or None when it has no id."""
    if not isinstance(user, dict):
        return None
    user_id = uid(user.get("idstr")) or uid(user.get("id"))
    if user_id is None:
        return None
    name = user.get("screen_name")
    return IdentityRef(CHANNEL, user_id, name if isinstance(name, str) and name else None)


def profile_of(user: dict[str, Any]) -> Profile:
    """What a ``user`` object tells about its person: name, reach, whether they follow us."""
    name = user.get("screen_name")
    followers = user.get("followers_count")
    follow_me = user.get("follow_me")
    extra: dict[str, Any] = {
        key: jsonable(user[key])
        for key in ("friends_count", "statuses_count", "verified", "verified_type", "gender")
        if key in user
    }
    aliases = []
    if isinstance(name, str) and name:
        aliases.append(IdentityRef(SCREEN_NAME_NAMESPACE, name, name))
    location = user.get("location")
    avatar = user.get("avatar_large") or user.get("profile_image_url")
    return Profile(
        display_name=name if isinstance(name, str) and name else None,
        avatar_url=avatar if isinstance(avatar, str) and avatar else None,
        location=location if isinstance(location, str) and location else None,
        followers_count=followers if isinstance(followers, int) else None,
        following=follow_me if isinstance(follow_me, bool) else None,
        aliases=aliases,
        extra=extra,
    )


def mentioned_names(text: str | None) -> list[str]:
    """Screen names ``@``-mentioned in ``text``, in order, without repeats."""
    if not text:
        return []
    seen: dict[str, None] = {}
    for name in _MENTION.findall(text):
        seen.setdefault(name, None)
    return list(seen)


def _time(item: dict[str, Any]) -> datetime:
    return parse_time(item.get("created_at")) or datetime.fromtimestamp(0, UTC)


def _item_id(item: dict[str, Any]) -> str | None:
    return uid(item.get("idstr")) or uid(item.get("id")) or uid(item.get("mid"))


def _mention_relations(text: str | None, skip_names: set[str], relations: list[Relation]) -> None:
    known = {
        r.target.handle for r in relations if r.target is not None and r.target.handle is not None
    }
    for name in mentioned_names(text):
        if name in skip_names or name in known:
            continue
        relations.append(
            Relation(RelationKind.MENTION, target=IdentityRef(SCREEN_NAME_NAMESPACE, name, name))
        )


def status_event(
    status: dict[str, Any], *, brand_uid: str | None, brand_name: str | None
) -> InboundEvent | None:
    """A post from ``statuses/mentions.json`` as a MENTION (or REPOST) event."""
    status_id = _item_id(status)
    author = identity_of(status.get("user"))
    if status_id is None or author is None:
        return None
    text = status.get("text") if isinstance(status.get("text"), str) else None
    own = {author.handle} | ({brand_name} if brand_name else set())
    relations: list[Relation] = []
    data: dict[str, Any] = {"status_id": status_id}
    for key in ("reposts_count", "comments_count", "attitudes_count"):
        if isinstance(status.get(key), int):
            data[key] = status[key]
    topics = _TOPIC.findall(text or "")
    if topics:
        data["topics"] = topics

    kind = InteractionKind.MENTION
    thread_id = f"status:{status_id}"
    original = status.get("retweeted_status")
    if isinstance(original, dict):
        kind = InteractionKind.REPOST
        original_id = _item_id(original)
        original_author = identity_of(original.get("user"))
        if original_id:
            data["retweeted_status_id"] = original_id
            thread_id = f"status:{original_id}"
        if original_author is not None:
            data["retweeted_user_id"] = original_author.external_id
            # Word of mouth: the reposter spreads the original author's post to their followers.
            if original_author.external_id not in (author.external_id, brand_uid):
                relations.append(Relation(RelationKind.REPOST, target=original_author))
    _mention_relations(text, {n for n in own if n}, relations)
    user = status["user"]
    return InboundEvent(
        external_id=f"status:{status_id}",
        sender=author,
        occurred_at=_time(status),
        kind=kind,
        content_type="repost" if kind is InteractionKind.REPOST else "status",
        content=text,
        data=data,
        profile=profile_of(user),
        thread_id=thread_id,
        relations=relations,
        raw=jsonable(status),
    )


def comment_event(
    comment: dict[str, Any], *, brand_uid: str | None, brand_name: str | None
) -> InboundEvent | None:
    """A comment from ``comments/to_me.json`` (or ``comments/mentions.json``) as an event."""
    comment_id = _item_id(comment)
    author = identity_of(comment.get("user"))
    if comment_id is None or author is None:
        return None
    text = comment.get("text") if isinstance(comment.get("text"), str) else None
    data: dict[str, Any] = {"comment_id": comment_id}
    relations: list[Relation] = []
    thread_id = None
    in_reply_to = None
    status = comment.get("status")
    if isinstance(status, dict):
        status_id = _item_id(status)
        if status_id:
            data["status_id"] = status_id
            thread_id = f"status:{status_id}"
        status_author = identity_of(status.get("user"))
        if status_author is not None:
            data["status_user_id"] = status_author.external_id
    answered = comment.get("reply_comment")
    if isinstance(answered, dict):
        answered_id = _item_id(answered)
        if answered_id:
            data["reply_comment_id"] = answered_id
            in_reply_to = f"comment:{answered_id}"
        answered_author = identity_of(answered.get("user"))
        if answered_author is not None and answered_author.external_id not in (
            author.external_id,
            brand_uid,
        ):
            relations.append(Relation(RelationKind.REPLY, target=answered_author))
    own = {author.handle} | ({brand_name} if brand_name else set())
    _mention_relations(text, {n for n in own if n}, relations)
    return InboundEvent(
        external_id=f"comment:{comment_id}",
        sender=author,
        occurred_at=_time(comment),
        kind=InteractionKind.COMMENT,
        content_type="comment",
        content=text,
        data=data,
        profile=profile_of(comment["user"]),
        thread_id=thread_id,
        in_reply_to=in_reply_to,
        relations=relations,
        raw=jsonable(comment),
    )
