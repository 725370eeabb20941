"""Channel mutations: connect a channel account (admin only)."""

from __future__ import annotations

from typing import cast

import strawberry
from strawberry.scalars import JSON

from socialcrm.resolvers.mutations.base import require_scope, services_of, transaction, user_error
from socialcrm.schema.channel import ChannelAccount
from socialcrm.schema.mutation_types import ConnectChannelInput, ConnectChannelPayload
from socialcrm.schema.node import to_global_id
from socialcrm.server.accounts import AccountError, connect_account, public_settings
from socialcrm.server.errors import ChangeRejected


async def connect_channel(
    info: strawberry.Info, data: ConnectChannelInput
) -> ConnectChannelPayload:
    """Validate the settings with the channel plugin and store the account.

    The answer carries the webhook URL and the public settings only: the channel's
    ``secret_settings`` never leave the server.
    """
    viewer = require_scope(info, "admin")
    services = services_of(info)
    try:
        if not isinstance(data.settings, dict):
            raise ChangeRejected("settings must be a JSON object", code="INVALID", field="settings")
        async with transaction(services) as session:
            connected = await connect_account(
                session,
                services.sessions,
                services.plugins,
                workspace_id=viewer.workspace_id,
                channel=data.channel,
                slug=data.slug,
                settings=data.settings,
                public_url=services.settings.public_url,
                name=(data.name or "").strip(),
            )
    except (ChangeRejected, AccountError) as exc:
        return ConnectChannelPayload(user_errors=[user_error(exc)])
    row = connected.account
    plugin = services.plugins.channel(row.channel)
    assert row.id is not None and plugin is not None
    account = ChannelAccount(
        id=to_global_id("ChannelAccount", row.id),
        pk=row.id,
        channel=row.channel,
        slug=row.slug,
        name=row.name,
        webhook_url=connected.webhook_url,
        public_settings=cast(JSON, public_settings(plugin, row.settings)),
        created_at=row.created_at,
    )
    return ConnectChannelPayload(account=account, setup_instructions=connected.setup_instructions)
