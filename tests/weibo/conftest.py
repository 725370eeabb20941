"""Fixtures: the fake Weibo API served by uvicorn on 127.0.0.1, and account contexts."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from weibo_fakes import BRAND_UID, TOKEN, FakeWeibo, build_app, make_account

from plugins import AccountContext
from plugins.weibo import WeiboChannel


@pytest.fixture(scope="session")
async def weibo_server() -> AsyncIterator[FakeWeibo]:
    """The fake Weibo API on 127.0.0.1 and a random port, for the whole session."""
    fake = FakeWeibo()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(build_app(fake), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    # uvicorn reports readiness only through this flag.
    while not server.started:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    fake.base_url = f"http://127.0.0.1:{port}"
    yield fake
    server.should_exit = True
    await task
    sock.close()


@pytest.fixture
async def fake(weibo_server: FakeWeibo) -> FakeWeibo:
    """The fake API, emptied for this test."""
    weibo_server.reset()
    return weibo_server


@pytest.fixture
def channel() -> WeiboChannel:
    return WeiboChannel()


@pytest.fixture
def account(channel: WeiboChannel, fake: FakeWeibo) -> AccountContext:
    """A fully configured account whose API calls go to the fake."""
    return make_account(
        channel,
        access_token=TOKEN,
        uid=BRAND_UID,
        screen_name="品牌官方微博",
        api_base_url=f"{fake.base_url}/api/2/",
        message_api_base_url=f"{fake.base_url}/m/2/",
        poll_count=2,
    )
