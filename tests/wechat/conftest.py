"""Fixtures: the fake WeChat/WeCom API on 127.0.0.1 (uvicorn, random port) and accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from helpers.serve import serve
from helpers.webhooks import connect as connect_account
from wechat.wechat_fakes import (
    AES_KEY,
    APP_ID,
    APP_SECRET,
    CORP_ID,
    CORP_SECRET,
    ORIGINAL_ID,
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
from socialcrm.server.tables import Workspace


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


@pytest.fixture
def connect_official_account(services: Any, workspace: Workspace, fake_api: FakeWeChat) -> Any:
    """``await connect_official_account(mode)``: connect an official account of the test
    workspace in ``mode`` (plain, compatible or safe) against the fake API; its slug."""

    async def make(mode: str) -> str:
        settings = {
            "app_id": APP_ID,
            "app_secret": APP_SECRET,
            "token": TOKEN,
            "mode": mode,
            "original_id": ORIGINAL_ID,
            "api_base_url": fake_api.base_url,
        }
        if mode != "plain":
            settings["encoding_aes_key"] = AES_KEY
        assert workspace.id is not None
        return await connect_account(services, workspace.id, "wechat", settings)

    return make
