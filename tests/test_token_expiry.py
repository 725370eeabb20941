"""Tokens with an expiry: ``scrm tokens create --expires-in``, ``scrm tokens list``'s column,
and the refusal of an expired token over HTTP and at a WebSocket's ``connection_init``, in
the same words as a token that never existed.

The CLI runs on a temporary SQLite database with typer's ``CliRunner``; the server parts on
the suite's PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.serve import serve
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner, Result
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from socialcrm.plugins.manager import PluginManager
from socialcrm.server.app import create_app
from socialcrm.server.auth import (
    INVALID_TOKEN,
    Authenticator,
    InvalidLifetime,
    create_token,
    parse_lifetime,
)
from socialcrm.server.cli import app as cli_app
from socialcrm.server.settings import Settings
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import Workspace

Scrm = Callable[..., Result]
VIEWER = {"query": "{ viewer { scopes } }"}
CREATE = ("tokens", "create", "--workspace", "demo", "--scope", "read")
BAD_LIFETIMES = ["30", "d", "30w", "1.5h", "-1d", "0d", "0s", "", "3651d", "9" * 40 + "d"]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where this test's SQLite database lives."""
    return tmp_path / "cli.db"


@pytest.fixture
def scrm(db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scrm:
    """Run ``scrm`` with arguments on a migrated database holding the workspace ``demo``."""
    monkeypatch.chdir(tmp_path)  # no stray .env file is read from the working directory
    runner = CliRunner()
    # Wide enough that rich draws each row of ``scrm tokens list`` on one line.
    env = {
        "SCRM_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
        "SCRM_DEBUG": "",
        "COLUMNS": "200",
    }

    def run(*args: str) -> Result:
        return runner.invoke(cli_app, list(args), env=env)

    assert run("migrate").exit_code == 0
    assert run("workspaces", "create", "demo").exit_code == 0
    return run


def _rows(db_path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_path) as connection:
        return list(
            connection.execute("SELECT id, created_at, expires_at FROM api_token ORDER BY id")
        )


def _stored_time(value: str) -> datetime:
    """A timestamp as SQLite keeps it (UTC, without a zone), made aware."""
    return datetime.fromisoformat(value).replace(tzinfo=utcnow().tzinfo)


def _list_rows(scrm: Scrm) -> list[dict[str, str]]:
    """The rows of ``scrm tokens list --workspace demo``, by column title."""
    lines = scrm("tokens", "list", "--workspace", "demo").stdout.splitlines()
    # rich draws the header's column rules with ┃ and the rows' with │.
    cells = [
        [c.strip() for c in re.split("[│┃]", line)[1:-1]]
        for line in lines
        if "┃" in line or "│" in line
    ]
    header, *rows = cells
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.mark.parametrize(
    ("text", "lifetime"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("12h", timedelta(hours=12)),
        ("30d", timedelta(days=30)),
        (" 7d ", timedelta(days=7)),
        ("3650d", timedelta(days=3650)),
    ],
)
def test_a_lifetime_is_a_whole_number_of_seconds_minutes_hours_or_days(
    text: str, lifetime: timedelta
) -> None:
    assert parse_lifetime(text) == lifetime


@pytest.mark.parametrize("text", BAD_LIFETIMES)
def test_anything_else_is_not_a_lifetime(text: str) -> None:
    with pytest.raises(InvalidLifetime):
        parse_lifetime(text)


def test_tokens_create_expires_in_stores_the_expiry_and_says_when(
    scrm: Scrm, db_path: Path
) -> None:
    result = scrm(
        "tokens", "create", "--workspace", "demo", "--scope", "read", "--expires-in", "30d"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("scrm_")
    [(_, created_at, expires_at)] = _rows(db_path)
    lifetime = _stored_time(expires_at) - _stored_time(created_at)
    # Both moments are taken while the one command runs: a minute covers the gap.
    assert timedelta(days=30) - timedelta(minutes=1) < lifetime <= timedelta(days=30)
    assert f"It expires at {_stored_time(expires_at):%Y-%m-%d %H:%M} UTC." in result.stderr


@pytest.mark.parametrize("text", BAD_LIFETIMES)
def test_tokens_create_refuses_a_bad_lifetime_and_creates_nothing(
    scrm: Scrm, db_path: Path, text: str
) -> None:
    result = scrm(
        "tokens", "create", "--workspace", "demo", "--scope", "read", "--expires-in", text
    )
    assert result.exit_code == 2, result.output
    assert "--expires-in" in result.stderr and "error:" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert _rows(db_path) == []


def test_tokens_list_shows_each_expiry_and_which_have_passed(scrm: Scrm, db_path: Path) -> None:
    assert scrm(*CREATE, "--name", "forever").exit_code == 0
    assert scrm(*CREATE, "--name", "monthly", "--expires-in", "30d").exit_code == 0
    assert scrm(*CREATE, "--name", "gone", "--expires-in", "1h").exit_code == 0
    with sqlite3.connect(db_path) as connection:
        connection.execute(
            "UPDATE api_token SET expires_at = '2026-01-02 03:04:00' WHERE name = 'gone'"
        )
    expiries = {row[0]: row[2] for row in _rows(db_path)}
    forever, monthly, gone = _list_rows(scrm)
    assert forever["expires"] == "never"
    assert monthly["expires"] == f"{_stored_time(expiries[2]):%Y-%m-%d %H:%M}"
    assert gone["expires"] == "2026-01-02 03:04 (expired)"


# The server: PostgreSQL ------------------------------------------------------------------


async def _token(
    sessions: async_sessionmaker[AsyncSession], workspace: Workspace, expires_at: datetime
) -> str:
    async with sessions() as session, session.begin():
        assert workspace.id is not None
        return await create_token(session, workspace.id, "admin", "expiring", expires_at)


async def _answer(client: httpx.AsyncClient, token: str) -> tuple[int, dict[str, Any]]:
    response = await client.post(
        "/graphql", json=VIEWER, headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code, response.json()


async def test_a_token_works_until_it_expires_then_is_answered_like_an_unknown_one(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], workspace: Workspace
) -> None:
    token = await _token(sessions, workspace, utcnow() + timedelta(days=1))
    status, body = await _answer(client, token)
    assert status == 200 and body == {"data": {"viewer": {"scopes": ["READ", "WRITE", "ADMIN"]}}}
    past = await _token(sessions, workspace, utcnow() - timedelta(seconds=1))
    expired = await _answer(client, past)
    unknown = await _answer(client, "scrm_never-issued")
    assert expired == unknown
    assert expired[1]["errors"][0]["message"] == INVALID_TOKEN
    assert expired[1]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_cached_token_is_not_accepted_past_its_expiry(
    sessions: async_sessionmaker[AsyncSession], workspace: Workspace
) -> None:
    # A cache far longer than the token's life: the expiry must still end it.
    auth = Authenticator(sessions, ttl=3600)
    expires_at = utcnow() + timedelta(seconds=3)
    token = await _token(sessions, workspace, expires_at)
    assert await auth.authenticate(token) is not None
    await asyncio.sleep((expires_at - utcnow()).total_seconds() + 0.1)
    assert await auth.authenticate(token) is None


@pytest.fixture
async def ws_url(settings: Settings, plugin_manager: PluginManager) -> AsyncIterator[str]:
    """The WebSocket URL of the app served over a real socket in this event loop."""
    async with serve(create_app(settings, plugin_manager), lifespan="on") as base_url:
        yield base_url.replace("http://", "ws://") + "/graphql"


async def _connect(ws_url: str, protocol: str, token: str) -> Any:
    """Send ``connection_init`` with ``token``: what the server sent, and how it closed."""
    messages: list[dict[str, Any]] = []
    async with connect(ws_url, subprotocols=[Subprotocol(protocol)], open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        try:
            while True:
                message = json.loads(await ws.recv())
                messages.append(message)
                if message["type"] == "connection_ack":
                    return messages, None, None
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "the server did not close the connection"
            return messages, closed.rcvd.code, closed.rcvd.reason


@pytest.mark.parametrize("protocol", ["graphql-ws", "graphql-transport-ws"])
async def test_a_websocket_with_an_expired_token_is_refused_like_an_unknown_one(
    ws_url: str,
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    protocol: str,
) -> None:
    token = await _token(sessions, workspace, utcnow() + timedelta(days=1))
    acknowledged, _, _ = await _connect(ws_url, protocol, token)
    assert [message["type"] for message in acknowledged] == ["connection_ack"]
    past = await _token(sessions, workspace, utcnow() - timedelta(seconds=1))
    expired = await _connect(ws_url, protocol, past)
    unknown = await _connect(ws_url, protocol, "scrm_never-issued")
    assert expired == unknown
    assert expired[1:] == (4403, INVALID_TOKEN)
