"""A WebSocket without a valid token is refused alike in both protocols: close code 4403,
and a message that tells a missing token from a wrong one (not whether it ever existed)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from ws_clients import LEGACY_WS, TRANSPORT_WS, LiveServer

from socialcrm.server.auth import INVALID_TOKEN, hash_token
from socialcrm.server.graphql_app import WS_MISSING_TOKEN
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import ApiToken

MISSING: list[dict[str, Any] | None] = [None, {}, {"token": None}, {"Authorization": ""}]


async def _refusal(server: LiveServer, protocol: str, payload: dict[str, Any] | None) -> Any:
    """Send ``connection_init``; return what the server sent before closing, and the close."""
    messages: list[dict[str, Any]] = []
    async with connect(server.ws_url, subprotocols=[protocol], open_timeout=10) as ws:
        init: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            init["payload"] = payload
        await ws.send(json.dumps(init))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                messages.append(json.loads(await ws.recv()))
    assert closed.value.rcvd is not None, "the server did not close the connection"
    return messages, closed.value.rcvd.code, closed.value.rcvd.reason


@pytest.mark.parametrize("payload", MISSING)
async def test_legacy_graphql_ws_without_a_token_says_so_and_closes_with_4403(
    live_server: LiveServer, payload: dict[str, Any] | None
) -> None:
    messages, code, reason = await _refusal(live_server, LEGACY_WS, payload)
    assert messages == [
        {
            "type": "connection_error",
            "payload": {"message": WS_MISSING_TOKEN, "code": "UNAUTHENTICATED"},
        }
    ]
    assert (code, reason) == (4403, WS_MISSING_TOKEN)
    assert live_server.services.bus.subscriber_count() == 0


async def test_legacy_graphql_ws_with_a_wrong_token_says_so_and_closes_with_4403(
    live_server: LiveServer,
) -> None:
    messages, code, reason = await _refusal(live_server, LEGACY_WS, {"token": "scrm_wrong"})
    assert messages == [
        {
            "type": "connection_error",
            "payload": {"message": INVALID_TOKEN, "code": "UNAUTHENTICATED"},
        }
    ]
    assert (code, reason) == (4403, INVALID_TOKEN)


@pytest.mark.parametrize("payload", MISSING)
async def test_graphql_transport_ws_without_a_token_closes_with_4403_saying_so(
    live_server: LiveServer, payload: dict[str, Any] | None
) -> None:
    messages, code, reason = await _refusal(live_server, TRANSPORT_WS, payload)
    assert messages == []
    assert (code, reason) == (4403, WS_MISSING_TOKEN)


async def test_graphql_transport_ws_with_a_wrong_token_closes_with_4403_saying_so(
    live_server: LiveServer,
) -> None:
    messages, code, reason = await _refusal(
        live_server, TRANSPORT_WS, {"Authorization": "Bearer scrm_wrong"}
    )
    assert messages == []
    assert (code, reason) == (4403, INVALID_TOKEN)


@pytest.mark.parametrize("protocol", [LEGACY_WS, TRANSPORT_WS])
async def test_a_revoked_token_is_refused_like_one_that_never_existed(
    live_server: LiveServer,
    admin_token: str,
    sessions: async_sessionmaker[AsyncSession],
    protocol: str,
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(ApiToken)
            .where(col(ApiToken.token_hash) == hash_token(admin_token))
            .values(revoked_at=utcnow())
        )
    revoked = await _refusal(live_server, protocol, {"token": admin_token})
    unknown = await _refusal(live_server, protocol, {"token": "scrm_never-issued"})
    assert revoked == unknown


@pytest.mark.parametrize("protocol", [LEGACY_WS, TRANSPORT_WS])
async def test_a_valid_token_is_acknowledged_in_both_protocols(
    live_server: LiveServer, admin_token: str, protocol: str
) -> None:
    async with connect(live_server.ws_url, subprotocols=[protocol], open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": admin_token}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
