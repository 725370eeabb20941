"""``scrm serve``'s admin token and public URL, and ``scrm tokens list``'s last use.

Like tests/test_cli.py, on a temporary SQLite database with typer's ``CliRunner``;
``uvicorn.run`` is replaced by a recorder so ``scrm serve`` returns instead of serving.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.scrm_process import TOKEN
from typer.testing import CliRunner, Result

from socialcrm.server.auth import Authenticator, Viewer
from socialcrm.server.cli import app
from socialcrm.server.db import create_engine, session_factory
from socialcrm.server.settings import Settings

Scrm = Callable[..., Result]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where this test's SQLite database lives."""
    return tmp_path / "cli.db"


@pytest.fixture
def env(db_path: Path) -> dict[str, str | None]:
    """The environment the CLI sees: a private database, the default host, port and URL."""
    return {
        "SCRM_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
        "SCRM_PUBLIC_URL": None,
        "SCRM_HOST": None,
        "SCRM_PORT": None,
        "SCRM_DEBUG": "",
    }


@pytest.fixture
def scrm(env: dict[str, str | None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scrm:
    """Run ``scrm`` with arguments (and extra environment) on a migrated database."""
    monkeypatch.chdir(tmp_path)  # no stray .env file is read from the working directory
    runner = CliRunner()

    def run(*args: str, **extra_env: str) -> Result:
        return runner.invoke(app, list(args), env={**env, **extra_env})

    assert run("migrate").exit_code == 0
    return run


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What each ``uvicorn.run`` call got, with the ``SCRM_*`` environment at that moment."""
    import uvicorn

    calls: list[dict[str, Any]] = []

    def record(target: str, **options: Any) -> None:
        scrm_env = {name: value for name, value in os.environ.items() if name.startswith("SCRM_")}
        calls.append({"target": target, **options, "env": scrm_env})

    monkeypatch.setattr(uvicorn, "run", record)
    return calls


def _tokens(db_path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_path) as connection:
        return list(
            connection.execute(
                "SELECT t.id, t.name, t.revoked_at FROM api_token t "
                "JOIN workspace w ON w.id = t.workspace_id WHERE w.slug = 'demo' ORDER BY t.id"
            )
        )


def _printed_token(result: Result) -> str:
    match = TOKEN.search(result.stdout)
    assert match, result.output
    return match.group(1)


def _authenticate(db_path: Path, token: str) -> Viewer | None:
    """What a server on this database makes of ``token`` (a fresh process's Authenticator)."""

    async def run() -> Viewer | None:
        engine = create_engine(f"sqlite+aiosqlite:///{db_path}")
        try:
            return await Authenticator(session_factory(engine)).authenticate(token)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_serve_revokes_the_admin_token_of_its_previous_start(
    scrm: Scrm, served: list[dict[str, Any]], db_path: Path
) -> None:
    assert scrm("workspaces", "create", "demo").exit_code == 0
    kept = scrm("tokens", "create", "--workspace", "demo", "--scope", "admin", "--name", "ops")
    assert kept.exit_code == 0
    first = scrm("serve", "--admin-token-for", "demo")
    second = scrm("serve", "--admin-token-for", "demo")
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert _printed_token(first) != _printed_token(second)
    ops, old, new = _tokens(db_path)
    assert ops[1:] == ("ops", None)  # tokens of other names are left alone
    assert old[1] == new[1] == "scrm serve"
    assert old[2] is not None and new[2] is None
    listed = scrm("tokens", "list", "--workspace", "demo")
    assert listed.stdout.count("scrm serve") == 2


def test_only_the_printed_serve_token_authenticates(
    scrm: Scrm, served: list[dict[str, Any]], db_path: Path
) -> None:
    assert scrm("workspaces", "create", "demo").exit_code == 0
    first = _printed_token(scrm("serve", "--admin-token-for", "demo"))
    second = _printed_token(scrm("serve", "--admin-token-for", "demo"))
    assert _authenticate(db_path, first) is None
    viewer = _authenticate(db_path, second)
    assert viewer is not None and viewer.scope == "admin"


def test_serve_refuses_an_unknown_workspace_and_creates_no_token(
    scrm: Scrm, served: list[dict[str, Any]], db_path: Path
) -> None:
    result = scrm("serve", "--admin-token-for", "nosuch")
    assert result.exit_code == 2
    assert "no workspace with slug 'nosuch'" in result.stderr
    assert served == []


def test_tokens_list_shows_when_a_token_was_last_used(scrm: Scrm, db_path: Path) -> None:
    assert scrm("workspaces", "create", "demo").exit_code == 0
    token = scrm("tokens", "create", "--workspace", "demo", "--scope", "read").stdout.strip()
    assert _list_row(scrm)["last used"] == ""
    assert _authenticate(db_path, token) is not None
    row = _list_row(scrm)
    assert row["last used"] and row["last used"][:10] == row["created"][:10]


def _list_row(scrm: Scrm) -> dict[str, str]:
    """The one row of ``scrm tokens list --workspace demo``, by column title."""
    lines = scrm("tokens", "list", "--workspace", "demo").stdout.splitlines()
    # rich draws the header's column rules with ┃ and the rows' with │.
    cells = [
        [c.strip() for c in re.split("[│┃]", line)[1:-1]]
        for line in lines
        if "┃" in line or "│" in line
    ]
    header, row = cells
    return dict(zip(header, row, strict=True))


def test_the_port_alone_moves_the_public_url(scrm: Scrm) -> None:
    result = scrm("demo", SCRM_PORT="8101")
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8101/webhooks/wechat/demo-wechat" in result.stdout
    assert ":8000" not in result.stdout


def test_serve_passes_its_host_and_port_to_the_app_and_the_banner(
    scrm: Scrm, served: list[dict[str, Any]]
) -> None:
    result = scrm("serve", "--host", "0.0.0.0", "--port", "8101")
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8101/graphql" in result.stdout
    assert "http://127.0.0.1:8101/webhooks/<channel>/<account>" in result.stdout
    [call] = served
    # The app factory builds its settings from this environment, in every worker.
    assert (call["env"]["SCRM_HOST"], call["env"]["SCRM_PORT"]) == ("0.0.0.0", "8101")
    assert Settings(_env_file=None, **_fields(call["env"])).public_url == "http://127.0.0.1:8101"
    assert "SCRM_PORT" not in os.environ  # restored once the server stopped


def test_serve_announces_the_public_url_when_it_is_set(
    scrm: Scrm, served: list[dict[str, Any]]
) -> None:
    result = scrm("serve", "--port", "8101", SCRM_PUBLIC_URL="https://crm.example.com")
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8101/graphql" in result.stdout
    assert "https://crm.example.com/webhooks/<channel>/<account>" in result.stdout


def _fields(environment: dict[str, str]) -> dict[str, Any]:
    names = {"SCRM_HOST": "host", "SCRM_PORT": "port", "SCRM_PUBLIC_URL": "public_url"}
    return {names[key]: value for key, value in environment.items() if key in names}
