"""A client that stops reading its WebSocket costs the server a bounded queue, no more."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from ws_clients import LiveServer, Subscriber

from socialcrm.schema.node import from_global_id
from socialcrm.server.bus import interactions_topic
from socialcrm.server.interactions import record_manual_interaction
from socialcrm.server.settings import Settings
from socialcrm.server.tables import Customer, Workspace

QUEUE_SIZE = 50
FLOOD = 3000


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Server settings with a small subscriber queue."""
    return Settings(  # type: ignore[call-arg]
        database_url=database_url,
        public_url="http://testserver",
        subscriber_queue_size=QUEUE_SIZE,
        _env_file=None,
    )


async def test_a_stalled_client_loses_its_oldest_events_and_nothing_else(
    live_server: LiveServer,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    admin_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    services = live_server.services
    bus = services.bus
    topic = interactions_topic(workspace.id)  # type: ignore[arg-type]
    async with sessions() as session, session.begin():
        customer = Customer(workspace_id=workspace.id, display_name="慢读者")
        session.add(customer)

    async def store(content: str) -> Any:
        row = await record_manual_interaction(
            services, workspace.id, customer.id, kind="note", content=content
        )
        assert row is not None
        return row

    # Big messages fill the socket buffers after a few hundred; the flood is far more.
    big = await store("评" * 5000)
    last = await store("the newest")

    def envelope(row: Any) -> dict[str, Any]:
        return {"id": row.id, "channel": "manual", "customer_id": customer.id, "kind": "note"}

    caplog.set_level(logging.WARNING, logger="socialcrm.server.bus.queue")
    # The stalled client buffers one frame, then stops reading its socket.
    async with Subscriber(live_server.ws_url, token=admin_token, max_queue=1) as stalled:
        await live_server.wait_subscribers(topic, 1)
        dropped_before = bus.dropped
        for n in range(FLOOD):
            await bus.publish(topic, envelope(big))
            if n % 10 == 0:
                await asyncio.sleep(0.001)  # let the server try to send meanwhile
        await bus.publish(topic, envelope(last))
        await asyncio.sleep(0.2)

        dropped = bus.dropped - dropped_before
        assert bus.queued(topic) <= QUEUE_SIZE
        assert dropped >= FLOOD // 2, dropped  # most of the flood never left the server
        assert any("slow subscriber" in r.getMessage() for r in caplog.records)

        # A new subscriber is served at once: the stalled one blocks nobody.
        writer = await store("for the newcomer")  # announced to both subscribers
        async with Subscriber(live_server.ws_url, token=admin_token) as newcomer:
            await live_server.wait_subscribers(topic, 2)
            await bus.publish(topic, envelope(writer))
            got = await newcomer.next_interaction(within=5)
            assert from_global_id(got["id"]) == ("Interaction", writer.id)

        # Reading again, the stalled client gets what was kept: the newest events, in order.
        received: list[int] = []
        while True:
            try:
                got = await stalled.next_interaction(within=2)
            except TimeoutError:
                break
            received.append(from_global_id(got["id"])[1])  # type: ignore[index]
    assert last.id in received and received[-1] == writer.id
    assert len(received) + dropped >= FLOOD + 1
    assert len(received) < FLOOD // 2
    print(f"\nstalled client: {dropped} of {FLOOD + 1} dropped, {len(received)} delivered")
