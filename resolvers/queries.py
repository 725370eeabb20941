"""Resolvers of the root Query fields. Each answers only from the viewer's workspace."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import strawberry

from socialcrm.resolvers.communities import communities
from socialcrm.resolvers.context import Context
from socialcrm.resolvers.customers import customer_argument, customer_by_pk, customers
from socialcrm.resolvers.interactions import global_pk, interactions
from socialcrm.schema.channel import Channel, ChannelAccount
from socialcrm.schema.community import Community
from socialcrm.schema.customer import Customer
from socialcrm.schema.enums import Scope
from socialcrm.schema.errors import BadUserInput
from socialcrm.schema.node import Node, from_global_id, to_global_id
from socialcrm.schema.viewer import Viewer, Workspace
from socialcrm.server import read
from socialcrm.server.outbound import can_send

__all__ = [
    "channels",
    "communities",
    "community",
    "customer",
    "customers",
    "interactions",
    "node",
    "viewer",
]

# Setting names that look secret are hidden even when a channel forgets to declare them.
_SECRET_LOOKING = re.compile(r"secret|token|password|passwd|key|credential", re.IGNORECASE)


async def node(info: strawberry.Info, id: str) -> Node | None:
    """Any object of the viewer's workspace by global id; null for others' and unknown ids."""
    ctx: Context = info.context
    parsed = from_global_id(id)
    if parsed is None:
        raise BadUserInput(f"id must be a global id, not {id!r}", field="id")
    type_name, pk = parsed
    if type_name == "Customer":
        # A merged customer's id answers the survivor, as `customer(id:)` does.
        return await customer_by_pk(ctx, pk)
    if type_name == "Community":
        return await ctx.loaders.communities.load(pk)  # type: ignore[no-any-return]
    if type_name == "Interaction":
        return await ctx.loaders.interactions.load(pk)  # type: ignore[no-any-return]
    if type_name == "ChannelAccount":
        accounts = await _accounts(ctx, pk)
        return accounts[0] if accounts else None
    if type_name == "Workspace":
        return (await viewer(info)).workspace if pk == ctx.workspace_id else None
    return None


async def customer(info: strawberry.Info, id: str) -> Customer | None:
    """`customer(id)`; a merged customer's id answers the customer it was merged into."""
    return await customer_argument(info.context, id, "id")


async def community(info: strawberry.Info, id: str) -> Community | None:
    """`community(id)`."""
    pk = global_pk(id, "Community", "id")
    return await info.context.loaders.communities.load(pk)  # type: ignore[no-any-return]


def public_settings(settings: dict[str, Any], secret: frozenset[str]) -> dict[str, Any]:
    """An account's settings without the secret ones."""
    return {
        name: value
        for name, value in settings.items()
        if name not in secret and not _SECRET_LOOKING.search(name)
    }


async def _accounts(ctx: Context, account_id: int | None = None) -> list[ChannelAccount]:
    rows = await ctx.db.all(read.channel_accounts(ctx.workspace_id, account_id))
    plugins = ctx.services.plugins
    base = ctx.services.settings.public_url.rstrip("/")
    accounts = []
    for row in rows:
        plugin = plugins.channel(row.channel)
        secret = plugin.secret_settings if plugin is not None else frozenset()
        accounts.append(
            ChannelAccount(
                id=to_global_id("ChannelAccount", row.id),
                pk=row.id,
                channel=row.channel,
                slug=row.slug,
                name=row.name,
                webhook_url=f"{base}/webhooks/{row.channel}/{row.slug}",
                public_settings=public_settings(row.settings or {}, secret),  # type: ignore[arg-type]
                created_at=row.created_at,
            )
        )
    return accounts


async def channels(info: strawberry.Info) -> list[Channel]:
    """The installed channel plugins, each with the workspace's accounts of it."""
    ctx: Context = info.context
    by_channel: dict[str, list[ChannelAccount]] = defaultdict(list)
    for account in await _accounts(ctx):
        by_channel[account.channel].append(account)
    from socialcrm.plugins.channel import Channel as ChannelPlugin

    return [
        Channel(
            name=plugin.name,
            title=plugin.title or plugin.name,
            description=plugin.description,
            supports_send=can_send(plugin),
            supports_poll=type(plugin).poll is not ChannelPlugin.poll,
            accounts=by_channel.get(name, []),
        )
        for name, plugin in ctx.services.plugins.channels.items()
    ]


async def viewer(info: strawberry.Info) -> Viewer:
    """The token's workspace and scopes."""
    ctx: Context = info.context
    who = ctx.require("read")
    row = (await ctx.db.all(read.workspace_by_id(who.workspace_id)))[0]
    return Viewer(
        workspace=Workspace(
            id=to_global_id("Workspace", row.id), pk=row.id, name=row.name, slug=row.slug
        ),
        scopes=[Scope(scope) for scope in who.scopes],
    )
