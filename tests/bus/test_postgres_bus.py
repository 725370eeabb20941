"""The PostgreSQL LISTEN/NOTIFY bus: two buses on one database stand for two processes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from socialcrm.server.bus import MAX_PAYLOAD_BYTES, PayloadTooLarge, create_bus
from socialcrm.server.bus.postgres import PUBLISH_APPLICATION_NAME, PostgresBus, asyncpg_dsn
from socialcrm.server.settings import Settings

BusFactory = Callable[[], Awaitable[PostgresBus]]


@pytest.fixture
async def make_bus(database_url: str) -> AsyncIterator[BusFactory]:
    """Start buses sharing a channel of their own (other tests may use the default one)."""
    channel = f"scrm_test_{uuid.uuid4().hex[:12]}"
    buses: list[PostgresBus] = []

    async def make() -> PostgresBus:
        bus = PostgresBus(database_url, channel=channel, queue_size=1000, health_interval=0.5)
        await bus.start()
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        await bus.stop()


async def take(events: AsyncIterator[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """The next ``count`` messages, within a bounded wait."""
    async with asyncio.timeout(10):
        return [await anext(events) for _ in range(count)]


async def sync(publisher: PostgresBus, *listeners: AsyncIterator[dict[str, Any]]) -> None:
    """Publish a marker from ``publisher`` and wait until every listener has it.

    PostgreSQL delivers notifications in commit order, so once a marker is in, every
    notification sent before it has been handled (delivered, or skipped as our own echo).
    """
    marker = {"marker": uuid.uuid4().hex}
    await publisher.publish("sync", marker)
    for events in listeners:
        assert await take(events, 1) == [marker]


def test_asyncpg_dsn_accepts_sqlalchemy_and_plain_urls() -> None:
    assert asyncpg_dsn("postgresql+asyncpg://u:p@h:5/db?x=1") == "postgresql://u:p@h:5/db?x=1"
    assert asyncpg_dsn("postgres://h/db") == "postgresql://h/db"
    with pytest.raises(ValueError):
        asyncpg_dsn("mysql://h/db")
    with pytest.raises(ValueError, match="lowercase identifier"):
        PostgresBus("postgresql://h/db", channel='x"; DROP TABLE customer; --')


@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+asyncpg"])
async def test_create_bus_chooses_postgres_for_postgresql_urls(
    database_url: str, scheme: str
) -> None:
    url = scheme + "://" + database_url.partition("://")[2]
    settings = Settings(broker_url=url, subscriber_queue_size=7, _env_file=None)  # type: ignore[call-arg]
    bus = create_bus(settings)
    assert isinstance(bus, PostgresBus)
    await bus.start()
    try:
        assert bus.listening and bus.listener_pid is not None
    finally:
        await bus.stop()
    assert not bus.listening


async def test_every_process_receives_each_event_exactly_once(make_bus: BusFactory) -> None:
    one, two = await make_bus(), await make_bus()
    async with (
        one.subscribe("t") as at_one,
        two.subscribe("t") as at_two,
        one.subscribe("sync") as sync_one,
        two.subscribe("sync") as sync_two,
        two.subscribe("other") as elsewhere,
    ):
        for n in range(5):
            await one.publish("t", {"n": n})
        # The publisher's own subscribers have them before any round trip.
        assert len(at_one) == 5  # type: ignore[arg-type]
        assert [m["n"] for m in await take(at_one, 5)] == list(range(5))
        assert [m["n"] for m in await take(at_two, 5)] == list(range(5))
        # Once a later marker from the other side is in, one's own echoes have come back
        # and were skipped: nothing was delivered twice.
        await sync(two, sync_one, sync_two)
        assert len(at_one) == 0 and len(at_two) == 0  # type: ignore[arg-type]
        assert len(elsewhere) == 0  # type: ignore[arg-type]
    assert two.received == 5 + 0 and one.received == 1


async def test_many_subscribers_on_two_processes_all_receive(make_bus: BusFactory) -> None:
    one, two = await make_bus(), await make_bus()
    events, per_bus = 20, 250
    async with asyncio.TaskGroup() as group:
        ready = asyncio.Barrier(2 * per_bus + 1)
        counts: list[int] = []

        async def subscriber(bus: PostgresBus) -> None:
            async with bus.subscribe("fanout") as messages:
                await ready.wait()
                got = await take(messages, events)
                counts.append(len({m["n"] for m in got}))

        for bus in (one, two):
            for _ in range(per_bus):
                group.create_task(subscriber(bus))
        await ready.wait()
        for n in range(events):
            await (one if n % 2 else two).publish("fanout", {"n": n})
    assert counts == [events] * (2 * per_bus)


async def test_oversized_envelope_is_refused_clearly(make_bus: BusFactory) -> None:
    bus = await make_bus()
    async with bus.subscribe("t") as events:
        with pytest.raises(PayloadTooLarge, match="limit is 7999"):
            await bus.publish("t", {"content": "x" * MAX_PAYLOAD_BYTES})
        assert len(events) == 0  # type: ignore[arg-type]
        # Just under the cap goes through PostgreSQL (which refuses 8000 bytes and more).
        big = {"content": "x" * (MAX_PAYLOAD_BYTES - 200)}
        await bus.publish("t", big)
        assert await take(events, 1) == [big]
    assert bus.publish_failures == 0


async def test_listen_connection_is_reestablished_after_termination(
    make_bus: BusFactory, database_url: str
) -> None:
    one, two = await make_bus(), await make_bus()
    pid = one.listener_pid
    assert pid is not None
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    for _ in range(500):  # the watcher notices at once; the health ping within 0.5 s
        if one.reconnects == 1 and one.listening:
            break
        await asyncio.sleep(0.02)
    assert one.reconnects == 1 and one.listening
    assert one.listener_pid not in (None, pid)
    async with one.subscribe("t") as at_one:
        await two.publish("t", {"after": "reconnect"})
        assert await take(at_one, 1) == [{"after": "reconnect"}]


async def test_publish_survives_a_terminated_pool_connection(
    make_bus: BusFactory, database_url: str
) -> None:
    one, two = await make_bus(), await make_bus()
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = $1",
            PUBLISH_APPLICATION_NAME,
        )
        assert killed >= 2
    finally:
        await admin.close()
    async with two.subscribe("t") as at_two:
        await one.publish("t", {"n": 1})
        assert await take(at_two, 1) == [{"n": 1}]
    assert one.publish_failures == 0
