"""Weibo send, poll and profiles against the local fake API."""

from __future__ import annotations

from typing import Any

import pytest
from weibo_fakes import BRAND_UID, FakeWeibo, make_account

from socialcrm.plugins import (
    AccountContext,
    IdentityRef,
    InteractionKind,
    OutboundMessage,
    RelationKind,
)
from socialcrm.plugins.weibo import WeiboChannel
from socialcrm.plugins.weibo.api import WeiboApiError
from socialcrm.plugins.weibo.timeline import SCREEN_NAME_NAMESPACE

FAN = IdentityRef("weibo", "2489518277")


def user(uid: int, name: str, followers: int = 10, **extra: Any) -> dict[str, Any]:
    return {
        "id": uid,
        "idstr": str(uid),
        "screen_name": name,
        "followers_count": followers,
        "friends_count": 3,
        "statuses_count": 99,
        "verified": False,
        "location": "北京 海淀区",
        **extra,
    }


def status(sid: int, author: dict[str, Any], text: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": sid,
        "idstr": str(sid),
        "created_at": "Tue Feb 23 12:28:47 +0800 2021",
        "text": text,
        "user": author,
        "reposts_count": 1,
        "comments_count": 2,
        "attitudes_count": 3,
        **extra,
    }


BRAND = user(int(BRAND_UID), "品牌官方微博", 100000)
ALICE = user(1645372340, "爱丽丝", 5231, follow_me=True)
BOB = user(1645372341, "鲍勃", 12)


async def test_send_text(channel: WeiboChannel, account: AccountContext, fake: FakeWeibo) -> None:
    result = await channel.send(FAN, OutboundMessage(text="您好，已为您处理"), account)
    assert result.ok, result
    assert result.external_id == "4000000000000000002"
    sent = fake.sent[0]
    assert sent["receiver_id"] == "2489518277"
    assert sent["type"] == "text"
    assert sent["data"] == {"text": "您好，已为您处理"}
    assert sent["save_sender_box"] == "0"


async def test_send_refuses_long_text_without_calling(
    channel: WeiboChannel, account: AccountContext, fake: FakeWeibo
) -> None:
    result = await channel.send(FAN, OutboundMessage(text="长" * 301), account)
    assert not result.ok
    assert result.error_code == "TEXT_TOO_LONG"
    assert "300" in (result.error_message or "")
    assert fake.requests == []
    assert (await channel.send(FAN, OutboundMessage(text="长" * 300), account)).ok


async def test_send_bad_recipient_and_type(channel: WeiboChannel, account: AccountContext) -> None:
    bad = await channel.send(IdentityRef("wechat", "o123"), OutboundMessage(text="x"), account)
    assert bad.error_code == "INVALID_RECIPIENT"
    video = await channel.send(FAN, OutboundMessage(content_type="video", media_id="m"), account)
    assert video.error_code == "UNSUPPORTED_MESSAGE"


@pytest.mark.parametrize(
    ("status_code", "body", "code", "rate_limited"),
    [
        (403, {"error": "User requests out of rate limit!", "error_code": 10023}, "10023", True),
        (429, "Too Many Requests", "HTTP_429", True),
        (400, {"error": "expired_token", "error_code": 21327}, "21327", False),
        (400, {"error": "not in 48 hours", "error_code": 20508}, "20508", False),
        (502, "<html>bad gateway</html>", "HTTP_502", False),
    ],
)
async def test_send_errors_become_results(
    channel: WeiboChannel,
    account: AccountContext,
    fake: FakeWeibo,
    status_code: int,
    body: Any,
    code: str,
    rate_limited: bool,
) -> None:
    fake.fail["/m/2/messages/reply.json"] = (status_code, body)
    result = await channel.send(FAN, OutboundMessage(text="hi"), account)
    assert not result.ok and result.status == "failed"
    assert result.error_code == code
    assert result.raw["rate_limited"] is rate_limited
    if isinstance(body, dict):
        assert body["error"] in (result.error_message or "")


async def test_send_with_wrong_token(channel: WeiboChannel, fake: FakeWeibo) -> None:
    account = make_account(
        channel, access_token="stale", message_api_base_url=f"{fake.base_url}/m/2/"
    )
    result = await channel.send(FAN, OutboundMessage(text="hi"), account)
    assert result.error_code == "21332"
    assert result.raw["token_invalid"] is True


async def test_send_without_token_or_server(channel: WeiboChannel) -> None:
    result = await channel.send(FAN, OutboundMessage(text="hi"), make_account(channel))
    assert result.error_code == "NOT_CONFIGURED"
    unreachable = make_account(
        channel, access_token="t", message_api_base_url="http://127.0.0.1:9/", timeout_seconds=2
    )
    result = await channel.send(FAN, OutboundMessage(text="hi"), unreachable)
    assert not result.ok and result.error_code == "NETWORK"


async def test_send_public_comment(
    channel: WeiboChannel, account: AccountContext, fake: FakeWeibo
) -> None:
    reply = OutboundMessage(
        content_type="comment",
        text="感谢反馈",
        data={"status_id": "4607741009594608", "comment_id": "4607741009594999"},
    )
    result = await channel.send(FAN, reply, account)
    assert result.ok and result.external_id == "comment:5000000000000000001"
    assert fake.sent[0]["path"] == "/api/2/comments/reply.json"
    assert fake.sent[0]["cid"] == "4607741009594999"
    plain = OutboundMessage(content_type="comment", text="谢谢", data={"status_id": "1"})
    assert (await channel.send(FAN, plain, account)).ok
    assert fake.sent[1]["path"] == "/api/2/comments/create.json"
    too_long = OutboundMessage(content_type="comment", text="x" * 141, data={"status_id": "1"})
    assert (await channel.send(FAN, too_long, account)).error_code == "TEXT_TOO_LONG"


async def test_fetch_profile(
    channel: WeiboChannel, account: AccountContext, fake: FakeWeibo
) -> None:
    fake.users[str(ALICE["id"])] = ALICE
    profile = await channel.fetch_profile(IdentityRef("weibo", ALICE["idstr"]), account)
    assert profile is not None
    assert profile.display_name == "爱丽丝" and profile.followers_count == 5231
    assert profile.following is True
    assert profile.aliases == [IdentityRef(SCREEN_NAME_NAMESPACE, "爱丽丝", "爱丽丝")]
    assert await channel.fetch_profile(IdentityRef("weibo", "42"), account) is None


async def test_poll_mentions_and_comments(
    channel: WeiboChannel, account: AccountContext, fake: FakeWeibo
) -> None:
    original = status(100, BOB, "鲍勃的原创")
    fake.statuses.extend(
        [
            status(201, ALICE, "@品牌官方微博 新品很好用 @鲍勃 #新品#"),
            status(202, ALICE, "转发 //@鲍勃: 推荐 @品牌官方微博", retweeted_status=original),
            status(203, BOB, "@品牌官方微博 客服呢？"),
        ]
    )
    brand_post = status(90, BRAND, "品牌新品发布")
    fake.comments.extend(
        [
            {
                "id": 301,
                "idstr": "301",
                "created_at": "Wed Feb 24 09:00:00 +0800 2021",
                "text": "不好用",
                "user": BOB,
                "status": brand_post,
            },
            {
                "id": 302,
                "idstr": "302",
                "created_at": "Wed Feb 24 09:05:00 +0800 2021",
                "text": "回复@鲍勃: 我觉得还行",
                "user": ALICE,
                "status": brand_post,
                "reply_comment": {"id": 301, "idstr": "301", "text": "不好用", "user": BOB},
            },
        ]
    )
    result = await channel.poll(account, None)
    assert result is not None
    by_id = {e.external_id: e for e in result.events}
    assert set(by_id) == {"status:201", "status:202", "status:203", "comment:301", "comment:302"}
    assert result.cursor == {"mentions": "203", "comments": "302"}
    # poll_count is 2: three mentions needed two pages.
    pages = [p["page"] for _, path, p in fake.requests if path.endswith("mentions.json")]
    assert pages == ["1", "2"]

    mention = by_id["status:201"]
    assert mention.kind is InteractionKind.MENTION
    assert mention.sender == IdentityRef("weibo", "1645372340", "爱丽丝")
    assert mention.profile is not None and mention.profile.followers_count == 5231
    assert mention.data["topics"] == ["新品"]
    assert [(r.kind, r.target.external_id) for r in mention.relations] == [
        (RelationKind.MENTION, "鲍勃")
    ]

    repost = by_id["status:202"]
    assert repost.kind is InteractionKind.REPOST
    assert repost.thread_id == "status:100"
    assert repost.relations[0].kind is RelationKind.REPOST
    assert repost.relations[0].target == IdentityRef("weibo", "1645372341", "鲍勃")

    comment = by_id["comment:302"]
    assert comment.kind is InteractionKind.COMMENT
    assert comment.in_reply_to == "comment:301"
    assert comment.thread_id == "status:90"
    assert comment.relations[0].kind is RelationKind.REPLY
    assert comment.relations[0].target is not None
    assert comment.relations[0].target.external_id == "1645372341"
    assert by_id["comment:301"].relations == []

    assert [e.occurred_at for e in result.events] == sorted(e.occurred_at for e in result.events)

    # Nothing new: the cursor holds and no events come back.
    again = await channel.poll(account, result.cursor)
    assert again is not None and again.events == []
    assert again.cursor == result.cursor
    fake.statuses.append(status(204, BOB, "@品牌官方微博 还在吗"))
    newer = await channel.poll(account, result.cursor)
    assert newer is not None
    assert [e.external_id for e in newer.events] == ["status:204"]
    assert newer.cursor == {"mentions": "204", "comments": "302"}


async def test_poll_partial_failure_keeps_that_cursor(
    channel: WeiboChannel, account: AccountContext, fake: FakeWeibo
) -> None:
    fake.statuses.append(status(201, ALICE, "@品牌官方微博 你好"))
    fake.fail["/api/2/comments/to_me.json"] = (
        403,
        {"error": "Insufficient app permissions!", "error_code": 10014},
    )
    result = await channel.poll(account, {"mentions": "200", "comments": "250"})
    assert result is not None
    assert [e.external_id for e in result.events] == ["status:201"]
    assert result.cursor == {"mentions": "201", "comments": "250"}


async def test_poll_rate_limited_raises(
    channel: WeiboChannel, account: AccountContext, fake: FakeWeibo
) -> None:
    limit = {"error": "IP requests out of rate limit!", "error_code": 10022}
    fake.fail["/api/2/statuses/mentions.json"] = (403, limit)
    fake.fail["/api/2/comments/to_me.json"] = (403, limit)
    with pytest.raises(WeiboApiError) as info:
        await channel.poll(account, None)
    assert info.value.rate_limited and info.value.code == "10022"


async def test_poll_needs_a_token(channel: WeiboChannel) -> None:
    assert await channel.poll(make_account(channel), None) is None
