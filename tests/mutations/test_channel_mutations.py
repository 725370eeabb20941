"""connectChannel (admin) and sendMessage (write) over GraphQL."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from mutation_helpers import QuillChannel, create
from sqlalchemy import select

from socialcrm.schema.node import pk_of
from socialcrm.server.tables import ChannelAccount, Identity, Interaction, Workspace

CONNECT = """
mutation Connect($input: ConnectChannelInput!) {
  connectChannel(input: $input) {
    account { id channel slug name webhookUrl publicSettings }
    setupInstructions
    userErrors { field message code }
  }
}
"""

SEND = """
mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) {
    interaction { id channel kind direction content deliveryStatus customer { id } }
    userErrors { field message code }
  }
}
"""

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


async def test_connect_wechat_account_never_shows_secrets(graphql: Any, admin_token: str):
    settings = {
        "app_id": "wx1234567890abcdef",
        "app_secret": "s3cr3t-app-secret-value",
        "token": "tokenABC123",
        "encoding_aes_key": AES_KEY,
        "mode": "safe",
    }
    answer = await graphql(
        CONNECT,
        {
            "input": {
                "channel": "wechat",
                "slug": "brand-oa",
                "name": "品牌号",
                "settings": settings,
            }
        },
        token=admin_token,
    )
    payload = answer["data"]["connectChannel"]
    assert payload["userErrors"] == [], payload
    account = payload["account"]
    assert account["webhookUrl"] == "http://testserver/webhooks/wechat/brand-oa"
    assert (account["channel"], account["slug"], account["name"]) == (
        "wechat",
        "brand-oa",
        "品牌号",
    )
    assert account["publicSettings"]["app_id"] == "wx1234567890abcdef"
    assert account["webhookUrl"] in payload["setupInstructions"]
    text = json.dumps(answer, ensure_ascii=False)
    for secret in ("s3cr3t-app-secret-value", AES_KEY):
        assert secret not in text
    assert "app_secret" not in account["publicSettings"]
    assert "encoding_aes_key" not in account["publicSettings"]

    again = await graphql(
        CONNECT,
        {"input": {"channel": "wechat", "slug": "brand-oa", "settings": settings}},
        token=admin_token,
    )
    [error] = again["data"]["connectChannel"]["userErrors"]
    assert (error["field"], error["code"]) == ("slug", "DUPLICATE")

    bad = await graphql(
        CONNECT,
        {
            "input": {
                "channel": "wechat",
                "slug": "brand-oa-2",
                "settings": {**settings, "encoding_aes_key": "short"},
            }
        },
        token=admin_token,
    )
    [error] = bad["data"]["connectChannel"]["userErrors"]
    assert error["code"] == "CHANNEL_CONFIG"
    assert "EncodingAESKey" in error["message"]


async def test_connect_channel_rejections_change_nothing(
    graphql: Any,
    admin_token: str,
    write_token: str,
    workspace: Workspace,
    snapshot: Any,
    quill: QuillChannel,
):
    assert workspace.id is not None
    before = await snapshot(workspace.id)
    cases = [
        ({"channel": "quill", "slug": "q", "settings": {"api_key": "short"}}, "CHANNEL_CONFIG"),
        ({"channel": "quill", "slug": "Bad Slug", "settings": {"api_key": "k" * 10}}, "INVALID"),
        ({"channel": "quill", "slug": "q", "settings": ["api_key"]}, "INVALID"),
        ({"channel": "nope", "slug": "q", "settings": {}}, "UNKNOWN_CHANNEL"),
    ]
    for fields, code in cases:
        answer = await graphql(CONNECT, {"input": fields}, token=admin_token)
        payload = answer["data"]["connectChannel"]
        assert payload["account"] is None
        assert [e["code"] for e in payload["userErrors"]] == [code], payload
    answer = await graphql(
        CONNECT,
        {"input": {"channel": "quill", "slug": "q", "settings": {"api_key": "k" * 10}}},
        token=write_token,
    )
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await snapshot(workspace.id) == before


async def connect_quill(graphql: Any, admin_token: str, slug: str) -> dict[str, Any]:
    answer = await graphql(
        CONNECT,
        {"input": {"channel": "quill", "slug": slug, "settings": {"api_key": "key-123456"}}},
        token=admin_token,
    )
    payload = answer["data"]["connectChannel"]
    assert payload["userErrors"] == [], payload
    assert "key-123456" not in json.dumps(answer)
    return payload["account"]  # type: ignore[no-any-return]


async def test_send_message(
    graphql: Any,
    admin_token: str,
    write_token: str,
    workspace: Workspace,
    sessions: Any,
    quill: QuillChannel,
):
    account = await connect_quill(graphql, admin_token, "quill-send")
    lin = await create(graphql, write_token, displayName="Lin")
    blocked = await create(graphql, write_token, displayName="Blocked")
    async with sessions() as session, session.begin():
        for customer, external_id in ((lin, "q-user-1"), (blocked, "blocked-2")):
            session.add(
                Identity(
                    workspace_id=workspace.id,
                    customer_id=pk_of(customer["id"], "Customer"),
                    channel="quill",
                    external_id=external_id,
                    account_id=pk_of(account["id"], "ChannelAccount"),
                )
            )

    answer = await graphql(
        SEND, {"input": {"customerId": lin["id"], "text": "感谢您的反馈"}}, token=write_token
    )
    payload = answer["data"]["sendMessage"]
    assert payload["userErrors"] == [], payload
    interaction = payload["interaction"]
    assert (interaction["channel"], interaction["direction"], interaction["deliveryStatus"]) == (
        "quill",
        "OUTBOUND",
        "sent",
    )
    assert interaction["customer"] == {"id": lin["id"]}
    assert quill.sent[-1][0] == "q-user-1"
    assert quill.sent[-1][1].text == "感谢您的反馈"

    answer = await graphql(
        SEND,
        {"input": {"customerId": blocked["id"], "text": "hi", "accountId": account["id"]}},
        token=write_token,
    )
    payload = answer["data"]["sendMessage"]
    [error] = payload["userErrors"]
    assert error["code"] == "CHANNEL_ERROR"
    assert "45015" in error["message"]
    assert payload["interaction"]["deliveryStatus"] == "failed"

    cases = [
        ({"customerId": lin["id"]}, "text", "REQUIRED"),
        ({"customerId": lin["id"], "text": "x", "channel": "wechat"}, "channel", "NOT_FOUND"),
        ({"customerId": lin["id"], "contentType": "news"}, "articles", "REQUIRED"),
        ({"customerId": lin["id"], "text": "x", "channel": "nosuch"}, "channel", "UNKNOWN_CHANNEL"),
        ({"customerId": account["id"], "text": "x"}, "customerId", "NOT_FOUND"),
    ]
    async with sessions() as session:
        count = len(list((await session.execute(select(Interaction.id))).scalars()))
    for fields, field, code in cases:
        answer = await graphql(SEND, {"input": fields}, token=write_token)
        payload = answer["data"]["sendMessage"]
        assert payload["interaction"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)]
    async with sessions() as session:
        assert len(list((await session.execute(select(Interaction.id))).scalars())) == count
        stored = await session.scalar(
            select(ChannelAccount.settings).where(ChannelAccount.slug == "quill-send")
        )
    assert stored == {"api_key": "key-123456", "region": "cn"}


async def test_send_outside_the_reply_window_is_refused(
    graphql: Any,
    admin_token: str,
    write_token: str,
    workspace: Workspace,
    sessions: Any,
    snapshot: Any,
    quill: QuillChannel,
):
    quill.reply_window = timedelta(hours=48)  # type: ignore[misc]
    account = await connect_quill(graphql, admin_token, "quill-window")
    lin = await create(graphql, write_token, displayName="Lin")
    async with sessions() as session, session.begin():
        session.add(
            Identity(
                workspace_id=workspace.id,
                customer_id=pk_of(lin["id"], "Customer"),
                channel="quill",
                external_id="q-user-9",
                account_id=pk_of(account["id"], "ChannelAccount"),
            )
        )
    assert workspace.id is not None
    before = await snapshot(workspace.id)
    answer = await graphql(
        SEND, {"input": {"customerId": lin["id"], "text": "还在吗？"}}, token=write_token
    )
    payload = answer["data"]["sendMessage"]
    assert payload["interaction"] is None
    [error] = payload["userErrors"]
    assert (error["field"], error["code"]) == ("customerId", "OUTSIDE_REPLY_WINDOW")
    assert "48 hours" in error["message"]
    assert quill.sent == []
    assert await snapshot(workspace.id) == before
