"""WeCom through the whole server: URL check, external contacts, group chats as communities,
and a unionid joining a WeCom contact with an official-account follower."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from wechat.wechat_fakes import (
    APP_ID,
    APP_SECRET,
    CORP_ID,
    CORP_SECRET,
    TOKEN,
    WECOM_AES_KEY,
    WECOM_TOKEN,
    FakeWeChat,
    ReferenceCrypto,
    plain_query,
    xml_message,
)

from socialcrm.server.tables import (
    ChannelAccount,
    Community,
    Identity,
    Interaction,
    Membership,
    RawEvent,
)

CONNECT = """
mutation($input: ConnectChannelInput!) {
  connectChannel(input: $input) {
    account { webhookUrl publicSettings }
    userErrors { field message code }
  }
}
"""

REF = ReferenceCrypto(WECOM_TOKEN, WECOM_AES_KEY, CORP_ID)


def external_id() -> str:
    return f"wm{uuid.uuid4().hex}"


async def connect(graphql: Any, token: str, channel: str, settings: dict[str, Any]) -> str:
    slug = f"{channel}-{uuid.uuid4().hex[:8]}"
    answer = await graphql(
        CONNECT, {"input": {"channel": channel, "slug": slug, "settings": settings}}, token=token
    )
    assert answer["data"]["connectChannel"]["userErrors"] == [], answer
    return slug


@pytest.fixture
async def wecom_slug(graphql: Any, admin_token: str, fake_api: FakeWeChat) -> str:
    """A connected WeCom corp (the official sample's token and key)."""
    settings = {
        "corp_id": CORP_ID,
        "corp_secret": CORP_SECRET,
        "token": WECOM_TOKEN,
        "encoding_aes_key": WECOM_AES_KEY,
        "api_base_url": fake_api.base_url,
    }
    return await connect(graphql, admin_token, "wecom", settings)


async def callback(client: httpx.AsyncClient, slug: str, plaintext: bytes) -> httpx.Response:
    """POST a callback encrypted as WeCom does."""
    encrypt = REF.encrypt(plaintext)
    timestamp, nonce = str(int(time.time())), "1597212914"
    body = (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>"
    )
    query = {
        "msg_signature": REF.sign(timestamp, nonce, encrypt),
        "timestamp": timestamp,
        "nonce": nonce,
    }
    return await client.post(f"/webhooks/wecom/{slug}", params=query, content=body.encode())


def contact_event(change: str, customer: str, **extra: str) -> bytes:
    return xml_message(
        ToUserName=CORP_ID,
        FromUserName="sys",
        CreateTime=int(time.time()),
        MsgType="event",
        Event="change_external_contact",
        ChangeType=change,
        UserID="zhangsan",
        ExternalUserID=customer,
        **extra,
    )


def chat_event(chat_id: str, change: str, members: list[str] | None = None, **extra: str) -> bytes:
    body = xml_message(
        ToUserName=CORP_ID,
        FromUserName="sys",
        CreateTime=int(time.time()),
        MsgType="event",
        Event="change_external_chat",
        ChatId=chat_id,
        ChangeType=change,
        **extra,
    )
    if members:
        items = "".join(f"<Item><![CDATA[{m}]]></Item>" for m in members)
        body = body.replace(b"</xml>", f"<MemChangeList>{items}</MemChangeList></xml>".encode())
    return body


async def account_id(sessions: async_sessionmaker[AsyncSession], slug: str) -> int:
    async with sessions() as session:
        found = await session.scalar(select(ChannelAccount.id).where(ChannelAccount.slug == slug))
    assert found is not None
    return int(found)


async def customer_of(sessions: async_sessionmaker[AsyncSession], external: str) -> int | None:
    async with sessions() as session:
        return await session.scalar(
            select(Identity.customer_id).where(Identity.external_id == external)
        )


async def test_url_check_with_the_official_sample(
    client: httpx.AsyncClient, wecom_slug: str
) -> None:
    query = {
        "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
        "timestamp": "1476416373",
        "nonce": "47744683",
        "echostr": (
            "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
        ),
    }
    answer = await client.get(f"/webhooks/wecom/{wecom_slug}", params=query)
    assert (answer.status_code, answer.content) == (200, b"1288432023552776189")
    forged = await client.get(
        f"/webhooks/wecom/{wecom_slug}", params={**query, "msg_signature": "0" * 40}
    )
    assert forged.status_code == 403


async def test_external_contact_follow_once_and_unfollow(
    client: httpx.AsyncClient,
    wecom_slug: str,
    sessions: async_sessionmaker[AsyncSession],
    services: Any,
) -> None:
    customer = external_id()
    add = contact_event("add_external_contact", customer, WelcomeCode="WELCOMECODE")
    for _ in range(2):  # a retry stores nothing new
        response = await callback(client, wecom_slug, add)
        assert (response.status_code, response.content) == (200, b"")
    await services.drain()
    await callback(client, wecom_slug, contact_event("del_follow_user", customer))
    await services.drain()
    acct = await account_id(sessions, wecom_slug)
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Interaction.kind, Interaction.customer_id)
                .where(Interaction.account_id == acct)
                .order_by(Interaction.id)
            )
        ).all()
    owner = await customer_of(sessions, customer)
    assert [tuple(r) for r in rows] == [("follow", owner), ("unfollow", owner)]


async def test_bad_callback_stores_nothing(
    client: httpx.AsyncClient, wecom_slug: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    other = ReferenceCrypto(WECOM_TOKEN, WECOM_AES_KEY, "wwSOMEONEELSE")
    encrypt = other.encrypt(contact_event("add_external_contact", external_id()))
    timestamp, nonce = str(int(time.time())), "1"
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
    query = {"msg_signature": other.sign(timestamp, nonce, encrypt), "timestamp": timestamp}
    response = await client.post(
        f"/webhooks/wecom/{wecom_slug}", params={**query, "nonce": nonce}, content=body
    )
    assert response.status_code == 403
    acct = await account_id(sessions, wecom_slug)
    async with sessions() as session:
        stored = await session.scalar(
            select(func.count()).select_from(RawEvent).where(RawEvent.account_id == acct)
        )
    assert stored == 0


async def test_group_chat_is_a_community_with_members(
    client: httpx.AsyncClient,
    wecom_slug: str,
    sessions: async_sessionmaker[AsyncSession],
    services: Any,
) -> None:
    chat = f"wr{uuid.uuid4().hex}"
    alice, bob = external_id(), external_id()
    await callback(client, wecom_slug, chat_event(chat, "create"))
    await callback(
        client,
        wecom_slug,
        chat_event(chat, "update", [alice, bob, "zhangsan"], UpdateDetail="add_member"),
    )
    await services.drain()

    async def members() -> set[int]:
        async with sessions() as session:
            community = await session.scalar(select(Community).where(Community.external_id == chat))
            assert community is not None
            rows = await session.execute(
                select(Membership.customer_id).where(Membership.community_id == community.id)
            )
            return set(rows.scalars())

    alice_id, bob_id = await customer_of(sessions, alice), await customer_of(sessions, bob)
    assert await members() == {alice_id, bob_id}
    assert await customer_of(sessions, "zhangsan") is None  # an employee, not a customer
    await callback(client, wecom_slug, chat_event(chat, "update", [bob], UpdateDetail="del_member"))
    await callback(client, wecom_slug, chat_event(chat, "dismiss"))
    await services.drain()
    assert await members() == {alice_id}
    async with sessions() as session:
        community = await session.scalar(select(Community).where(Community.external_id == chat))
    assert community is not None and community.dismissed_at is not None


async def test_unionid_joins_wecom_contact_and_official_account_follower(
    client: httpx.AsyncClient,
    graphql: Any,
    admin_token: str,
    wecom_slug: str,
    fake_api: FakeWeChat,
    sessions: async_sessionmaker[AsyncSession],
    services: Any,
) -> None:
    unionid = f"u{uuid.uuid4().hex}"
    follower, contact = f"o{uuid.uuid4().hex[:27]}", external_id()
    fake_api.users[follower] = {"subscribe": 1, "openid": follower, "unionid": unionid}
    fake_api.contacts[contact] = {
        "external_contact": {"external_userid": contact, "name": "李四", "unionid": unionid},
        "follow_user": [{"userid": "zhangsan", "createtime": 1525779812}],
    }
    wechat_slug = await connect(
        graphql,
        admin_token,
        "wechat",
        {
            "app_id": APP_ID,
            "app_secret": APP_SECRET,
            "token": TOKEN,
            "mode": "plain",
            "api_base_url": fake_api.base_url,
        },
    )
    push = xml_message(
        ToUserName="gh_1",
        FromUserName=follower,
        CreateTime=int(time.time()),
        MsgType="text",
        Content="你好",
        MsgId=str(uuid.uuid4().int % 10**18),
    )
    query = plain_query(TOKEN, str(int(time.time())))
    assert (
        await client.post(f"/webhooks/wechat/{wechat_slug}", params=query, content=push)
    ).status_code == 200
    await services.drain()
    await callback(client, wecom_slug, contact_event("add_external_contact", contact))
    await services.drain()
    owner = await customer_of(sessions, follower)
    assert owner is not None
    assert await customer_of(sessions, contact) == owner
    assert await customer_of(sessions, unionid) == owner
