"""Outbound customer-service messages and user info, against the fake WeChat API."""

from __future__ import annotations

import pytest
from wechat.wechat_fakes import OPENID, FakeWeChat

from socialcrm.plugins import AccountContext, IdentityRef, OutboundMessage
from socialcrm.plugins.testing import MemoryChannelState
from socialcrm.plugins.wechat.api import TOKEN_STATE_KEY
from socialcrm.plugins.wechat.channel import WeChatChannel

USER = IdentityRef(channel="wechat", external_id=OPENID)


async def test_send_text_caches_the_token(
    wechat: WeChatChannel, safe_account: AccountContext, fake_api: FakeWeChat
) -> None:
    first = await wechat.send(USER, OutboundMessage(text="您的订单已发货"), safe_account)
    second = await wechat.send(USER, OutboundMessage(text="第二条"), safe_account)
    assert first.ok and second.ok and first.status == "sent"
    assert fake_api.token_fetches == 1
    assert fake_api.sent == [
        {"touser": OPENID, "msgtype": "text", "text": {"content": "您的订单已发货"}},
        {"touser": OPENID, "msgtype": "text", "text": {"content": "第二条"}},
    ]
    cached = await safe_account.state.get(TOKEN_STATE_KEY)
    assert cached["token"] == "ACCESS_TOKEN_1"


async def test_token_shared_through_state(
    wechat: WeChatChannel, safe_account: AccountContext, fake_api: FakeWeChat
) -> None:
    """Another worker (another channel object, same state) reuses the stored token."""
    await wechat.send(USER, OutboundMessage(text="a"), safe_account)
    other_worker = WeChatChannel()
    assert (await other_worker.send(USER, OutboundMessage(text="b"), safe_account)).ok
    assert fake_api.token_fetches == 1


async def test_expired_token_is_refreshed_once(
    wechat: WeChatChannel, safe_account: AccountContext, fake_api: FakeWeChat
) -> None:
    await wechat.send(USER, OutboundMessage(text="a"), safe_account)
    fake_api.expire_tokens()  # WeChat now answers 42001 to ACCESS_TOKEN_1
    result = await wechat.send(USER, OutboundMessage(text="b"), safe_account)
    assert result.ok
    assert fake_api.token_fetches == 2
    assert [m["text"]["content"] for m in fake_api.sent] == ["a", "b"]
    assert (await safe_account.state.get(TOKEN_STATE_KEY))["token"] == "ACCESS_TOKEN_2"


async def test_invalid_token_refreshed_once_only(
    wechat: WeChatChannel,
    safe_account: AccountContext,
    fake_api: FakeWeChat,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A token that keeps failing after one refresh is an error, not a loop."""
    await safe_account.state.set(TOKEN_STATE_KEY, {"token": "FORGED"})
    issue = fake_api._issue

    def issue_useless_token() -> str:
        issue()
        return "ALSO_BAD"

    monkeypatch.setattr(fake_api, "_issue", issue_useless_token)
    result = await wechat.send(USER, OutboundMessage(text="x"), safe_account)
    assert not result.ok
    assert result.error_code == "40001"
    assert fake_api.token_fetches == 1


async def test_outside_48_hours(
    wechat: WeChatChannel, safe_account: AccountContext, fake_api: FakeWeChat
) -> None:
    fake_api.out_of_window.add(OPENID)
    result = await wechat.send(USER, OutboundMessage(text="late"), safe_account)
    assert not result.ok and result.status == "failed"
    assert result.error_code == "45015"
    assert result.error_message == "response out of time limit"


async def test_too_many_messages(
    wechat: WeChatChannel, safe_account: AccountContext, fake_api: FakeWeChat
) -> None:
    fake_api.too_many.add(OPENID)
    result = await wechat.send(USER, OutboundMessage(text="again"), safe_account)
    assert (result.ok, result.error_code) == (False, "45047")


async def test_bad_secret(wechat: WeChatChannel, fake_api: FakeWeChat) -> None:
    acct = AccountContext(
        workspace_id=1,
        account_id=2,
        slug="bad",
        settings=wechat.validate_settings(
            {
                "app_id": "wxb11529c136998cb6",
                "app_secret": "wrong",
                "token": "pamtest",
                "api_base_url": fake_api.base_url,
            }
        ),
        webhook_url="https://crm.example.com/webhooks/wechat/bad",
        state=MemoryChannelState(),
    )
    result = await wechat.send(USER, OutboundMessage(text="x"), acct)
    assert (result.ok, result.error_code) == (False, "40125")


async def test_platform_down(
    wechat: WeChatChannel, safe_account: AccountContext, fake_api: FakeWeChat
) -> None:
    fake_api.down.add("/cgi-bin/message/custom/send")
    result = await wechat.send(USER, OutboundMessage(text="x"), safe_account)
    assert (result.ok, result.error_code) == (False, "HTTP_ERROR")


async def test_send_image_news_miniprogram(
    wechat: WeChatChannel, safe_account: AccountContext, fake_api: FakeWeChat
) -> None:
    messages = [
        OutboundMessage(content_type="image", media_id="MEDIA"),
        OutboundMessage(
            content_type="news",
            articles=[{"title": "新品", "description": "d", "url": "https://u", "pic_url": "p"}],
        ),
        OutboundMessage(
            content_type="miniprogrampage",
            text="小程序",
            media_id="THUMB",
            data={"appid": "wxmini", "pagepath": "pages/index"},
        ),
        OutboundMessage(text="客服", data={"kf_account": "kf2001@gh"}),
    ]
    for message in messages:
        assert (await wechat.send(USER, message, safe_account)).ok
    assert fake_api.sent == [
        {"touser": OPENID, "msgtype": "image", "image": {"media_id": "MEDIA"}},
        {
            "touser": OPENID,
            "msgtype": "news",
            "news": {
                "articles": [
                    {"title": "新品", "description": "d", "url": "https://u", "picurl": "p"}
                ]
            },
        },
        {
            "touser": OPENID,
            "msgtype": "miniprogrampage",
            "miniprogrampage": {
                "title": "小程序",
                "appid": "wxmini",
                "pagepath": "pages/index",
                "thumb_media_id": "THUMB",
            },
        },
        {
            "touser": OPENID,
            "msgtype": "text",
            "text": {"content": "客服"},
            "customservice": {"kf_account": "kf2001@gh"},
        },
    ]


async def test_send_refuses_bad_messages_without_calling(
    wechat: WeChatChannel, safe_account: AccountContext, fake_api: FakeWeChat
) -> None:
    for message in (
        OutboundMessage(text=None),
        OutboundMessage(content_type="image"),
        OutboundMessage(content_type="miniprogrampage", data={"appid": "x"}),
        OutboundMessage(content_type="telegram", text="x"),
    ):
        result = await wechat.send(USER, message, safe_account)
        assert (result.ok, result.error_code) == (False, "INVALID_MESSAGE")
    other = IdentityRef(channel="weibo", external_id="1")
    assert (await wechat.send(other, OutboundMessage(text="x"), safe_account)).error_code == (
        "WRONG_CHANNEL"
    )
    assert fake_api.token_fetches == 0 and fake_api.sent == []


async def test_fetch_profile(
    wechat: WeChatChannel, safe_account: AccountContext, fake_api: FakeWeChat
) -> None:
    fake_api.users[OPENID] = {
        "subscribe": 1,
        "openid": OPENID,
        "language": "zh_CN",
        "subscribe_time": 1382694957,
        "unionid": "o6_bmasdasdsad6_2sgVt7hMZOPfL",
        "remark": "",
        "groupid": 0,
        "tagid_list": [128, 2],
        "subscribe_scene": "ADD_SCENE_QR_CODE",
        "qr_scene": 98765,
        "qr_scene_str": "",
    }
    fake_api.tags = [
        {"id": 2, "name": "星标组", "count": 1},
        {"id": 128, "name": "VIP", "count": 3},
    ]
    profile = await wechat.fetch_profile(USER, safe_account)
    assert profile is not None
    assert profile.language == "zh_CN"
    assert profile.following is True
    assert profile.tags == ["VIP", "星标组"]
    assert profile.aliases == [
        IdentityRef(channel="wechat.unionid", external_id="o6_bmasdasdsad6_2sgVt7hMZOPfL")
    ]
    assert profile.extra == {
        "subscribe_time": 1382694957,
        "subscribe_scene": "ADD_SCENE_QR_CODE",
        "qr_scene": 98765,
        "groupid": 0,
    }
    # Tag names are cached: a second look-up reads them from state.
    fake_api.tags = []
    again = await wechat.fetch_profile(USER, safe_account)
    assert again is not None and again.tags == ["VIP", "星标组"]


async def test_fetch_profile_without_unionid_or_tags(
    wechat: WeChatChannel, safe_account: AccountContext, fake_api: FakeWeChat
) -> None:
    fake_api.users[OPENID] = {"subscribe": 0, "openid": OPENID, "tagid_list": []}
    profile = await wechat.fetch_profile(USER, safe_account)
    assert profile is not None
    assert profile.following is False and profile.aliases == [] and profile.tags == []


async def test_fetch_profile_errors_return_none(
    wechat: WeChatChannel, safe_account: AccountContext, fake_api: FakeWeChat
) -> None:
    assert await wechat.fetch_profile(USER, safe_account) is None  # 40003 invalid openid
    fake_api.down.add("/cgi-bin/user/info")
    fake_api.users[OPENID] = {"subscribe": 1, "openid": OPENID}
    assert await wechat.fetch_profile(USER, safe_account) is None  # HTTP 500
    other = IdentityRef(channel="wechat.unionid", external_id="u")
    assert await wechat.fetch_profile(other, safe_account) is None


async def test_fetch_profile_when_platform_unreachable(wechat: WeChatChannel) -> None:
    acct = AccountContext(
        workspace_id=1,
        account_id=3,
        slug="x",
        settings=wechat.validate_settings(
            {
                "app_id": "wx1",
                "app_secret": "s",
                "token": "tok",
                "api_base_url": "http://127.0.0.1:9",  # nothing listens on the discard port
            }
        ),
        webhook_url="https://crm.example.com/webhooks/wechat/x",
        state=MemoryChannelState(),
    )
    assert await wechat.fetch_profile(USER, acct) is None
    result = await wechat.send(USER, OutboundMessage(text="x"), acct)
    assert (result.ok, result.error_code) == (False, "HTTP_ERROR")
