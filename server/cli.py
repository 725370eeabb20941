"""The ``scrm`` command line: serve, migrate, load the demo, manage workspaces, tokens, channels.

Every command reads the same ``SCRM_*`` settings as the server (``SCRM_DATABASE_URL`` above
all). Expected failures print one clear line on stderr and exit non-zero: 2 for a bad
argument (unknown workspace, scope or channel), 1 for anything else (database unreachable,
not migrated). Set ``SCRM_DEBUG=1`` to see the traceback of an unexpected error.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from socialcrm.plugins.manager import PluginManager
from socialcrm.server.auth import (
    SCOPES,
    InvalidLifetime,
    create_token,
    hash_token,
    parse_lifetime,
    replace_token,
)
from socialcrm.server.settings import Settings, local_url

T = TypeVar("T")

USAGE_ERROR = 2
"""Exit code of a bad argument, as click uses for usage errors."""
FAILURE = 1

WORKSPACE_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")

SERVE_TOKEN_NAME = "scrm serve"
"""The name of the admin tokens ``scrm serve`` makes; each start revokes the previous one."""

app = typer.Typer(
    name="scrm",
    help="socialcrm: a Social CRM server with a GraphQL API and channel plugins.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
tokens_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
workspaces_app = typer.Typer(help="Create and list workspaces (tenants).", no_args_is_help=True)
channels_app = typer.Typer(help="Connect channel accounts.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")
app.add_typer(workspaces_app, name="workspaces")
app.add_typer(channels_app, name="channels")


class CliError(Exception):
    """An expected failure: its message is shown as is, the process exits with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _out() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str, exit_code: int = FAILURE) -> NoReturn:
    _err().print(f"[bold red]error:[/] {message}", markup=True)
    raise typer.Exit(exit_code)


def _settings() -> Settings:
    # Built afresh for each command rather than the cached process-wide copy, so the
    # environment of this invocation is what counts.
    return Settings()


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine, turning expected failures into one line and an exit code."""
    try:
        return asyncio.run(coro)
    except CliError as exc:
        _fail(str(exc), exc.exit_code)
    except (DBAPIError, OSError) as exc:
        if os.environ.get("SCRM_DEBUG"):
            raise
        _fail(_database_message(exc))
    except SQLAlchemyError as exc:
        if os.environ.get("SCRM_DEBUG"):
            raise
        _fail(f"database error: {exc}")


def _database_message(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    url = _safe_url(_settings().database_url)
    if "no such table" in text or ("does not exist" in text and "relation" in text):
        return f"the database {url} has no socialcrm tables yet: run `scrm migrate` first"
    return f"cannot use the database {url}: {first}"


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    from socialcrm.server.db import create_engine, session_factory

    engine = create_engine(settings.database_url, pool_size=2)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def _workspace_id(session: AsyncSession, slug: str) -> int:
    from socialcrm.server.tables import Workspace

    workspace_id = await session.scalar(
        select(col(Workspace.id)).where(col(Workspace.slug) == slug)
    )
    if workspace_id is None:
        raise CliError(
            f"no workspace with slug {slug!r} (create it with `scrm workspaces create {slug}`)",
            USAGE_ERROR,
        )
    return int(workspace_id)


# serve, migrate, demo ---------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind [SCRM_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind [SCRM_PORT].")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart when the code changes (development).")] = (
        False
    ),
    admin_token_for: Annotated[
        str | None,
        typer.Option(
            metavar="SLUG",
            help="Print a fresh admin token of this workspace (the one the previous start "
            "printed is revoked).",
        ),
    ] = None,
) -> None:
    """Run the server with uvicorn (``socialcrm.server.app:create_app``)."""
    import uvicorn

    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    err = _err()
    if workers > 1 and not settings.broker_url:
        err.print(
            "[yellow]warning:[/] several workers without SCRM_BROKER_URL: each worker has its "
            "own in-memory bus, so a subscriber only sees events ingested by its own worker. "
            "Set SCRM_BROKER_URL (postgresql://…) to share events.",
            markup=True,
        )
    if workers > 1 and make_url(settings.database_url).get_backend_name() == "sqlite":
        err.print(
            "[yellow]warning:[/] several workers on SQLite serialize their writes; use "
            "PostgreSQL (SCRM_DATABASE_URL=postgresql+asyncpg://…) for production.",
            markup=True,
        )
    token = _run(_serve_token(settings, admin_token_for)) if admin_token_for else None
    # The app factory (in each worker) reads its settings from the environment: the host and
    # port given here must reach it, or a public URL derived from them would name another port.
    with _environment(SCRM_HOST=host, SCRM_PORT=str(port)):
        public_url = _settings().public_url.rstrip("/")
        out = _out()
        out.print()
        graphql = f"{local_url(host, port)}/graphql"
        if settings.graphiql:
            out.print(f"  GraphiQL:  {graphql}")
        else:
            out.print(f"  GraphQL:   {graphql} (GraphiQL is off: SCRM_GRAPHIQL=true turns it on)")
        if token:
            out.print(f"  Admin token of workspace {admin_token_for!r} (older ones revoked):")
            out.print(f"    {token}")
            out.print("  Send it as the header:")
            out.print(f'    {{"Authorization": "Bearer {token}"}}')
        out.print(f"  Webhooks:  {public_url}/webhooks/<channel>/<account>")
        out.print(f"  Database:  {_safe_url(settings.database_url)}")
        out.print()
        uvicorn.run(
            "socialcrm.server.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=None if reload else workers,
            reload=reload,
        )


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def _serve_token(settings: Settings, workspace: str) -> str:
    async with _database(settings) as sessions, sessions() as session, session.begin():
        workspace_id = await _workspace_id(session, workspace)
        return await replace_token(session, workspace_id, "admin", SERVE_TOKEN_NAME)


@app.command()
def migrate(
    revision: Annotated[str, typer.Option(help="Alembic revision to upgrade to.")] = "head",
) -> None:
    """Apply the database migrations (Alembic upgrade) to SCRM_DATABASE_URL."""
    from socialcrm.server.migrations import upgrade_database

    settings = _settings()
    _run(upgrade_database(settings.database_url, revision))
    _err().print(f"Database {_safe_url(settings.database_url)} migrated to {revision}.")


@app.command()
def demo() -> None:
    """Load the demo workspace (slug ``demo``) unless it is already there."""
    result = _run(_load_demo(_settings()))
    out = _out()
    verb = "Loaded" if result.created else "Already loaded:"
    out.print(
        f"{verb} demo workspace 'demo' — {result.customers} customers, "
        f"{result.communities} communities, {result.interactions} interactions, "
        f"{result.relationships} relationships."
    )
    for channel, slug, url in result.accounts:
        out.print(f"  {channel:<8} {slug:<14} {url}")
    for note in result.notes:
        _err().print(f"[yellow]note:[/] {note}", markup=True)
    if result.created:
        out.print("Create a token with: scrm tokens create --workspace demo --scope admin")


async def _load_demo(settings: Settings) -> Any:
    from socialcrm.server.demo import load_demo
    from socialcrm.server.standalone import standalone_services

    async with standalone_services(settings) as services:
        return await load_demo(services, public_url=settings.public_url)


# tokens -------------------------------------------------------------------------------------


@tokens_app.command("create")
def tokens_create(
    workspace: Annotated[str, typer.Option(help="Slug of the token's workspace.")],
    scope: Annotated[str, typer.Option(help="read, write or admin.")],
    name: Annotated[str, typer.Option(help="A note saying what the token is for.")] = "",
    expires_in: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION",
            help="Refuse the token after this long: a whole number and s, m, h or d "
            "(30d, 12h; m is minutes). Without it the token never expires.",
        ),
    ] = None,
) -> None:
    """Create a bearer token; it is printed once (only its hash is stored)."""
    from socialcrm.server.sqltypes import utcnow

    if scope not in SCOPES:
        _fail(f"unknown scope {scope!r}: use one of {', '.join(SCOPES)}", USAGE_ERROR)
    expires_at = None
    if expires_in is not None:
        try:
            expires_at = utcnow() + parse_lifetime(expires_in)
        except InvalidLifetime as exc:
            _fail(f"--expires-in: {exc}", USAGE_ERROR)
    token = _run(_create_token(_settings(), workspace, scope, name, expires_at))
    # The token alone on stdout, so `TOKEN=$(scrm tokens create …)` works.
    _out().print(token)
    lifetime = f"It expires at {expires_at:%Y-%m-%d %H:%M} UTC. " if expires_at else ""
    _err().print(
        f"Created a token of workspace {workspace!r} with scope {scope}. "
        f"{lifetime}It is shown only now: store it."
    )


async def _create_token(
    settings: Settings, workspace: str, scope: str, name: str, expires_at: datetime | None
) -> str:
    async with _database(settings) as sessions, sessions() as session, session.begin():
        workspace_id = await _workspace_id(session, workspace)
        return await create_token(session, workspace_id, scope, name=name, expires_at=expires_at)


@tokens_app.command("list")
def tokens_list(
    workspace: Annotated[str, typer.Option(help="Slug of the workspace.")],
) -> None:
    """List a workspace's tokens (never the tokens themselves); times are UTC."""
    from socialcrm.server.sqltypes import utcnow

    rows = _run(_list_tokens(_settings(), workspace))
    now = utcnow()
    table = Table("id", "name", "scope", "created", "last used", "revoked", "expires")
    for row in rows:
        expires = f"{row.expires_at:%Y-%m-%d %H:%M}" if row.expires_at else "never"
        if row.expires_at and row.expires_at <= now:
            expires += " (expired)"
        table.add_row(
            str(row.id),
            row.name,
            row.scope,
            f"{row.created_at:%Y-%m-%d %H:%M}",
            f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "",
            f"{row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "",
            expires,
        )
    _out().print(table)


async def _list_tokens(settings: Settings, workspace: str) -> list[Any]:
    from socialcrm.server.tables import ApiToken

    async with _database(settings) as sessions, sessions() as session:
        workspace_id = await _workspace_id(session, workspace)
        result = await session.execute(
            select(ApiToken)
            .where(col(ApiToken.workspace_id) == workspace_id)
            .order_by(col(ApiToken.id))
        )
        return list(result.scalars())


@tokens_app.command("revoke")
def tokens_revoke(
    token: Annotated[str | None, typer.Argument(help="The token to revoke.")] = None,
    token_id: Annotated[
        int | None, typer.Option("--id", help="Revoke by id (see `scrm tokens list`).")
    ] = None,
) -> None:
    """Revoke a token, given either the token itself or its id."""
    if (token is None) == (token_id is None):
        _fail("give either the token or --id", USAGE_ERROR)
    revoked = _run(_revoke_token(_settings(), token, token_id))
    _err().print(f"Revoked token {revoked}. Servers stop accepting it within seconds.")


async def _revoke_token(settings: Settings, token: str | None, token_id: int | None) -> int:
    from socialcrm.server.sqltypes import utcnow
    from socialcrm.server.tables import ApiToken

    async with _database(settings) as sessions, sessions() as session, session.begin():
        query = select(ApiToken)
        if token is not None:
            query = query.where(col(ApiToken.token_hash) == hash_token(token))
        else:
            query = query.where(col(ApiToken.id) == token_id)
        row = (await session.execute(query)).scalar_one_or_none()
        if row is None:
            raise CliError("no such token", USAGE_ERROR)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        assert row.id is not None
        return row.id


# workspaces ---------------------------------------------------------------------------------


@workspaces_app.command("create")
def workspaces_create(
    slug: Annotated[str, typer.Argument(help="Short unique name: lower-case letters, digits, -.")],
    name: Annotated[str | None, typer.Option(help="Display name (defaults to the slug).")] = None,
) -> None:
    """Create a workspace (a tenant: one brand's CRM)."""
    if not WORKSPACE_SLUG.match(slug):
        _fail(
            f"invalid slug {slug!r}: use 1-63 lower-case letters, digits or dashes",
            USAGE_ERROR,
        )
    workspace_id = _run(_create_workspace(_settings(), slug, name or slug))
    _err().print(f"Created workspace {slug!r} (id {workspace_id}).")
    _err().print(f"Next: scrm tokens create --workspace {slug} --scope admin")


async def _create_workspace(settings: Settings, slug: str, name: str) -> int:
    from socialcrm.server.tables import Workspace

    async with _database(settings) as sessions, sessions() as session, session.begin():
        exists = await session.scalar(select(col(Workspace.id)).where(col(Workspace.slug) == slug))
        if exists is not None:
            raise CliError(f"a workspace with slug {slug!r} already exists", USAGE_ERROR)
        workspace = Workspace(slug=slug, name=name)
        session.add(workspace)
        await session.flush()
        assert workspace.id is not None
        return workspace.id


@workspaces_app.command("list")
def workspaces_list() -> None:
    """List the workspaces."""
    rows = _run(_list_workspaces(_settings()))
    table = Table("id", "slug", "name", "created")
    for row in rows:
        table.add_row(str(row.id), row.slug, row.name, f"{row.created_at:%Y-%m-%d}")
    _out().print(table)


async def _list_workspaces(settings: Settings) -> list[Any]:
    from socialcrm.server.tables import Workspace

    async with _database(settings) as sessions, sessions() as session:
        result = await session.execute(select(Workspace).order_by(col(Workspace.id)))
        return list(result.scalars())


# plugins and channels -----------------------------------------------------------------------


plugins_app = typer.Typer(
    help="List the installed plugins and the channels they provide; write a new one.",
    invoke_without_command=True,
)
app.add_typer(plugins_app, name="plugins")


@plugins_app.callback()
def plugins(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """List the installed plugins (their distributions, versions and hooks) and the channels
    they provide."""
    if ctx.invoked_subcommand is not None:
        return
    manager = PluginManager()
    try:
        channels = manager.channels
    except Exception as exc:  # a clash or a broken plugin: say which, not a traceback
        _fail(str(exc))
    infos = manager.plugins()
    owners = _channel_owners(manager)
    channel_rows = [
        {"name": name, "title": channel.title, "plugin": owners.get(name)}
        for name, channel in channels.items()
    ]
    if as_json:
        _out().print_json(
            data={
                "plugins": [
                    {
                        "name": info.name,
                        "distribution": info.distribution,
                        "version": info.version,
                        "hooks": list(info.hooks),
                        "builtin": info.builtin,
                    }
                    for info in infos
                ],
                "channels": channel_rows,
            }
        )
        return
    table = Table("plugin", "distribution", "hooks", "builtin", title="Plugins")
    for info in infos:
        distribution = " ".join(part for part in (info.distribution, info.version) if part)
        table.add_row(info.name, distribution, ", ".join(info.hooks), "yes" if info.builtin else "")
    out = _out()
    out.print(table)
    channel_table = Table("channel", "title", "plugin", title="Channels")
    for row in channel_rows:
        channel_table.add_row(row["name"], row["title"], row["plugin"] or "")
    out.print(channel_table)


@plugins_app.command("new")
def plugins_new(
    name: Annotated[str, typer.Argument(help="The channel's name: line, my-chat.")],
    directory: Annotated[
        Path, typer.Option("--directory", "-d", help="Where to create the package's folder.")
    ] = Path("."),
) -> None:
    """Write a ready channel-plugin package into ./scrm-NAME/: pyproject with the ``scrm``
    entry point, a channel with verify/parse/respond, a passing conformance test, a README."""
    from socialcrm.server.scaffold import ScaffoldError, plugin_names, write_plugin

    try:
        names = plugin_names(name)
        if name in PluginManager().channels:
            raise ScaffoldError(f"a channel named {name!r} is already installed: choose another")
        target = write_plugin(names, directory)
    except ScaffoldError as exc:
        _fail(str(exc), USAGE_ERROR)
    except OSError as exc:
        _fail(f"cannot write the package: {exc}")
    err = _err()
    next_steps = (
        f"Wrote the {names.name!r} channel plugin package {names.dist} in {target}.",
        "Next:",
        f"  cd {target}",
        "  pip install -e '.[test]'",
        "  pytest",
    )
    for line in next_steps:
        err.print(line, markup=False)


def _channel_owners(manager: PluginManager) -> dict[str, str]:
    """Channel name → the name of the plugin that provides it."""
    owners: dict[str, str] = {}
    # Match by name, not identity: a plugin may build new Channel objects on every call.
    for impl in manager.hook.scrm_channels.get_hookimpls():
        for channel in impl.function() or ():
            owners.setdefault(channel.name, impl.plugin_name)
    return owners


def _parse_setting(text: str) -> tuple[str, Any]:
    """``key=value`` is a string; ``key:=value`` is JSON (numbers, booleans, lists)."""
    key, sep, value = text.partition("=")
    is_json = key.endswith(":")
    key = key.removesuffix(":").strip()
    if not sep or not key:
        raise CliError(f"setting {text!r}: write key=value (or key:=json)", USAGE_ERROR)
    if not is_json:
        return key, value
    try:
        return key, json.loads(value)
    except json.JSONDecodeError as exc:
        raise CliError(f"setting {key!r}: not JSON ({exc.msg})", USAGE_ERROR) from exc


@channels_app.command("connect")
def channels_connect(
    workspace: Annotated[str, typer.Option(help="Slug of the workspace.")],
    channel: Annotated[str, typer.Option(help="Channel name (see `scrm plugins`).")],
    slug: Annotated[str, typer.Option(help="The account's part of its webhook URL.")],
    setting: Annotated[
        list[str] | None,
        typer.Option(
            "--setting",
            "-s",
            metavar="KEY=VALUE",
            help="A channel setting; repeat it. key:=json for numbers, booleans, lists.",
        ),
    ] = None,
    name: Annotated[str, typer.Option(help="Display name of the account.")] = "",
) -> None:
    """Connect a channel account and print its webhook URL and setup steps (no secrets)."""
    try:
        values = dict(_parse_setting(item) for item in setting or [])
    except CliError as exc:
        _fail(str(exc), exc.exit_code)
    webhook, instructions = _run(_connect(_settings(), workspace, channel, slug, values, name))
    out = _out()
    out.print(f"Connected {channel} account {slug!r} to workspace {workspace!r}.")
    out.print(f"Webhook URL: {webhook}")
    out.print()
    out.print(instructions)


async def _connect(
    settings: Settings,
    workspace: str,
    channel: str,
    slug: str,
    values: dict[str, Any],
    name: str,
) -> tuple[str, str]:
    from socialcrm.server.accounts import AccountError, connect_account

    manager = PluginManager()
    plugin = manager.channel(channel)
    if plugin is None:
        raise CliError(
            f"no channel named {channel!r}; installed: {', '.join(manager.channels) or 'none'}",
            USAGE_ERROR,
        )
    async with _database(settings) as sessions, sessions() as session, session.begin():
        workspace_id = await _workspace_id(session, workspace)
        try:
            connected = await connect_account(
                session,
                sessions,
                manager,
                workspace_id=workspace_id,
                channel=channel,
                slug=slug,
                settings=values,
                public_url=settings.public_url,
                name=name,
            )
        except AccountError as exc:
            where = f" ({exc.field})" if exc.field else ""
            raise CliError(f"{exc}{where}", USAGE_ERROR) from exc
        secrets = [
            str(value)
            for key, value in connected.account.settings.items()
            if key in plugin.secret_settings and value is not None and len(str(value)) >= 3
        ]
    return connected.webhook_url, _mask(connected.setup_instructions, secrets)


def _mask(text: str, secrets: list[str]) -> str:
    """``text`` with every secret value replaced: the terminal and its scrollback keep none."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "•" * 8 + " (the value you entered)")
    return text


# scores -------------------------------------------------------------------------------------

RESCORE_STEPS = {"read": 0, "compute": 4, "write": 5}
"""Where each phase of a rescore starts on its progress bar (4 reads, compute, 5 writes)."""


@app.command()
def rescore(
    workspace: Annotated[
        str | None,
        typer.Option(metavar="SLUG", help="Rescore this workspace only (default: every one)."),
    ] = None,
) -> None:
    """Recompute every customer's scores and lifecycle stage from their whole history."""
    results = _run(_rescore(_settings(), workspace))
    out = _out()
    for slug, result in results:
        out.print(
            f"{slug}: {result.customers} customers rescored in {result.seconds:.1f}s "
            f"({result.written} written, {result.stage_changes} stage changes)"
        )
    if not results:
        out.print("No workspace to rescore.")


async def _rescore(settings: Settings, slug: str | None) -> list[tuple[str, Any]]:
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from socialcrm.server.scoring.batch import rescore_workspace
    from socialcrm.server.standalone import standalone_services
    from socialcrm.server.tables import Workspace

    results: list[tuple[str, Any]] = []
    # Stage changes run the plugins' scrm_customer_changed hooks and go out on the bus, as
    # the server's own rescores do.
    async with standalone_services(settings) as services:
        async with services.sessions() as session:
            if slug is not None:
                targets = [(await _workspace_id(session, slug), slug)]
            else:
                rows = await session.execute(
                    select(col(Workspace.id), col(Workspace.slug)).order_by(col(Workspace.id))
                )
                targets = [(int(row[0] or 0), str(row[1])) for row in rows]
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=_err(), transient=False) as bar:
            for workspace_id, name in targets:
                task = bar.add_task(f"{name}: read", total=10)

                def show(
                    phase: str, done: int, total: int, task: Any = task, name: str = name
                ) -> None:
                    if phase == "announce":
                        bar.update(task, description=f"{name}: announce {done}/{total}")
                    else:
                        bar.update(
                            task,
                            description=f"{name}: {phase}",
                            completed=RESCORE_STEPS[phase] + done,
                        )

                result = await rescore_workspace(services, workspace_id, progress=show)
                bar.update(task, description=f"{name}: done", completed=10)
                results.append((name, result))
    return results


# inbox --------------------------------------------------------------------------------------

inbox_app = typer.Typer(help="Work on the stored raw webhook payloads.", no_args_is_help=True)
app.add_typer(inbox_app, name="inbox")


@inbox_app.command("replay")
def inbox_replay(
    channel: Annotated[str, typer.Option(help="Replay this channel's payloads.")],
    account: Annotated[
        str | None, typer.Option(metavar="SLUG", help="Only this account's payloads.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="TIME", help="Only payloads received at or after this ISO time (UTC if bare)."
        ),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(help="Only payloads in this state: pending, processed or failed."),
    ] = None,
) -> None:
    """Parse stored payloads again with the channel plugin installed now and store the
    interactions that are new (after a fix to the plugin's parse); the ones stored before
    are left as they are. Exits 1 if a payload still fails."""
    from socialcrm.server.replay import ReplayCriteria

    try:
        received = _parse_time(since) if since is not None else None
    except CliError as exc:
        _fail(str(exc), exc.exit_code)
    criteria = ReplayCriteria(channel=channel, account=account, since=received, status=status)
    result = _run(_replay(_settings(), criteria))
    _out().print(
        f"Replayed {result.payloads} stored {channel} payloads: {result.events} events, "
        f"{result.stored} stored now, {result.unchanged} stored before and left as they are "
        f"({result.differing} of them differ from the new parse), {result.failed} failed.",
        markup=False,
    )
    err = _err()
    for raw_id, error in result.errors[:20]:
        err.print(f"  raw event {raw_id}: {error}", markup=False)
    if len(result.errors) > 20:
        err.print(f"  … and {len(result.errors) - 20} more", markup=False)
    if result.failed:
        raise typer.Exit(FAILURE)


def _parse_time(text: str) -> datetime:
    """An ISO 8601 date or time; a time without a zone is UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"--since {text!r}: not an ISO time (2026-03-01 or 2026-03-01T08:00:00+08:00)",
            USAGE_ERROR,
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def _replay(settings: Settings, criteria: Any) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from socialcrm.server.replay import ReplayError, replay_raw_events
    from socialcrm.server.standalone import standalone_services

    # Observer hooks and subscribers hear of what is stored now, as for a live delivery.
    async with standalone_services(settings) as services:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        bar = Progress(*columns, console=_err(), transient=False)
        task = bar.add_task(f"replay {criteria.channel}", total=None)

        def show(done: int, total: int) -> None:
            bar.start()  # at the first payload, so a refused replay prints only its error
            bar.update(task, completed=done, total=total)

        try:
            return await replay_raw_events(services, criteria, progress=show)
        except ReplayError as exc:
            raise CliError(str(exc), USAGE_ERROR) from exc
        finally:
            bar.stop()


# text analysis ------------------------------------------------------------------------------


@app.command()
def analyze(
    channel: Annotated[
        str, typer.Option(help='Channel of the texts, unless a JSON line names its "channel".')
    ] = "cli",
    language: Annotated[
        str | None,
        typer.Option(help='Language hint (zh, en …), unless a JSON line gives its "language".'),
    ] = None,
) -> None:
    """Analyze texts from stdin: one per line, or JSON lines with a "text" field (and
    optional "id", "channel", "language"). Prints one JSON line each: language, sentiment,
    complaint, keywords (and the "id"). Blank lines are skipped; a bad line is reported on
    stderr by its number and the others go on; the exit status is 1 if any line failed."""
    failed = asyncio.run(_analyze_lines(sys.stdin.buffer, PluginManager(), channel, language))
    if failed:
        raise typer.Exit(FAILURE)


async def _analyze_lines(
    lines: Iterable[bytes], manager: PluginManager, channel: str, language: str | None
) -> int:
    from socialcrm.server.analysis import analyze_text

    failed = 0
    for number, raw in enumerate(lines, start=1):
        try:
            request = _analysis_request(raw, channel, language)
        except CliError as exc:
            failed += 1
            _err().print(f"error: line {number}: {exc}", markup=False)
            continue
        if request is None:
            continue
        answer, text, line_channel, hint = request
        result = await analyze_text(manager, text, channel=line_channel, language_hint=hint)
        answer["language"] = result.language if result else None
        answer["sentiment"] = result.sentiment if result else None
        answer["complaint"] = result.is_complaint if result else None
        answer["keywords"] = list(result.keywords) if result else []
        typer.echo(json.dumps(answer, ensure_ascii=False))
    return failed


def _analysis_request(
    raw: bytes, channel: str, language: str | None
) -> tuple[dict[str, Any], str, str, str | None] | None:
    """The start of the line's answer (its "id", if it has one), its text, channel and
    language hint; None for a blank line."""
    try:
        line = raw.decode("utf-8").removesuffix("\n").removesuffix("\r")
    except UnicodeDecodeError as exc:
        raise CliError(f"not UTF-8 (byte {exc.start + 1})") from exc
    if not line.strip():
        return None
    if not line.lstrip().startswith("{"):
        return {}, line, channel, language
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CliError(f"not valid JSON: {exc.msg} (column {exc.colno})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise CliError('a JSON line must be an object with a "text" string')
    for field in ("channel", "language"):
        if not isinstance(data.get(field), str | None):
            raise CliError(f'"{field}" must be a string')
    return (
        {"id": data["id"]} if "id" in data else {},
        data["text"],
        data.get("channel") or channel,
        data.get("language") or language,
    )


# schema -------------------------------------------------------------------------------------


@app.command("export-schema")
def export_schema(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the SDL; - for stdout.")
    ] = Path("schema.graphql"),
) -> None:
    """Write the GraphQL schema (SDL) that frontend teams build against."""
    try:
        from socialcrm.schema import export_sdl
    except ImportError as exc:
        _fail(f"the GraphQL schema cannot be loaded: {exc}")
    sdl = export_sdl()
    if not sdl.endswith("\n"):
        sdl += "\n"
    if str(output) == "-":
        typer.echo(sdl, nl=False)
        return
    try:
        output.write_text(sdl, encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror}")
    _err().print(f"Wrote the schema to {output} ({sdl.count(chr(10))} lines).")


def main() -> None:
    """Entry point for ``python -m socialcrm.server.cli``."""
    app()


if __name__ == "__main__":
    main()
