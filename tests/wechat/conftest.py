"""Fixtures: the fake WeChat/WeCom API on 127.0.0.1 (uvicorn, random port) and accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from helpers.serve import serve
from wechat.wechat_fakes import (
    AES_KEY,
    APP_ID,
    APP_SECRET,
    CORP_ID,
    CORP_SECRET,
    TOKEN,
    WECOM_AES_KEY,
    WECOM_TOKEN,
    FakeWeChat,
    build_fake_app,
    make_account,
)

from socialcrm.plugins import AccountContext
from socialcrm.plugins.wechat.channel import WeChatChannel
from socialcrm.plugins.wechat.wecom import WeComChannel


@pytest.fixture(scope="session")
async def wechat_server() -> AsyncIterator[FakeWeChat]:
    """The fake API for the whole session."""
    fake = FakeWeChat()
    async with serve(build_fake_app(fake)) as base_url:
        fake.base_url = base_url
        yield fake


@pytest.fixture
def fake_api(wechat_server: FakeWeChat) -> FakeWeChat:
    """The fake API, emptied for this test."""
    wechat_server.reset()
    return wechat_server


@pytest.fixture
def wechat() -> WeChatChannel:
    """The official-account channel with the real clock."""
    return WeChatChannel()


@pytest.fixture
def wecom() -> WeComChannel:
    """The WeCom channel with the real clock."""
    return WeComChannel()


@pytest.fixture
def safe_account(wechat: WeChatChannel, fake_api: FakeWeChat) -> AccountContext:
    """A safe-mode official account whose API calls go to the fake."""
    return make_account(
        wechat,
        app_id=APP_ID,
        app_secret=APP_SECRET,
        token=TOKEN,
        encoding_aes_key=AES_KEY,
        mode="safe",
        api_base_url=fake_api.base_url,
    )


@pytest.fixture
def wecom_account(wecom: WeComChannel, fake_api: FakeWeChat) -> AccountContext:
    """A WeCom corp with the sample's token and key, API calls going to the fake."""
    return make_account(
        wecom,
        corp_id=CORP_ID,
        corp_secret=CORP_SECRET,
        token=WECOM_TOKEN,
        encoding_aes_key=WECOM_AES_KEY,
        api_base_url=fake_api.base_url,
    )
