"""Fixtures: the fake WeChat/WeCom API on 127.0.0.1 (uvicorn, random port) and accounts."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
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

from plugins import AccountContext
from plugins.wechat.channel import WeChatChannel
from plugins.wechat.wecom import WeComChannel


@pytest.fixture(scope="session")
async def wechat_server() -> AsyncIterator[FakeWeChat]:
    """The fake API for the whole session."""
    fake = FakeWeChat()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(build_fake_app(fake), log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn only exposes a flag
        await asyncio.sleep(0.01)
    fake.base_url = f"http://127.0.0.1:{port}"
    yield fake
    server.should_exit = True
    await task
    sock.close()


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
