"""The plugin contract: every hook a socialcrm plugin can implement.

A plugin is a module or object with functions named after these hooks and marked with
``@hookimpl``. Install it as a distribution declaring the ``scrm`` entry-point group and the
server loads it at start-up::

    [project.entry-points.scrm]
    line = "scrm_line.plugin"

Hooks are called synchronously by pluggy. Observer hooks may return an awaitable (define
them ``async def``): the server awaits it. No hook is ``firstresult``, so an async
implementation never hides another plugin's answer.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from socialcrm.plugins.channel import Channel
    from socialcrm.plugins.models import (
        CustomerChange,
        InboundEvent,
        OutboundMessage,
        StoredInteraction,
    )

PROJECT_NAME = "scrm"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def scrm_channels() -> list[Channel]:
    """Return the channels this plugin provides (instances of ``Channel`` subclasses).

    Called once at start-up; two channels with the same ``name`` stop the server.
    """


@hookspec
def scrm_passive_reply(
    interaction: StoredInteraction, event: InboundEvent
) -> OutboundMessage | Awaitable[OutboundMessage | None] | None:
    """Answer an inbound event inline, in the webhook's response (an auto-reply).

    Called only for events whose channel allows an inline answer (``event.wants_reply``),
    after the interaction is stored and before the platform's deadline. The first plugin
    (in pluggy's call order) that returns a message wins; the reply is stored as an
    outbound interaction. Keep it fast: it runs while the platform waits.
    """


@hookspec
def scrm_interaction_stored(interaction: StoredInteraction) -> Awaitable[None] | None:
    """Observe an interaction that was stored (inbound, outbound or recorded by hand).

    Runs after the platform has been answered; a failure is logged and does not undo the
    interaction. Called once per stored interaction: never for a retried duplicate.
    """


@hookspec
def scrm_customer_changed(change: CustomerChange) -> Awaitable[None] | None:
    """Observe a customer that was created, updated, merged, tagged or (un)followed."""
