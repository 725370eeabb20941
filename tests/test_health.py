"""Operations endpoints."""

from __future__ import annotations

import httpx


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).text == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True
    assert body["bus"]["listening"] is True


async def test_metrics_expose_bus_and_inbox(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "scrm_bus_listening 1.0" in text
    assert 'scrm_raw_events{status="pending"}' in text
    assert "scrm_bus_dropped_total" in text
    assert "scrm_background_tasks" in text


async def test_metrics_count_graphql_requests_by_execution(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    headers = {"authorization": f"Bearer {admin_token}"}
    compiled = {"query": "{ customers(first: 2) { totalCount edges { node { id } } } }"}
    by_resolvers = {"query": "{ viewer { scopes } }"}
    for body in (compiled, compiled, by_resolvers):
        assert (await client.post("/graphql", json=body, headers=headers)).status_code == 200
    text = (await client.get("/metrics")).text
    assert 'scrm_graphql_requests_total{execution="compiled"} 2.0' in text
    assert 'scrm_graphql_requests_total{execution="resolvers"} 1.0' in text
