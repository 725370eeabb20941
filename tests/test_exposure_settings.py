"""What the server shows without a token: ``/metrics``, introspection and GraphiQL follow
``SCRM_METRICS``, ``SCRM_INTROSPECTION`` and ``SCRM_GRAPHIQL``, closed by default."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from socialcrm.plugins.manager import PluginManager
from socialcrm.server.app import create_app
from socialcrm.server.settings import Settings

SCHEMA_QUERY = "{ __schema { queryType { name } } }"
TYPE_QUERY = '{ __type(name: "Query") { name } }'


@asynccontextmanager
async def serving(
    settings: Settings, plugins: PluginManager, **update: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app built with ``settings`` changed by ``update``."""
    application = create_app(settings.model_copy(update=update), plugins)
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def ask(client: httpx.AsyncClient, query: str, token: str | None = None) -> dict[str, Any]:
    """POST ``query`` with or without a bearer token; the decoded response."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json={"query": query}, headers=headers)
    return response.json()  # type: ignore[no-any-return]


def production_defaults(database_url: str) -> Settings:
    """Settings as a server started without any of the three variables gets them."""
    return Settings(database_url=database_url, _env_file=None)  # type: ignore[call-arg]


async def test_defaults_are_closed(database_url: str) -> None:
    defaults = production_defaults(database_url)
    assert (defaults.metrics, defaults.introspection, defaults.graphiql) == ("off", "token", False)


async def test_metrics_answer_404_by_default(
    database_url: str, plugin_manager: PluginManager
) -> None:
    async with serving(production_defaults(database_url), plugin_manager) as client:
        response = await client.get("/metrics")
    assert response.status_code == 404
    assert "scrm_" not in response.text


async def test_metrics_are_served_when_on(database_url: str, plugin_manager: PluginManager) -> None:
    async with serving(production_defaults(database_url), plugin_manager, metrics="on") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert "scrm_bus_listening" in response.text


async def test_introspection_needs_a_token_by_default(
    database_url: str, plugin_manager: PluginManager, admin_token: str
) -> None:
    async with serving(production_defaults(database_url), plugin_manager) as client:
        for query in (SCHEMA_QUERY, TYPE_QUERY):
            anonymous = await ask(client, query)
            assert anonymous["data"] is None
            assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        allowed = await ask(client, SCHEMA_QUERY, admin_token)
    assert allowed == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_introspection_on_needs_no_token(
    database_url: str, plugin_manager: PluginManager
) -> None:
    defaults = production_defaults(database_url)
    async with serving(defaults, plugin_manager, introspection="on") as client:
        result = await ask(client, SCHEMA_QUERY)
    assert result == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_introspection_off_is_refused_even_with_a_token(
    database_url: str, plugin_manager: PluginManager, admin_token: str
) -> None:
    defaults = production_defaults(database_url)
    async with serving(defaults, plugin_manager, introspection="off") as client:
        for query in (SCHEMA_QUERY, TYPE_QUERY):
            result = await ask(client, query, admin_token)
            assert result["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
            assert "introspection" in result["errors"][0]["message"]
        # The type name is not introspection: clients still read it.
        typename = await ask(client, "{ __typename }", admin_token)
    assert typename == {"data": {"__typename": "Query"}}


async def browser_get(client: httpx.AsyncClient) -> httpx.Response:
    """``/graphql`` as a browser asks for it."""
    return await client.get("/graphql", headers={"Accept": "text/html"})


async def test_graphiql_is_off_by_default(database_url: str, plugin_manager: PluginManager) -> None:
    async with serving(production_defaults(database_url), plugin_manager) as client:
        response = await browser_get(client)
    assert "graphiql" not in response.text.lower()


async def test_graphiql_is_served_when_on(database_url: str, plugin_manager: PluginManager) -> None:
    defaults = production_defaults(database_url)
    async with serving(defaults, plugin_manager, graphiql=True) as client:
        response = await browser_get(client)
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
