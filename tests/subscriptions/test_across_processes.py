"""Acceptance: two server processes on PostgreSQL, hundreds of subscribers, no event lost.

Webhooks are ingested by one process only; subscribers are spread over both, half of them
speaking ``graphql-transport-ws`` and half legacy ``graphql-ws``. Every subscriber must
receive every event exactly once, through the PostgreSQL LISTEN/NOTIFY bus, and still
after both processes' LISTEN connections were terminated.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import asyncpg
import httpx
import pytest
from helpers.acme import SECRET, deliver, message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from ws_clients import LEGACY_WS, TRANSPORT_WS, ServerProcess, ServerProcessFactory, Subscriber

from socialcrm.server.bus.postgres import LISTEN_APPLICATION_NAME, asyncpg_dsn
from socialcrm.server.tables import ChannelAccount, Workspace

SUBSCRIBERS = 300
EVENTS = 5
WARM_UP = "warm-up"


class Tally:
    """What one subscriber received, read by a background task."""

    def __init__(self, subscriber: Subscriber, server: ServerProcess) -> None:
        self.subscriber = subscriber
        self.server = server
        self.contents: list[str] = []
        self.failure: BaseException | None = None

    async def read(self) -> None:
        """Collect every delivered interaction's content until cancelled."""
        try:
            while True:
                got = await self.subscriber.next_interaction(within=300)
                self.contents.append(got["content"])
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # reported by the test, not lost in a task
            self.failure = exc

    @property
    def warmed_up(self) -> bool:
        """True once a warm-up event arrived: the subscription is registered on its bus."""
        return WARM_UP in self.contents

    def events(self) -> Counter[str]:
        """How often each counted (non-warm-up) event arrived."""
        return Counter(c for c in self.contents if c != WARM_UP)


async def terminate_listeners(database_url: str) -> None:
    """Terminate every bus LISTEN connection on the database; wait for their replacements."""
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        old = await admin.fetch(
            "SELECT pg_terminate_backend(pid), pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = $1",
            LISTEN_APPLICATION_NAME,
        )
        assert len(old) == 2 and all(row[0] for row in old), old
        old_pids = [row[1] for row in old]
        for _ in range(200):  # bounded: 10 s
            # A replacement counts once its LISTEN ran (or a health ping after it).
            listening = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = $1 AND pid <> ALL($2::int[]) "
                "AND (query ILIKE 'LISTEN%' OR query = 'SELECT 1')",
                LISTEN_APPLICATION_NAME,
                old_pids,
            )
            if listening == 2:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the LISTEN connections were not re-established")
    finally:
        await admin.close()


async def wait_until(condition: Any, seconds: float, what: str) -> None:
    """Poll ``condition()`` for at most ``seconds``."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
async def test_every_subscriber_on_two_processes_receives_every_event(
    server_processes: ServerProcessFactory,
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    admin_token: str,
) -> None:
    async with sessions() as session, session.begin():
        account = ChannelAccount(
            workspace_id=workspace.id,
            channel="acme",
            slug=f"acme-{uuid.uuid4().hex[:8]}",
            settings={"secret": SECRET},
        )
        session.add(account)
    env = {"SCRM_DATABASE_URL": database_url, "SCRM_BROKER_URL": database_url}
    one = await server_processes(env, name="one")
    two = await server_processes(env, name="two")
    rss_before = {one.pid: one.rss_kb(), two.pid: two.rss_kb()}

    tallies = []
    for n in range(SUBSCRIBERS):
        server = (one, two)[n % 2]
        protocol = (TRANSPORT_WS, LEGACY_WS)[(n // 2) % 2]
        sub = Subscriber(server.ws_url, token=admin_token, protocol=protocol)
        tallies.append(Tally(sub, server))
    gate = asyncio.Semaphore(50)  # connect in waves; the listen backlog is finite

    async def open_one(tally: Tally) -> None:
        async with gate:
            await tally.subscriber.connect()
            await tally.subscriber.subscribe()

    readers: list[asyncio.Task[None]] = []
    try:
        async with asyncio.timeout(60):
            await asyncio.gather(*(open_one(t) for t in tallies))
        readers = [asyncio.create_task(t.read()) for t in tallies]

        async with httpx.AsyncClient(base_url=one.base_url, timeout=10) as client:
            # The protocols have no "subscribed" acknowledgement: announce warm-up events
            # until every subscriber has seen one, so each is known to be registered.
            customer = f"u-{uuid.uuid4().hex[:8]}"
            for _ in range(150):
                response = await deliver(
                    client, account.slug, message(**{"from": customer, "text": WARM_UP})
                )
                assert response.status_code == 200, response.text
                await asyncio.sleep(0.2)
                failed = [t.failure for t in tallies if t.failure is not None]
                assert not failed, failed[:3]
                if all(t.warmed_up for t in tallies):
                    break
            else:
                missing = sum(not t.warmed_up for t in tallies)
                raise AssertionError(f"{missing} subscribers never registered")
            rss_subscribed = {one.pid: one.rss_kb(), two.pid: two.rss_kb()}

            # The counted events, all ingested by process one.
            expected = [f"event {n} 事件" for n in range(EVENTS)]
            for text in expected:
                response = await deliver(
                    client, account.slug, message(**{"from": customer, "text": text})
                )
                assert response.status_code == 200, response.text

            def complete() -> bool:
                return all(len(t.events()) == len(expected) for t in tallies)

            await wait_until(complete, 60, "every subscriber to receive every event")

            # Both processes lose their LISTEN connection; they reconnect, and the next
            # event still reaches everyone.
            await terminate_listeners(database_url)
            expected.append("after reconnect 重连之后")
            response = await deliver(
                client, account.slug, message(**{"from": customer, "text": expected[-1]})
            )
            assert response.status_code == 200, response.text
            await wait_until(complete, 60, "every subscriber to receive the event after reconnect")
        await asyncio.sleep(0.5)  # let any duplicate arrive before counting
    finally:
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await asyncio.gather(*(t.subscriber.close() for t in tallies), return_exceptions=True)

    assert not [t.failure for t in tallies if t.failure is not None]
    delivered = sum(sum(t.events().values()) for t in tallies)
    assert all(t.events() == Counter(expected) for t in tallies), "lost or duplicated events"
    assert delivered == SUBSCRIBERS * (EVENTS + 1)
    on_two = [t for t in tallies if t.server is two]
    assert len(on_two) == SUBSCRIBERS // 2 and all(t.events() == Counter(expected) for t in on_two)
    per_subscriber_kb = {
        pid: (rss_subscribed[pid] - rss_before[pid]) / (SUBSCRIBERS / 2) for pid in rss_before
    }
    print(
        f"\n{SUBSCRIBERS} subscribers × {EVENTS + 1} events: {delivered} deliveries; "
        f"RSS growth per idle subscriber (KiB): {per_subscriber_kb}"
    )
