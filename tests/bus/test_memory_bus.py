"""The in-memory bus and the bounded subscriber queue every backend delivers through."""

from __future__ import annotations

import asyncio
import gc
import logging
import tracemalloc

import pytest

from socialcrm.server.bus import MAX_PAYLOAD_BYTES, MemoryBus, PayloadTooLarge, create_bus
from socialcrm.server.bus.queue import SubscriberQueue
from socialcrm.server.settings import Settings


async def test_delivers_to_every_subscriber_of_the_topic_only() -> None:
    bus = MemoryBus()
    async with (
        bus.subscribe("a") as first,
        bus.subscribe("a") as second,
        bus.subscribe("b") as other,
    ):
        await bus.publish("a", {"id": 1})
        assert await anext(first) == {"id": 1}
        assert await anext(second) == {"id": 1}
        assert len(other) == 0  # type: ignore[arg-type]
    assert bus.subscriber_count() == 0


async def test_subscription_is_registered_before_the_context_yields() -> None:
    bus = MemoryBus()
    async with bus.subscribe("t") as events:
        # No await between entering and publishing: the queue must already be there.
        bus.deliver("t", {"n": 1})
        assert await asyncio.wait_for(anext(events), 1) == {"n": 1}


async def test_stop_ends_open_subscriptions() -> None:
    bus = MemoryBus()
    async with bus.subscribe("t") as events:
        await bus.publish("t", {"n": 1})
        await bus.stop()
        assert [m async for m in events] == [{"n": 1}]


async def test_oversized_envelope_is_refused_and_reaches_nobody() -> None:
    bus = MemoryBus()
    async with bus.subscribe("t") as events:
        with pytest.raises(PayloadTooLarge, match="publish ids"):
            await bus.publish("t", {"content": "x" * MAX_PAYLOAD_BYTES})
        # Multi-byte text counts in bytes, as PostgreSQL counts it.
        with pytest.raises(PayloadTooLarge):
            await bus.publish("t", {"content": "评" * (MAX_PAYLOAD_BYTES // 3)})
        await bus.publish("t", {"content": "评" * 100})
        assert (await anext(events))["content"] == "评" * 100
        assert len(events) == 0  # type: ignore[arg-type]


async def test_only_plain_json_is_published() -> None:
    bus = MemoryBus()
    async with bus.subscribe("t") as events:
        with pytest.raises(TypeError, match="plain JSON"):
            await bus.publish("t", {"at": object()})
        assert len(events) == 0  # type: ignore[arg-type]


async def test_slow_subscriber_loses_the_oldest_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = MemoryBus(queue_size=10)
    with caplog.at_level(logging.WARNING, logger="socialcrm.server.bus.queue"):
        async with bus.subscribe("t") as slow, bus.subscribe("t") as fast:
            for n in range(25):
                await bus.publish("t", {"n": n})
                assert (await anext(fast))["n"] == n  # a reader keeps up and loses nothing
            assert len(slow) == 10  # type: ignore[arg-type]
            assert slow.dropped == 15  # type: ignore[attr-defined]
            assert [(await anext(slow))["n"] for _ in range(10)] == list(range(15, 25))
    assert bus.dropped == 15
    assert any("slow subscriber on t" in r.getMessage() for r in caplog.records)


async def test_slow_subscriber_memory_stays_bounded(caplog: pytest.LogCaptureFixture) -> None:
    """A subscriber that never reads costs at most its queue, however much is published."""
    # The captured warnings would be the only thing that grows: keep them out of the figure.
    caplog.set_level(logging.ERROR, logger="socialcrm.server.bus.queue")
    bus = MemoryBus(queue_size=100)

    async def publish(count: int) -> None:
        for n in range(count):
            await bus.publish("t", {"id": n, "channel": "wechat", "kind": "message"})

    async with bus.subscribe("t") as stuck:
        await publish(1_000)  # fill the queue first: the steady state is what we measure
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            await publish(30_000)
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert len(stuck) == 100  # type: ignore[arg-type]
        assert stuck.dropped == 30_900  # type: ignore[attr-defined]
    # 30,000 envelopes would be ~9 MB if kept; a bounded queue keeps its size (<64 KB here).
    assert grown < 64 * 1024, grown


async def test_queue_refuses_after_close_and_reports_its_length() -> None:
    queue = SubscriberQueue(2)
    queue.put({"n": 1})
    queue.close()
    queue.put({"n": 2})
    assert len(queue) == 1
    assert queue.closed
    assert [m async for m in queue] == [{"n": 1}]
    with pytest.raises(ValueError):
        SubscriberQueue(0)


def test_create_bus_defaults_to_memory() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert isinstance(create_bus(settings), MemoryBus)
    memory = Settings(broker_url="memory://", _env_file=None)  # type: ignore[call-arg]
    assert isinstance(create_bus(memory), MemoryBus)
    with pytest.raises(ValueError, match="unsupported SCRM_BROKER_URL"):
        create_bus(Settings(broker_url="redis://localhost", _env_file=None))  # type: ignore[call-arg]
