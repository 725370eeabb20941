"""Fixtures: the fake Weibo API served by uvicorn on 127.0.0.1, and account contexts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from helpers.serve import serve
from weibo_fakes import BRAND_UID, TOKEN, FakeWeibo, build_app, make_account

from socialcrm.plugins import AccountContext
from socialcrm.plugins.weibo import WeiboChannel


@pytest.fixture(scope="session")
async def weibo_server() -> AsyncIterator[FakeWeibo]:
    """The fake Weibo API on 127.0.0.1 and a random port, for the whole session."""
    fake = FakeWeibo()
    async with serve(build_app(fake)) as base_url:
        fake.base_url = base_url
        yield fake


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
