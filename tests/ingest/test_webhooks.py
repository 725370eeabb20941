"""The generic ingest path, driven through a partner's channel installed by entry point."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from helpers.acme import SECRET, deliver, message
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialcrm.plugins import OutboundMessage, hookimpl
from socialcrm.server.app import create_app
from socialcrm.server.bus import interactions_topic
from socialcrm.server.ingest import recover_pending
from socialcrm.server.migrations import upgrade_database
from socialcrm.server.settings import Settings
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import (
    ChannelAccount,
    Community,
    Customer,
    Identity,
    Interaction,
    Membership,
    RawEvent,
    ReferralCode,
    Relationship,
    Workspace,
)


async def count(sessions: async_sessionmaker[AsyncSession], model: Any, *where: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def settle(services: Any) -> None:
    """Wait for the background announcements of the last request."""
    await services.drain()


async def test_unknown_channel_and_account_answer_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/webhooks/nosuch/x", content=b"{}")
    assert response.status_code == 404
    assert "unknown channel 'nosuch'" in response.text
    response = await client.post("/webhooks/acme/not-connected", content=b"{}")
    assert response.status_code == 404
    assert "no acme account 'not-connected'" in response.text


async def test_bad_signature_is_403_and_stores_nothing(
    client: httpx.AsyncClient, account: ChannelAccount, sessions: async_sessionmaker[AsyncSession]
) -> None:
    response = await deliver(client, account.slug, message(), secret="wrong")
    assert response.status_code == 403
    assert "signature" in response.text
    assert await count(sessions, RawEvent, RawEvent.account_id == account.id) == 0
    assert await count(sessions, Interaction, Interaction.account_id == account.id) == 0


async def test_malformed_payload_is_400_and_stores_nothing(
    client: httpx.AsyncClient, account: ChannelAccount, sessions: async_sessionmaker[AsyncSession]
) -> None:
    import scrm_acme

    body = b'{"messages": [{"text": "no id"}]}'
    response = await client.post(
        f"/webhooks/acme/{account.slug}",
        content=body,
        headers={"X-Acme-Signature": scrm_acme.sign(SECRET, body)},
    )
    assert response.status_code == 400
    assert "malformed Acme batch" in response.text
    assert await count(sessions, RawEvent, RawEvent.account_id == account.id) == 0


async def test_handshake_answers_challenge_or_403(
    client: httpx.AsyncClient, account: ChannelAccount
) -> None:
    ok = await client.get(f"/webhooks/acme/{account.slug}?token={SECRET}&challenge=c123")
    assert (ok.status_code, ok.text) == (200, "c123")
    bad = await client.get(f"/webhooks/acme/{account.slug}?token=nope&challenge=c123")
    assert bad.status_code == 403


async def test_body_over_limit_is_413(client: httpx.AsyncClient, account: ChannelAccount) -> None:
    response = await client.post(f"/webhooks/acme/{account.slug}", content=b"x" * 1_000_001)
    assert response.status_code == 413
    assert "larger than" in response.text


async def test_delivery_stores_customer_identity_and_interaction(
    client: httpx.AsyncClient,
    account: ChannelAccount,
    sessions: async_sessionmaker[AsyncSession],
    services: Any,
) -> None:
    msg = message(handle="lilei", followers=1200)
    response = await deliver(client, account.slug, msg)
    assert response.status_code == 200, response.text
    await settle(services)
    async with sessions() as session:
        identity = await session.scalar(
            select(Identity).where(
                Identity.workspace_id == account.workspace_id, Identity.external_id == msg["from"]
            )
        )
        assert identity is not None and identity.channel == "acme"
        assert identity.account_id == account.id
        assert identity.profile["followers_count"] == 1200
        customer = await session.get(Customer, identity.customer_id)
        assert customer is not None
        assert customer.display_name == "李雷"
        assert customer.handle == "lilei"
        assert customer.last_seen_at is not None
        interaction = await session.scalar(
            select(Interaction).where(Interaction.external_id == msg["id"])
        )
        assert interaction is not None
        assert interaction.content == msg["text"]
        assert interaction.customer_id == customer.id
        assert (interaction.kind, interaction.direction) == ("message", "inbound")
        assert interaction.raw["id"] == msg["id"]
        raw = await session.get(RawEvent, interaction.raw_event_id)
        assert raw is not None and raw.status == "processed"


async def test_retry_is_answered_the_same_and_stores_nothing_new(
    client: httpx.AsyncClient,
    account: ChannelAccount,
    sessions: async_sessionmaker[AsyncSession],
    services: Any,
) -> None:
    msg = message()
    first = await deliver(client, account.slug, msg)
    await settle(services)
    again = await deliver(client, account.slug, msg)
    assert (again.status_code, again.text) == (first.status_code, first.text)
    assert await count(sessions, RawEvent, RawEvent.account_id == account.id) == 1
    assert await count(sessions, Interaction, Interaction.account_id == account.id) == 1


async def test_concurrent_duplicates_store_once(
    client: httpx.AsyncClient,
    account: ChannelAccount,
    sessions: async_sessionmaker[AsyncSession],
    services: Any,
) -> None:
    msg = message()
    responses = await asyncio.gather(*(deliver(client, account.slug, msg) for _ in range(5)))
    assert {r.status_code for r in responses} == {200}
    await settle(services)
    assert await count(sessions, Interaction, Interaction.account_id == account.id) == 1
    assert await count(sessions, Customer, Customer.workspace_id == account.workspace_id) == 1


async def test_aliases_join_identities_into_one_customer(
    client: httpx.AsyncClient,
    account: ChannelAccount,
    sessions: async_sessionmaker[AsyncSession],
    services: Any,
) -> None:
    global_id = uuid.uuid4().hex
    await deliver(client, account.slug, message(**{"from": "a-1", "global_id": global_id}))
    await deliver(client, account.slug, message(**{"from": "a-2", "global_id": global_id}))
    await settle(services)
    async with sessions() as session:
        owners = set(
            (
                await session.execute(
                    select(Identity.customer_id).where(
                        Identity.workspace_id == account.workspace_id
                    )
                )
            ).scalars()
        )
    assert len(owners) == 1
    assert await count(sessions, Identity, Identity.workspace_id == account.workspace_id) == 3


async def test_mentions_and_referrals_become_edges(
    client: httpx.AsyncClient,
    account: ChannelAccount,
    sessions: async_sessionmaker[AsyncSession],
    services: Any,
) -> None:
    await deliver(client, account.slug, message(**{"from": "referrer"}))
    await settle(services)
    async with sessions() as session, session.begin():
        referrer = await session.scalar(
            select(Identity.customer_id).where(
                Identity.workspace_id == account.workspace_id, Identity.external_id == "referrer"
            )
        )
        session.add(
            ReferralCode(workspace_id=account.workspace_id, code="ref42", customer_id=referrer)
        )
    await deliver(
        client,
        account.slug,
        message(**{"from": "newbie", "referral": "ref42", "mentions": ["friend", "friend2"]}),
        message(**{"from": "newbie", "referral": "unknown-code"}),
    )
    await settle(services)
    async with sessions() as session:
        edges = (
            await session.execute(
                select(Relationship.kind, Relationship.target_id, Relationship.count).where(
                    Relationship.workspace_id == account.workspace_id
                )
            )
        ).all()
        unresolved = await session.scalar(
            select(Interaction.data).where(
                Interaction.account_id == account.id,
                Interaction.data["unresolved_referral_codes"].isnot(None),
            )
        )
    kinds = sorted(kind for kind, _, _ in edges)
    assert kinds == ["mention", "mention", "referral"]
    assert any(kind == "referral" and target == referrer for kind, target, _ in edges)
    assert unresolved is not None and unresolved["unresolved_referral_codes"] == ["unknown-code"]


async def test_community_and_membership(
    client: httpx.AsyncClient,
    account: ChannelAccount,
    sessions: async_sessionmaker[AsyncSession],
    services: Any,
) -> None:
    await deliver(
        client,
        account.slug,
        message(group="g-1", group_name="咖啡爱好者群", joined=True, text="大家好"),
    )
    await settle(services)
    async with sessions() as session:
        community = await session.scalar(
            select(Community).where(Community.workspace_id == account.workspace_id)
        )
        assert community is not None and community.name == "咖啡爱好者群"
        assert (
            await session.scalar(
                select(func.count()).where(Membership.community_id == community.id)
            )
            == 1
        )
        interaction = await session.scalar(
            select(Interaction).where(Interaction.account_id == account.id)
        )
        assert interaction is not None and interaction.community_id == community.id


class Observer:
    """A plugin that records what the observer hooks saw and replies inline."""

    def __init__(self, delay: float = 0.0) -> None:
        self.stored: list[Any] = []
        self.changes: list[Any] = []
        self.delay = delay

    @hookimpl
    async def scrm_interaction_stored(self, interaction: Any) -> None:
        self.stored.append(interaction)

    @hookimpl
    def scrm_customer_changed(self, change: Any) -> None:
        self.changes.append(change)

    @hookimpl
    async def scrm_passive_reply(self, interaction: Any, event: Any) -> OutboundMessage | None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if interaction.content and "积分" in interaction.content:
            return OutboundMessage(text="您好，积分规则请见会员中心。")
        return None


async def test_passive_reply_observers_and_bus(
    client: httpx.AsyncClient,
    account: ChannelAccount,
    sessions: async_sessionmaker[AsyncSession],
    services: Any,
) -> None:
    observer = Observer()
    services.plugins.register(observer, name="observer")
    try:
        async with services.bus.subscribe(interactions_topic(account.workspace_id)) as events:
            msg = message()
            first = await deliver(client, account.slug, msg)
            await settle(services)
            assert first.json()["replies"] == {msg["id"]: "您好，积分规则请见会员中心。"}
            retry = await deliver(client, account.slug, msg)
            assert retry.json() == first.json()
            await settle(services)
            received = [await asyncio.wait_for(anext(events), 5) for _ in range(2)]
    finally:
        services.plugins.unregister(observer)
    directions = sorted(e["direction"] for e in received)
    assert directions == ["inbound", "outbound"]
    assert sorted(i.direction for i in observer.stored) == ["inbound", "outbound"]
    assert [c.change for c in observer.changes] == ["created"]
    async with sessions() as session:
        reply = await session.scalar(
            select(Interaction).where(
                Interaction.account_id == account.id, Interaction.direction == "outbound"
            )
        )
    assert reply is not None and reply.content == "您好，积分规则请见会员中心。"
    assert reply.in_reply_to_id is not None
    assert await count(sessions, Interaction, Interaction.account_id == account.id) == 2


async def test_slow_processing_still_answers_by_the_deadline(
    client: httpx.AsyncClient,
    account: ChannelAccount,
    sessions: async_sessionmaker[AsyncSession],
    services: Any,
) -> None:
    observer = Observer(delay=3.0)  # longer than the channel's 2 s deadline
    services.plugins.register(observer, name="slow-observer")
    try:
        started = time.monotonic()
        response = await deliver(client, account.slug, message())
        elapsed = time.monotonic() - started
        assert response.status_code == 200
        assert response.json()["replies"] == {}
        # Answered at the deadline, not after the slow hook: a bound, not a benchmark.
        assert elapsed < 3.0
        await settle(services)
    finally:
        services.plugins.unregister(observer)
    assert await count(sessions, Interaction, Interaction.account_id == account.id) == 2


async def test_pending_payload_is_recovered(
    account: ChannelAccount, sessions: async_sessionmaker[AsyncSession], services: Any
) -> None:
    msg = message()
    async with sessions() as session, session.begin():
        session.add(
            RawEvent(
                workspace_id=account.workspace_id,
                account_id=account.id,
                channel="acme",
                dedupe_key=uuid.uuid4().hex,
                body=json.dumps({"messages": [msg]}),
                meta={},
                received_at=utcnow() - timedelta(minutes=5),
            )
        )
    assert await recover_pending(services, once=True) >= 1
    await settle(services)
    assert await count(sessions, Interaction, Interaction.external_id == msg["id"]) == 1
    assert await recover_pending(services, once=True) == 0


async def test_embedded_sqlite_default_ingests(tmp_path: Any, plugin_manager: Any) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'scrm.db'}"
    await upgrade_database(url)
    settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings, plugin_manager)
    async with LifespanManager(app):
        services = app.state.services
        async with services.sessions() as session, session.begin():
            workspace = Workspace(slug="sqlite", name="SQLite brand")
            session.add(workspace)
            await session.flush()
            session.add(
                ChannelAccount(
                    workspace_id=workspace.id, channel="acme", slug="a", settings={"secret": SECRET}
                )
            )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            msg = message(mentions=["someone"])
            assert (await deliver(client, "a", msg)).status_code == 200
            assert (await deliver(client, "a", msg)).status_code == 200
            await services.drain()
        async with services.sessions() as session:
            stored = await session.scalar(select(func.count()).select_from(Interaction))
            edges = await session.scalar(select(func.count()).select_from(Relationship))
    assert (stored, edges) == (1, 1)


async def test_storage_outage_is_503_so_the_platform_retries(plugin_manager: Any) -> None:
    # A database that refuses connections: nothing can be stored, so nothing is acknowledged.
    settings = Settings(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none",
        _env_file=None,  # type: ignore[call-arg]
    )
    app = create_app(settings, plugin_manager)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await deliver(client, "any", message())
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
