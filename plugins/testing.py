"""The testing kit for channel plugins: what a partner needs in their own tests.

Two levels, both without importing the server's internals:

- the conformance checks (``check_delivery``, ``check_refusal``, ``check_nesting_refusal``,
  ``check_event``) run a channel's ``verify``/``parse``/``respond`` directly and raise
  ``ConformanceError`` saying which promise of the contract broke (``parse`` is pure,
  external ids are stable and unique, times carry a zone, everything kept is JSON, a body
  nested thousands of levels deep is a 400 and not a crash);
- ``serve_plugins`` runs a real server in-process with the plugin loaded, on a fresh SQLite
  database in a temporary folder, and gives a ``PluginServer`` that connects accounts,
  delivers webhooks and asks GraphQL what was stored.

``hmac_signature`` signs a body the way most platforms do, and ``webhook_request`` and
``make_account`` build the arguments of a channel's methods. Installing socialcrm also
installs a pytest plugin (``socialcrm.plugins.pytest_plugin``) with the ``scrm_server``
fixture and pytest-asyncio's auto mode::

    from socialcrm.plugins.testing import check_delivery, check_refusal, make_account

    async def test_my_channel_conforms():
        account = make_account({"secret": "s"})
        events = await check_delivery(MyChannel(), account, signed_request(...))
        await check_refusal(MyChannel(), account, tampered_request(...))
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from socialcrm.plugins.channel import (
    AccountContext,
    Channel,
    ChannelError,
    VerifiedPayload,
    WebhookRequest,
    WebhookResponse,
)
from socialcrm.plugins.models import Direction, InboundEvent, InteractionKind

MAX_EXTERNAL_ID = 255


class ConformanceError(AssertionError):
    """A channel broke a promise of the plugin contract."""


class MemoryChannelState:
    """A ``ChannelState`` in a dict, for testing a plugin without a server.

    The server's own state lives in the database and is shared by every worker.
    """

    def __init__(self) -> None:
        self.values: dict[str, tuple[Any, datetime | None]] = {}

    async def get(self, key: str) -> Any | None:
        """The value under ``key``, or None when absent or expired."""
        entry = self.values.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if expires_at is not None and expires_at <= datetime.now(expires_at.tzinfo):
            return None
        return value

    async def set(self, key: str, value: Any, *, expires_at: datetime | None = None) -> None:
        """Store ``value`` under ``key``."""
        self.values[key] = (json.loads(json.dumps(value)), expires_at)

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        self.values.pop(key, None)


def make_account(
    settings: dict[str, Any],
    *,
    slug: str = "test",
    workspace_id: int = 1,
    account_id: int = 1,
    public_url: str = "https://crm.example.com",
    channel: str = "test",
) -> AccountContext:
    """An ``AccountContext`` like the server's, with in-memory state."""
    return AccountContext(
        workspace_id=workspace_id,
        account_id=account_id,
        slug=slug,
        settings=dict(settings),
        webhook_url=f"{public_url}/webhooks/{channel}/{slug}",
        state=MemoryChannelState(),
    )


def webhook_request(
    body: bytes | str = b"",
    *,
    method: str = "POST",
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    url: str = "https://crm.example.com/webhooks/test/test",
) -> WebhookRequest:
    """A ``WebhookRequest`` as the server builds it (header names lower-cased)."""
    return WebhookRequest(
        method=method,
        url=url,
        query=dict(query or {}),
        headers={k.lower(): v for k, v in (headers or {}).items()},
        body=body.encode() if isinstance(body, str) else body,
    )


async def check_delivery(
    channel: Channel, account: AccountContext, request: WebhookRequest
) -> list[InboundEvent]:
    """Verify and parse a genuine delivery and check every contract promise on the way.

    Returns the events so the caller can assert on their content.
    """
    check_channel_class(channel)
    payload = await channel.verify(request, account)
    if not isinstance(payload, VerifiedPayload) or not isinstance(payload.body, bytes):
        raise ConformanceError("verify() must return a VerifiedPayload with a bytes body")
    _check_json("VerifiedPayload.meta", payload.meta)
    events = channel.parse(payload, account)
    if not isinstance(events, list):
        raise ConformanceError("parse() must return a list of InboundEvent")
    stored = VerifiedPayload(payload.body, json.loads(json.dumps(payload.meta)))
    again = channel.parse(stored, account)
    if [asdict(e) for e in again] != [asdict(e) for e in events]:
        raise ConformanceError(
            "parse() gave other events for the same payload read back from storage: it must "
            "be pure and depend only on the body and meta"
        )
    seen: set[str] = set()
    for event in events:
        check_event(event)
        if event.external_id in seen:
            raise ConformanceError(f"two events of one delivery share id {event.external_id!r}")
        seen.add(event.external_id)
    response = channel.respond(payload, account, [])
    if not isinstance(response, WebhookResponse):
        raise ConformanceError("respond() must return a WebhookResponse")
    return events


async def check_refusal(
    channel: Channel, account: AccountContext, request: WebhookRequest
) -> ChannelError:
    """Check that a forged or malformed delivery is refused with a ``ChannelError``.

    Any other exception would surface as a 500 and make the platform retry forever.
    """
    try:
        payload = await channel.verify(request, account)
        channel.parse(payload, account)
    except ChannelError as exc:
        if exc.status_code not in (400, 403, 413):
            raise ConformanceError(f"unexpected status {exc.status_code} for a refusal") from exc
        if not exc.reason:
            raise ConformanceError("a refusal must say why (ChannelError.reason)") from exc
        return exc
    except Exception as exc:
        raise ConformanceError(
            f"bad input raised {type(exc).__name__} instead of VerificationFailed or InvalidPayload"
        ) from exc
    raise ConformanceError("the delivery was accepted; it should have been refused")


async def check_nesting_refusal(
    channel: Channel, account: AccountContext, request: WebhookRequest
) -> ChannelError:
    """Check that a delivery whose body nests far too deeply is refused with 400.

    Sign ``request`` as a genuine delivery, with a body from ``nested_json`` or
    ``nested_xml``: the channel must refuse it as ``InvalidPayload`` (read bodies with
    ``socialcrm.plugins.read_json``/``read_xml``), never let a ``RecursionError`` through.
    """
    try:
        payload = await channel.verify(request, account)
        channel.parse(payload, account)
    except RecursionError as exc:
        raise ConformanceError(
            "a deeply nested body raised RecursionError: read it with "
            "socialcrm.plugins.read_json or read_xml, which refuse it with InvalidPayload"
        ) from exc
    except ChannelError as exc:
        if exc.status_code != 400:
            raise ConformanceError(
                f"a deeply nested body was refused with {exc.status_code} ({exc.reason}), "
                "not 400: sign the request as a genuine delivery"
            ) from exc
        if not exc.reason:
            raise ConformanceError("a refusal must say why (ChannelError.reason)") from exc
        return exc
    except Exception as exc:
        raise ConformanceError(
            f"a deeply nested body raised {type(exc).__name__} instead of InvalidPayload"
        ) from exc
    raise ConformanceError("a deeply nested body was accepted; it should have been refused")


def nested_json(depth: int = 20_000) -> bytes:
    """A JSON array nested ``depth`` levels deep: a body no channel may crash on."""
    return b"[" * depth + b"]" * depth


def nested_xml(depth: int = 5_000, *, root: str = "xml") -> bytes:
    """An XML document whose elements nest ``depth`` levels under ``<root>``."""
    return f"<{root}>".encode() + b"<a>" * depth + b"</a>" * depth + f"</{root}>".encode()


def check_channel_class(channel: Channel) -> None:
    """Check the channel's descriptive attributes."""
    if not channel.name or not channel.name.replace("-", "").replace("_", "").isalnum():
        raise ConformanceError(f"channel name {channel.name!r} must be a short identifier")
    if channel.name != channel.name.lower():
        raise ConformanceError("channel names are lower case")
    if not channel.title:
        raise ConformanceError(f"channel {channel.name!r} has no title")
    if not isinstance(channel.secret_settings, frozenset):
        raise ConformanceError("secret_settings must be a frozenset of setting names")
    if channel.reply_deadline <= 0:
        raise ConformanceError("reply_deadline must be positive")


def check_event(event: InboundEvent) -> None:
    """Check one normalized event."""
    if not isinstance(event.external_id, str) or not event.external_id:
        raise ConformanceError("every event needs a non-empty string external_id")
    if len(event.external_id) > MAX_EXTERNAL_ID:
        raise ConformanceError(f"external_id longer than {MAX_EXTERNAL_ID} characters")
    sender = event.sender
    if sender is not None and (not sender.channel or not sender.external_id):
        raise ConformanceError(f"event {event.external_id}: sender needs channel and external_id")
    if not isinstance(event.occurred_at, datetime) or event.occurred_at.tzinfo is None:
        raise ConformanceError(f"event {event.external_id}: occurred_at must be timezone-aware")
    if not isinstance(event.kind, InteractionKind):
        raise ConformanceError(f"event {event.external_id}: kind must be an InteractionKind")
    if not isinstance(event.direction, Direction):
        raise ConformanceError(f"event {event.external_id}: direction must be a Direction")
    if not event.content_type:
        raise ConformanceError(f"event {event.external_id}: content_type is empty")
    _check_json(f"event {event.external_id}: data", event.data)
    _check_json(f"event {event.external_id}: raw", event.raw)
    if event.profile is not None:
        _check_json(f"event {event.external_id}: profile.extra", event.profile.extra)


def _check_json(what: str, value: Any) -> None:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ConformanceError(f"{what} must be JSON-serializable: {exc}") from exc


def hmac_signature(
    secret: str | bytes,
    body: bytes | str,
    *,
    algorithm: str = "sha256",
    encoding: str = "hex",
    prefix: str = "",
) -> str:
    """The HMAC of ``body`` under ``secret``, as platforms put it in a signature header.

    ``encoding`` is ``hex`` (GitHub-style ``sha256=…`` with ``prefix="sha256="``) or
    ``base64`` (LINE's ``X-Line-Signature``). Sign test deliveries with it independently of
    the plugin's own verification code.
    """
    key = secret.encode() if isinstance(secret, str) else secret
    data = body.encode() if isinstance(body, str) else body
    digest = hmac.new(key, data, getattr(hashlib, algorithm))
    if encoding == "hex":
        return prefix + digest.hexdigest()
    if encoding == "base64":
        return prefix + base64.b64encode(digest.digest()).decode()
    raise ValueError(f"encoding must be 'hex' or 'base64', not {encoding!r}")


class GraphQLErrors(AssertionError):
    """A GraphQL operation of a test answered with errors."""


@dataclass(slots=True)
class PluginServer:
    """A socialcrm server running in-process with a partner's plugin loaded.

    It owns one workspace and an admin token of it; ``client`` speaks HTTP to the app
    without a network. Build it with ``serve_plugins`` (or the ``scrm_server`` fixture).
    """

    app: Any
    """The ASGI application, its lifespan started."""
    client: httpx.AsyncClient
    """An HTTP client bound to the app (base URL ``http://testserver``)."""
    workspace_id: int
    """The workspace accounts are connected to and GraphQL reads."""
    token: str
    """An admin token of that workspace, sent by ``graphql``."""

    async def connect(
        self, channel: str, settings: dict[str, Any], *, slug: str | None = None
    ) -> str:
        """Connect an account of ``channel`` with ``settings``; returns its slug.

        The settings go through the channel's ``validate_settings``, as ``connectChannel``
        does; a refusal raises an error carrying the channel's reason.
        """
        # Imported here for the reason given in ``_running_server``.
        from socialcrm.server.accounts import connect_account

        services = self.app.state.services
        slug = slug or f"{channel}-{uuid.uuid4().hex[:8]}"
        async with services.sessions() as session, session.begin():
            await connect_account(
                session,
                services.sessions,
                services.plugins,
                workspace_id=self.workspace_id,
                channel=channel,
                slug=slug,
                settings=settings,
                public_url=services.settings.public_url,
            )
        return slug

    async def deliver(
        self,
        channel: str,
        slug: str,
        body: bytes | str = b"",
        *,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        method: str = "POST",
    ) -> httpx.Response:
        """Call the account's webhook as the platform would; returns the HTTP response.

        Observer hooks that run after the answer have finished when this returns.
        """
        response = await self.client.request(
            method,
            f"/webhooks/{channel}/{slug}",
            content=body.encode() if isinstance(body, str) else body,
            headers=headers,
            params=query,
        )
        await self.app.state.services.drain()
        return response

    async def graphql(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        """Run a GraphQL operation as the workspace's admin; returns its ``data``.

        Raises ``GraphQLErrors`` when the answer carries errors.
        """
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        answer = response.json()
        if answer.get("errors"):
            raise GraphQLErrors(json.dumps(answer["errors"], ensure_ascii=False))
        return answer["data"]


@contextlib.asynccontextmanager
async def serve_plugins(
    *plugins: object,
    database_url: str | None = None,
    load_entrypoints: bool = True,
    **settings: Any,
) -> AsyncIterator[PluginServer]:
    """A running server with the built-in channels, the installed plugins and ``plugins``.

    ``plugins`` are modules (or objects) with ``@hookimpl`` functions, registered as a
    server registers an installed package; one already installed is not registered twice.
    Without ``database_url`` the server runs on a new SQLite database in a temporary folder,
    migrated to the latest schema and removed afterwards. ``settings`` override server
    settings by name (``text_analysis=False`` …); polling and the periodic rescore are off
    unless given.
    """
    with tempfile.TemporaryDirectory(prefix="scrm-test-") as folder:
        url = database_url or f"sqlite+aiosqlite:///{Path(folder) / 'scrm.db'}"
        async with _running_server(url, plugins, load_entrypoints, settings) as server:
            yield server


@contextlib.asynccontextmanager
async def _running_server(
    database_url: str, plugins: Iterable[object], load_entrypoints: bool, overrides: dict[str, Any]
) -> AsyncIterator[PluginServer]:
    # The server is imported here, not at the top: the conformance checks, and the pytest
    # plugin that every pytest run in socialcrm's environment loads, must stay light.
    from socialcrm.plugins.manager import PluginManager
    from socialcrm.server.app import create_app
    from socialcrm.server.auth import create_token
    from socialcrm.server.migrations import upgrade_database
    from socialcrm.server.settings import Settings
    from socialcrm.server.tables import Workspace

    await upgrade_database(database_url)
    manager = PluginManager(load_entrypoints=load_entrypoints)
    for plugin in plugins:
        if not manager.pm.is_registered(plugin):
            manager.register(plugin, name=getattr(plugin, "__name__", None))
    options: dict[str, Any] = {
        "public_url": "http://testserver",
        "poll_interval_seconds": 0,
        "rescore_interval_seconds": 0,
        **overrides,
    }
    settings = Settings(database_url=database_url, _env_file=None, **options)  # type: ignore[call-arg]
    app = create_app(settings, manager)
    services = app.state.services
    async with app.router.lifespan_context(app):
        async with services.sessions() as session, session.begin():
            workspace = Workspace(slug=f"test-{uuid.uuid4().hex[:10]}", name="Plugin tests")
            session.add(workspace)
            await session.flush()
            assert workspace.id is not None
            token = await create_token(session, workspace.id, "admin", name="plugin tests")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield PluginServer(app, client, workspace.id, token)
