"""The ``scrm`` command line, on a temporary SQLite database.

Most tests run the typer app in-process with ``CliRunner``; the last one starts ``scrm
serve`` as a real process, the way ``make run`` does, and queries it over HTTP.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.scrm_process import scrm_serve
from typer.testing import CliRunner, Result

from socialcrm.server.cli import app

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where this test's SQLite database lives."""
    return tmp_path / "cli.db"


@pytest.fixture
def env(db_path: Path) -> dict[str, str]:
    """The environment the CLI sees: a private database and a known public URL."""
    return {
        "SCRM_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
        "SCRM_PUBLIC_URL": "https://crm.example.com",
        "SCRM_DEBUG": "",
    }


Scrm = Callable[..., Result]


@pytest.fixture
def scrm(env: dict[str, str]) -> Scrm:
    """Run ``scrm`` with arguments; returns click's result (exit code, stdout, stderr)."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), env=env)

    return run


@pytest.fixture
def migrated(scrm: Scrm) -> Scrm:
    """``scrm`` on a migrated database."""
    result = scrm("migrate")
    assert result.exit_code == 0, result.output
    return scrm


def _query(db_path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_path) as connection:
        return list(connection.execute(sql, params))


def _no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_migrate_creates_the_tables_and_is_repeatable(scrm: Scrm, db_path: Path) -> None:
    first = scrm("migrate")
    assert first.exit_code == 0, first.output
    tables = {row[0] for row in _query(db_path, "SELECT name FROM sqlite_master")}
    assert {"workspace", "api_token", "customer", "interaction", "alembic_version"} <= tables
    again = scrm("migrate")
    assert again.exit_code == 0, again.output


def test_commands_on_an_unmigrated_database_say_what_to_do(scrm: Scrm) -> None:
    result = scrm("tokens", "create", "--workspace", "demo", "--scope", "admin")
    assert result.exit_code == 1
    assert "scrm migrate" in result.stderr
    _no_traceback(result)


def test_workspace_then_token_stores_only_the_hash(migrated: Scrm, db_path: Path) -> None:
    created = migrated("workspaces", "create", "acme", "--name", "Acme 咖啡")
    assert created.exit_code == 0, created.output
    assert _query(db_path, "SELECT slug, name FROM workspace") == [("acme", "Acme 咖啡")]

    result = migrated("tokens", "create", "--workspace", "acme", "--scope", "write", "--name", "ci")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert re.fullmatch(r"scrm_[A-Za-z0-9_-]{20,}", token), result.stdout
    rows = _query(db_path, "SELECT token_hash, scope, name FROM api_token")
    assert rows == [(hashlib.sha256(token.encode()).hexdigest(), "write", "ci")]
    assert token.encode() not in db_path.read_bytes()
    for suffix in ("-wal", "-shm"):
        journal = db_path.with_name(db_path.name + suffix)
        if journal.exists():
            assert token.encode() not in journal.read_bytes()

    listed = migrated("tokens", "list", "--workspace", "acme")
    assert listed.exit_code == 0
    assert "write" in listed.stdout and token not in listed.stdout


def test_token_errors_are_clear_and_exit_2(migrated: Scrm) -> None:
    migrated("workspaces", "create", "acme")
    unknown_workspace = migrated("tokens", "create", "--workspace", "nope", "--scope", "read")
    assert unknown_workspace.exit_code == 2
    assert "no workspace with slug 'nope'" in unknown_workspace.stderr
    _no_traceback(unknown_workspace)

    unknown_scope = migrated("tokens", "create", "--workspace", "acme", "--scope", "root")
    assert unknown_scope.exit_code == 2
    assert "unknown scope 'root'" in unknown_scope.stderr
    _no_traceback(unknown_scope)


def test_revoke_by_token_and_by_id(migrated: Scrm, db_path: Path) -> None:
    migrated("workspaces", "create", "acme")
    first = migrated("tokens", "create", "--workspace", "acme", "--scope", "read").stdout.strip()
    migrated("tokens", "create", "--workspace", "acme", "--scope", "admin")

    assert migrated("tokens", "revoke", first).exit_code == 0
    second_id = _query(db_path, "SELECT id FROM api_token WHERE scope = 'admin'")[0][0]
    assert migrated("tokens", "revoke", "--id", str(second_id)).exit_code == 0
    assert _query(db_path, "SELECT count(*) FROM api_token WHERE revoked_at IS NULL") == [(0,)]

    missing = migrated("tokens", "revoke", "scrm_not-a-token")
    assert missing.exit_code == 2
    neither = migrated("tokens", "revoke")
    assert neither.exit_code == 2
    _no_traceback(neither)


def test_workspace_slug_errors(migrated: Scrm) -> None:
    assert migrated("workspaces", "create", "acme").exit_code == 0
    duplicate = migrated("workspaces", "create", "acme")
    assert duplicate.exit_code == 2
    assert "already exists" in duplicate.stderr
    invalid = migrated("workspaces", "create", "Not A Slug")
    assert invalid.exit_code == 2
    assert "invalid slug" in invalid.stderr
    listed = migrated("workspaces", "list")
    assert "acme" in listed.stdout


def test_plugins_lists_the_builtin_channels(scrm: Scrm) -> None:
    result = scrm("plugins", "--json")
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    builtin = {p["name"]: p for p in listing["plugins"] if p["builtin"]}
    assert "socialcrm.plugins.wechat.plugin" in builtin
    assert "scrm_channels" in builtin["socialcrm.plugins.wechat.plugin"]["hooks"]
    assert all(p["version"] for p in builtin.values())
    channels = {c["name"]: c for c in listing["channels"]}
    assert {"wechat", "weibo", "email"} <= set(channels)
    assert channels["wechat"]["plugin"] == "socialcrm.plugins.wechat.plugin"

    table = scrm("plugins")
    assert table.exit_code == 0
    assert "wechat" in table.stdout and "Channels" in table.stdout


def test_channels_connect_prints_the_webhook_url_and_no_secrets(
    migrated: Scrm, db_path: Path
) -> None:
    migrated("workspaces", "create", "acme")
    args = [
        "channels",
        "connect",
        "--workspace",
        "acme",
        "--channel",
        "wechat",
        "--slug",
        "acme-wx",
        "--setting",
        "app_id=wx1234567890abcdef",
        "--setting",
        "app_secret=very-secret-app-secret",
        "--setting",
        "token=tokenABC123",
        "--setting",
        "mode=plain",
        "--setting",
        "replay_window_seconds:=300",
    ]
    result = migrated(*args)
    assert result.exit_code == 0, result.output
    assert "https://crm.example.com/webhooks/wechat/acme-wx" in result.stdout
    assert "very-secret-app-secret" not in result.output
    assert "tokenABC123" not in result.output
    settings = json.loads(
        str(_query(db_path, "SELECT settings FROM channel_account WHERE slug = 'acme-wx'")[0][0])
    )
    assert settings["app_secret"] == "very-secret-app-secret"
    assert settings["replay_window_seconds"] == 300

    duplicate = migrated(*args)
    assert duplicate.exit_code == 2
    assert "already exists" in duplicate.stderr

    unknown = migrated(
        "channels", "connect", "--workspace", "acme", "--channel", "fax", "--slug", "x"
    )
    assert unknown.exit_code == 2
    assert "no channel named 'fax'" in unknown.stderr

    incomplete = migrated(
        "channels", "connect", "--workspace", "acme", "--channel", "wechat", "--slug", "wx2"
    )
    assert incomplete.exit_code == 2
    _no_traceback(incomplete)

    bad_setting = migrated(*args[:8], "--setting", "no-equals-sign")
    assert bad_setting.exit_code == 2


def test_export_schema_writes_the_sdl(scrm: Scrm, tmp_path: Path) -> None:
    from socialcrm.schema import export_sdl

    target = tmp_path / "schema.graphql"
    result = scrm("export-schema", "--output", str(target))
    assert result.exit_code == 0, result.output
    sdl = target.read_text(encoding="utf-8")
    assert sdl.strip() == export_sdl().strip()
    assert "type Query" in sdl and "viewer" in sdl

    to_stdout = scrm("export-schema", "--output", "-")
    assert to_stdout.stdout.strip() == sdl.strip()


def test_demo_loads_once(migrated: Scrm, db_path: Path) -> None:
    first = migrated("demo")
    assert first.exit_code == 0, first.output
    assert "Loaded demo workspace" in first.stdout
    counts = _query(
        db_path,
        "SELECT (SELECT count(*) FROM customer), (SELECT count(*) FROM interaction), "
        "(SELECT count(*) FROM workspace WHERE slug = 'demo')",
    )
    assert counts[0][2] == 1 and counts[0][0] >= 30 and counts[0][1] >= 200

    second = migrated("demo")
    assert second.exit_code == 0, second.output
    assert "Already loaded" in second.stdout
    assert (
        _query(
            db_path,
            "SELECT (SELECT count(*) FROM customer), (SELECT count(*) FROM interaction), "
            "(SELECT count(*) FROM workspace WHERE slug = 'demo')",
        )
        == counts
    )
    assert "https://crm.example.com/webhooks/wechat/demo-wechat" in second.stdout


def test_serve_runs_the_app_factory_and_warns_without_a_broker(
    scrm: Scrm, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    result = scrm("serve", "--host", "0.0.0.0", "--port", "9001", "--workers", "3")
    assert result.exit_code == 0, result.output
    [(target, options)] = calls
    assert target == "socialcrm.server.app:create_app" and options["factory"] is True
    assert (options["host"], options["port"], options["workers"]) == ("0.0.0.0", 9001, 3)
    assert "SCRM_BROKER_URL" in result.stderr
    assert "http://127.0.0.1:9001/graphql" in result.stdout

    calls.clear()
    single = scrm("serve", "--port", "9002")
    assert single.exit_code == 0
    assert "SCRM_BROKER_URL" not in single.stderr
    assert calls[0][1]["workers"] == 1


def test_serve_names_graphiql_only_when_it_is_on(
    scrm: Scrm, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    monkeypatch.setenv("SCRM_GRAPHIQL", "false")
    off = scrm("serve", "--port", "9003")
    assert "GraphiQL is off: SCRM_GRAPHIQL=true turns it on" in off.stdout
    assert "GraphiQL:" not in off.stdout
    monkeypatch.setenv("SCRM_GRAPHIQL", "true")
    on = scrm("serve", "--port", "9003")
    assert "GraphiQL:  http://127.0.0.1:9003/graphql" in on.stdout


@pytest.mark.slow
def test_serve_answers_graphql_with_the_printed_token(migrated: Scrm, env: dict[str, str]) -> None:
    assert migrated("demo").exit_code == 0
    scrm_bin = Path(sys.executable).with_name("scrm")
    command = (
        [str(scrm_bin)] if scrm_bin.exists() else [sys.executable, "-m", "socialcrm.server.cli"]
    )
    with scrm_serve(command, cwd=ROOT, env=env) as server:
        assert any(f"{server.base_url}/graphql" in line for line in server.banner), server.banner
        response = server.graphql("{ viewer { workspace { slug } } }")
        assert response.status_code == 200, response.text
        assert response.json()["data"]["viewer"]["workspace"]["slug"] == "demo"
