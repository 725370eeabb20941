"""Channels: the installed channel plugins and the workspace's connected accounts."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from socialcrm.schema.node import Node


@strawberry.type(description="A connected account of a channel (a WeChat official account …).")
class ChannelAccount(Node):
    """An account of the viewer's workspace on a channel. Secret settings are never shown."""

    channel: str = strawberry.field(description="The channel's name.")
    slug: str = strawberry.field(description="The account's part of its webhook URL.")
    name: str = strawberry.field(description="A name for operators.")
    webhook_url: str = strawberry.field(
        description="Where the platform must send its events for this account."
    )
    public_settings: JSON = strawberry.field(
        description="The account's settings without the secret ones (keys, tokens, passwords)."
    )
    created_at: datetime = strawberry.field(description="When the account was connected.")
    pk: strawberry.Private[int]


@strawberry.type(description="An installed channel plugin.")
class Channel:
    """A network the server can receive from (and maybe send to)."""

    name: str = strawberry.field(
        description="Unique short name, used in webhook URLs and on identities: `wechat`."
    )
    title: str = strawberry.field(description="Human-readable name.")
    description: str = strawberry.field(description="What the channel connects.")
    supports_send: bool = strawberry.field(
        description="True when the brand can send messages through it."
    )
    supports_poll: bool = strawberry.field(
        description="True when it pulls events (polling) rather than only receiving webhooks."
    )
    accounts: list[ChannelAccount] = strawberry.field(
        description="The viewer's workspace's connected accounts of this channel."
    )
