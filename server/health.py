"""Operations endpoints: ``/healthz`` (alive), ``/readyz`` (can serve), ``/metrics``."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import func, select, text
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from socialcrm.server.services import Services
from socialcrm.server.tables import RawEvent


async def healthz(request: Request) -> PlainTextResponse:
    """The process is up (it answers)."""
    return PlainTextResponse("ok")


async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database answers and the event bus listens; 503 otherwise."""
    services: Services = request.app.state.services
    problems = []
    try:
        async with services.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means not ready
        problems.append(f"database: {str(exc)[:200]}")
    bus = services.bus.stats()
    if not bus["listening"]:
        problems.append("bus: not listening; events from other workers would be missed")
    body = {"ready": not problems, "bus": bus, "problems": problems}
    return JSONResponse(body, status_code=503 if problems else 200)


class _ScrapeCollector(Collector):
    """Figures read at scrape time (set by ``metrics`` before ``generate_latest``)."""

    def __init__(
        self,
        bus: dict[str, int | bool],
        inbox: dict[str, int],
        tasks: int,
        operations: dict[str, int],
    ) -> None:
        self.bus = bus
        self.inbox = inbox
        self.tasks = tasks
        self.operations = operations

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        yield GaugeMetricFamily(
            "scrm_bus_listening",
            "1 while events from other workers arrive",
            int(self.bus["listening"]),
        )
        yield GaugeMetricFamily(
            "scrm_subscriptions",
            "Open subscriptions in this process",
            int(self.bus["subscriptions"]),
        )
        for name, help_text in (
            ("dropped", "Events dropped for slow subscribers"),
            ("reconnects", "Times the bus connection was re-established"),
            ("publish_failures", "Publishes that did not reach the broker"),
        ):
            yield CounterMetricFamily(f"scrm_bus_{name}", help_text, value=int(self.bus[name]))
        inbox = GaugeMetricFamily(
            "scrm_raw_events", "Webhook payloads in the inbox, by status", labels=["status"]
        )
        for status, count in sorted(self.inbox.items()):
            inbox.add_metric([status], count)
        yield inbox
        yield GaugeMetricFamily(
            "scrm_background_tasks", "Ingest and announcement tasks running", self.tasks
        )
        operations = CounterMetricFamily(
            "scrm_graphql_requests",
            "GraphQL HTTP requests, by how they were answered: one compiled SQL statement "
            "or the resolvers",
            labels=["execution"],
        )
        for execution in ("compiled", "resolvers"):
            operations.add_metric([execution], self.operations.get(execution, 0))
        yield operations


async def metrics(request: Request) -> Response:
    """Prometheus text exposition of this process's bus and the shared inbox."""
    services: Services = request.app.state.services
    async with services.sessions() as session:
        rows = await session.execute(
            select(col(RawEvent.status), func.count()).group_by(col(RawEvent.status))
        )
        inbox = {status: int(count) for status, count in rows}
    for status in ("pending", "processed", "failed"):
        inbox.setdefault(status, 0)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        _ScrapeCollector(
            services.bus.stats(),
            inbox,
            services.background_task_count,
            dict(services.graphql_operations),
        )
    )
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
