"""WeChat through the whole server: connectChannel, /webhooks/wechat/{slug} in all three
modes, retries, bad input, passive replies, sendMessage and its window, unionid joins."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from wechat.wechat_fakes import (
    AES_KEY,
    APP_ID,
    APP_SECRET,
    ORIGINAL_ID,
    TOKEN,
    FakeWeChat,
    ReferenceCrypto,
    encrypted_envelope,
    encrypted_push,
    plain_query,
    xml_message,
)

from socialcrm.plugins import OutboundMessage, hookimpl
from socialcrm.plugins.wechat.xml import parse_xml
from socialcrm.schema.node import to_global_id
from socialcrm.server.tables import (
    ChannelAccount,
    Identity,
    Interaction,
    RawEvent,
    ReferralCode,
    Relationship,
)

CONNECT = """
mutation($input: ConnectChannelInput!) {
  connectChannel(input: $input) {
    account { id channel slug webhookUrl publicSettings }
    setupInstructions
    userErrors { field message code }
  }
}
"""

SEND = """
mutation($input: SendMessageInput!) {
  sendMessage(input: $input) {
    interaction { direction content deliveryStatus channel }
    userErrors { field message code }
  }
}
"""

REF = ReferenceCrypto(TOKEN, AES_KEY, APP_ID)


def openid() -> str:
    return f"o{uuid.uuid4().hex[:27]}"


def now() -> str:
    return str(int(time.time()))


def text_xml(
    sender: str, content: str = "你好", *, msg_id: str | None = None, at: int = 0
) -> bytes:
    return xml_message(
        ToUserName=ORIGINAL_ID,
        FromUserName=sender,
        CreateTime=at or int(time.time()),
        MsgType="text",
        Content=content,
        MsgId=msg_id or str(uuid.uuid4().int % 10**18),
    )


def event_xml(sender: str, event: str, **fields: str) -> bytes:
    return xml_message(
        ToUserName=ORIGINAL_ID,
        FromUserName=sender,
        CreateTime=int(time.time()),
        MsgType="event",
        Event=event,
        **fields,
    )


class Connected:
    """A connected official account as the tests drive it."""

    def __init__(self, client: httpx.AsyncClient, slug: str, mode: str, row_id: int) -> None:
        self.client = client
        self.slug = slug
        self.mode = mode
        self.id = row_id

    async def push(self, plaintext: bytes, *, nonce: str | None = None) -> httpx.Response:
        """Deliver ``plaintext`` as WeChat would in this account's mode (a fresh nonce)."""
        nonce = nonce or uuid.uuid4().hex[:10]
        if self.mode == "plain":
            query, body = plain_query(TOKEN, now(), nonce), plaintext
        else:
            outer = None
            if self.mode == "compatible":
                outer = {"FromUserName": "ignored", "MsgType": "text", "Content": "明文副本"}
            query, body = encrypted_push(REF, plaintext, now(), nonce, outer=outer)
        return await self.post(query, body)

    async def post(self, query: dict[str, str], body: bytes) -> httpx.Response:
        return await self.client.post(f"/webhooks/wechat/{self.slug}", params=query, content=body)


@pytest.fixture
def connect(
    graphql: Any,
    admin_token: str,
    client: httpx.AsyncClient,
    fake_api: FakeWeChat,
    sessions: async_sessionmaker[AsyncSession],
) -> Any:
    """Connect an official account through the connectChannel mutation."""

    async def make(mode: str = "safe", **extra: Any) -> Connected:
        slug = f"wx-{uuid.uuid4().hex[:8]}"
        settings = {
            "app_id": APP_ID,
            "app_secret": APP_SECRET,
            "token": TOKEN,
            "mode": mode,
            "original_id": ORIGINAL_ID,
            "api_base_url": fake_api.base_url,
            **extra,
        }
        if mode != "plain":
            settings["encoding_aes_key"] = AES_KEY
        answer = await graphql(
            CONNECT,
            {"input": {"channel": "wechat", "slug": slug, "settings": settings}},
            token=admin_token,
        )
        payload = answer["data"]["connectChannel"]
        assert payload["userErrors"] == [], payload
        async with sessions() as session:
            row_id = await session.scalar(
                select(ChannelAccount.id).where(ChannelAccount.slug == slug)
            )
        return Connected(client, slug, mode, int(row_id))

    return make


async def count(sessions: async_sessionmaker[AsyncSession], model: Any, *where: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def interactions(
    sessions: async_sessionmaker[AsyncSession], account_id: int
) -> list[Interaction]:
    async with sessions() as session:
        rows = await session.execute(
            select(Interaction).where(Interaction.account_id == account_id).order_by(Interaction.id)
        )
        return list(rows.scalars())


async def customer_of(sessions: async_sessionmaker[AsyncSession], external_id: str) -> int:
    async with sessions() as session:
        found = await session.scalar(
            select(Identity.customer_id).where(Identity.external_id == external_id)
        )
    assert found is not None
    return int(found)


# Connecting --------------------------------------------------------------------------------


async def test_connect_answers_the_webhook_url_and_hides_secrets(
    graphql: Any, admin_token: str
) -> None:
    slug = f"wx-{uuid.uuid4().hex[:8]}"
    settings = {
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "token": TOKEN,
        "encoding_aes_key": AES_KEY,
        "mode": "safe",
    }
    answer = await graphql(
        CONNECT,
        {"input": {"channel": "wechat", "slug": slug, "settings": settings}},
        token=admin_token,
    )
    payload = answer["data"]["connectChannel"]
    assert payload["userErrors"] == []
    account = payload["account"]
    assert account["webhookUrl"].endswith(f"/webhooks/wechat/{slug}")
    assert account["publicSettings"]["app_id"] == APP_ID
    assert account["publicSettings"]["mode"] == "safe"
    for secret in ("app_secret", "token", "encoding_aes_key"):
        assert secret not in account["publicSettings"]
    assert account["webhookUrl"] in payload["setupInstructions"]
    assert APP_SECRET not in str(answer) and AES_KEY not in str(answer)


async def test_connect_refuses_a_bad_key(graphql: Any, admin_token: str) -> None:
    settings = {"app_id": APP_ID, "app_secret": "s", "token": TOKEN, "encoding_aes_key": "short"}
    answer = await graphql(
        CONNECT,
        {"input": {"channel": "wechat", "slug": "wx-bad", "settings": settings}},
        token=admin_token,
    )
    payload = answer["data"]["connectChannel"]
    assert payload["account"] is None
    assert "43" in payload["userErrors"][0]["message"]


async def test_handshake(connect: Any) -> None:
    account = await connect("safe")
    query = {**plain_query(TOKEN, now()), "echostr": "5837397520665436492"}
    answer = await account.client.get(f"/webhooks/wechat/{account.slug}", params=query)
    assert (answer.status_code, answer.text) == (200, "5837397520665436492")
    forged = {**query, "signature": "0" * 40}
    answer = await account.client.get(f"/webhooks/wechat/{account.slug}", params=forged)
    assert answer.status_code == 403


# Inbound -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
async def test_message_stored_once_in_every_mode(
    connect: Any, sessions: async_sessionmaker[AsyncSession], services: Any, mode: str
) -> None:
    account = await connect(mode)
    sender = openid()
    body = text_xml(sender, "我的订单三天了还没发货，要投诉", msg_id="6054768590064713728")
    first = await account.push(body)
    assert (first.status_code, first.text) == (200, "success")
    # WeChat retries with a fresh nonce (and re-encrypts): still the same message.
    retry = await account.push(body, nonce="nonce2")
    assert (retry.status_code, retry.text) == (200, "success")
    await services.drain()
    [row] = await interactions(sessions, account.id)
    assert (row.kind, row.direction, row.content, row.external_id) == (
        "message",
        "inbound",
        "我的订单三天了还没发货，要投诉",
        "6054768590064713728",
    )
    assert await count(sessions, Identity, Identity.external_id == sender) == 1


async def test_events_dedupe_by_sender_time_and_event(
    connect: Any, sessions: async_sessionmaker[AsyncSession], services: Any
) -> None:
    account = await connect("safe")
    sender = openid()
    subscribe = event_xml(sender, "subscribe", EventKey="")
    click = event_xml(sender, "CLICK", EventKey="V1001_GOOD")
    for body in (subscribe, click, subscribe, click):
        assert (await account.push(body)).text == "success"
    await services.drain()
    rows = await interactions(sessions, account.id)
    assert sorted(r.kind for r in rows) == ["click", "follow"]


async def test_every_kind_is_stored(
    connect: Any, sessions: async_sessionmaker[AsyncSession], services: Any
) -> None:
    account = await connect("plain")
    sender = openid()
    bodies = [
        text_xml(sender),
        xml_message(
            FromUserName=sender,
            CreateTime=int(time.time()),
            MsgType="voice",
            MediaId="m",
            Format="amr",
            Recognition="退货",
            MsgId="71",
        ),
        event_xml(sender, "LOCATION", Latitude="23.1", Longitude="113.3", Precision="10"),
        event_xml(sender, "VIEW", EventKey="https://shop.example/"),
        event_xml(sender, "TEMPLATESENDJOBFINISH", MsgID="2001", Status="success"),
        event_xml(sender, "unsubscribe", EventKey=""),
        xml_message(FromUserName=sender, CreateTime=int(time.time()), MsgType="hologram"),
    ]
    for body in bodies:
        response = await account.push(body)
        assert response.status_code == 200, response.text
    await services.drain()
    rows = await interactions(sessions, account.id)
    assert [r.kind for r in rows] == [
        "message",
        "message",
        "location",
        "view",
        "delivery",
        "unfollow",
        "other",
    ]
    assert rows[1].content == "退货"
    assert rows[-1].content_type == "hologram"


def bad_input(case: str) -> tuple[dict[str, str], bytes, int]:
    """Query, body and the expected status of one kind of bad delivery to a safe account."""
    message = text_xml(openid())
    if case == "wrong-signature":
        return plain_query("wrongtoken", now()), message, 403
    if case == "plaintext-in-safe-mode":
        return plain_query(TOKEN, now()), message, 403
    if case == "wrong-msg-signature":
        query, body = encrypted_push(REF, message, now())
        return {**query, "msg_signature": "0" * 40}, body, 403
    if case == "wrong-app-id":
        other = ReferenceCrypto(TOKEN, AES_KEY, "wx0000000000000000")
        return (*encrypted_push(other, message, now()), 403)
    if case == "non-base64":
        return (*encrypted_envelope(REF, "%%%%", now()), 400)
    if case == "truncated":
        return (*encrypted_envelope(REF, REF.encrypt(message)[:-8], now()), 400)
    if case == "bad-padding":
        return (*encrypted_envelope(REF, REF.encrypt_raw(b"q" * 64), now()), 400)
    if case == "entities":
        xml = b'<!DOCTYPE x [<!ENTITY a "b">]><xml><Content>&a;</Content></xml>'
        return (*encrypted_push(REF, xml, now()), 400)
    if case == "doctype":
        return (*encrypted_push(REF, b"<!DOCTYPE xml><xml/>", now()), 400)
    if case == "huge":
        return (*encrypted_push(REF, text_xml("o", "长" * 50_000), now()), 413)
    raise AssertionError(case)


BAD_INPUTS = [
    "wrong-signature",
    "plaintext-in-safe-mode",
    "wrong-msg-signature",
    "wrong-app-id",
    "non-base64",
    "truncated",
    "bad-padding",
    "entities",
    "doctype",
    "huge",
]


@pytest.mark.parametrize("case", BAD_INPUTS)
async def test_bad_input_is_refused_and_stores_nothing(
    connect: Any, sessions: async_sessionmaker[AsyncSession], case: str
) -> None:
    account = await connect("safe")
    query, body, status = bad_input(case)
    response = await account.post(query, body)
    assert response.status_code == status, response.text
    assert response.text  # a clear reason
    assert await count(sessions, RawEvent, RawEvent.account_id == account.id) == 0
    assert await count(sessions, Interaction, Interaction.account_id == account.id) == 0


# Replies, referrals, profiles --------------------------------------------------------------


class AutoReply:
    """A rule plugin answering questions about points inline."""

    @hookimpl
    def scrm_passive_reply(self, interaction: Any, event: Any) -> OutboundMessage | None:
        if interaction.channel == "wechat" and "积分" in (interaction.content or ""):
            return OutboundMessage(text="积分规则请见会员中心。")
        return None


@pytest.mark.parametrize("mode", ["plain", "safe"])
async def test_passive_reply_is_encrypted_and_stored(
    connect: Any, sessions: async_sessionmaker[AsyncSession], services: Any, mode: str
) -> None:
    account = await connect(mode)
    sender = openid()
    rule = AutoReply()
    services.plugins.register(rule, name="auto-reply")
    try:
        body = text_xml(sender, "积分怎么用？")
        first = await account.push(body, nonce="abc")
        retry = await account.push(body, nonce="abc")
    finally:
        services.plugins.unregister(rule)
    await services.drain()
    assert first.status_code == 200
    answer = parse_xml(first.content)
    if mode == "safe":
        assert answer["MsgSignature"] == REF.sign(
            answer["TimeStamp"], answer["Nonce"], answer["Encrypt"]
        )
        plaintext, app_id = REF.decrypt(answer["Encrypt"])
        assert app_id == APP_ID.encode()
        answer = parse_xml(plaintext)
    assert answer["ToUserName"] == sender and answer["FromUserName"] == ORIGINAL_ID
    assert answer["Content"] == "积分规则请见会员中心。"
    assert retry.status_code == 200
    retried = parse_xml(retry.content)
    if mode == "safe":
        retried = parse_xml(REF.decrypt(retried["Encrypt"])[0])
    assert retried["Content"] == "积分规则请见会员中心。"  # the retry is answered the same
    rows = await interactions(sessions, account.id)
    assert [(r.direction, r.content) for r in rows] == [
        ("inbound", "积分怎么用？"),
        ("outbound", "积分规则请见会员中心。"),
    ]


async def test_referral_qr_code_records_an_edge(
    connect: Any, sessions: async_sessionmaker[AsyncSession], services: Any
) -> None:
    account = await connect("safe")
    referrer = openid()
    await account.push(text_xml(referrer))
    await services.drain()
    referrer_id = await customer_of(sessions, referrer)
    code = f"ref{uuid.uuid4().hex[:6]}"
    async with sessions() as session, session.begin():
        workspace_id = await session.scalar(
            select(ChannelAccount.workspace_id).where(ChannelAccount.id == account.id)
        )
        session.add(ReferralCode(workspace_id=workspace_id, code=code, customer_id=referrer_id))
    newcomer = openid()
    follow = event_xml(newcomer, "subscribe", EventKey=f"qrscene_{code}", Ticket="T")
    assert (await account.push(follow)).text == "success"
    await services.drain()
    newcomer_id = await customer_of(sessions, newcomer)
    async with sessions() as session:
        edges = (
            await session.execute(
                select(Relationship.kind, Relationship.source_id, Relationship.target_id).where(
                    Relationship.workspace_id == workspace_id
                )
            )
        ).all()
    assert ("referral", newcomer_id, referrer_id) in [tuple(e) for e in edges]


async def test_unionid_joins_two_official_accounts(
    connect: Any, sessions: async_sessionmaker[AsyncSession], services: Any, fake_api: FakeWeChat
) -> None:
    first, second = await connect("plain"), await connect("safe")
    openid_a, openid_b, unionid = openid(), openid(), f"u{uuid.uuid4().hex}"
    for oid in (openid_a, openid_b):
        fake_api.users[oid] = {
            "subscribe": 1,
            "openid": oid,
            "language": "zh_CN",
            "subscribe_time": 1382694957,
            "unionid": unionid,
            "tagid_list": [],
        }
    assert (await first.push(text_xml(openid_a))).status_code == 200
    await services.drain()
    assert (await second.push(text_xml(openid_b))).status_code == 200
    await services.drain()
    customer = await customer_of(sessions, openid_a)
    assert await customer_of(sessions, openid_b) == customer
    assert await customer_of(sessions, unionid) == customer


# Outbound ----------------------------------------------------------------------------------


async def test_send_message_within_the_window(
    connect: Any,
    graphql: Any,
    admin_token: str,
    sessions: async_sessionmaker[AsyncSession],
    services: Any,
    fake_api: FakeWeChat,
) -> None:
    account = await connect("safe")
    sender = openid()
    await account.push(text_xml(sender))
    await services.drain()
    customer = to_global_id("Customer", await customer_of(sessions, sender))
    answer = await graphql(
        SEND,
        {"input": {"customerId": customer, "channel": "wechat", "text": "您的订单已发货"}},
        token=admin_token,
    )
    payload = answer["data"]["sendMessage"]
    assert payload["userErrors"] == []
    assert payload["interaction"]["deliveryStatus"] == "sent"
    assert fake_api.sent[-1] == {
        "touser": sender,
        "msgtype": "text",
        "text": {"content": "您的订单已发货"},
    }
    # An expired token is refreshed once, transparently.
    fake_api.expire_tokens()
    answer = await graphql(
        SEND,
        {"input": {"customerId": customer, "channel": "wechat", "text": "第二条"}},
        token=admin_token,
    )
    assert answer["data"]["sendMessage"]["userErrors"] == []
    assert fake_api.token_fetches == 2


async def test_send_message_platform_error_is_a_user_error(
    connect: Any,
    graphql: Any,
    admin_token: str,
    sessions: async_sessionmaker[AsyncSession],
    services: Any,
    fake_api: FakeWeChat,
) -> None:
    account = await connect("plain")
    sender = openid()
    await account.push(text_xml(sender))
    await services.drain()
    fake_api.too_many.add(sender)
    customer = to_global_id("Customer", await customer_of(sessions, sender))
    answer = await graphql(
        SEND, {"input": {"customerId": customer, "text": "再来一条"}}, token=admin_token
    )
    payload = answer["data"]["sendMessage"]
    assert payload["interaction"]["deliveryStatus"] == "failed"
    [error] = payload["userErrors"]
    assert error["message"].startswith("45047: ")


async def test_send_message_outside_48_hours_is_refused(
    connect: Any,
    graphql: Any,
    admin_token: str,
    sessions: async_sessionmaker[AsyncSession],
    services: Any,
    fake_api: FakeWeChat,
) -> None:
    account = await connect("safe")
    sender = openid()
    await account.push(text_xml(sender, at=int(time.time()) - 49 * 3600))
    await services.drain()
    customer = to_global_id("Customer", await customer_of(sessions, sender))
    answer = await graphql(
        SEND, {"input": {"customerId": customer, "text": "迟到的回复"}}, token=admin_token
    )
    payload = answer["data"]["sendMessage"]
    assert payload["interaction"] is None
    [error] = payload["userErrors"]
    assert "48" in error["message"]
    assert fake_api.sent == []
